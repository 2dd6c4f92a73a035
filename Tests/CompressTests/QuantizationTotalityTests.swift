import Foundation
import Testing
@testable import Compress
import CQuantKernels
import Models
import NN
import Store
import Tokenizers

/// Every codec over every finite Float: blocks of 1e-38 and of subnormals, zeros, scales at the
/// fp16 limit, huge and tiny values side by side. Each decoded weight is held to a bound derived
/// from the encoder's own arithmetic (below), and ordinary weights keep ggml's bytes: the encoders
/// are compared with the unclamped formulas they replaced.
///
/// Bounds, with d32 (and m32) the float32 values the encoder computes and d16, m16 what it stores:
/// - Q8_0: x̂ = q·d16 and |x − q·d32| ≤ d32/2 (round to nearest), |q| ≤ 127, so
///   |x − x̂| ≤ d32/2 + 127·|d32 − d16|.
/// - Q4_0: x̂ = (q − 8)·d16, |x − (q − 8)·d32| ≤ |d32| (a value of opposite sign to the extreme can
///   be clamped from 16 to 15: a whole step), |q − 8| ≤ 8: |x − x̂| ≤ |d32| + 8·|d32 − d16|.
/// - Q4_1: x̂ = q·d16 + m16, |x − (q·d32 + m32)| ≤ d32/2, q ≤ 15: ≤ d32/2 + 15·|d32 − d16| + |m32 − m16|.
/// These hold when id = 1/d32 is finite. When it is not (|d32| < 2^-128), d16 = m16 = 0 (fp16 has
/// nothing below 2^-25), so the block decodes to 0 and |x − x̂| = |x| ≤ amax — what is checked.
/// Slack: 1e-5 of the bound for float32 rounding of x·id and of the decode, plus one subnormal.
@Suite("Quantization over every finite float") struct QuantizationTotalityTests {
    /// Blocks of 32 that stress the encoders (named for messages), for `scheme`: the blocks at one
    /// scheme's fp16 limit overflow the others' headers (which `fp16OverflowIsAnError` covers).
    static func extremeBlocks(for scheme: QuantizationScheme) -> [(name: String, values: [Float])] {
        var random = QuantizationTestRandom(seed: 99)
        func scaled(_ scale: Float) -> [Float] { random.uniform(32, in: -1...1).map { $0 * scale } }
        var blocks: [(String, [Float])] = [
            ("zeros", [Float](repeating: 0, count: 32)),
            ("1e-38 (subnormal)", scaled(1e-38)),
            ("1e-37", scaled(1e-37)),
            ("1e-30 (fp16 d is 0, id finite)", scaled(1e-30)),
            ("subnormals", (0..<32).map { Float($0 - 16) * .leastNonzeroMagnitude }),
            ("one subnormal among zeros", [Float.leastNonzeroMagnitude] + [Float](repeating: 0, count: 31)),
            ("largest subnormal", [Float.leastNormalMagnitude.nextDown, -Float.leastNormalMagnitude.nextDown] + scaled(Float(1e-39 as Double)).dropFirst(2)),
            ("huge and tiny (1e4, 1e-30)", [1e4, -1e-30, 1e-30] + scaled(1e-3).dropFirst(3)),
            ("one huge among zeros", [Float](repeating: 0, count: 31) + [5e3]),
        ]
        switch scheme {
        case .q8_0:  // d = 65504 exactly (the largest fp16), and just below where it rounds to infinity
            blocks.append(("Q8_0 amax = 65504·127", [65504 * 127] + scaled(1e6).dropFirst()))
            blocks.append(("Q8_0 amax = 65519·127", [-65519 * 127] + scaled(1e6).dropFirst()))
        case .q4_0:  // |d| = 65504
            blocks.append(("Q4_0 extreme = 65504·8", [65504 * 8] + scaled(5e5).dropFirst()))
        default:     // m = −65504 with d ≈ 100, and d = 65504
            blocks.append(("Q4_1 m = −65504", (0..<32).map { -65504 + Float($0) * 48 }))
            blocks.append(("Q4_1 d = 65504", [0, 65504 * 15] + scaled(1e5).dropFirst(2).map(abs)))
        }
        return blocks
    }

