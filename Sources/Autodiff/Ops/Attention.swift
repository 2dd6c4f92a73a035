// Causal scaled-dot-product self-attention, fused, straight from GPT-2's qkv projection.
//
// Fused rather than composed: Q, K and V of every head are read in place from the (B, T, 3C)
// qkv tensor by giving BLAS a leading dimension of 3C, and each head's output is written in
// place into (B, T, C) with leading dimension C — no split, permute or merge copies. The
// forward keeps the attention probabilities (B, H, T, T) for the backward.
//
// Causal tiles: the T×T products run in row tiles of `attentionRowTile` queries; tile
// [r0, r1) needs only keys 0..<r1, so the blocks above the diagonal are never computed (3/8
// of the attention's multiply-adds at T = 128). Inside a diagonal block the masked entries
// are written as exact zeros; the blocks right of it are never written nor read.

import Foundation

/// Queries per causal tile. Smaller tiles skip more of the masked half but make smaller
/// (less efficient) BLAS calls; 32 measured best at T = 128, D = 32.
let attentionRowTile = 32

extension Tensor {
    /// Causal self-attention. `self` is qkv (B, T, 3C) laid out [q | k | v] with heads
    /// contiguous inside each (GPT-2's c_attn output); returns (B, T, C). In a head-pruned layer
    /// C is the layer's attention width (kept heads × head size), not n_embd.
    public func causalSelfAttention(heads: Int) throws -> Tensor {
        try causalSelfAttention(heads: heads, rowTile: attentionRowTile)
    }

