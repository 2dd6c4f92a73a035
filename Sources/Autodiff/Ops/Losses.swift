// Losses fused with their softmax: cross-entropy on integer targets, and the distillation
// KL divergence between temperature-scaled teacher and student distributions.

import Foundation

/// The teacher's side of a distillation loss.
public enum TeacherTarget {
    /// Raw teacher logits (…, V); p = softmax(z / T).
    case logits(Tensor)
    /// Teacher probabilities at temperature 1 (…, V); tempered as p^(1/T) renormalised, which
    /// equals softmax(z / T) when p = softmax(z), so both forms give the same loss.
    case probabilities(Tensor)

    var tensor: Tensor {
        switch self { case .logits(let t), .probabilities(let t): return t }
    }
}

extension Tensor {
    /// Mean cross-entropy of logits (…, V) against integer `targets` (…), skipping positions
    /// whose target is `ignoreIndex`. Returns a scalar (0 when every position is ignored).
    public func crossEntropy(targets: IndexTensor, ignoreIndex: Int32 = -100) throws -> Tensor {
        let (rows, v) = try lastAxisRows(op: "crossEntropy")
        guard targets.count == rows, Array(shape.dropLast()) == targets.shape else {
            throw TensorError("crossEntropy: logits \(shape) need targets of shape \(Array(shape.dropLast())), got \(targets.shape)")
        }
        if let bad = targets.values.firstIndex(where: { $0 != ignoreIndex && ($0 < 0 || Int($0) >= v) }) {
            throw TensorError("crossEntropy: target \(targets.values[bad]) at position \(bad) is outside 0..<\(v) (and is not the ignore index \(ignoreIndex))")
        }
        let valid = targets.values.reduce(0) { $0 + ($1 == ignoreIndex ? 0 : 1) }
        let logSums = Tensor.empty([rows, 2])   // (max, log Σ exp(x − max)) per row, for the backward
        let perRow = Tensor.empty([rows])
        let (px, pl, pr) = (Unchecked(data), Unchecked(logSums.data), Unchecked(perRow.data))
        targets.values.withUnsafeBufferPointer { ids in
            let pids = Unchecked(ids.baseAddress!)
            parallelRanges(rows, minimumPerThread: max(1, elementwiseGrain / v)) { r in
                for row in r {
                    let x = px.value + row * v
                    let (m, logSum) = rowMaxAndLogSumExp(x, v)
                    pl.value[2 * row] = m
                    pl.value[2 * row + 1] = logSum
                    let target = pids.value[row]
                    pr.value[row] = target == ignoreIndex ? 0 : (m - x[Int(target)]) + logSum
                }
            }
        }
        var total: Double = 0
        for i in 0..<rows { total += Double(perRow.data[i]) }
        let out = Tensor(scalar: valid == 0 ? 0 : Float(total / Double(valid)))
        return out.recorded("crossEntropy", [self]) { [self] _, g in
            guard valid > 0 else { return }
            let scale = g.data[0] / Float(valid)
            // A fresh gradient is written row by row (ignored rows as zeros), not zeroed and added to.
            let (buffer, fresh) = gradBufferForOverwrite()
            let pt = Unchecked(buffer), pl = Unchecked(logSums.data)
            targets.values.withUnsafeBufferPointer { ids in
                let pids = Unchecked(ids.baseAddress!)
                parallelRanges(rows, minimumPerThread: max(1, elementwiseGrain / v)) { r in
                    for row in r {
                        let target = pids.value[row]
                        let x = px.value + row * v, t = pt.value + row * v
                        if target == ignoreIndex {
                            if fresh { t.update(repeating: 0, count: v) }
                            continue
                        }
                        // d/dx = (softmax − onehot) / valid
                        let (m, logSum) = (pl.value[2 * row], pl.value[2 * row + 1])
                        if fresh {
                            storeSoftmaxRow(t, x, v, scale: 1, max: m, logSum: logSum, factor: scale)
                        } else {
                            accumulateSoftmaxRow(t, x, v, scale: 1, max: m, logSum: logSum, factor: scale)
                        }
                        t[Int(target)] -= scale
                    }
                }
            }
        }
    }

