// matmul, batched matmul and the fused linear layer (x·W + b), all on BLAS with transpose
// flags: backward writes straight into the gradient buffers with beta = 1 (no temporaries).

extension Tensor {
    /// Matrix product op(self) · op(other).
    ///
    /// - `self` (…, M, K) with any leading dimensions and `other` (K, N): the leading dimensions
    ///   fold into M (one BLAS call).
    /// - `self` (B, M, K) and `other` (B, K, N): a batched product (one call per batch entry).
    /// `transposeA`/`transposeB` read the last two dimensions of an operand transposed.
    public func matmul(_ other: Tensor, transposeA: Bool = false, transposeB: Bool = false) throws -> Tensor {
        let a = self, b = other
        func mismatch(_ why: String) -> TensorError {
            TensorError("matmul: cannot multiply \(a.shape)\(transposeA ? "ᵀ" : "") by \(b.shape)\(transposeB ? "ᵀ" : ""): \(why)")
        }
        guard a.rank >= 2, b.rank >= 2 else { throw mismatch("both operands need at least 2 dimensions") }
        let batched = b.rank > 2
        if batched {
            guard a.rank == b.rank, a.shape.dropLast(2) == b.shape.dropLast(2) else {
                throw mismatch("batched operands need the same leading dimensions")
            }
        } else if transposeA && a.rank > 2 {
            throw mismatch("transposeA with a 2-D right operand needs a 2-D left operand")
        }
        let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        let (m0, k) = transposeA ? (ac, ar) : (ar, ac)
        let (kb, n) = transposeB ? (bc, br) : (br, bc)
        guard k == kb else { throw mismatch("inner dimensions \(k) and \(kb) differ") }
        let batch = batched ? a.shape.dropLast(2).reduce(1, *) : 1
        // Non-batched: fold a's leading dimensions into M.
        let m = batched || transposeA ? m0 : a.shape.dropLast().reduce(1, *)
        let outShape = Array(a.shape.dropLast(2)) + [m0, n]
        let out = Tensor.empty(outShape)
        let (sa, sb, so) = (ar * ac, br * bc, m0 * n)
        for i in 0..<batch {
            sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                  a.data + i * sa, lda: ac, b.data + i * sb, ldb: bc, beta: 0, out.data + i * so, ldc: n)
        }
        return out.recorded("matmul", [a, b]) { _, g in
            // Each batch entry writes its own region of the gradients once, so a fresh buffer
            // can be overwritten (beta 0) in every region.
            let (gradA, betaA) = a.requiresGrad ? a.gradBufferForBLAS() : (a.data, 1)
            let (gradB, betaB) = b.requiresGrad ? b.gradBufferForBLAS() : (b.data, 1)
            for i in 0..<batch {
                let (pa, pb, pg) = (a.data + i * sa, b.data + i * sb, g.data + i * so)
                if a.requiresGrad {
                    let ga = gradA + i * sa
                    if !transposeA {  // dA (m×k) = dC · op(B)ᵀ
                        sgemm(transposeA: false, transposeB: !transposeB, m: m, n: k, k: n,
                              pg, lda: n, pb, ldb: bc, beta: betaA, ga, ldc: ac)
                    } else {          // dA stored (k×m) = op(B) · dCᵀ
                        sgemm(transposeA: transposeB, transposeB: true, m: k, n: m, k: n,
                              pb, lda: bc, pg, ldb: n, beta: betaA, ga, ldc: ac)
                    }
                }
                if b.requiresGrad {
                    let gb = gradB + i * sb
                    if !transposeB {  // dB (k×n) = op(A)ᵀ · dC
                        sgemm(transposeA: !transposeA, transposeB: false, m: k, n: n, k: m,
                              pa, lda: ac, pg, ldb: n, beta: betaB, gb, ldc: bc)
                    } else {          // dB stored (n×k) = dCᵀ · op(A)
                        sgemm(transposeA: true, transposeB: transposeA, m: n, n: k, k: m,
                              pg, lda: n, pa, ldb: ac, beta: betaB, gb, ldc: bc)
                    }
                }
            }
        }
    }

    /// The fused linear layer y = x · W + b with W stored (in, out) — the layout of GPT-2's
    /// Conv1D, so checkpoints map one to one. `self` is (…, in); the result is (…, out).
    public func linear(weight: Tensor, bias: Tensor?) throws -> Tensor {
        let x = self
        let (rows, inFeatures, outFeatures) = try linearShapes(weight: weight, bias: bias, op: "linear")
        let out = Tensor.empty(Array(x.shape.dropLast()) + [outFeatures])
        // The bias rows are copied by each thread into its own band of the output, then BLAS adds.
        sgemm(transposeA: false, transposeB: false, m: rows, n: outFeatures, k: inFeatures,
              x.data, lda: inFeatures, weight.data, ldb: outFeatures, beta: 0,
              out.data, ldc: outFeatures, rowBias: bias.map { UnsafePointer($0.data) })
        let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
        return out.recorded("linear", inputs) { _, g in
            x.linearInputGradients(weight: weight, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures,
                                   outputGrad: g.data)
            if let bias, bias.requiresGrad {  // db += column sums of g
                accumulateColumnSums(g.data, rows: rows, n: outFeatures, into: bias.gradBuffer())
            }
        }
    }
}
