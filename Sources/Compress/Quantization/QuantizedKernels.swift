// Matrix–vector and matrix–matrix products over quantized weights.
//
// Batch 1 (`multiplyRow`, what generation runs): integer dot products, as llama.cpp does. x is
// quantized once per call to int8 blocks of 32 (d = amax/127 in float32, q = nearest-even
// (x·127/amax), s = d·Σq per block); then per weight block an exact int32 dot product of the
// quants (AVX2: `vpmaddubsw` + `vpmaddwd`), scaled by d_w·d_x and accumulated in float32. Q4_1's m
// enters as m·s per block, Q4_0's −8 as −8·d_w·s, int8's zero point as zp·Σs. The result is
// Ŵ·x̂: against the float product Ŵ·x it differs by at most Σ_c |ŵ_c|·d_b(c)/2 (tests derive and
// check this bound); on the quick experiment's students and teacher the validation loss moved by
// ≤ 0.01% (`alambique eval --stepwise`). Any float x is accepted: a block of x holding a NaN or ±∞
// makes every output NaN (as the float product would), a block beyond fp16's range keeps a float32
// d (ggml's would be ∞), one below 3.7e-37 quantizes to zeros (see CQuantKernels.h). The C code is the CQuantKernels target (AVX2/FMA/F16C via
// per-function target attributes, chosen at run time; a portable C fallback elsewhere); this file
// keeps the layout and picks the thread count. Q4_0/Q4_1 run eight rows at a time, Q8_0/int8 one
// (see the C file). int8 matrices whose columns are not a multiple of 32 keep the float path below
// (GCD threads from 2^16 weights).
//
// Threads (batch 1): from 2^15 weights the rows are split over min(Threads.count, rows/8) threads,
// in ranges starting at multiples of 8, by `cqk_rows_parallel`: the caller and the workers of a
// persistent C pthread pool, woken through atomics (they spin ~100 µs after a product, then sleep
// on a condition variable). GCD's `concurrentPerform`, used before, cost about as much to wake
// its workers as a product takes (5–40 µs; a token runs ~33), so 2 threads generated slower than
// 1 (bench-medium, 2 cores: Q8_0 ~510 vs ~640 tok/s, Q4_0 ~700 vs ~1000). One product at a time
// uses the pool; a product called meanwhile from another thread runs on its caller alone.
// The result does not depend on the thread count (every row is computed by the same code).
//
// Measured (`QuantizedKernelBenchmark`, one thread, bench-medium's four matrices × 8 layers in
// decode order, µs per layer, medians of 3): Q8_0 306 → 158, Q4_0 360 → 99, Q4_1 376 → 132, int8
// 196 → 145 against the former float-lane kernels (Swift SIMD widening quants to float; an integer
// attempt in Swift SIMD had run 2.5× slower, as Swift cannot express `pmaddubsw`/`pmaddwd`).
//
// Batches (`multiply(rows:)`, count > 1: evaluation, prefill): x stays float32; four weight rows
// are decoded into a scratch and multiplied with every row of X, so each weight is decoded once.
//
// Legend: N inputs (columns), R outputs (rows), B batch rows of X.

import Autodiff
import CQuantKernels
import Dispatch
import Foundation

typealias Lanes = SIMD8<Float>

/// Pointers handed to worker threads; the workers write disjoint ranges of `y`.
struct KernelPointers: @unchecked Sendable {
    let x: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
    let blockSums: UnsafePointer<Float>
}

/// Weights from which a product is split over GCD threads (fewer: thread start-up costs more):
/// batches and the float path of batch 1.
let parallelWorkThreshold = 1 << 16

/// Weights from which a batch-1 integer product is split over the C pool's threads. Measured on
/// 2 cores (`cqk_rows_parallel` in a hot loop on one shape, AVX2), 2 threads take of 1 thread's
/// time: ×1.0–1.15 at 2^14 weights for Q4_0 (×0.8 for Q8_0), ×0.83 (×0.66) at 2^15, ×0.6 at
/// 2^16, ×0.55 at 2^18, ×0.51 at 2^19.5 (bench-medium's largest matrices).
let integerParallelWorkThreshold = 1 << 15

/// Which code runs the batch-1 integer dot products (CQuantKernels): the best the CPU has (AVX2
/// when present), or the portable C everywhere (so tests reach the fallback on AVX2 machines).
enum IntegerKernelPath: Int32, CaseIterable, Sendable {
    case best = 0      // CQK_PATH_BEST
    case portable = 1  // CQK_PATH_PORTABLE
}