    /// Checks every block of `w` (one row) against the bounds above; returns the worst error/bound.
    static func checkBounds(_ w: [Float], scheme: QuantizationScheme, label: String) throws {
        let matrix = try QuantizedMatrix.quantize(w, rows: 1, columns: w.count, scheme: scheme, name: "t")
        let decoded = matrix.dequantized(), bytes = blockBytes(matrix), size = scheme.bytesPerBlock!
        for block in 0..<(w.count / 32) {
            let x = Array(w[block * 32 ..< block * 32 + 32])
            let header = Array(bytes[block * size ..< block * size + 4])
            let d16 = Double(half(header, 0)), m16 = scheme == .q4_1 ? Double(half(header, 2)) : 0
            let amax = x.map { abs($0) }.max()!
            let extreme = x.first { abs($0) == amax }!
            let lowest = x.min()!, highest = x.max()!
            let d32: Float = switch scheme {
            case .q8_0: amax / 127
            case .q4_0: extreme / -8
            default: (highest - lowest) / 15
            }
            let id: Float = d32 != 0 ? 1 / d32 : 0
            guard id.isFinite, d32 != 0 else {
                // d32 is 0 (all equal, or below half a subnormal) or below 2^-128: fp16 d is 0 and
                // the block decodes to m16 (Q4_1) or 0, within the block's span of every weight.
                #expect(d16 == 0, "\(label) \(scheme) block \(block): d32 \(d32) must store fp16 0")
                let base = Float(m16), span = scheme == .q4_1 ? Double(highest - lowest) + abs(Double(lowest) - m16) : Double(amax)
                for j in 0..<32 {
                    #expect(decoded[block * 32 + j] == base, "\(label) \(scheme) [\(j)]")
                    #expect(abs(Double(x[j]) - Double(base)) <= span)
                }
                continue
            }
            let bound: Double = switch scheme {
            case .q8_0: Double(d32) / 2 + 127 * abs(Double(d32) - d16)
            case .q4_0: abs(Double(d32)) + 8 * abs(Double(d32) - d16)
            default: Double(d32) / 2 + 15 * abs(Double(d32) - d16) + abs(Double(lowest) - m16)
            }
            let slack = bound * 1e-5 + Double(Float.leastNonzeroMagnitude)
            for j in 0..<32 {
                let error = abs(Double(x[j]) - Double(decoded[block * 32 + j]))
                #expect(decoded[block * 32 + j].isFinite)
                #expect(error <= bound + slack, "\(label) \(scheme) block \(block) [\(j)]: x \(x[j]) error \(error) > bound \(bound)")
            }
        }
    }

    static func half(_ bytes: [UInt8], _ offset: Int) -> Float {
        Float(Float16(bitPattern: UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8))
    }

    @Test(arguments: [QuantizationScheme.q8_0, .q4_0, .q4_1])
    func extremeBlocksDecodeWithinTheirBounds(scheme: QuantizationScheme) throws {
        for (name, values) in Self.extremeBlocks(for: scheme) {
            try Self.checkBounds(values, scheme: scheme, label: name)
        }
        // All of them side by side in one row: each block is independent of its neighbours.
        let row = Self.extremeBlocks(for: scheme).flatMap(\.values)
        try Self.checkBounds(row, scheme: scheme, label: "mixed row")
    }

    @Test("the tiny blocks store d = 0 and quants in range: no trap where 1/d overflows")
    func tinyBlocksStoreZeroScale() throws {
        let x = (0..<32).map { Float($0 - 16) * Float(1e-39 as Double) }  // d = 1.26e-40: 1/d overflows float32
        let q8 = blockBytes(try QuantizedMatrix.quantize(x, rows: 1, columns: 32, scheme: .q8_0, name: "t"))
        #expect(q8[0] == 0 && q8[1] == 0)
        // x·∞ = ±∞ clamps to ±127, 0·∞ = NaN is the zero level.
        let expected: [Int8] = (0..<32).map { $0 < 16 ? -127 : $0 == 16 ? 0 : 127 }
        #expect(q8[2...].map { Int8(bitPattern: $0) } == expected)
        let q4 = blockBytes(try QuantizedMatrix.quantize(x, rows: 1, columns: 32, scheme: .q4_0, name: "t"))
        #expect(q4[0] == 0 && (q4[1] == 0 || q4[1] == 0x80))  // ±0
        let q41 = blockBytes(try QuantizedMatrix.quantize(x, rows: 1, columns: 32, scheme: .q4_1, name: "t"))
        #expect(Array(q41[0 ..< 4]).allSatisfy { $0 == 0 || $0 == 0x80 })
        // x = min ↦ (0·∞ = NaN) the zero level 0; every other x ↦ 15 (clamped +∞).
        #expect(q41[4] & 0x0F == 0 && q41[4] >> 4 == 15)
    }

