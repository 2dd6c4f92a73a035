// Matrix–vector and matrix–matrix products over quantized weights, dequantizing inside the
// dot product: the quants are widened to float32 in SIMD lanes (int8 → Int32 → Float, 8 at a
// time) and multiplied by x with fused multiply-adds; the block scale d is converted from fp16
// once per block and applied to the block's partial sum. Rows are split over the cores when the
// matrix has ≥ 2^16 weights.
//
// Measured on the 2-core bench machine (one thread, matrix in cache): integer dot products over
// x quantized to int8 (ggml's way) ran 2.5× slower here, because Swift SIMD cannot express
// `pmaddwd`/`pmaddubsw` (the even/odd pairing compiles to shuffles, `wrappedSum` to a scalar
// loop); the float-lane form reaches ~33 GFLOPS (Q8_0) and ~27 (Q4_0) per core, about F32's
// speed when the weights are in cache and 3–7× F32 when they stream from memory (decode).
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
                for b in 0..<sumCount { blockSums[b] = sum(x + b * 32, 32) }
            } else {
                blockSums[0] = scheme == .int8Asymmetric ? sum(x, columns) : 0
            }
            let pointers = KernelPointers(x: x, y: y, blockSums: blockSums)
            let threads = rows * columns >= parallelWorkThreshold ? min(Threads.count, max(1, rows / 8)) : 1
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

    /// y[r] (+)= W[r]·x for the rows in `range`, one row after the other. Streaming the rows in
    /// memory order matters more than sharing x between rows: in a decode sweep over
    /// bench-medium's layers (weights evicted between visits), a four-row kernel (x loads shared,
    /// 15–50% faster when the matrix is in cache) ran 2–4× slower than this one — the hardware
    /// prefetchers follow one sequential stream far better than four interleaved ones.
    private func productRows(_ range: Range<Int>, _ p: KernelPointers, accumulate: Bool) {
        let blocks = columns / QuantizationScheme.blockSize
        for r in range {
            let row = UnsafeRawPointer(data + r * rowBytes)
            let value: Float
            switch scheme {
            case .q8_0: value = q8_0Dot(p.x, row, blocks)
            case .q4_0: value = q4Dot(p.x, row, blocks, offset: false, p.blockSums)
            case .q4_1: value = q4Dot(p.x, row, blocks, offset: true, p.blockSums)
            case .int8Symmetric, .int8Asymmetric:
                value = rowScale[r] * (int8Dot(p.x, row, columns) - rowZeroPoint[r] * p.blockSums[0])
            }
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

/// 8 small integers (int8 lanes already in range) widened to float lanes.
@inline(__always)
private func lanes(_ v: SIMD8<Int8>) -> Lanes { Lanes(SIMD8<Int32>(truncatingIfNeeded: v)) }

/// W[r]·x for the Q8_0 row at `row`: per block, four 8-lane products of the widened quants
/// with x, scaled by the block's d.
@inline(__always)
private func q8_0Dot(_ x: UnsafePointer<Float>, _ row: UnsafeRawPointer, _ blocks: Int) -> Float {
    var a0 = Lanes.zero, a1 = Lanes.zero
    var p = row, xp = UnsafeRawPointer(x)
    for _ in 0..<blocks {
        var s0 = int8Lanes(p, 2) * xp.loadUnaligned(as: Lanes.self)
        var s1 = int8Lanes(p, 10) * xp.loadUnaligned(fromByteOffset: 32, as: Lanes.self)
        s0.addProduct(int8Lanes(p, 18), xp.loadUnaligned(fromByteOffset: 64, as: Lanes.self))
        s1.addProduct(int8Lanes(p, 26), xp.loadUnaligned(fromByteOffset: 96, as: Lanes.self))
        let d = Lanes(repeating: BlockCodec.loadHalf(p))
        a0.addProduct(s0, d)
        a1.addProduct(s1, d)
        p += 34; xp += 128
    }
    return (a0 + a1).sum()
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

/// W[r]·x for a Q4_0 row (`offset` false: x̂ = (q − 8)·d) or a Q4_1 row (`offset` true:
/// x̂ = q·d + m, the m term as m·Σx over the block, from `blockSums`).
@inline(__always)
private func q4Dot(_ x: UnsafePointer<Float>, _ row: UnsafeRawPointer, _ blocks: Int,
                   offset: Bool, _ blockSums: UnsafePointer<Float>) -> Float {
    var a0 = Lanes.zero, a1 = Lanes.zero
    var m: Float = 0
    var p = row, xp = UnsafeRawPointer(x)
    let quants = offset ? 4 : 2, bias = SIMD16<Int8>(repeating: offset ? 0 : 8)
    for b in 0..<blocks {
        let q = nibbleLanes(p + quants, bias)
        var s0 = q.0 * xp.loadUnaligned(as: Lanes.self)
        var s1 = q.1 * xp.loadUnaligned(fromByteOffset: 32, as: Lanes.self)
        s0.addProduct(q.2, xp.loadUnaligned(fromByteOffset: 64, as: Lanes.self))
        s1.addProduct(q.3, xp.loadUnaligned(fromByteOffset: 96, as: Lanes.self))
        let d = Lanes(repeating: BlockCodec.loadHalf(p))
        a0.addProduct(s0, d)
        a1.addProduct(s1, d)
        if offset { m += BlockCodec.loadHalf(p + 2) * blockSums[b] }
        p += quants + 16; xp += 128
    }
    return (a0 + a1).sum() + m
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
