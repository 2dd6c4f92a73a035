// Distillation divergences between a teacher's stored logits and the student's, at temperature T,
// fused (forward, then a backward that sends the gradient to the student's logits only).
// Legend: N rows (positions), V vocabulary, K stored top-k entries.
//
// Buckets. With full teacher logits every token is its own bucket. With a top-k file, the K stored
// tokens are buckets and the other V − K tokens form one "rest" bucket: the student's rest
// probability is the sum of its probabilities outside the teacher's top-k, and the divergence is
// taken between the two K + 1-bucket distributions. At T = 1 the teacher's rest mass is exact,
// R = 1 − Σ exp(l_i − lse). At T ≠ 1 the tail's individual logits are unknown, so it is taken as
// uniform: V − K tokens of logit u = lse + log(R / (V − K)), each tempered as u / T. With K = V
// there is no rest bucket and the loss equals the full-logit one.
//
// Gradient. With Q_b the student's bucket probabilities and h_b = Q_b · ∂D/∂Q_b, the gradient with
// respect to the tempered logits s = z / T is ∂D/∂s_j = q_j / Q_b(j) · h_b(j) − q_j · Σ_b h_b.

import Foundation

/// How a student's distribution is compared with the teacher's.
public enum Divergence: String, CaseIterable, Sendable, Codable {
    /// KL(p_teacher ‖ q_student): Hinton's distillation loss (mass-covering).
    case forwardKL = "forward-kl"
    /// KL(q_student ‖ p_teacher): mode-seeking.
    case reverseKL = "reverse-kl"
    /// Jensen–Shannon: ½ KL(p ‖ m) + ½ KL(q ‖ m), m = (p + q) / 2; bounded by log 2.
    case jensenShannon = "js"
    /// Σ_b (q_b − p_b)²: squared error between the bucket probabilities.
    case meanSquaredError = "mse"
}

/// The teacher's side of a distillation loss, one row per student position.
public enum DistillationTeacher {
    /// Raw logits (N, V).
    case logits(Tensor)
    /// The K largest raw logits (N, K), descending, their vocabulary ids (N, K), and the log-sum-exp
    /// over the full vocabulary (N).
    case topK(indices: IndexTensor, logits: Tensor, logSumExp: Tensor)

    /// The teacher's rows `range` (the positions of some of a batch's windows).
    public func rows(_ range: Range<Int>) throws -> DistillationTeacher {
        switch self {
        case .logits(let logits):
            return .logits(try logits.sliced(axis: 0, range))
        case .topK(let indices, let logits, let logSumExp):
            return .topK(indices: try indices.rows(range), logits: try logits.sliced(axis: 0, range),
                         logSumExp: try logSumExp.sliced(axis: 0, range))
        }
    }
}

