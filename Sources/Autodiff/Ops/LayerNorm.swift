// Layer normalisation over the last axis, fused: the forward saves each row's mean and
// 1/σ, the backward is the closed form (llm.c's layernorm_backward).

import Foundation

extension Tensor {
    /// y = (x − mean) / √(var + ε) · weight + bias over the last axis (C); weight and bias are (C).
    public func layerNorm(weight: Tensor, bias: Tensor, epsilon: Float = 1e-5) throws -> Tensor {
        let (rows, c) = try lastAxisRows(op: "layerNorm")
        guard weight.shape == [c], bias.shape == [c] else {
            throw TensorError("layerNorm: input \(shape) needs weight and bias of shape [\(c)], got \(weight.shape) and \(bias.shape)")
        }
        let out = Tensor.empty(shape)
        let stats = Tensor.empty([rows, 2])  // (mean, rstd) per row, for the backward
        let (px, py, ps, pw, pb) = (Unchecked(data), Unchecked(out.data), Unchecked(stats.data),
                                    Unchecked(weight.data), Unchecked(bias.data))
        parallelRanges(rows, minimumPerThread: max(1, elementwiseGrain / c)) { r in
            for row in r {
                let x = px.value + row * c, y = py.value + row * c
                let mean = rowSum(x, c) / Float(c)
                let rstd = 1 / (centeredSquares(x, c, mean: mean) / Float(c) + epsilon).squareRoot()
                let (w, b) = (pw.value, pb.value)
                for i in 0..<c { y[i] = (x[i] - mean) * rstd * w[i] + b[i] }
                ps.value[row * 2] = mean
                ps.value[row * 2 + 1] = rstd
            }
        }
        return out.recorded("layerNorm", [self, weight, bias]) { [self] _, g in
            let ps = Unchecked(stats.data)  // captured here so the saved statistics live with the node
            let chunks = chunkCount(rows, minimumPerThread: max(1, elementwiseGrain / c))
            // Per-thread partial sums for dweight and dbias, added up at the end.
            let partial = Tensor.empty([chunks, 2, c])
            partial.data.update(repeating: 0, count: partial.count)
            let wantX = requiresGrad
            let (dxBuffer, fresh) = wantX ? gradBufferForOverwrite() : (partial.data, false)
            let pdx = Unchecked(dxBuffer)
            let (pg, pp) = (Unchecked(g.data), Unchecked(partial.data))
            parallelChunks(rows, chunks: chunks) { chunk, r in
                let dw = pp.value + chunk * 2 * c, db = dw + c
                let w = pw.value
                for row in r {
                    let x = px.value + row * c, gg = pg.value + row * c
                    let mean = ps.value[row * 2], rstd = ps.value[row * 2 + 1]
                    // Σ g·w and Σ g·w·norm in 8 lanes; dweight, dbias accumulate alongside.
                    var sumDnorm = Vec.zero, sumDnormNorm = Vec.zero
                    let (mv, rv) = (Vec(repeating: mean), Vec(repeating: rstd))
                    var i = 0
                    while i + 8 <= c {
                        let norm = (x.loadVec(i) - mv) * rv, gv = gg.loadVec(i)
                        let dnorm = gv * w.loadVec(i)
                        sumDnorm += dnorm
                        sumDnormNorm += dnorm * norm
                        db.storeVec(db.loadVec(i) + gv, i)
                        dw.storeVec(dw.loadVec(i) + gv * norm, i)
                        i += 8
                    }
                    var meanDnorm = sumDnorm.sum(), meanDnormNorm = sumDnormNorm.sum()
                    while i < c {
                        let norm = (x[i] - mean) * rstd, dnorm = gg[i] * w[i]
                        meanDnorm += dnorm
                        meanDnormNorm += dnorm * norm
                        db[i] += gg[i]
                        dw[i] += gg[i] * norm
                        i += 1
                    }
                    meanDnorm /= Float(c)
                    meanDnormNorm /= Float(c)
                    if wantX {
                        let dx = pdx.value + row * c
                        if fresh {
                            for i in 0..<c {
                                let norm = (x[i] - mean) * rstd
                                dx[i] = (gg[i] * w[i] - meanDnorm - norm * meanDnormNorm) * rstd
                            }
                        } else {
                            for i in 0..<c {
                                let norm = (x[i] - mean) * rstd
                                dx[i] += (gg[i] * w[i] - meanDnorm - norm * meanDnormNorm) * rstd
                            }
                        }
                    }
                }
            }
            for (tensor, part) in [(weight, 0), (bias, 1)] where tensor.requiresGrad {
                let t = tensor.gradBuffer()
                for chunk in 0..<chunks {
                    let p = partial.data + (chunk * 2 + part) * c
                    for i in 0..<c { t[i] += p[i] }
                }
            }
        }
    }
}

/// Σ (x[i] − mean)² over a row, 8 lanes at a time.
@inline(__always)
private func centeredSquares(_ x: UnsafeMutablePointer<Float>, _ n: Int, mean: Float) -> Float {
    var acc = Vec.zero
    let mv = Vec(repeating: mean)
    var i = 0
    while i + 8 <= n { let d = x.loadVec(i) - mv; acc += d * d; i += 8 }
    var s = acc.sum()
    while i < n { let d = x[i] - mean; s += d * d; i += 1 }
    return s
}
