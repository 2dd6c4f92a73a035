import Foundation
import Testing
@testable import Compress

/// The batch-1 integer kernels (CQuantKernels through `multiplyRow`), on both paths: the best the
/// CPU has (AVX2 here) and the portable C fallback.
///
/// 1. Against a Swift reference doing the same activation quantization (fp16(amax/127) per block of 32,
///    q = nearest-even(x·127/amax)) and the product Σ_b d_w·d_x·Σ q_w·q_x (+ m·s for Q4_1, − zp·Σs
///    for int8 asymmetric) in Double: within 1e-5 of Σ|d_w·d_x·q_w·q_x| (+ |m·s|, |zp·s|), the scale
///    of float32 rounding errors (the kernel's block sums are exact int32, but the AVX2 path turns
///    8-lane partial sums to float before adding them, so lanes that cancel round individually).
/// 2. Against Ŵ·x with x in float (the dequantized product, what the float kernels computed): the
///    kernel computes Ŵ·x̂, so |y − Ŵ·x| = |Ŵ·(x̂ − x)| ≤ Σ_c |ŵ_c|·|x̂_c − x_c|, and rounding to
///    nearest gives |x̂_c − x_c| ≤ d_b/2 = amax_b/254 for c in block b (×(1 + 1e-4) for the float32
///    product x·(127/amax) being rounded), plus 1e-5·Σ|ŵ·x| for float32 accumulation.
@Suite("Integer kernels") struct QuantizationIntegerKernelTests {
    /// Rows: fewer than 8 (only the one-row kernel), 8 and 24 (only eight-row groups), 17 and 131
    /// (groups plus a remainder; both have ≥ 2^16 weights, so they are split over threads too).
    /// Columns: 1 block (32), 2 (64), an odd count (96: the two-block unroll's tail), 128 (4096).
    static let shapes: [(rows: Int, columns: Int)] = [(1, 32), (3, 64), (7, 96), (8, 96), (24, 32), (5, 4096), (131, 512), (17, 4096)]

    /// x with a zero block (amax 0), a block whose amax is hit exactly, and a wide range.
    static func activations(_ columns: Int, _ random: inout QuantizationTestRandom) -> [Float] {
        var x = random.uniform(columns, in: -3...3)
        if columns >= 64 { for j in 32..<64 { x[j] = 0 } }
        x[0] = 2.5; x[1] = -2.5; x[2] = 1.25
        return x
    }

    /// The Swift reference of the activation quantization.
    static func referenceQuantize(_ x: [Float]) -> (quants: [Int], scales: [Float], sums: [Float]) {
        var quants: [Int] = [], scales: [Float] = [], sums: [Float] = []
        for b in 0..<(x.count / 32) {
            let block = x[(32 * b)..<(32 * b + 32)]
            let amax = block.map { abs($0) }.max()!
            let d = amax / 127, inverse: Float = amax != 0 ? 127 / amax : 0
            let q = block.map { Int(($0 * inverse).rounded(.toNearestOrEven)) }
            quants += q
            scales.append(Float(Float16(d)))  // fp16 precision, as ggml's q8 blocks
            sums.append(Float(Float16(d)) * Float(q.reduce(0, +)))
        }
        return (quants, scales, sums)
    }

    /// Σ_b d_w·d_x·Σ q_w·q_x (+ m·s, − zp·Σs) per row in Double, with Σ of its products' magnitudes.
    static func referenceProduct(_ matrix: QuantizedMatrix, _ x: [Float]) -> (values: [Double], magnitudes: [Double]) {
        let (qx, dx, sx) = referenceQuantize(x)
        let bytes = blockBytesOrQuants(matrix)
        var values: [Double] = [], magnitudes: [Double] = []
        let blocks = matrix.columns / 32
        for r in 0..<matrix.rows {
            var value = 0.0, magnitude = 0.0
            if let perBlock = matrix.scheme.bytesPerBlock {
                for b in 0..<blocks {
                    let block = Array(bytes[(r * blocks + b) * perBlock ..< (r * blocks + b + 1) * perBlock])
                    let dw = Double(half(block, 0))
                    var isum = 0, absoluteSum = 0
                    for j in 0..<32 {
                        let qw: Int
                        switch matrix.scheme {
                        case .q8_0: qw = Int(Int8(bitPattern: block[2 + j]))
                        case .q4_0: qw = Int(j < 16 ? block[2 + j] & 0x0F : block[2 + j - 16] >> 4) - 8
                        default: qw = Int(j < 16 ? block[4 + j] & 0x0F : block[4 + j - 16] >> 4)
                        }
                        isum += qw * qx[32 * b + j]
                        absoluteSum += abs(qw * qx[32 * b + j])
                    }
                    value += dw * Double(dx[b]) * Double(isum)
                    magnitude += abs(dw * Double(dx[b])) * Double(absoluteSum)
                    if matrix.scheme == .q4_1 {
                        let m = Double(half(block, 2)) * Double(sx[b])
                        value += m; magnitude += abs(m)
                    }
                }
            } else {
                let scale = Double(matrix.rowScale[r]), zeroPoint = Double(matrix.rowZeroPoint[r])
                for b in 0..<blocks {
                    var isum = 0, absoluteSum = 0
                    for j in 0..<32 {
                        let product = Int(Int8(bitPattern: bytes[r * matrix.columns + 32 * b + j])) * qx[32 * b + j]
                        isum += product; absoluteSum += abs(product)
                    }
                    let offset = scale * zeroPoint * Double(sx[b])
                    value += scale * Double(dx[b]) * Double(isum) - offset
                    magnitude += abs(scale * Double(dx[b])) * Double(absoluteSum) + abs(offset)
                }
            }
            values.append(value); magnitudes.append(magnitude)
        }
        return (values, magnitudes)
    }