extension Tensor {
    /// The mean over rows of D(p_teacher^T ‖ q_student^T) for student logits `self` (…, V). Not
    /// multiplied by T² — the caller scales (Hinton's T² keeps gradient sizes comparable across T).
    /// - Throws: `TensorError` for mismatched shapes, ids outside the vocabulary, or T ≤ 0.
    public func distillationDivergence(teacher: DistillationTeacher, temperature: Float,
                                       divergence: Divergence) throws -> Tensor {
        let (rows, v) = try lastAxisRows(op: "distillationDivergence")
        guard temperature > 0, temperature.isFinite else {
            throw TensorError("distillationDivergence: temperature must be positive and finite, got \(temperature)")
        }
        let table = try DistillationTable(teacher: teacher, rows: rows, vocabularySize: v, studentShape: shape)
        let k = table.bucketCount
        // Saved for backward: the student's (max, log Σ) at T, h_b per stored bucket, and per row
        // (h_rest, log Q_rest, Σ_b h_b).
        let studentStats = Tensor.empty([rows, 2])
        let h = Tensor.empty([rows, k])
        let restStats = Tensor.empty([rows, 3])
        let perRow = Tensor.empty([rows])
        let invT = 1 / temperature
        let (pz, pn, ph, pr, pd) = (Unchecked(data), Unchecked(studentStats.data), Unchecked(h.data),
                                    Unchecked(restStats.data), Unchecked(perRow.data))
        let shared = Unchecked(table)
        parallelRanges(rows, minimumPerThread: max(1, elementwiseGrain / v)) { range in
            // 1 where a token is in the rest bucket, 0 for the row's stored tokens (set and reset per row).
            var restMask = [Float](repeating: 1, count: v)
            var logP = [Double](repeating: 0, count: k), logQ = [Double](repeating: 0, count: k)
            var p = [Double](repeating: 0, count: k)
            restMask.withUnsafeMutableBufferPointer { mask in
                for row in range {
                    let z = pz.value + row * v
                    let table = shared.value
                    // Student at T: log q_j = z_j / T − logNorm.
                    let (maximum, logSum) = rowMaxAndLogSumExp(z, v, scale: invT)
                    let logNorm = Double(maximum) + Double(logSum)
                    pn.value[2 * row] = maximum
                    pn.value[2 * row + 1] = logSum
                    // Teacher buckets at T.
                    let (logPRest, pRest) = table.teacherProbabilities(row: row, temperature: Double(temperature),
                                                                       logP: &logP, p: &p)
                    // Student buckets: the stored tokens, then the rest (a sum outside the top-k, never 1 − Σ).
                    let ids = table.indices(row: row)
                    for b in 0..<k {
                        let j = ids.map { Int($0[b]) } ?? b
                        logQ[b] = Double(z[j] * invT) - logNorm
                    }
                    var logQRest = -Double.infinity
                    if table.hasRest, let ids {
                        for b in 0..<k { mask[Int(ids[b])] = 0 }
                        let restSum = maskedExpSum(z, mask.baseAddress!, v, scale: invT, shift: maximum)
                        for b in 0..<k { mask[Int(ids[b])] = 1 }
                        logQRest = Double(maximum) + Foundation.log(Double(restSum)) - logNorm
                    }
                    var loss: Double = 0, hSum: Double = 0
                    for b in 0..<k {
                        let (term, hb) = divergence.term(p: p[b], logP: logP[b], logQ: logQ[b])
                        loss += term
                        hSum += hb
                        ph.value[row * k + b] = Float(hb)
                    }
                    var hRest: Double = 0
                    if table.hasRest {
                        let (term, hb) = divergence.term(p: pRest, logP: logPRest, logQ: logQRest)
                        loss += term
                        hSum += hb
                        hRest = hb
                    }
                    pr.value[3 * row] = Float(hRest)
                    pr.value[3 * row + 1] = Float(logQRest)
                    pr.value[3 * row + 2] = Float(hSum)
                    pd.value[row] = Float(loss)
                }
            }
        }
        var total: Double = 0
        for i in 0..<rows { total += Double(perRow.data[i]) }
        let out = Tensor(scalar: Float(total / Double(max(rows, 1))))
        return out.recorded("distillationDivergence", [self]) { [self, studentStats, h, restStats] _, g in
            let factor = g.data[0] * invT / Float(max(rows, 1))
            let pg = Unchecked(gradBuffer())
            let (pn, ph, pr) = (Unchecked(studentStats.data), Unchecked(h.data), Unchecked(restStats.data))
            parallelRanges(rows, minimumPerThread: max(1, elementwiseGrain / v)) { range in
                var restMask = [Float](repeating: 1, count: v)
                restMask.withUnsafeMutableBufferPointer { mask in
                    for row in range {
                        let z = pz.value + row * v, dz = pg.value + row * v
                        let table = shared.value
                        let maximum = pn.value[2 * row], logSum = pn.value[2 * row + 1]
                        let hRest = pr.value[3 * row], logQRest = pr.value[3 * row + 1], hSum = pr.value[3 * row + 2]
                        // −q_j · Σ_b h_b for every token.
                        accumulateSoftmaxRow(dz, z, v, scale: invT, max: maximum, logSum: logSum, factor: -factor * hSum)
                        let ids = table.indices(row: row)
                        // + q_j / Q_rest · h_rest for the rest bucket's tokens.
                        if table.hasRest, let ids, hRest != 0 {
                            for b in 0..<k { mask[Int(ids[b])] = 0 }
                            accumulateMaskedExp(dz, z, mask.baseAddress!, v, scale: invT,
                                                shift: maximum + logSum + logQRest, factor: factor * hRest)
                            for b in 0..<k { mask[Int(ids[b])] = 1 }
                        }
                        // + h_b for each stored token.
                        for b in 0..<k {
                            let j = ids.map { Int($0[b]) } ?? b
                            dz[j] += factor * ph.value[row * k + b]
                        }
                    }
                }
            }
        }
    }
}

