import Foundation
import Store
@testable import Compress

/// Deterministic test data: SplitMix64, uniform and Gaussian (Box–Muller) floats.
struct QuantizationTestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }

    mutating func uniform(_ count: Int, in range: ClosedRange<Float>) -> [Float] {
        (0..<count).map { _ in range.lowerBound + Float(uniform()) * (range.upperBound - range.lowerBound) }
    }

    mutating func gaussian(_ count: Int, standardDeviation: Float) -> [Float] {
        (0..<count).map { _ in
            let u1 = max(uniform(), 1e-300), u2 = uniform()
            return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)) * standardDeviation
        }
    }
}

/// The bytes of a ggml-quantized matrix (its `.blocks` entry).
func blockBytes(_ matrix: QuantizedMatrix) -> [UInt8] {
    [UInt8](matrix.entries(name: "t").first { $0.name == "t.blocks" }!.bytes)
}

/// Writes `entries` to safetensors bytes and reads them back, as a checkpoint load would.
func roundTripFile(_ entries: [SafeTensorsEntry]) throws -> SafeTensorsFile {
    try SafeTensors.decode(SafeTensors.encode(entries))
}

/// y = Ŵ·x in Double from the dequantized weights, with Σ|ŵ||x| per row for the tolerance.
func referenceProduct(_ matrix: QuantizedMatrix, _ x: [Float]) -> (values: [Double], magnitudes: [Double]) {
    let w = matrix.dequantized()
    var values: [Double] = [], magnitudes: [Double] = []
    for r in 0..<matrix.rows {
        var s = 0.0, m = 0.0
        for c in 0..<matrix.columns {
            s += Double(w[r * matrix.columns + c]) * Double(x[c])
            m += abs(Double(w[r * matrix.columns + c]) * Double(x[c]))
        }
        values.append(s)
        magnitudes.append(m)
    }
    return (values, magnitudes)
}
