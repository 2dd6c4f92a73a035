// Causal scaled-dot-product self-attention, fused, straight from GPT-2's qkv projection.
//
// Fused rather than composed: Q, K and V of every head are read in place from the (B, T, 3C)
// qkv tensor by giving BLAS a leading dimension of 3C, and each head's output is written in
// place into (B, T, C) with leading dimension C — no split, permute or merge copies. The
// forward keeps the attention probabilities (B, H, T, T) for the backward.

import Foundation

extension Tensor {
    /// Causal self-attention. `self` is qkv (B, T, 3C) laid out [q | k | v] with heads
    /// contiguous inside each (GPT-2's c_attn output); returns (B, T, C).
    public func causalSelfAttention(heads: Int) throws -> Tensor {
        guard rank == 3, shape[2] % 3 == 0, heads > 0, (shape[2] / 3) % heads == 0 else {
            throw TensorError("causalSelfAttention: expected qkv of shape (B, T, 3C) with C divisible by \(heads) heads, got \(shape)")
        }
        let (b, t, c3) = (shape[0], shape[1], shape[2])
        let c = c3 / 3, d = c / heads
        let scale = 1 / Float(d).squareRoot()
        let out = Tensor.empty([b, t, c])                 // (B, T, C)
        let probabilities = Tensor.empty([b, heads, t, t]) // (B, H, T, T)
        let (pqkv, po, pp) = (Unchecked(data), Unchecked(out.data), Unchecked(probabilities.data))
        parallelRanges(b * heads, minimumPerThread: 1) { r in
            for bh in r {
                let (bi, h) = (bh / heads, bh % heads)
                let q = pqkv.value + bi * t * c3 + h * d, k = q + c, v = q + 2 * c
                let p = pp.value + bh * t * t
                // S = scale · Q Kᵀ  (T, T)
                sgemm(transposeA: false, transposeB: true, m: t, n: t, k: d, alpha: scale,
                      q, lda: c3, k, ldb: c3, beta: 0, p, ldc: t, parallel: false)
                // Causal softmax: row i attends to 0…i; the rest is exactly 0.
                for i in 0..<t {
                    let row = p + i * t
                    softmaxRow(row, row, i + 1)
                    (row + i + 1).update(repeating: 0, count: t - i - 1)
                }
                // out_h = P V  (T, D), written into its head's columns of (B, T, C)
                sgemm(transposeA: false, transposeB: false, m: t, n: d, k: t,
                      p, lda: t, v, ldb: c3, beta: 0, po.value + bi * t * c + h * d, ldc: c, parallel: false)
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
                    // dP = dOut Vᵀ  (T, T);  dV += Pᵀ dOut  (T, D)
                    sgemm(transposeA: false, transposeB: true, m: t, n: t, k: d,
                          gOut, lda: c, v, ldb: c3, beta: 0, ds, ldc: t, parallel: false)
                    sgemm(transposeA: true, transposeB: false, m: t, n: d, k: t,
                          p, lda: t, gOut, ldb: c, beta: beta, dv, ldc: c3, parallel: false)
                    // dS = scale · P ⊙ (dP − Σ_j dP·P)  (masked entries have P = 0)
                    for i in 0..<t {
                        let (pr, dr) = (p + i * t, ds + i * t)
                        var dot: Float = 0
                        for j in 0...i { dot += pr[j] * dr[j] }
                        for j in 0...i { dr[j] = scale * pr[j] * (dr[j] - dot) }
                        (dr + i + 1).update(repeating: 0, count: t - i - 1)
                    }
                    // dQ += dS K;  dK += dSᵀ Q
                    sgemm(transposeA: false, transposeB: false, m: t, n: d, k: t,
                          ds, lda: t, k, ldb: c3, beta: beta, dq, ldc: c3, parallel: false)
                    sgemm(transposeA: true, transposeB: false, m: t, n: d, k: t,
                          ds, lda: t, q, ldb: c3, beta: beta, dk, ldc: c3, parallel: false)
                }
            }
        }
    }
}