/// Σ mask[i] · exp(x[i]·scale − shift) over a row (x·scale − shift ≤ 0 where mask is 1).
@inline(__always)
private func maskedExpSum(_ x: UnsafeMutablePointer<Float>, _ mask: UnsafeMutablePointer<Float>, _ n: Int,
                          scale: Float, shift: Float) -> Float {
    let sv = Vec(repeating: scale), shiftv = Vec(repeating: shift)
    var acc = Vec.zero
    var i = 0
    while i + 8 <= n { acc += mask.loadVec(i) * vexpNonPositive(x.loadVec(i) * sv - shiftv); i += 8 }
    var sum = acc.sum()
    while i < n { sum += mask[i] * fastExp(x[i] * scale - shift); i += 1 }
    return sum
}

/// t[i] += factor · mask[i] · exp(x[i]·scale − shift). Masked-out lanes may have a large exponent
/// (a stored token over a tiny rest mass): `vexp` saturates instead of overflowing, and the mask's 0
/// removes them.
@inline(__always)
private func accumulateMaskedExp(_ t: UnsafeMutablePointer<Float>, _ x: UnsafeMutablePointer<Float>,
                                 _ mask: UnsafeMutablePointer<Float>, _ n: Int, scale: Float, shift: Float, factor: Float) {
    let sv = Vec(repeating: scale), shiftv = Vec(repeating: shift), fv = Vec(repeating: factor)
    var i = 0
    while i + 8 <= n { t.storeVec(t.loadVec(i) + fv * mask.loadVec(i) * vexp(x.loadVec(i) * sv - shiftv), i); i += 8 }
    while i < n { if mask[i] != 0 { t[i] += factor * fastExp(x[i] * scale - shift) }; i += 1 }
}

extension Divergence {
    /// The bucket's contribution to D and h_b = Q_b · ∂D/∂Q_b, from P_b = exp(log P_b) (the teacher
    /// side has it already), log P_b and log Q_b. Q_b = exp(log Q_b) is taken only where needed.
    @inline(__always)
    func term(p: Double, logP: Double, logQ: Double) -> (value: Double, h: Double) {
        // A NaN from either side must reach the loss (the trainer stops on it), not vanish in a `p > 0` test.
        guard !logP.isNaN, !logQ.isNaN else { return (.nan, .nan) }
        switch self {
        case .forwardKL:
            return p > 0 ? (p * (logP - logQ), -p) : (0, 0)
        case .reverseKL:
            let q = Foundation.exp(logQ)
            guard q > 0 else { return (0, 0) }
            let logPFloor = max(logP, Foundation.log(1e-10))  // a teacher zero would make the divergence infinite
            return (q * (logQ - logPFloor), q * (logQ - logPFloor + 1))
        case .jensenShannon:
            let q = Foundation.exp(logQ)
            let m = 0.5 * (p + q)
            guard m > 0 else { return (0, 0) }
            let logM = Foundation.log(m)
            let value = 0.5 * ((p > 0 ? p * (logP - logM) : 0) + (q > 0 ? q * (logQ - logM) : 0))
            return (value, q > 0 ? 0.5 * q * (logQ - logM) : 0)
        case .meanSquaredError:
            let q = Foundation.exp(logQ)
            return ((q - p) * (q - p), 2 * q * (q - p))
        }
    }
}