    /// The encoders as they were before they were made total (ggml's formulas with Swift's trapping
    /// conversions), for the ordinary blocks on which both are defined.
    static func unclampedBlock(_ x: [Float], _ scheme: QuantizationScheme) -> [UInt8] {
        func halfBytes(_ v: Float) -> [UInt8] { let b = Float16(v).bitPattern; return [UInt8(b & 0xFF), UInt8(b >> 8)] }
        switch scheme {
        case .q8_0:
            let amax = x.map { abs($0) }.max()!, d = amax / 127, id: Float = d != 0 ? 1 / d : 0
            return halfBytes(d) + x.map { UInt8(bitPattern: Int8(($0 * id).rounded())) }
        case .q4_0:
            var amax: Float = 0, extreme: Float = 0
            for v in x where amax < abs(v) { amax = abs(v); extreme = v }
            let d = extreme / -8, id: Float = d != 0 ? 1 / d : 0
            return halfBytes(d) + (0..<16).map { UInt8(min(15, Int8(x[$0] * id + 8.5))) | UInt8(min(15, Int8(x[$0 + 16] * id + 8.5))) << 4 }
        default:
            let lowest = x.min()!, highest = x.max()!, d = (highest - lowest) / 15, id: Float = d != 0 ? 1 / d : 0
            return halfBytes(d) + halfBytes(lowest)
                + (0..<16).map { UInt8(min(15, Int8((x[$0] - lowest) * id + 0.5))) | UInt8(min(15, Int8((x[$0 + 16] - lowest) * id + 0.5))) << 4 }
        }
    }

    @Test("ordinary weights: the same bytes as ggml's unclamped formulas, at every scale from 1e-6 to 1e4",
          arguments: [QuantizationScheme.q8_0, .q4_0, .q4_1])
    func ordinaryWeightsKeepTheirBytes(scheme: QuantizationScheme) throws {
        var random = QuantizationTestRandom(seed: 5)
        for scale: Float in [1e-6, 1e-3, 0.02, 1, 1e3, 1e4] {
            let w = random.gaussian(64 * 32, standardDeviation: scale)
            let bytes = blockBytes(try QuantizedMatrix.quantize(w, rows: 64, columns: 32, scheme: scheme, name: "t"))
            let expected = (0..<64).flatMap { Self.unclampedBlock(Array(w[$0 * 32 ..< $0 * 32 + 32]), scheme) }
            #expect(bytes == expected, "\(scheme) σ = \(scale)")
        }
    }

    @Test("a scale beyond fp16 is an error naming the tensor, the row, the columns and the value — never a stored ∞")
    func fp16OverflowIsAnError() throws {
        func message(_ w: [Float], _ scheme: QuantizationScheme) -> String? {
            do {
                _ = try QuantizedMatrix.quantize(w, rows: 2, columns: 64, scheme: scheme, name: "h.3.mlp.c_fc.weight")
                return nil
            } catch let error as CompressionError {
                return error.message
            } catch {
                return "\(error)"
            }
        }
        var w = [Float](repeating: 0.01, count: 128)
        w[64 + 40] = 65520 * 127  // row 1, block 1: Q8_0's d = 65520 rounds to fp16 ∞
        let q8 = try #require(message(w, .q8_0))
        #expect(q8.hasPrefix("h.3.mlp.c_fc.weight: row 1, columns 32..<64"), "\(q8)")
        #expect(q8.contains("65520") && q8.contains("65504") && q8.contains("Q8_0"))
        w[64 + 40] = 65520 * 8  // Q4_0's |d| = 65520
        #expect(try #require(message(w, .q4_0)).contains("row 1, columns 32..<64"))
        #expect(message(w, .q8_0) == nil)  // 65520·8/127 fits
        // Q4_1: the minimum (m) too large for fp16, then the span (d).
        w[64 + 40] = -65520
        let m = try #require(message(w, .q4_1))
        #expect(m.contains("m = the block's minimum = -65520.0"), "\(m)")
        w[64 + 40] = 65520 * 15
        #expect(try #require(message(w, .q4_1)).contains("d = (max − min)/15 = 65520.0"))
        // The int8 schemes keep float32 scales: the same weights quantize.
        for scheme in [QuantizationScheme.int8Symmetric, .int8Asymmetric] { #expect(message(w, scheme) == nil) }
    }

    @Test("NaN and ±∞ weights are errors naming the tensor and the first position", arguments: QuantizationScheme.allCases)
    func nonFiniteWeightsAreNamed(scheme: QuantizationScheme) throws {
        for bad in [Float.nan, .infinity, -.infinity] {
            var w = [Float](repeating: 0.5, count: 2 * 4096)
            w[4096 + 33] = bad
            w[4096 + 40] = .nan  // a later one is not the one named
            let error = try #require(throws: CompressionError.self) {
                try QuantizedMatrix.quantize(w, rows: 2, columns: 4096, scheme: scheme, name: "c_attn")
            }
            #expect(error.message.hasPrefix("c_attn: weight [1, 33] is \(bad)"), "\(error.message)")
        }
    }

