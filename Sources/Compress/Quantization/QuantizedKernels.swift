// Matrix–vector and matrix–matrix products over quantized weights, dequantizing inside the
// dot product: the quants are widened to float32 in SIMD lanes (int8 → Int32 → Float, 8 at a
// time) and multiplied by x with fused multiply-adds; the block scale d is converted from fp16
// once per block and applied to the block's partial sum. Rows are split over the cores when the
// matrix has ≥ 2^16 weights.
//
// Measured on the 2-core bench machine (QuantizedKernelBenchmark, one thread): integer dot
// products over x quantized to int8 (ggml's way) ran 2.5× slower here, because Swift SIMD
// cannot express `pmaddwd`/`pmaddubsw` and the even/odd pairing compiles to shuffles; the
// float-lane form reaches ~33 GFLOPS (Q8_0) and ~27 (Q4_0) per core.
//
// Legend: N inputs (columns), R outputs (rows), B batch rows of X.

import Autodiff
import Dispatch
import Foundation

typealias Lanes = SIMD8<Float>

/// Pointers handed to worker threads; the workers write disjoint ranges of `y`.
struct KernelPointers: @unchecked Sendable {
    let x: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
    let blockSums: UnsafePointer<Float>
}

/// Weights from which the product is split over threads (fewer: thread start-up costs more).
let parallelWorkThreshold = 1 << 16