    /// KL(p_teacher^T ‖ p_student^T), averaged over positions: Σ_i p_i (log p_i − log q_i) with
    /// q = softmax(self / T). `self` holds student logits (…, V). The teacher gets no gradient.
    /// Multiply by T² outside (Hinton's scaling) when mixing with a hard-label loss.
    public func klDivergence(teacher: TeacherTarget, temperature: Float) throws -> Tensor {
        let (rows, v) = try lastAxisRows(op: "klDivergence")
        guard teacher.tensor.shape == shape else {
            throw TensorError("klDivergence: student logits \(shape) and teacher \(teacher.tensor.shape) differ in shape")
        }
        guard temperature > 0, temperature.isFinite else {
            throw TensorError("klDivergence: temperature must be positive and finite, got \(temperature)")
        }
        let invT = 1 / temperature
        // Teacher log-probabilities at T: log softmax(z/T), or log p / T − log Σ p^(1/T).
        let teacherLog = Tensor.empty(shape)
        let studentLogSum = Tensor.empty([rows, 2])  // (max, log Σ) of z/T per row
        let perRow = Tensor.empty([rows])
        let (pz, pt, ptl, psl, pr) = (Unchecked(data), Unchecked(teacher.tensor.data), Unchecked(teacherLog.data),
                                     Unchecked(studentLogSum.data), Unchecked(perRow.data))
        let fromLogits: Bool
        if case .logits = teacher { fromLogits = true } else { fromLogits = false }
        parallelRanges(rows, minimumPerThread: max(1, elementwiseGrain / v)) { r in
            for row in r {
                let z = pz.value + row * v, tl = ptl.value + row * v, src = pt.value + row * v
                if fromLogits {
                    for i in 0..<v { tl[i] = src[i] }
                } else {
                    for i in 0..<v { tl[i] = src[i] > 0 ? logf(src[i]) : -.infinity }
                }
                let (tm, tls) = rowMaxAndLogSumExp(tl, v, scale: invT)
                for i in 0..<v { tl[i] = (tl[i] * invT - tm) - tls }
                let (sm, sls) = rowMaxAndLogSumExp(z, v, scale: invT)
                psl.value[2 * row] = sm
                psl.value[2 * row + 1] = sls
                var kl: Float = 0
                // p_i = 0 adds nothing (0 · log 0 = 0); an undefined p_i (a NaN or +∞ teacher value) makes
                // the KL NaN rather than being skipped as if it were 0.
                for i in 0..<v where tl[i] != -.infinity {
                    let logQ = (z[i] * invT - sm) - sls
                    kl += fastExp(tl[i]) * (tl[i] - logQ)
                }
                pr.value[row] = kl
            }
        }
        var total: Double = 0
        for i in 0..<rows { total += Double(perRow.data[i]) }
        let out = Tensor(scalar: Float(total / Double(max(rows, 1))))
        return out.recorded("klDivergence", [self]) { [self] _, g in
            // d/dz = (q − p) / (T · rows)
            let scale = g.data[0] * invT / Float(max(rows, 1))
            let pg = Unchecked(gradBuffer()), ptl = Unchecked(teacherLog.data), psl = Unchecked(studentLogSum.data)
            parallelRanges(rows, minimumPerThread: max(1, elementwiseGrain / v)) { r in
                for row in r {
                    let z = pz.value + row * v, tl = ptl.value + row * v, dz = pg.value + row * v
                    // q at T from the saved statistics, minus p (exp of the saved teacher log-probabilities)
                    accumulateSoftmaxRow(dz, z, v, scale: invT, max: psl.value[2 * row], logSum: psl.value[2 * row + 1],
                                         factor: scale)
                    accumulateSoftmaxRow(dz, tl, v, scale: 1, max: 0, logSum: 0, factor: -scale)
                }
            }
        }
    }
}