    @Test("int8: subnormal, 1e-38, zero and mixed rows round to the nearest step; a range beyond float32 is an error",
          arguments: [QuantizationScheme.int8Symmetric, .int8Asymmetric])
    func int8OverEveryFiniteFloat(scheme: QuantizationScheme) throws {
        var random = QuantizationTestRandom(seed: 3)
        let rows: [[Float]] = [
            [Float](repeating: 0, count: 40),
            (0..<40).map { Float($0 - 20) * .leastNonzeroMagnitude },          // scale rounds to ≤ 1 ulp
            (0..<40).map { Float($0 - 20) * 9 * .leastNonzeroMagnitude },      // scale rounds coarsely
            random.uniform(40, in: -1...1).map { $0 * 1e-38 },
            [Float.leastNonzeroMagnitude] + [Float](repeating: 0, count: 39),
            [3e38, -1e-30] + random.uniform(38, in: -1...1),
            [-3e38] + random.uniform(39, in: 0...1),
        ]
        for granularity in [QuantizationGranularity.channel, .tensor] {
            for (index, row) in rows.enumerated() {
                let matrix = try QuantizedMatrix.quantize(row, rows: 1, columns: row.count, scheme: scheme, granularity: granularity, name: "t")
                let scale = Double(matrix.scales[0]), decoded = matrix.dequantized()
                let amax = row.map { abs($0) }.max()!
                #expect((scale > 0) == (amax > 0), "row \(index): scale \(scale)")
                // Symmetric: round(x/scale) with |x/scale| < 127.5 never clamps — half a step. Asymmetric: the
                // zero point's rounding can push the top quant to 128, clamped: a step and a half.
                let bound = (scheme == .int8Symmetric ? 0.5 : 1.5) * scale * (1 + 1e-6) + Double(Float.leastNonzeroMagnitude)
                for (x, y) in zip(row, decoded) {
                    #expect(abs(Double(x) - Double(y)) <= bound, "\(scheme) \(granularity) row \(index): \(x) → \(y), scale \(scale)")
                }
            }
        }
        // Both signs near float32's largest value: max − min overflows, which the asymmetric range needs.
        let wide: [Float] = [3e38, -3e38] + [Float](repeating: 0, count: 30)
        if scheme == .int8Asymmetric {
            #expect(throws: CompressionError.self) { try QuantizedMatrix.quantize(wide, rows: 1, columns: 32, scheme: scheme, name: "t") }
        } else {
            let matrix = try QuantizedMatrix.quantize(wide, rows: 1, columns: 32, scheme: scheme, name: "t")
            #expect(matrix.dequantized()[0] == 127 * matrix.scales[0])
        }
    }

    @Test("ordinary int8 scales keep the plain formula's bits (the subnormal adjustment never fires)")
    func ordinaryInt8ScalesUnchanged() throws {
        var random = QuantizationTestRandom(seed: 8)
        for scale: Float in [1e-30, 1e-6, 0.02, 1, 1e20] {
            let w = random.gaussian(16 * 64, standardDeviation: scale)
            let sym = try QuantizedMatrix.quantize(w, rows: 16, columns: 64, scheme: .int8Symmetric, name: "t")
            let asym = try QuantizedMatrix.quantize(w, rows: 16, columns: 64, scheme: .int8Asymmetric, name: "t")
            for r in 0..<16 {
                let row = w[r * 64 ..< (r + 1) * 64]
                let lowest = min(0, row.min()!), highest = max(0, row.max()!)
                #expect(sym.scales[r] == max(-lowest, highest) / 127)
                #expect(asym.scales[r] == (highest - lowest) / 255)
            }
        }
    }