extension QuantizedMatrix {
    /// y (rows) = W·x (x: columns), or y += W·x when `accumulate`. `y` must not overlap `x`.
    public func multiplyRow(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        // Q4_1 needs Σx per block (for the m term), int8 asymmetric Σx over the row (for zp).
        let sumCount = scheme == .q4_1 ? columns / QuantizationScheme.blockSize : 1
        withUnsafeTemporaryAllocation(of: Float.self, capacity: sumCount) { sums in
            let blockSums = sums.baseAddress!
            if scheme == .q4_1 {
                for b in 0..<sumCount { blockSums[b] = InferenceKernels.dot(x + b * 32, ones32, count: 32) }
            } else {
                blockSums[0] = scheme == .int8Asymmetric ? InferenceKernels.dot(x, ones(columns), count: columns) : 0
            }
            let pointers = KernelPointers(x: x, y: y, blockSums: blockSums)
            let threads = rows * columns >= parallelWorkThreshold ? min(Threads.count, max(1, rows / 8)) : 1
            if threads == 1 {
                productRows(0..<rows, pointers, accumulate: accumulate)
            } else {
                // Chunk boundaries on even rows, for the two-row kernels.
                let pairs = (rows + 1) / 2
                DispatchQueue.concurrentPerform(iterations: threads) { t in
                    let start = 2 * (pairs * t / threads), end = min(rows, 2 * (pairs * (t + 1) / threads))
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

    /// y[r] (+)= W[r]·x for the rows in `range`: two rows at a time, then the odd one.
    private func productRows(_ range: Range<Int>, _ p: KernelPointers, accumulate: Bool) {
        @inline(__always) func store(_ r: Int, _ value: Float) {
            p.y[r] = accumulate ? p.y[r] + value : value
        }
        let blocks = columns / QuantizationScheme.blockSize
        var r = range.lowerBound
        switch scheme {
        case .q8_0:
            while r + 2 <= range.upperBound {
                let (a, b) = q8_0Dot2(p.x, data + r * rowBytes, rowBytes, blocks)
                store(r, a); store(r + 1, b); r += 2
            }
            if r < range.upperBound { store(r, q8_0Dot2(p.x, data + r * rowBytes, 0, blocks).0) }
        case .q4_0:
            while r + 2 <= range.upperBound {
                let (a, b) = q4Dot2(p.x, data + r * rowBytes, rowBytes, blocks, offset: false, p.blockSums)
                store(r, a); store(r + 1, b); r += 2
            }
            if r < range.upperBound { store(r, q4Dot2(p.x, data + r * rowBytes, 0, blocks, offset: false, p.blockSums).0) }
        case .q4_1:
            while r + 2 <= range.upperBound {
                let (a, b) = q4Dot2(p.x, data + r * rowBytes, rowBytes, blocks, offset: true, p.blockSums)
                store(r, a); store(r + 1, b); r += 2
            }
            if r < range.upperBound { store(r, q4Dot2(p.x, data + r * rowBytes, 0, blocks, offset: true, p.blockSums).0) }
        case .int8Symmetric, .int8Asymmetric:
            let xSum = p.blockSums[0]
            for r in range {
                let dot = int8Dot(p.x, UnsafeRawPointer(data + r * rowBytes), columns)
                store(r, rowScale[r] * (dot - rowZeroPoint[r] * xSum))
            }
        }
    }
}

// MARK: - Dot products

/// 32 ones, for block sums of x through the float dot kernel.
nonisolated(unsafe) let ones32: UnsafePointer<Float> = {
    let p = UnsafeMutablePointer<Float>.allocate(capacity: 32)
    p.initialize(repeating: 1, count: 32)
    return UnsafePointer(p)
}()

/// A row of ones at least `count` long (grown on demand; read-only once built).
func ones(_ count: Int) -> UnsafePointer<Float> {
    count <= onesRow.count ? onesRow.pointer : makeOnes(count)
}
nonisolated(unsafe) let onesRow: (pointer: UnsafePointer<Float>, count: Int) = (UnsafePointer(makeOnes(1 << 16)), 1 << 16)
private func makeOnes(_ count: Int) -> UnsafePointer<Float> {
    // Larger rows than 65,536 columns are outside the lab's models; leak rather than race.
    let p = UnsafeMutablePointer<Float>.allocate(capacity: count)
    p.initialize(repeating: 1, count: count)
    return UnsafePointer(p)
}

/// 8 int8 at `p + offset` widened to float lanes.
@inline(__always)
private func int8Lanes(_ p: UnsafeRawPointer, _ offset: Int) -> Lanes {
    Lanes(SIMD8<Int32>(truncatingIfNeeded: p.loadUnaligned(fromByteOffset: offset, as: SIMD8<Int8>.self)))
}

/// 8 small integers (int8 lanes already in range) widened to float lanes.
@inline(__always)
private func lanes(_ v: SIMD8<Int8>) -> Lanes { Lanes(SIMD8<Int32>(truncatingIfNeeded: v)) }

/// (W[r]·x, W[r+1]·x) for Q8_0 rows at `row` and `row + stride` (stride 0: one row, twice).
@inline(__always)
private func q8_0Dot2(_ x: UnsafePointer<Float>, _ row: UnsafeMutableRawPointer, _ stride: Int, _ blocks: Int) -> (Float, Float) {
    var acc0 = Lanes.zero, acc1 = Lanes.zero
    var p0 = UnsafeRawPointer(row), xp = UnsafeRawPointer(x)
    for _ in 0..<blocks {
        let p1 = p0 + stride
        let xa = xp.loadUnaligned(as: Lanes.self), xb = xp.loadUnaligned(fromByteOffset: 32, as: Lanes.self)
        let xc = xp.loadUnaligned(fromByteOffset: 64, as: Lanes.self), xd = xp.loadUnaligned(fromByteOffset: 96, as: Lanes.self)
        var s0 = int8Lanes(p0, 2) * xa, s1 = int8Lanes(p1, 2) * xa
        s0.addProduct(int8Lanes(p0, 10), xb); s1.addProduct(int8Lanes(p1, 10), xb)
        s0.addProduct(int8Lanes(p0, 18), xc); s1.addProduct(int8Lanes(p1, 18), xc)
        s0.addProduct(int8Lanes(p0, 26), xd); s1.addProduct(int8Lanes(p1, 26), xd)
        acc0.addProduct(s0, Lanes(repeating: BlockCodec.loadHalf(p0)))
        acc1.addProduct(s1, Lanes(repeating: BlockCodec.loadHalf(p1)))
        p0 += 34; xp += 128
    }
    return (acc0.sum(), acc1.sum())
}

/// Two Q4_0 rows (`offset` false: x̂ = (q − 8)·d) or Q4_1 rows (`offset` true: x̂ = q·d + m,
/// the m term as m·Σx over the block, from `blockSums`).
@inline(__always)
private func q4Dot2(_ x: UnsafePointer<Float>, _ row: UnsafeMutableRawPointer, _ stride: Int, _ blocks: Int,
                    offset: Bool, _ blockSums: UnsafePointer<Float>) -> (Float, Float) {
    var acc0 = Lanes.zero, acc1 = Lanes.zero
    var m0: Float = 0, m1: Float = 0
    var p0 = UnsafeRawPointer(row), xp = UnsafeRawPointer(x)
    let quants = offset ? 4 : 2, bias = SIMD16<Int8>(repeating: offset ? 0 : 8)
    for b in 0..<blocks {
        let p1 = p0 + stride
        let xa = xp.loadUnaligned(as: Lanes.self), xb = xp.loadUnaligned(fromByteOffset: 32, as: Lanes.self)
        let xc = xp.loadUnaligned(fromByteOffset: 64, as: Lanes.self), xd = xp.loadUnaligned(fromByteOffset: 96, as: Lanes.self)
        let bytes0 = p0.loadUnaligned(fromByteOffset: quants, as: SIMD16<UInt8>.self)
        let bytes1 = p1.loadUnaligned(fromByteOffset: quants, as: SIMD16<UInt8>.self)
        // Elements 0…15 are the low nibbles, 16…31 the high ones.
        let low0 = SIMD16<Int8>(truncatingIfNeeded: bytes0 & 0x0F) &- bias, high0 = SIMD16<Int8>(truncatingIfNeeded: bytes0 &>> 4) &- bias
        let low1 = SIMD16<Int8>(truncatingIfNeeded: bytes1 & 0x0F) &- bias, high1 = SIMD16<Int8>(truncatingIfNeeded: bytes1 &>> 4) &- bias
        var s0 = lanes(low0.lowHalf) * xa, s1 = lanes(low1.lowHalf) * xa
        s0.addProduct(lanes(low0.highHalf), xb); s1.addProduct(lanes(low1.highHalf), xb)
        s0.addProduct(lanes(high0.lowHalf), xc); s1.addProduct(lanes(high1.lowHalf), xc)
        s0.addProduct(lanes(high0.highHalf), xd); s1.addProduct(lanes(high1.highHalf), xd)
        acc0.addProduct(s0, Lanes(repeating: BlockCodec.loadHalf(p0)))
        acc1.addProduct(s1, Lanes(repeating: BlockCodec.loadHalf(p1)))
        if offset {
            m0 += BlockCodec.loadHalf(p0 + 2) * blockSums[b]
            m1 += BlockCodec.loadHalf(p1 + 2) * blockSums[b]
        }
        p0 += quants + 16; xp += 128
    }
    return (acc0.sum() + m0, acc1.sum() + m1)
}

/// Σ q[c]·x[c] over `n` int8 quants.
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