    /// The same with a given tile height (tests use small tiles to cross tile edges at small T).
    func causalSelfAttention(heads: Int, rowTile: Int) throws -> Tensor {
        guard rank == 3, shape[2] % 3 == 0, heads > 0, (shape[2] / 3) % heads == 0 else {
            throw TensorError("causalSelfAttention: expected qkv of shape (B, T, 3C) with C divisible by \(heads) heads, got \(shape)")
        }
        let (b, t, c3) = (shape[0], shape[1], shape[2])
        let c = c3 / 3, d = c / heads
        let tile = max(1, rowTile)
        let tiles = (t + tile - 1) / tile
        let scale = 1 / Float(d).squareRoot()
        let out = Tensor.empty([b, t, c])                 // (B, T, C)
        // Only the backward reads the probabilities again. Without recording (evaluation, logit export)
        // each thread reuses one tile's rows (tile × T, in cache) instead of writing all of (B, H, T, T):
        // at T = 1024 with 12 heads that tensor is 50 MB a layer, freshly allocated and faulted in.
        let keep = Tensor.shouldRecord([self])
        let chunks = chunkCount(b * heads, minimumPerThread: 1)
        let probabilities = Tensor.empty(keep ? [b, heads, t, t] : [chunks, tile, t])  // lower blocks only
        let (pqkv, po, pp) = (Unchecked(data), Unchecked(out.data), Unchecked(probabilities.data))
        parallelChunks(b * heads, chunks: chunks) { chunk, r in
            for bh in r {
                let (bi, h) = (bh / heads, bh % heads)
                let q = pqkv.value + bi * t * c3 + h * d, k = q + c, v = q + 2 * c
                let p = keep ? pp.value + bh * t * t : pp.value + chunk * tile * t
                let o = po.value + bi * t * c + h * d
                for tileIndex in 0..<tiles {
                    let r0 = tileIndex * tile, r1 = min(t, r0 + tile)
                    let rows = keep ? p + r0 * t : p  // S, then P, of queries r0..<r1 (row stride T)
                    // S[r0..<r1, 0..<r1] = scale · Q[r0..<r1] K[0..<r1]ᵀ
                    sgemm(transposeA: false, transposeB: true, m: r1 - r0, n: r1, k: d, alpha: scale,
                          q + r0 * c3, lda: c3, k, ldb: c3, beta: 0, rows, ldc: t, parallel: false)
                    // Causal softmax: row i attends to 0…i; the rest of the tile's columns is exactly 0.
                    for i in r0..<r1 {
                        let row = rows + (i - r0) * t
                        let end = causalSoftmaxRow(row, i + 1, limit: r1)
                        zeroFill(row + end, r1 - end)
                    }
                    // out[r0..<r1] = P[r0..<r1, 0..<r1] V[0..<r1]  (into its head's columns of (B, T, C))
                    sgemm(transposeA: false, transposeB: false, m: r1 - r0, n: d, k: r1,
                          rows, lda: t, v, ldb: c3, beta: 0, o + r0 * c, ldc: c, parallel: false)
                }
            }
        }
        return out.recorded("causalSelfAttention", [self]) { [self] _, g in
            // Every head writes its own columns of dQ, dK and dV once: a fresh buffer is overwritten.
            let (gradQKV, beta) = gradBufferForBLAS()
            let (pdqkv, pg, pp) = (Unchecked(gradQKV), Unchecked(g.data), Unchecked(probabilities.data))
            let chunks = chunkCount(b * heads, minimumPerThread: 1)
            let scratch = Tensor.empty([chunks, t, t])   // dP then dS, one (T, T) per thread
            let ps = Unchecked(scratch.data)
            parallelChunks(b * heads, chunks: chunks) { chunk, r in
                let ds = ps.value + chunk * t * t
                for bh in r {
                    let (bi, h) = (bh / heads, bh % heads)
                    let q = pqkv.value + bi * t * c3 + h * d, k = q + c, v = q + 2 * c
                    let dq = pdqkv.value + bi * t * c3 + h * d, dk = dq + c, dv = dq + 2 * c
                    let p = pp.value + bh * t * t
                    let gOut = pg.value + bi * t * c + h * d
                    for tileIndex in 0..<tiles {
                        let r0 = tileIndex * tile, r1 = min(t, r0 + tile)
                        // dP[r0..<r1, 0..<r1] = dOut[r0..<r1] V[0..<r1]ᵀ
                        sgemm(transposeA: false, transposeB: true, m: r1 - r0, n: r1, k: d,
                              gOut + r0 * c, lda: c, v, ldb: c3, beta: 0, ds + r0 * t, ldc: t, parallel: false)
                        // dS = scale · P ⊙ (dP − Σ_j dP·P) on j ≤ i; the rest of the tile's columns is 0
                        for i in r0..<r1 {
                            let (pr, dr) = (p + i * t, ds + i * t)
                            // P is 0 on columns i+1..<r1 (forward), so whole 8-lane blocks up to
                            // `end` give the same dot and write 0 there.
                            let end = paddedEnd(i + 1, limit: r1)
                            let dot = blockDot(pr, dr, end)
                            scaledSoftmaxGradRow(dr, pr, end, dot: dot, scale: scale)
                            zeroFill(dr + end, r1 - end)
                        }
                        // dQ[r0..<r1] = dS[r0..<r1, 0..<r1] K[0..<r1]
                        sgemm(transposeA: false, transposeB: false, m: r1 - r0, n: d, k: r1,
                              ds + r0 * t, lda: t, k, ldb: c3, beta: beta, dq + r0 * c3, ldc: c3, parallel: false)
                    }
                    // Keys and values of tile [r0, r1) are seen by queries r0..<T only:
                    // dV[r0..<r1] = P[r0..<T, r0..<r1]ᵀ dOut[r0..<T];  dK[r0..<r1] = dS[r0..<T, r0..<r1]ᵀ Q[r0..<T]
                    for tileIndex in 0..<tiles {
                        let r0 = tileIndex * tile, r1 = min(t, r0 + tile)
                        sgemm(transposeA: true, transposeB: false, m: r1 - r0, n: d, k: t - r0,
                              p + r0 * t + r0, lda: t, gOut + r0 * c, ldb: c, beta: beta, dv + r0 * c3, ldc: c3,
                              parallel: false)
                        sgemm(transposeA: true, transposeB: false, m: r1 - r0, n: d, k: t - r0,
                              ds + r0 * t + r0, lda: t, q + r0 * c3, ldb: c3, beta: beta, dk + r0 * c3, ldc: c3,
                              parallel: false)
                    }
                }
            }
        }
    }
}