    // MARK: - Activations (the batch-1 integer kernels)

    @Test("activations: NaN/∞ blocks give NaN scales, tiny ones zeros, huge ones a float32 scale — both paths alike")
    func activationQuantizationIsTotal() {
        var random = QuantizationTestRandom(seed: 4)
        var x = random.uniform(8 * 32, in: -2...2)
        x[0] = .nan                                                        // block 0
        x[32 + 5] = .infinity                                              // block 1
        x[64 + 31] = -.infinity                                            // block 2
        for j in 96..<128 { x[j] = Float(j - 112) * Float(1e-39 as Double) }                // block 3: 127/amax overflows
        for j in 128..<160 { x[j] = x[j] * 1e10 }                          // block 4: amax/127 > 65504
        for j in 160..<192 { x[j] = Float(j % 3) * .leastNonzeroMagnitude } // block 5: subnormals
        let reference = QuantizationIntegerKernelTests.referenceQuantize(Array(x[192...]))  // blocks 6, 7: ordinary
        let results = IntegerKernelPath.allCases.map { quantizeActivations(x, path: $0) }
        for (path, (q, d, s)) in zip(IntegerKernelPath.allCases, results) {
            for b in 0..<3 {
                #expect(d[b].isNaN && s[b].isNaN, "\(path) block \(b)")
                #expect(q[32 * b ..< 32 * b + 32].allSatisfy { $0 == 0 })
            }
            for b in [3, 5] {
                #expect(d[b] == 0 && s[b] == 0 && q[32 * b ..< 32 * b + 32].allSatisfy { $0 == 0 }, "\(path) block \(b)")
            }
            let amax = x[128..<160].map { abs($0) }.max()!
            #expect(d[4] == amax / 127, "\(path): a scale beyond fp16 stays float32")
            let expected = x[128..<160].map { Int8(($0 * (127 / amax)).rounded(.toNearestOrEven)) }
            #expect(Array(q[128..<160]) == expected)
            #expect(q[192...].map(Int.init) == reference.quants && Array(d[6...]) == reference.scales && Array(s[6...]) == reference.sums)
        }
        #expect(results[0].quants == results[1].quants)
        #expect(results[0].scales.map(\.bitPattern) == results[1].scales.map(\.bitPattern))
        #expect(results[0].sums.map(\.bitPattern) == results[1].sums.map(\.bitPattern))
    }

    @Test("batch-1 products: a NaN or ∞ input makes every output NaN; huge inputs stay finite and within the bound",
          arguments: QuantizationScheme.allCases)
    func productsOverExtremeInputs(scheme: QuantizationScheme) throws {
        var random = QuantizationTestRandom(seed: 12)
        let (rows, columns) = (24, 128)
        let w = random.gaussian(rows * columns, standardDeviation: 0.05)
        let matrix = try QuantizedMatrix.quantize(w, rows: rows, columns: columns, scheme: scheme, name: "t")
        for path in IntegerKernelPath.allCases {
            for bad in [Float.nan, .infinity, -.infinity] {
                var x = random.uniform(columns, in: -1...1)
                x[70] = bad
                var y = [Float](repeating: 0, count: rows)
                matrix.multiplyRow(x, into: &y, accumulate: false, path: path)
                #expect(y.allSatisfy { $0.isNaN }, "\(scheme) \(path) x[70] = \(bad): \(y.prefix(3))")
            }
            // |x| up to 1e12: blocks whose fp16 d would overflow keep a float32 d, so y ≈ Ŵ·x. With
            // d32 = amax/127 and d_k the kernel's d, x̂ = q·d_k and |x − q·d32| ≤ d32/2 (×(1 + 1e-4) for
            // x·127/amax rounded), so |x̂ − x| ≤ d32/2·(1 + 1e-4) + 127·|d_k − d32|; plus 1e-5·Σ|ŵ·x| for
            // float32 accumulation.
            let x = random.uniform(columns, in: -1...1).enumerated().map { $0.element * ($0.offset < 64 ? 1e12 : 1e-3) }
            var y = [Float](repeating: 0, count: rows)
            matrix.multiplyRow(x, into: &y, accumulate: false, path: path)
            let decoded = matrix.dequantized(), kernelScales = quantizeActivations(x, path: path).scales
            let halfSteps = (0..<(columns / 32)).map { b in
                let d32 = Double(x[32 * b ..< 32 * b + 32].map { abs($0) }.max()! / 127)
                return d32 / 2 * (1 + 1e-4) + 127 * abs(Double(kernelScales[b]) - d32)
            }
            #expect(kernelScales[0] > 65504 && kernelScales[0] == x[0..<32].map { abs($0) }.max()! / 127)
            for r in 0..<rows {
                var exact = 0.0, magnitude = 0.0, bound = 0.0
                for c in 0..<columns {
                    let wc = Double(decoded[r * columns + c])
                    exact += wc * Double(x[c]); magnitude += abs(wc * Double(x[c])); bound += abs(wc) * halfSteps[c / 32]
                }
                #expect(y[r].isFinite)
                #expect(abs(Double(y[r]) - exact) <= bound * (1 + 1e-4) + 1e-5 * magnitude, "\(scheme) \(path) row \(r)")
            }
        }
    }