    static func half(_ bytes: [UInt8], _ offset: Int) -> Float {
        Float(Float16(bitPattern: UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8))
    }

    /// The stored bytes of every row (ggml blocks, or int8 quants).
    static func blockBytesOrQuants(_ matrix: QuantizedMatrix) -> [UInt8] {
        [UInt8](UnsafeRawBufferPointer(start: matrix.data, count: matrix.rows * matrix.rowBytes))
    }

    /// Every scheme (int8 per channel and per tensor), every shape, both paths.
    static func cases() throws -> [(QuantizedMatrix, String)] {
        var random = QuantizationTestRandom(seed: 11)
        var matrices: [(QuantizedMatrix, String)] = []
        for scheme in QuantizationScheme.allCases {
            for granularity in QuantizationGranularity.allCases where scheme.supports(granularity) {
                for (rows, columns) in shapes {
                    let w = random.gaussian(rows * columns, standardDeviation: 0.05)
                    let matrix = try QuantizedMatrix.quantize(w, rows: rows, columns: columns, scheme: scheme,
                                                              granularity: granularity, name: "t")
                    matrices.append((matrix, "\(scheme) \(granularity) \(rows)×\(columns)"))
                }
            }
        }
        return matrices
    }

    @Test func bothPathsQuantizeActivationsLikeTheReference() {
        var random = QuantizationTestRandom(seed: 2)
        for columns in [32, 64, 96, 4096] {
            let x = Self.activations(columns, &random)
            let reference = Self.referenceQuantize(x)
            for path in IntegerKernelPath.allCases {
                let (q, d, s) = quantizeActivations(x, path: path)
                #expect(q.map(Int.init) == reference.quants, "\(path) \(columns): quants")
                #expect(d == reference.scales, "\(path) \(columns): scales")
                #expect(s == reference.sums, "\(path) \(columns): sums")
            }
        }
    }

    @Test func kernelsMatchTheIntegerReference() throws {
        var random = QuantizationTestRandom(seed: 7)
        for (matrix, label) in try Self.cases() {
            #expect(matrix.usesIntegerKernel)
            let x = Self.activations(matrix.columns, &random)
            let reference = Self.referenceProduct(matrix, x)
            let start = random.uniform(matrix.rows, in: -2...2)
            for path in IntegerKernelPath.allCases {
                var y = [Float](repeating: .nan, count: matrix.rows)
                matrix.multiplyRow(x, into: &y, accumulate: false, path: path)
                var accumulated = start
                matrix.multiplyRow(x, into: &accumulated, accumulate: true, path: path)
                var worst = 0.0, worstAccumulated = 0.0
                for r in 0..<matrix.rows {
                    let scale = reference.magnitudes[r] + 1e-30
                    worst = max(worst, abs(Double(y[r]) - reference.values[r]) / scale)
                    worstAccumulated = max(worstAccumulated, abs(Double(accumulated[r]) - Double(start[r]) - reference.values[r])
                                           / (scale + abs(Double(start[r]))))
                }
                #expect(worst <= 1e-5, "\(label) \(path): max relative difference \(worst)")
                #expect(worstAccumulated <= 1e-5, "\(label) \(path) accumulate: max relative difference \(worstAccumulated)")
            }
        }
    }

