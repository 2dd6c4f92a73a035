import Foundation
import Testing
@testable import Compress

/// The kernels against Ŵ·x computed in Double from `dequantized()`. Tolerance: 1e-4 relative to
/// Σ|ŵ·x| per output (the sums' own scale; plain relative error is meaningless when they cancel).
/// Batch-1 products on the integer path see x̂, x quantized to int8 blocks (`kernelInput`); their
/// distance to Ŵ·x is bounded in QuantizationIntegerKernelTests.
@Suite("Quantized kernels") struct QuantizationKernelTests {
    // Small (one thread) and ≥ 2^16 weights (split over threads); odd row counts exercise the
    // two-row kernels' remainder and the batch kernel's partial tile; int8 gets a column tail.
    static let shapes: [(rows: Int, columns: Int)] = [(7, 96), (131, 512)]

    static func check(_ y: [Float], _ reference: (values: [Double], magnitudes: [Double]), offset: [Float]? = nil,
                      _ label: String) {
        var worst = 0.0
        for r in y.indices {
            let expected = reference.values[r] + Double(offset?[r] ?? 0)
            let error = abs(Double(y[r]) - expected) / (reference.magnitudes[r] + abs(Double(offset?[r] ?? 0)) + 1e-30)
            worst = max(worst, error)
        }
        #expect(worst <= 1e-4, "\(label): max relative difference \(worst)")
    }

    @Test(arguments: QuantizationScheme.allCases)
    func multiplyRowMatchesDequantizedProduct(scheme: QuantizationScheme) throws {
        var random = QuantizationTestRandom(seed: 3)
        for (rows, baseColumns) in Self.shapes {
            let columns = scheme.isBlockFormat ? baseColumns : baseColumns + 5
            let w = random.gaussian(rows * columns, standardDeviation: 0.05)
            let x = random.uniform(columns, in: -1...1)
            for granularity in QuantizationGranularity.allCases where scheme.supports(granularity) {
                let matrix = try QuantizedMatrix.quantize(w, rows: rows, columns: columns, scheme: scheme,
                                                          granularity: granularity, name: "t")
                let reference = referenceProduct(matrix, kernelInput(matrix, x))
                var y = [Float](repeating: .nan, count: rows)
                matrix.multiplyRow(x, into: &y, accumulate: false)
                Self.check(y, reference, "\(scheme) \(granularity) \(rows)×\(columns)")
                // accumulate: adds to what is there.
                let start = random.uniform(rows, in: -2...2)
                var accumulated = start
                matrix.multiplyRow(x, into: &accumulated, accumulate: true)
                Self.check(accumulated, reference, offset: start, "\(scheme) \(granularity) accumulate")
            }
        }
    }

    @Test(arguments: QuantizationScheme.allCases)
    func multiplyBatchMatchesDequantizedProduct(scheme: QuantizationScheme) throws {
        var random = QuantizationTestRandom(seed: 5)
        for (rows, baseColumns) in Self.shapes {
            let columns = scheme.isBlockFormat ? baseColumns : baseColumns + 3
            let w = random.gaussian(rows * columns, standardDeviation: 0.05)
            let matrix = try QuantizedMatrix.quantize(w, rows: rows, columns: columns, scheme: scheme, name: "t")
            for count in [1, 5] {
                let x = random.uniform(count * columns, in: -1...1)
                var y = [Float](repeating: .nan, count: count * rows)
                matrix.multiply(rows: count, x, into: &y)
                for b in 0..<count {
                    let xb = Array(x[b * columns ..< (b + 1) * columns])
                    let reference = referenceProduct(matrix, count == 1 ? kernelInput(matrix, xb) : xb)
                    Self.check(Array(y[b * rows ..< (b + 1) * rows]), reference, "\(scheme) batch \(count) row \(b)")
                }
            }
        }
    }
}

/// What the batch-1 kernel multiplies W by: x̂ = q·d (x quantized to int8 blocks of 32) on the
/// integer path, x itself on the float one.
func kernelInput(_ matrix: QuantizedMatrix, _ x: [Float]) -> [Float] {
    guard matrix.usesIntegerKernel else { return x }
    let (q, d, _) = quantizeActivations(x, path: .best)
    return q.indices.map { Float(q[$0]) * d[$0 / 32] }
}