    // MARK: - Loading

    @Test("stored blocks with a NaN or infinite fp16 d (or Q4_1 m) are refused, naming the tensor, row and columns",
          arguments: [QuantizationScheme.q8_0, .q4_0, .q4_1])
    func nonFiniteStoredScalesAreRefused(scheme: QuantizationScheme) throws {
        var random = QuantizationTestRandom(seed: 1)
        let matrix = try QuantizedMatrix.quantize(random.gaussian(3 * 64, standardDeviation: 0.1), rows: 3, columns: 64,
                                                  scheme: scheme, name: "t")
        let perBlock = scheme.bytesPerBlock!
        for (offset, bits) in [(0, UInt16(0x7E00)), (0, 0x7C00), (0, 0xFC00)] + (scheme == .q4_1 ? [(2, UInt16(0x7E00))] : []) {
            var bytes = [UInt8](matrix.rawBytes)
            let block = 2 * 2 + 1  // row 2, columns 32..<64
            bytes[block * perBlock + offset] = UInt8(bits & 0xFF)
            bytes[block * perBlock + offset + 1] = UInt8(bits >> 8)
            let error = try #require(throws: CompressionError.self) {
                try QuantizedMatrix.fromBlocks(Data(bytes), scheme: scheme, rows: 3, columns: 64, name: "blk.0.ffn_up.weight")
            }
            #expect(error.message.hasPrefix("blk.0.ffn_up.weight: the \(scheme.formatLabel) block of row 2, columns 32..<64"), "\(error.message)")
            #expect(error.message.contains(offset == 2 ? "minimum m = " : "scale d = "))
            // The same bytes in a checkpoint's `.blocks` entry.
            var entries = matrix.entries(name: "w")
            entries[0] = SafeTensorsEntry(name: "w.blocks", dataType: .uint8, shape: entries[0].shape, bytes: Data(bytes))
            let file = try roundTripFile(entries)
            let stored = try #require(throws: CompressionError.self) {
                try QuantizedMatrix(name: "w", scheme: scheme, rows: 3, columns: 64, file: file)
            }
            #expect(stored.message.contains("entry \"w.blocks\"") && stored.message.contains("row 2, columns 32..<64"), "\(stored.message)")
        }
    }

    static func directory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("alambique-totality-\(UUID().uuidString)")
    }

    @Test("a checkpoint with one NaN weight (dense or sparse) fails to load, naming the tensor and its index")
    func nanWeightInACheckpointIsNamed() throws {
        let config = GPTConfig(vocabularySize: 256, contextLength: 8, layers: 1, heads: 2, embeddingSize: 32)
        for sparse in [false, true] {
            let url = Self.directory()
            defer { try? FileManager.default.removeItem(at: url) }
            let model = try GPT(config: config, seed: 1)
            let name = "transformer.h.0.mlp.c_fc.weight"
            let weight = try #require(model.namedParameters().first { $0.name == name }?.tensor)
            #expect(weight.shape == [32, 128])
            weight.data[3 * 128 + 17] = .nan
            try CompressedCheckpoint.save(model: model, tokenizer: ByteTokenizer(),
                                          info: CheckpointInfo(name: "t", role: "test", corpus: "test"),
                                          sparse: sparse ? [name] : [], to: url)
            let error = try #require(throws: LoadError.self) { try CompressedCheckpoint.load(from: url) }
            #expect(error.kind == .nonFiniteValue && error.parameter == name)
            #expect(error.description.contains("value [3, 17] is nan"), "\(error.description)")
            #expect(error.description.contains(url.path))
        }
    }
}
