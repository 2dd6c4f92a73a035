// Pointer-level kernels for no-grad, one-row-at-a-time inference (KV-cache generation).
//
// A decode step at batch 1 is a chain of matrix–vector products and short row operations;
// at the lab's sizes (C = 128…256) a step costs well under a millisecond, so Tensor
// allocation, tape checks and thread dispatch per op would dominate. These kernels work on
// caller-owned buffers, allocate nothing and run on the calling thread (OpenBLAS may still
// split a large matrix–vector product over its own threads). Formulas match the Tensor ops:
// layer norm is `Tensor.layerNorm`'s, GELU is `Tensor.gelu()`'s (tanh approximation, vtanh),
// softmax is the shared `softmaxRow`.
//
// Legend: C channels, H heads, D head size (C = H·D), T positions, V vocabulary.

/// Kernels for single-row inference on raw Float32 buffers. Only Autodiff touches BLAS, so
/// model code calls these instead. Every pointer must hold the stated number of elements.
public enum InferenceKernels {
    /// out (outFeatures) = Wᵀ·x + bias, with W stored (inFeatures, outFeatures) row-major
    /// (GPT-2's Conv1D layout). With `accumulate`, adds Wᵀ·x + bias to `out` instead (a residual
    /// connection without a temporary). `out` must not overlap `x`.
    public static func linearRow(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                 out: UnsafeMutablePointer<Float>, inFeatures: Int, outFeatures: Int,
                                 accumulate: Bool = false) {
        if let bias {
            if accumulate { add(bias, into: out, count: outFeatures) } else { out.update(from: bias, count: outFeatures) }
        } else if !accumulate {
            out.update(repeating: 0, count: outFeatures)
        }
        if inFeatures * outFeatures <= largeMatrix {
            transposedProductRow(x, weight, out, k: inFeatures, n: outFeatures)
        } else {
            // y (1, out) += x (1, in) · W (in, out): the wrapper sends M = 1 to sgemv.
            sgemm(transposeA: false, transposeB: false, m: 1, n: outFeatures, k: inFeatures,
                  x, lda: inFeatures, weight, ldb: outFeatures, beta: 1, out, ldc: outFeatures)
        }
    }

    /// out (rows) = M·x with M (rows, columns) row-major: e.g. the tied LM head, logits (V) from
    /// wte (V, C) and the final hidden state (C).
    public static func matrixVector(_ matrix: UnsafePointer<Float>, rows: Int, columns: Int,
                                    _ x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
        if rows * columns <= largeMatrix {
            for r in 0..<rows { out[r] = rowDot(matrix + r * columns, x, columns) }
        } else {
            // y (1, rows) = x (1, columns) · Mᵀ
            sgemm(transposeA: false, transposeB: true, m: 1, n: rows, k: columns,
                  x, lda: columns, matrix, ldb: columns, beta: 0, out, ldc: rows)
        }
    }

    /// out (C) = (x − mean) / √(var + ε) · weight + bias, the formula of `Tensor.layerNorm`.
    /// `out` may alias `x`.
    public static func layerNormRow(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                                    out: UnsafeMutablePointer<Float>, count c: Int, epsilon: Float) {
        let mean = rowSum(x, c) / Float(c)
        var squares = Vec.zero
        let mv = Vec(repeating: mean)
        var i = 0
        while i + 8 <= c {
            let d = UnsafeRawPointer(x + i).loadUnaligned(as: Vec.self) - mv
            squares += d * d
            i += 8
        }
        var sum = squares.sum()
        while i < c { let d = x[i] - mean; sum += d * d; i += 1 }
        let rstd = 1 / (sum / Float(c) + epsilon).squareRoot()
        for i in 0..<c { out[i] = (x[i] - mean) * rstd * weight[i] + bias[i] }
    }