/// The teacher rows, checked, with pointer access for the kernels.
private final class DistillationTable {
    let rows: Int
    let vocabularySize: Int
    /// Stored buckets per row: V (full) or K.
    let bucketCount: Int
    let logits: UnsafeMutablePointer<Float>
    let ids: UnsafeMutablePointer<Int32>?
    let logSumExp: UnsafeMutablePointer<Float>?
    /// Keeps the teacher tensors alive while the closures hold their pointers.
    let owners: [Tensor]

    var hasRest: Bool { ids != nil && bucketCount < vocabularySize }

    deinit { ids?.deallocate() }

    init(teacher: DistillationTeacher, rows: Int, vocabularySize v: Int, studentShape: [Int]) throws {
        self.rows = rows
        vocabularySize = v
        switch teacher {
        case .logits(let t):
            guard t.count == rows * v, t.shape.last == v else {
                throw TensorError("distillationDivergence: teacher logits \(t.shape) do not match student logits \(studentShape)")
            }
            bucketCount = v
            logits = t.data
            ids = nil
            logSumExp = nil
            owners = [t]
        case .topK(let indices, let t, let lse):
            guard let k = t.shape.last, k >= 1, k <= v, t.count == rows * k, indices.shape == t.shape, lse.count == rows else {
                throw TensorError("distillationDivergence: top-k teacher (indices \(indices.shape), logits \(t.shape), log-sum-exp \(lse.shape)) does not match \(rows) student rows of \(v)")
            }
            guard indices.values.allSatisfy({ $0 >= 0 && Int($0) < v }) else {
                throw TensorError("distillationDivergence: a top-k index lies outside the vocabulary 0..<\(v)")
            }
            var seen = [Int](repeating: -1, count: v)  // a repeated id would count a token twice
            for row in 0..<rows {
                for b in 0..<k {
                    let j = Int(indices.values[row * k + b])
                    if seen[j] == row { throw TensorError("distillationDivergence: row \(row) repeats the top-k index \(j)") }
                    seen[j] = row
                }
            }
            bucketCount = k
            logits = t.data
            let copy = UnsafeMutablePointer<Int32>.allocate(capacity: indices.count)
            copy.initialize(from: indices.values, count: indices.count)
            ids = copy
            logSumExp = lse.data
            owners = [t, lse]
        }
    }

    /// The stored ids of `row`, or nil for full logits (bucket b is token b).
    @inline(__always)
    func indices(row: Int) -> UnsafeMutablePointer<Int32>? { ids.map { $0 + row * bucketCount } }

    /// Writes log P_b and P_b at `temperature` for the stored buckets and returns log P_rest and
    /// P_rest (−∞ and 0 when there is none).
    func teacherProbabilities(row: Int, temperature: Double, logP: inout [Double], p: inout [Double])
        -> (logPRest: Double, pRest: Double) {
        let k = bucketCount
        let l = logits + row * k
        var maximum = -Double.infinity
        for b in 0..<k { maximum = max(maximum, Double(l[b]) / temperature) }
        var restLogit = -Double.infinity  // log of the rest's unnormalised tempered mass
        if let logSumExp, k < vocabularySize {
            let lse = Double(logSumExp[row])
            var stored: Double = 0
            for b in 0..<k { stored += Foundation.exp(Double(l[b]) - lse) }
            let rest = 1 - stored  // ≤ 0 only by float16 rounding of the stored logits
            if rest > 0 {
                let tail = Double(vocabularySize - k)
                restLogit = Foundation.log(tail) + (lse + Foundation.log(rest / tail)) / temperature
            }
        }
        var sum: Double = 0
        for b in 0..<k {
            p[b] = Foundation.exp(Double(l[b]) / temperature - maximum)  // unnormalised until the end
            sum += p[b]
        }
        let restMass = restLogit > -.infinity ? Foundation.exp(restLogit - maximum) : 0
        sum += restMass
        let logZ = maximum + Foundation.log(sum)
        for b in 0..<k {
            logP[b] = Double(l[b]) / temperature - logZ
            p[b] /= sum
        }
        return (restLogit - logZ, restMass / sum)
    }
}