/// x (a multiple of 32 values) quantized as the integer kernels quantize it: int8 quants, one
/// scale d per block of 32, and per block s = d·Σq. For tests (the kernels quantize in place).
func quantizeActivations(_ x: [Float], path: IntegerKernelPath) -> (quants: [Int8], scales: [Float], sums: [Float]) {
    precondition(x.count % QuantizationScheme.blockSize == 0, "activations come in blocks of 32")
    let blocks = x.count / QuantizationScheme.blockSize
    var quants = [Int8](repeating: 0, count: x.count)
    var scales = [Float](repeating: 0, count: blocks), sums = [Float](repeating: 0, count: blocks)
    cqk_quantize_activations(x, Int32(x.count), &quants, &scales, &sums, path.rawValue)
    return (quants, scales, sums)
}

/// True when the best integer-kernel path is the AVX2 one (else it is the portable C).
var integerKernelsUseAVX2: Bool { cqk_has_avx2() != 0 }

extension QuantizedMatrix {
    /// y (rows) = W·x (x: columns), or y += W·x when `accumulate`. `y` must not overlap `x`.
    /// x is quantized to int8 blocks of 32 first (see the header); int8 matrices whose columns are
    /// not a multiple of 32 take the float path instead.
    public func multiplyRow(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        multiplyRow(x, into: y, accumulate: accumulate, path: .best)
    }

    /// Whether `multiplyRow` quantizes x and runs integer dot products (every ggml matrix; int8
    /// when columns is a multiple of 32).
    var usesIntegerKernel: Bool { columns % QuantizationScheme.blockSize == 0 }

    /// The code's C format number (CQK_FORMAT_*).
    private var integerFormat: Int32 {
        switch scheme {
        case .q8_0: 0
        case .q4_0: 1
        case .q4_1: 2
        case .int8Symmetric, .int8Asymmetric: 3
        }
    }

    /// Threads for a batch-1 float-path product: one below 2^16 weights, else up to one per 8 rows.
    private var rowThreads: Int {
        rows * columns >= parallelWorkThreshold ? min(Threads.count, max(1, rows / 8)) : 1
    }

    /// Threads for a batch-1 integer product (the C pool): one below `integerParallelWorkThreshold`
    /// weights, else up to one per 8 rows.
    var integerRowThreads: Int {
        rows * columns >= integerParallelWorkThreshold ? min(Threads.count, max(1, rows / 8)) : 1
    }

    /// `multiplyRow` on the chosen integer-kernel path, over `threads` threads (nil:
    /// `integerRowThreads`; tests pass more to reach the pool on small matrices).
    func multiplyRow(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, accumulate: Bool,
                     path: IntegerKernelPath, threads: Int? = nil) {
        guard usesIntegerKernel else { floatMultiplyRow(x, into: y, accumulate: accumulate); return }
        let blocks = columns / QuantizationScheme.blockSize
        withUnsafeTemporaryAllocation(of: Int8.self, capacity: columns) { quants in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * blocks) { blockValues in
                let q = quants.baseAddress!, d = blockValues.baseAddress!, s = d + blocks
                cqk_quantize_activations(x, Int32(columns), q, d, s, path.rawValue)
                // One C call; over 2 threads or more it runs on the C pool (see the header).
                _ = cqk_rows_parallel(Int32(threads ?? integerRowThreads), integerFormat, data, rowBytes, Int32(rows), Int32(columns),
                                      q, d, s, rowScale, rowZeroPoint, y, accumulate ? 1 : 0, path.rawValue)
            }
        }
    }

    /// The float path of `multiplyRow` for int8 matrices with a column tail (x stays float32).
    private func floatMultiplyRow(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 1) { sums in
            let blockSums = sums.baseAddress!
            blockSums[0] = scheme == .int8Asymmetric ? sum(x, columns) : 0
            let pointers = KernelPointers(x: x, y: y, blockSums: blockSums)
            let threads = rowThreads
            if threads == 1 {
                productRows(0..<rows, pointers, accumulate: accumulate)
            } else {
                DispatchQueue.concurrentPerform(iterations: threads) { t in
                    let start = rows * t / threads, end = rows * (t + 1) / threads
                    self.productRows(start..<end, pointers, accumulate: accumulate)
                }
            }
        }
    }

    /// Y = X·Wᵀ for `count` rows of X (count × columns) into Y (count × rows), overwriting Y.
    /// Decodes four weight rows at a time into a per-thread scratch and runs them against every
    /// row of X, so each weight is decoded once per call.
    public func multiply(rows count: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        guard count > 0 else { return }
        if count == 1 { multiplyRow(x, into: y, accumulate: false); return }
        let pointers = KernelPointers(x: x, y: y, blockSums: x)
        let tiles = (rows + 3) / 4
        let threads = count * rows * columns >= parallelWorkThreshold ? min(Threads.count, tiles) : 1
        let body: @Sendable (Int) -> Void = { t in
            let tileRange = (tiles * t / threads)..<(tiles * (t + 1) / threads)
            self.multiplyTiles(tileRange, count: count, pointers)
        }
        if threads == 1 { body(0) } else { DispatchQueue.concurrentPerform(iterations: threads, execute: body) }
    }

    private func multiplyTiles(_ tiles: Range<Int>, count: Int, _ p: KernelPointers) {
        let n = columns
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 4 * n)
        defer { scratch.deallocate() }
        for tile in tiles {
            let r0 = tile * 4, width = min(4, rows - r0)
            for i in 0..<width { dequantizeRow(r0 + i, into: scratch + i * n) }
            for b in 0..<count {
                let xb = p.x + b * n, yb = p.y + b * rows + r0
                if width == 4 {
                    let d = dot4(xb, scratch, n)
                    yb[0] = d[0]; yb[1] = d[1]; yb[2] = d[2]; yb[3] = d[3]
                } else {
                    for i in 0..<width { yb[i] = InferenceKernels.dot(xb, scratch + i * n, count: n) }
                }
            }
        }
    }

    /// y[r] (+)= W[r]·x for the rows in `range` of an int8 matrix, in float32 lanes.
    private func productRows(_ range: Range<Int>, _ p: KernelPointers, accumulate: Bool) {
        for r in range {
            let row = UnsafeRawPointer(data + r * rowBytes)
            let value = rowScale[r] * (int8Dot(p.x, row, columns) - rowZeroPoint[r] * p.blockSums[0])
            p.y[r] = accumulate ? p.y[r] + value : value
        }
    }
}