    /// x = GELU(x) in place, tanh approximation: the values of `Tensor.gelu()`.
    public static func geluInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count { x.storeVec(geluVec(x.loadVec(i)), i); i += 8 }
        while i < count { x[i] = geluVec(Vec(repeating: x[i]))[0]; i += 1 }
    }

    /// Σ x[i]·y[i].
    public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Float {
        rowDot(x, y, count)
    }

    /// y += alpha·x.
    public static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        let av = Vec(repeating: alpha)
        var i = 0
        while i + 8 <= count {
            y.storeVec(y.loadVec(i) + av * UnsafeRawPointer(x + i).loadUnaligned(as: Vec.self), i)
            i += 8
        }
        while i < count { y[i] += alpha * x[i]; i += 1 }
    }

    /// y += x.
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count {
            y.storeVec(y.loadVec(i) + UnsafeRawPointer(x + i).loadUnaligned(as: Vec.self), i)
            i += 8
        }
        while i < count { y[i] += x[i]; i += 1 }
    }

    /// out = x + y (out may alias either).
    public static func sum(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count {
            out.storeVec(UnsafeRawPointer(x + i).loadUnaligned(as: Vec.self) + UnsafeRawPointer(y + i).loadUnaligned(as: Vec.self), i)
            i += 8
        }
        while i < count { out[i] = x[i] + y[i]; i += 1 }
    }

    /// x = softmax(x · scale) in place (scale > 0; stable: the maximum is subtracted first).
    public static func softmaxInPlace(_ x: UnsafeMutablePointer<Float>, count: Int, scale: Float = 1) {
        guard count > 0 else { return }
        softmaxRow(x, x, count, scale: scale)
    }

    /// The index of the largest value (the first one on ties); −1 for an empty row. NaN never wins.
    public static func argmax(_ x: UnsafePointer<Float>, count: Int) -> Int {
        guard count > 0 else { return -1 }
        let m = rowMax(x, count)
        for i in 0..<count where x[i] == m { return i }
        return 0  // every value NaN
    }

    /// Causal attention of one query over `length` cached positions, all heads:
    /// for each head h, p = softmax(q_h·k_h[j] / √D) over j < length, out_h = Σ_j p_j·v_h[j].
    ///
    /// - query: (C) laid out head after head (GPT-2's q slice of c_attn's output).
    /// - keys, values: (length, ·) rows `rowStride` apart, head h at columns h·D ..< (h+1)·D.
    /// - scores: scratch of at least `length` elements. out: (C), must not overlap the inputs.
    public static func attentionRow(query: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                                    rowStride: Int, length: Int, heads: Int, headSize d: Int,
                                    scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        guard length > 0 else { out.update(repeating: 0, count: heads * d); return }
        let scale = 1 / Float(d).squareRoot()
        for h in 0..<heads {
            let q = query + h * d, k = keys + h * d, v = values + h * d, o = out + h * d
            // scores (length) = scale · K_h q_h
            for j in 0..<length { scores[j] = rowDot(q, k + j * rowStride, d) * scale }
            softmaxRow(scores, scores, length)
            // o (D) = Σ_j p_j · V_h[j], 16 lanes of o held in registers across all j.
            var i = 0
            while i + 16 <= d {
                var a0 = Vec.zero, a1 = Vec.zero
                for j in 0..<length {
                    let row = v + j * rowStride + i, p = Vec(repeating: scores[j])
                    a0 += p * UnsafeRawPointer(row).loadUnaligned(as: Vec.self)
                    a1 += p * UnsafeRawPointer(row + 8).loadUnaligned(as: Vec.self)
                }
                o.storeVec(a0, i)
                o.storeVec(a1, i + 8)
                i += 16
            }
            while i < d {
                var s: Float = 0
                for j in 0..<length { s += scores[j] * v[j * rowStride + i] }
                o[i] = s
                i += 1
            }
        }
    }
}


/// Matrices up to this many elements (4 MB) go to our single-thread kernels: at batch 1 they
/// take microseconds, and splitting them over threads costs more than it saves (teacher-small
/// decode, measured: sgemv at 2 OpenBLAS threads ~1,000 tok/s, at 1 thread ~2,700; these
/// kernels ~4,000, or ~2,600 with columns split over 2 threads by concurrentPerform).
/// Larger ones go to sgemv, which may use every thread.
let largeMatrix = 1 << 20

/// y (n) += Wᵀ·x for W (k, n) row-major, streaming W in memory order: four rows at a time
/// are folded into y (which stays in L1). Sequential reads keep the prefetchers ahead; at
/// teacher-small sizes (weights from L3) this beat holding 64 columns of y in registers while
/// striding down the rows by ~1.5×, and 8 rows at a time by ~1.2×.
@inline(__always)
func transposedProductRow(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                          _ y: UnsafeMutablePointer<Float>, k: Int, n: Int) {
    let ldw = n
    var i = 0
    while i + 4 <= k {
        let (x0, x1, x2, x3) = (Vec(repeating: x[i]), Vec(repeating: x[i + 1]), Vec(repeating: x[i + 2]), Vec(repeating: x[i + 3]))
        let r0 = w + i * ldw, r1 = r0 + ldw, r2 = r1 + ldw, r3 = r2 + ldw
        var j = 0
        while j + 8 <= n {
            var a = y.loadVec(j)
            a += x0 * UnsafeRawPointer(r0 + j).loadUnaligned(as: Vec.self)
            a += x1 * UnsafeRawPointer(r1 + j).loadUnaligned(as: Vec.self)
            a += x2 * UnsafeRawPointer(r2 + j).loadUnaligned(as: Vec.self)
            a += x3 * UnsafeRawPointer(r3 + j).loadUnaligned(as: Vec.self)
            y.storeVec(a, j)
            j += 8
        }
        while j < n { y[j] += x[i] * r0[j] + x[i + 1] * r1[j] + x[i + 2] * r2[j] + x[i + 3] * r3[j]; j += 1 }
        i += 4
    }
    while i < k {  // the last k mod 4 rows
        let r = w + i * ldw
        for j in 0..<n { y[j] += x[i] * r[j] }
        i += 1
    }
}
