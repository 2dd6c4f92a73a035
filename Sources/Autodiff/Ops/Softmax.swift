// softmax and log-softmax over the last axis. Stable for any finite logits (the row maximum
// is subtracted first), so logits of ±1e4 give exact probabilities, not NaN.

/// Row kernels shared by softmax, log-softmax, cross-entropy and KL: for a row x of length n
/// read at x·scale (scale > 0), the maximum and log Σ exp(x·scale − max).
@inline(__always)
func rowMaxAndLogSumExp(_ x: UnsafeMutablePointer<Float>, _ n: Int, scale: Float = 1) -> (max: Float, logSum: Float) {
    let m = rowMax(x, n) * scale
    if m == -.infinity { return (m, .nan) }
    var acc = Vec.zero
    let mv = Vec(repeating: m), sv = Vec(repeating: scale)
    var i = 0
    while i + 8 <= n { acc += vexpNonPositive(x.loadVec(i) * sv - mv); i += 8 }
    var s = acc.sum()
    while i < n { s += fastExp(x[i] * scale - m); i += 1 }
    return (m, logf(s))
}

/// y = softmax(x · scale) for one row (y may alias x): one exp per element, then a scale.
@inline(__always)
func softmaxRow(_ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, scale: Float = 1) {
    // (x − max)·scale, not x·scale − max·scale: a tiny scale (temperature) must not turn both into ∞.
    let m = rowMax(x, n)
    let mv = Vec(repeating: m), sv = Vec(repeating: scale)
    var acc = Vec.zero
    var i = 0
    while i + 8 <= n { let e = vexpNonPositive((x.loadVec(i) - mv) * sv); y.storeVec(e, i); acc += e; i += 8 }
    var s = acc.sum()
    while i < n { y[i] = fastExp((x[i] - m) * scale); s += y[i]; i += 1 }
    let inverse = 1 / s
    for j in 0..<n { y[j] *= inverse }
}

/// t[i] += factor · exp((x[i]·scale − max) − logSum): adds a softmax row (from its saved
/// statistics) into a gradient, 8 lanes at a time.
@inline(__always)
func accumulateSoftmaxRow(_ t: UnsafeMutablePointer<Float>, _ x: UnsafeMutablePointer<Float>, _ n: Int,
                          scale: Float, max m: Float, logSum: Float, factor: Float) {
    let sv = Vec(repeating: scale), mv = Vec(repeating: m), lv = Vec(repeating: logSum), fv = Vec(repeating: factor)
    var i = 0
    while i + 8 <= n { t.storeVec(t.loadVec(i) + fv * vexpNonPositive((x.loadVec(i) * sv - mv) - lv), i); i += 8 }
    while i < n { t[i] += factor * fastExp((x[i] * scale - m) - logSum); i += 1 }
}

/// t[i] = factor · exp((x[i]·scale − max) − logSum): `accumulateSoftmaxRow` for a fresh gradient.
@inline(__always)
func storeSoftmaxRow(_ t: UnsafeMutablePointer<Float>, _ x: UnsafeMutablePointer<Float>, _ n: Int,
                     scale: Float, max m: Float, logSum: Float, factor: Float) {
    let sv = Vec(repeating: scale), mv = Vec(repeating: m), lv = Vec(repeating: logSum), fv = Vec(repeating: factor)
    var i = 0
    while i + 8 <= n { t.storeVec(fv * vexpNonPositive((x.loadVec(i) * sv - mv) - lv), i); i += 8 }
    while i < n { t[i] = factor * fastExp((x[i] * scale - m) - logSum); i += 1 }
}

import Foundation

extension Tensor {
    /// Rows along the last axis: (row count, row length), or an error for a scalar.
    func lastAxisRows(op: String) throws -> (rows: Int, length: Int) {
        guard let n = shape.last, n > 0 else {
            throw TensorError("\(op): needs at least one dimension with a non-zero last axis, got shape \(shape)")
        }
        return (count / n, n)
    }

    /// softmax over the last axis.
    public func softmax() throws -> Tensor {
        let (rows, n) = try lastAxisRows(op: "softmax")
        let out = Tensor.empty(shape)
        let (px, py) = (Unchecked(data), Unchecked(out.data))
        parallelRanges(rows, minimumPerThread: max(1, elementwiseGrain / n)) { r in
            for row in r { softmaxRow(px.value + row * n, py.value + row * n, n) }
        }
        return out.recorded("softmax", [self]) { [self] out, g in
            // dx = y ⊙ (g − Σ g·y)
            let (pt, pg, py) = (Unchecked(gradBuffer()), Unchecked(g.data), Unchecked(out.data))
            parallelRanges(rows, minimumPerThread: max(1, elementwiseGrain / n)) { r in
                for row in r {
                    let (t, gg, y) = (pt.value + row * n, pg.value + row * n, py.value + row * n)
                    let dot = rowDot(gg, y, n)
                    for i in 0..<n { t[i] += y[i] * (gg[i] - dot) }
                }
            }
        }
    }

    /// log-softmax over the last axis.
    public func logSoftmax() throws -> Tensor {
        let (rows, n) = try lastAxisRows(op: "logSoftmax")
        let out = Tensor.empty(shape)
        let (px, py) = (Unchecked(data), Unchecked(out.data))
        parallelRanges(rows, minimumPerThread: max(1, elementwiseGrain / n)) { r in
            for row in r {
                let (x, y) = (px.value + row * n, py.value + row * n)
                let (m, logSum) = rowMaxAndLogSumExp(x, n)
                for i in 0..<n { y[i] = (x[i] - m) - logSum }
            }
        }
        return out.recorded("logSoftmax", [self]) { [self] out, g in
            // dx = g − softmax · Σ g, with softmax = exp(y)
            let (pt, pg, py) = (Unchecked(gradBuffer()), Unchecked(g.data), Unchecked(out.data))
            parallelRanges(rows, minimumPerThread: max(1, elementwiseGrain / n)) { r in
                for row in r {
                    let (t, gg, y) = (pt.value + row * n, pg.value + row * n, py.value + row * n)
                    let total = rowSum(gg, n)
                    // t += g − exp(y)·Σg: the softmax is exp(y) with max 0 and log-sum 0.
                    for i in 0..<n { t[i] += gg[i] }
                    accumulateSoftmaxRow(t, y, n, scale: 1, max: 0, logSum: 0, factor: -total)
                }
            }
        }
    }
}
