// The MLP's first half fused: y = GELU(x · W + b). The product goes to BLAS with beta = 0; one
// parallel pass then adds the bias and applies GELU, keeping the pre-activation for the
// backward. The backward's one pass writes GELU'(h) · g and sums it over rows for the bias
// gradient in the same sweep, then BLAS gives dW and dx. Against linear followed by gelu this
// saves writing the bias rows before the product, zeroing the pre-activation's gradient and a
// separate pass over it for the bias sums.

extension Tensor {
    /// GELU(x · W + b) (GPT-2's tanh GELU) with W stored (in, out) as in `linear`; the same
    /// values as `linear(weight:bias:).gelu()` up to float rounding.
    public func linearGELU(weight: Tensor, bias: Tensor?) throws -> Tensor {
        let x = self
        let (rows, inFeatures, outFeatures) = try linearShapes(weight: weight, bias: bias, op: "linearGELU")
        let pre = Tensor.empty(Array(x.shape.dropLast()) + [outFeatures])   // h = x·W + b
        sgemm(transposeA: false, transposeB: false, m: rows, n: outFeatures, k: inFeatures,
              x.data, lda: inFeatures, weight.data, ldb: outFeatures, beta: 0, pre.data, ldc: outFeatures)
        let out = Tensor.empty(pre.shape)
        let (ph, py, pb) = (Unchecked(pre.data), Unchecked(out.data), Unchecked(bias?.data))
        parallelRanges(rows, minimumPerThread: max(1, elementwiseGrain / max(outFeatures, 1))) { r in
            for row in r {
                let h = ph.value + row * outFeatures, y = py.value + row * outFeatures
                var j = 0
                if let b = pb.value {
                    while j + 8 <= outFeatures {
                        let v = h.loadVec(j) + b.loadVec(j)
                        h.storeVec(v, j)
                        y.storeVec(geluVec(v), j)
                        j += 8
                    }
                    while j < outFeatures { h[j] += b[j]; y[j] = geluVec(Vec(repeating: h[j]))[0]; j += 1 }
                } else {
                    while j + 8 <= outFeatures { y.storeVec(geluVec(h.loadVec(j)), j); j += 8 }
                    while j < outFeatures { y[j] = geluVec(Vec(repeating: h[j]))[0]; j += 1 }
                }
            }
        }
        let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
        return out.recorded("linearGELU", inputs) { _, g in
            // dh = GELU'(h) · g, with the bias gradient's column sums taken in the same pass.
            let dh = Tensor.empty(pre.shape)
            let wantBias = bias?.requiresGrad ?? false
            let blocks = (rows + columnSumBlock - 1) / columnSumBlock
            let partial = Tensor.empty(wantBias ? [blocks, outFeatures] : [0])
            let (ph, pg, pd, pp) = (Unchecked(pre.data), Unchecked(g.data), Unchecked(dh.data), Unchecked(partial.data))
            parallelRanges(blocks, minimumPerThread: max(1, elementwiseGrain / max(columnSumBlock * outFeatures, 1))) { r in
                for block in r {
                    let sums = pp.value + block * outFeatures
                    if wantBias { sums.update(repeating: 0, count: outFeatures) }
                    for row in (block * columnSumBlock)..<min(rows, (block + 1) * columnSumBlock) {
                        let offset = row * outFeatures
                        let (h, gg, d) = (ph.value + offset, pg.value + offset, pd.value + offset)
                        var j = 0
                        while j + 8 <= outFeatures {
                            let v = geluGrad(gg.loadVec(j), h.loadVec(j))
                            d.storeVec(v, j)
                            if wantBias { sums.storeVec(sums.loadVec(j) + v, j) }
                            j += 8
                        }
                        while j < outFeatures {
                            d[j] = geluGrad(Vec(repeating: gg[j]), Vec(repeating: h[j]))[0]
                            if wantBias { sums[j] += d[j] }
                            j += 1
                        }
                    }
                }
            }
            if let bias, wantBias { addBlockSums(partial.data, blocks: blocks, n: outFeatures, into: bias.gradBuffer()) }
            x.linearInputGradients(weight: weight, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures,
                                   outputGrad: dh.data)
        }
    }

    /// (rows, in, out) of x · W + b, or an error naming the shapes.
    func linearShapes(weight: Tensor, bias: Tensor?, op: String) throws -> (rows: Int, inFeatures: Int, outFeatures: Int) {
        guard weight.rank == 2, rank >= 1, shape.last == weight.shape[0] else {
            throw TensorError("\(op): input \(shape) does not fit weight \(weight.shape) (expected input (…, \(weight.rank == 2 ? weight.shape[0] : -1)) and a 2-D weight (in, out))")
        }
        let (inFeatures, outFeatures) = (weight.shape[0], weight.shape[1])
        if let bias, bias.shape != [outFeatures] {
            throw TensorError("\(op): bias \(bias.shape) does not fit weight \(weight.shape) (expected [\(outFeatures)])")
        }
        return (count / max(inFeatures, 1), inFeatures, outFeatures)
    }

    /// dx (rows×in) += g · Wᵀ and dW (in×out) += xᵀ · g for the product x · W, self being x.
    func linearInputGradients(weight: Tensor, rows: Int, inFeatures: Int, outFeatures: Int,
                              outputGrad g: UnsafeMutablePointer<Float>) {
        if requiresGrad {
            let (gx, beta) = gradBufferForBLAS()
            sgemm(transposeA: false, transposeB: true, m: rows, n: inFeatures, k: outFeatures,
                  g, lda: outFeatures, weight.data, ldb: outFeatures, beta: beta, gx, ldc: inFeatures)
        }
        if weight.requiresGrad {
            let (gw, beta) = weight.gradBufferForBLAS()
            sgemm(transposeA: true, transposeB: false, m: inFeatures, n: outFeatures, k: rows,
                  data, lda: inFeatures, g, ldb: outFeatures, beta: beta, gw, ldc: outFeatures)
        }
    }
}

/// Rows per partial column sum: sums are taken over fixed blocks of rows and the blocks added
/// in order, so the result is the same for any thread count.
let columnSumBlock = 32

/// target[j] += Σ_rows g[row, j], over both cores, independent of the thread count.
func accumulateColumnSums(_ g: UnsafeMutablePointer<Float>, rows: Int, n: Int, into target: UnsafeMutablePointer<Float>) {
    let blocks = (rows + columnSumBlock - 1) / columnSumBlock
    let partial = Tensor.empty([blocks, n])
    let (pg, pp) = (Unchecked(g), Unchecked(partial.data))
    parallelRanges(blocks, minimumPerThread: max(1, elementwiseGrain / max(columnSumBlock * n, 1))) { r in
        for block in r {
            let sums = pp.value + block * n
            sums.update(repeating: 0, count: n)
            for row in (block * columnSumBlock)..<min(rows, (block + 1) * columnSumBlock) {
                let gg = pg.value + row * n
                var j = 0
                while j + 8 <= n { sums.storeVec(sums.loadVec(j) + gg.loadVec(j), j); j += 8 }
                while j < n { sums[j] += gg[j]; j += 1 }
            }
        }
    }
    addBlockSums(partial.data, blocks: blocks, n: n, into: target)
}

/// target[j] += Σ_block partial[block, j], blocks in order.
@inline(__always)
private func addBlockSums(_ partial: UnsafeMutablePointer<Float>, blocks: Int, n: Int, into target: UnsafeMutablePointer<Float>) {
    for block in 0..<blocks {
        let p = partial + block * n
        for j in 0..<n { target[j] += p[j] }
    }
}
