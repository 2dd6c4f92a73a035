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
                // Chunk boundaries on multiples of 4 rows, for the four-row kernels.
                let quads = (rows + 3) / 4
                DispatchQueue.concurrentPerform(iterations: threads) { t in
                    let start = 4 * (quads * t / threads), end = min(rows, 4 * (quads * (t + 1) / threads))
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

    /// y[r] (+)= W[r]·x for the rows in `range`: four rows at a time (sharing the loads of x),
    /// then the last one to three rows one by one (the same kernel, zero row stride: four
    /// copies of one row).
    private func productRows(_ range: Range<Int>, _ p: KernelPointers, accumulate: Bool) {
        let blocks = columns / QuantizationScheme.blockSize
        var r = range.lowerBound
        func kernel(_ r: Int, stride: Int) -> SIMD4<Float> {
            let row = UnsafeRawPointer(data + r * rowBytes)
            switch scheme {
            case .q8_0: return q8_0Dot4(p.x, row, stride, blocks)
            case .q4_0: return q4Dot4(p.x, row, stride, blocks, offset: false, p.blockSums)
            case .q4_1: return q4Dot4(p.x, row, stride, blocks, offset: true, p.blockSums)
            case .int8Symmetric, .int8Asymmetric: return int8Dot4(p.x, row, stride, columns)
            }
        }
        while r < range.upperBound {
            let width = min(4, range.upperBound - r)
            var dots = width == 4 ? kernel(r, stride: rowBytes) : .zero
            for i in 0..<width where width < 4 { dots[i] = kernel(r + i, stride: 0)[0] }
            for i in 0..<width {
                var value = dots[i]
                if !scheme.isBlockFormat { value = rowScale[r + i] * (value - rowZeroPoint[r + i] * p.blockSums[0]) }
                p.y[r + i] = accumulate ? p.y[r + i] + value : value
            }
            r += width
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

/// W[r + i]·x for four Q8_0 rows `stride` bytes apart from `row` (stride 0: one row, four times).
@inline(__always)
private func q8_0Dot4(_ x: UnsafePointer<Float>, _ row: UnsafeRawPointer, _ stride: Int, _ blocks: Int) -> SIMD4<Float> {
    var a0 = Lanes.zero, a1 = Lanes.zero, a2 = Lanes.zero, a3 = Lanes.zero
    var p0 = row, xp = UnsafeRawPointer(x)
    for _ in 0..<blocks {
        let p1 = p0 + stride, p2 = p1 + stride, p3 = p2 + stride
        var s0 = Lanes.zero, s1 = Lanes.zero, s2 = Lanes.zero, s3 = Lanes.zero
        for o in Swift.stride(from: 0, to: 32, by: 8) {
            let xv = xp.loadUnaligned(fromByteOffset: 4 * o, as: Lanes.self)
            s0.addProduct(int8Lanes(p0, 2 + o), xv); s1.addProduct(int8Lanes(p1, 2 + o), xv)
            s2.addProduct(int8Lanes(p2, 2 + o), xv); s3.addProduct(int8Lanes(p3, 2 + o), xv)
        }
        a0.addProduct(s0, Lanes(repeating: BlockCodec.loadHalf(p0)))
        a1.addProduct(s1, Lanes(repeating: BlockCodec.loadHalf(p1)))
        a2.addProduct(s2, Lanes(repeating: BlockCodec.loadHalf(p2)))
        a3.addProduct(s3, Lanes(repeating: BlockCodec.loadHalf(p3)))
        p0 += 34; xp += 128
    }
    return SIMD4(a0.sum(), a1.sum(), a2.sum(), a3.sum())
}

/// The 32 quants of a Q4 block's 16 bytes at `p`, as four float lanes (elements 0…7, 8…15 from
/// the low nibbles, 16…23, 24…31 from the high ones), minus `bias`.
@inline(__always)
private func nibbleLanes(_ p: UnsafeRawPointer, _ bias: SIMD16<Int8>) -> (Lanes, Lanes, Lanes, Lanes) {
    let bytes = p.loadUnaligned(as: SIMD16<UInt8>.self)
    let low = SIMD16<Int8>(truncatingIfNeeded: bytes & 0x0F) &- bias
    let high = SIMD16<Int8>(truncatingIfNeeded: bytes &>> 4) &- bias
    return (lanes(low.lowHalf), lanes(low.highHalf), lanes(high.lowHalf), lanes(high.highHalf))
}

/// Σ of four lanes·x products for one block: q0…q3 against x's 32 values xa…xd.
@inline(__always)
private func blockDot(_ q: (Lanes, Lanes, Lanes, Lanes), _ xa: Lanes, _ xb: Lanes, _ xc: Lanes, _ xd: Lanes) -> Lanes {
    var s = q.0 * xa
    s.addProduct(q.1, xb)
    s.addProduct(q.2, xc)
    s.addProduct(q.3, xd)
    return s
}

/// Four Q4_0 rows (`offset` false: x̂ = (q − 8)·d) or Q4_1 rows (`offset` true: x̂ = q·d + m,
/// the m term as m·Σx over the block, from `blockSums`), `stride` bytes apart.
@inline(__always)
private func q4Dot4(_ x: UnsafePointer<Float>, _ row: UnsafeRawPointer, _ stride: Int, _ blocks: Int,
                    offset: Bool, _ blockSums: UnsafePointer<Float>) -> SIMD4<Float> {
    var a0 = Lanes.zero, a1 = Lanes.zero, a2 = Lanes.zero, a3 = Lanes.zero
    var m = SIMD4<Float>.zero
    var p0 = row, xp = UnsafeRawPointer(x)
    let quants = offset ? 4 : 2, bias = SIMD16<Int8>(repeating: offset ? 0 : 8)
    for b in 0..<blocks {
        let p1 = p0 + stride, p2 = p1 + stride, p3 = p2 + stride
        let xa = xp.loadUnaligned(as: Lanes.self), xb = xp.loadUnaligned(fromByteOffset: 32, as: Lanes.self)
        let xc = xp.loadUnaligned(fromByteOffset: 64, as: Lanes.self), xd = xp.loadUnaligned(fromByteOffset: 96, as: Lanes.self)
        a0.addProduct(blockDot(nibbleLanes(p0 + quants, bias), xa, xb, xc, xd), Lanes(repeating: BlockCodec.loadHalf(p0)))
        a1.addProduct(blockDot(nibbleLanes(p1 + quants, bias), xa, xb, xc, xd), Lanes(repeating: BlockCodec.loadHalf(p1)))
        a2.addProduct(blockDot(nibbleLanes(p2 + quants, bias), xa, xb, xc, xd), Lanes(repeating: BlockCodec.loadHalf(p2)))
        a3.addProduct(blockDot(nibbleLanes(p3 + quants, bias), xa, xb, xc, xd), Lanes(repeating: BlockCodec.loadHalf(p3)))
        if offset {
            let mins = SIMD4(BlockCodec.loadHalf(p0 + 2), BlockCodec.loadHalf(p1 + 2),
                             BlockCodec.loadHalf(p2 + 2), BlockCodec.loadHalf(p3 + 2))
            m.addProduct(mins, SIMD4(repeating: blockSums[b]))
        }
        p0 += quants + 16; xp += 128
    }
    return SIMD4(a0.sum(), a1.sum(), a2.sum(), a3.sum()) + m
}

/// Σ q[c]·x[c] over `n` int8 quants, for four rows `stride` bytes apart.
@inline(__always)
private func int8Dot4(_ x: UnsafePointer<Float>, _ row: UnsafeRawPointer, _ stride: Int, _ n: Int) -> SIMD4<Float> {
    var a0 = Lanes.zero, a1 = Lanes.zero, a2 = Lanes.zero, a3 = Lanes.zero
    let q0 = row, q1 = q0 + stride, q2 = q1 + stride, q3 = q2 + stride
    var c = 0
    while c + 8 <= n {
        let xv = UnsafeRawPointer(x + c).loadUnaligned(as: Lanes.self)
        a0.addProduct(int8Lanes(q0, c), xv); a1.addProduct(int8Lanes(q1, c), xv)
        a2.addProduct(int8Lanes(q2, c), xv); a3.addProduct(int8Lanes(q3, c), xv)
        c += 8
    }
    var result = SIMD4(a0.sum(), a1.sum(), a2.sum(), a3.sum())
    while c < n {
        result += SIMD4(Float(q0.load(fromByteOffset: c, as: Int8.self)), Float(q1.load(fromByteOffset: c, as: Int8.self)),
                        Float(q2.load(fromByteOffset: c, as: Int8.self)), Float(q3.load(fromByteOffset: c, as: Int8.self))) * x[c]
        c += 1
    }
    return result
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