// MARK: - Dot products

/// Σ x[c] over `n` values.
@inline(__always)
private func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var a0 = Lanes.zero, a1 = Lanes.zero
    var c = 0
    while c + 16 <= n {
        a0 += UnsafeRawPointer(x + c).loadUnaligned(as: Lanes.self)
        a1 += UnsafeRawPointer(x + c + 8).loadUnaligned(as: Lanes.self)
        c += 16
    }
    var s = (a0 + a1).sum()
    while c < n { s += x[c]; c += 1 }
    return s
}

/// 8 int8 at `p + offset` widened to float lanes.
@inline(__always)
private func int8Lanes(_ p: UnsafeRawPointer, _ offset: Int) -> Lanes {
    Lanes(SIMD8<Int32>(truncatingIfNeeded: p.loadUnaligned(fromByteOffset: offset, as: SIMD8<Int8>.self)))
}

/// Σ q[c]·x[c] over the `n` int8 quants at `q`.
@inline(__always)
private func int8Dot(_ x: UnsafePointer<Float>, _ q: UnsafeRawPointer, _ n: Int) -> Float {
    var a0 = Lanes.zero, a1 = Lanes.zero
    var c = 0
    while c + 16 <= n {
        a0.addProduct(int8Lanes(q, c), UnsafeRawPointer(x + c).loadUnaligned(as: Lanes.self))
        a1.addProduct(int8Lanes(q, c + 8), UnsafeRawPointer(x + c + 8).loadUnaligned(as: Lanes.self))
        c += 16
    }
    var s = (a0 + a1).sum()
    while c < n { s += Float(q.load(fromByteOffset: c, as: Int8.self)) * x[c]; c += 1 }
    return s
}

/// (w0·x, w1·x, w2·x, w3·x) for four float rows `n` apart starting at `w`.
@inline(__always)
private func dot4(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ n: Int) -> SIMD4<Float> {
    var a0 = Lanes.zero, a1 = Lanes.zero, a2 = Lanes.zero, a3 = Lanes.zero
    var c = 0
    let w0 = UnsafeRawPointer(w), w1 = UnsafeRawPointer(w + n), w2 = UnsafeRawPointer(w + 2 * n), w3 = UnsafeRawPointer(w + 3 * n)
    while c + 8 <= n {
        let xv = UnsafeRawPointer(x + c).loadUnaligned(as: Lanes.self), o = c * 4
        a0.addProduct(w0.loadUnaligned(fromByteOffset: o, as: Lanes.self), xv)
        a1.addProduct(w1.loadUnaligned(fromByteOffset: o, as: Lanes.self), xv)
        a2.addProduct(w2.loadUnaligned(fromByteOffset: o, as: Lanes.self), xv)
        a3.addProduct(w3.loadUnaligned(fromByteOffset: o, as: Lanes.self), xv)
        c += 8
    }
    var result = SIMD4<Float>(a0.sum(), a1.sum(), a2.sum(), a3.sum())
    while c < n {
        result += SIMD4(w[c], w[n + c], w[2 * n + c], w[3 * n + c]) * x[c]
        c += 1
    }
    return result
}