    @Test func kernelsStayWithinTheActivationQuantizationBound() throws {
        var random = QuantizationTestRandom(seed: 13)
        for (matrix, label) in try Self.cases() {
            let x = Self.activations(matrix.columns, &random)
            let w = matrix.dequantized()
            let (_, dx, _) = Self.referenceQuantize(x)
            for path in IntegerKernelPath.allCases {
                var y = [Float](repeating: .nan, count: matrix.rows)
                matrix.multiplyRow(x, into: &y, accumulate: false, path: path)
                var worst = 0.0
                for r in 0..<matrix.rows {
                    var exact = 0.0, bound = 0.0, magnitude = 0.0
                    for c in 0..<matrix.columns {
                        let wc = Double(w[r * matrix.columns + c])
                        exact += wc * Double(x[c])
                        magnitude += abs(wc * Double(x[c]))
                        bound += abs(wc) * Double(dx[c / 32]) / 2 * (1 + 1e-4)
                    }
                    worst = max(worst, abs(Double(y[r]) - exact) / (bound + 1e-5 * magnitude + 1e-30))
                }
                #expect(worst <= 1, "\(label) \(path): error is \(worst) × the bound")
            }
        }
    }

    @Test func pathsAgree() throws {
        // Same quantized x, float32 sums in a different order: far below the tolerance of 1e-5.
        var random = QuantizationTestRandom(seed: 17)
        for (matrix, label) in try Self.cases() {
            let x = Self.activations(matrix.columns, &random)
            var best = [Float](repeating: .nan, count: matrix.rows), portable = best
            matrix.multiplyRow(x, into: &best, accumulate: false, path: .best)
            matrix.multiplyRow(x, into: &portable, accumulate: false, path: .portable)
            let reference = Self.referenceProduct(matrix, x)
            for r in 0..<matrix.rows {
                #expect(abs(Double(best[r]) - Double(portable[r])) <= 1e-5 * reference.magnitudes[r] + 1e-30, "\(label) row \(r)")
            }
        }
        print("integer kernels: best path is \(integerKernelsUseAVX2 ? "AVX2" : "portable C")")
    }
}

/// The batch-1 thread pool (`cqk_rows_parallel`): results do not depend on the thread count, and
/// products called from several threads at once (the pool busy: all but one run on their caller)
/// neither deadlock nor mix their jobs.
@Suite("Integer kernel thread pool") struct QuantizationIntegerKernelPoolTests {
    @Test func concurrentPooledProductsEqualSingleThreadedOnes() throws {
        var random = QuantizationTestRandom(seed: 23)
        var built: [(QuantizedMatrix, [[Float]], [[Float]])] = []
        for (scheme, rows, columns) in [(QuantizationScheme.q4_0, 131, 512), (.q8_0, 200, 256), (.q4_1, 64, 96),
                                        (.int8Symmetric, 45, 128)] {
            let w = random.gaussian(rows * columns, standardDeviation: 0.05)
            let granularity = QuantizationGranularity.allCases.first { scheme.supports($0) }!
            let matrix = try QuantizedMatrix.quantize(w, rows: rows, columns: columns, scheme: scheme,
                                                      granularity: granularity, name: "t")
            let inputs = (0..<4).map { _ in random.uniform(columns, in: -3...3) }
            let expected = inputs.map { x in
                var y = [Float](repeating: .nan, count: rows)
                matrix.multiplyRow(x, into: &y, accumulate: false, path: .best, threads: 1)
                return y
            }
            built.append((matrix, inputs, expected))
        }
        let cases = built
        let mismatches = PoolTestCounter()
        // 8 callers at once, each cycling through shapes, inputs and 2…4 threads (the pool grows
        // and shrinks), 50 products each.
        DispatchQueue.concurrentPerform(iterations: 8) { caller in
            var bad = 0
            for round in 0..<50 {
                let (matrix, inputs, expected) = cases[(caller + round) % cases.count]
                let i = (caller * 7 + round) % inputs.count
                var y = [Float](repeating: .nan, count: matrix.rows)
                matrix.multiplyRow(inputs[i], into: &y, accumulate: false, path: round % 5 == 4 ? .portable : .best,
                                   threads: 2 + (caller + round) % 3)
                if round % 5 == 4 {  // the portable path: compare with itself single-threaded
                    var reference = [Float](repeating: .nan, count: matrix.rows)
                    matrix.multiplyRow(inputs[i], into: &reference, accumulate: false, path: .portable, threads: 1)
                    if y != reference { bad += 1 }
                } else if y != expected[i] {
                    bad += 1
                }
            }
            mismatches.add(bad)
        }
        #expect(mismatches.value == 0, "products that differ from the single-threaded ones")
    }
}

/// A count shared by the test's callers.
private final class PoolTestCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add(_ n: Int) { lock.lock(); count += n; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