/// Zeroes a short stretch in place (a memset call per row cost more than the stores).
@inline(__always)
private func zeroFill(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
    var j = 0
    while j + 8 <= n { x.storeVec(.zero, j); j += 8 }
    while j < n { x[j] = 0; j += 1 }
}

/// n rounded up to whole 8-lane blocks when that stays within `limit`, else n.
@inline(__always)
private func paddedEnd(_ n: Int, limit: Int) -> Int {
    let padded = (n + 7) / 8 * 8
    return padded <= limit ? padded : n
}

/// The largest of 8 lanes, by halving (SIMD's max() is a generic call here).
@inline(__always)
private func laneMax(_ v: Vec) -> Float {
    var a = v.lowHalf
    let b = v.highHalf
    a.replace(with: b, where: b .> a)
    var c = a.lowHalf
    let d = a.highHalf
    c.replace(with: d, where: d .> c)
    return Swift.max(c[0], c[1])
}

/// The sum of 8 lanes, by halving.
@inline(__always)
private func laneSum(_ v: Vec) -> Float {
    let a = v.lowHalf + v.highHalf
    let b = a.lowHalf + a.highHalf
    return b[0] + b[1]
}

private let laneIndices = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7)

/// softmax of row[0..<n] in place for one causal row, whole 8-lane blocks where the row's
/// buffer allows (up to `limit`): the lanes past n in the last block are written as 0.
/// Returns the end of what was written (n, or n rounded up to 8).
@inline(__always)
private func causalSoftmaxRow(_ row: UnsafeMutablePointer<Float>, _ n: Int, limit: Int) -> Int {
    let end = paddedEnd(n, limit: limit)
    let full = n / 8 * 8
    let masked = end > n   // the last block is partial and masked
    let tailMask = laneIndices .>= SIMD8<Int32>(repeating: Int32(n - full))
    var mv = Vec(repeating: -.infinity)
    var j = 0
    while j < full { let v = row.loadVec(j); mv.replace(with: v, where: v .> mv); j += 8 }
    if masked { let v = row.loadVec(full).replacing(with: -.infinity, where: tailMask); mv.replace(with: v, where: v .> mv) }
    var m = laneMax(mv)
    if !masked { for k in full..<n where row[k] > m { m = row[k] } }
    let maxv = Vec(repeating: m)
    var acc = Vec.zero
    j = 0
    while j < full { let e = vexpNonPositive(row.loadVec(j) - maxv); row.storeVec(e, j); acc += e; j += 8 }
    if masked {
        // Masked lanes get −100: e^−100 underflows to exactly 0 in vexpNonPositive.
        let x = (row.loadVec(full) - maxv).replacing(with: -100, where: tailMask)
        let e = vexpNonPositive(x)
        row.storeVec(e, full)
        acc += e
    }
    var sum = laneSum(acc)
    if !masked { for k in full..<n { row[k] = fastExp(row[k] - m); sum += row[k] } }
    let inverse = Vec(repeating: 1 / sum)
    j = 0
    while j + 8 <= end { row.storeVec(row.loadVec(j) * inverse, j); j += 8 }
    while j < end { row[j] *= inverse[0]; j += 1 }
    return end
}

/// Σ x[j]·y[j] over j < n, 8 lanes at a time, scalar tail.
@inline(__always)
private func blockDot(_ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
    var acc = Vec.zero
    var j = 0
    while j + 8 <= n { acc += x.loadVec(j) * y.loadVec(j); j += 8 }
    var s = laneSum(acc)
    while j < n { s += x[j] * y[j]; j += 1 }
    return s
}

/// d[j] = scale · p[j] · (d[j] − dot) over one row of n, 8 lanes at a time.
@inline(__always)
private func scaledSoftmaxGradRow(_ d: UnsafeMutablePointer<Float>, _ p: UnsafeMutablePointer<Float>, _ n: Int,
                                  dot: Float, scale: Float) {
    let (dv, sv) = (Vec(repeating: dot), Vec(repeating: scale))
    var j = 0
    while j + 8 <= n { d.storeVec(sv * p.loadVec(j) * (d.loadVec(j) - dv), j); j += 8 }
    while j < n { d[j] = scale * p[j] * (d[j] - dot); j += 1 }
}
