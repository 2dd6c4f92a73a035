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
        // Saved for backward: the student's log-normaliser at T, h_b per stored bucket, and per row
        // (h_rest, log Q_rest, Σ_b h_b).
        let studentLogNorm = Tensor.empty([rows])
        let h = Tensor.empty([rows, k])
        let restStats = Tensor.empty([rows, 3])
        let perRow = Tensor.empty([rows])
        let invT = 1 / temperature
        let (pz, pn, ph, pr, pd) = (Unchecked(data), Unchecked(studentLogNorm.data), Unchecked(h.data),
                                    Unchecked(restStats.data), Unchecked(perRow.data))
        let shared = Unchecked(table)
        parallelRanges(rows, minimumPerThread: max(1, elementwiseGrain / v)) { range in
            var inTopK = [Bool](repeating: false, count: v)
            var logP = [Double](repeating: 0, count: k), logQ = [Double](repeating: 0, count: k)
            for row in range {
                let z = pz.value + row * v
                let table = shared.value
                // Student at T: log q_j = z_j / T − logNorm.
                var maximum = -Float.infinity
                for j in 0..<v { maximum = max(maximum, z[j] * invT) }
                var sum: Double = 0
                for j in 0..<v { sum += Double(fastExp(z[j] * invT - maximum)) }
                let logNorm = Double(maximum) + Foundation.log(sum)
                pn.value[row] = Float(logNorm)
                // Teacher buckets at T.
                let logPRest = table.teacherLogProbabilities(row: row, temperature: Double(temperature), into: &logP)
                // Student buckets: the stored tokens, then the rest (log-sum-exp outside the top-k).
                let ids = table.indices(row: row)
                for b in 0..<k {
                    let j = ids.map { Int($0[b]) } ?? b
                    logQ[b] = Double(z[j] * invT) - logNorm
                }
                var logQRest = -Double.infinity
                if table.hasRest {
                    for b in 0..<k { inTopK[Int(ids![b])] = true }
                    var restSum: Double = 0
                    for j in 0..<v where !inTopK[j] { restSum += Double(fastExp(z[j] * invT - maximum)) }
                    for b in 0..<k { inTopK[Int(ids![b])] = false }
                    logQRest = Double(maximum) + Foundation.log(restSum) - logNorm
                }
                var loss: Double = 0, hSum: Double = 0
                for b in 0..<k {
                    let (term, hb) = divergence.term(logP: logP[b], logQ: logQ[b])
                    loss += term
                    hSum += hb
                    ph.value[row * k + b] = Float(hb)
                }
                var hRest: Double = 0
                if table.hasRest {
                    let (term, hb) = divergence.term(logP: logPRest, logQ: logQRest)
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
        var total: Double = 0
        for i in 0..<rows { total += Double(perRow.data[i]) }
        let out = Tensor(scalar: Float(total / Double(max(rows, 1))))
        return out.recorded("distillationDivergence", [self]) { [self, studentLogNorm, h, restStats] _, g in
            let factor = g.data[0] * invT / Float(max(rows, 1))
            let pg = Unchecked(gradBuffer())
            let (pn, ph, pr) = (Unchecked(studentLogNorm.data), Unchecked(h.data), Unchecked(restStats.data))
            parallelRanges(rows, minimumPerThread: max(1, elementwiseGrain / v)) { range in
                var inTopK = [Bool](repeating: false, count: v)
                for row in range {
                    let z = pz.value + row * v, dz = pg.value + row * v
                    let table = shared.value
                    let logNorm = pn.value[row], hRest = pr.value[3 * row], logQRest = pr.value[3 * row + 1]
                    let hSum = pr.value[3 * row + 2]
                    let ids = table.indices(row: row)
                    if table.hasRest { for b in 0..<k { inTopK[Int(ids![b])] = true } }
                    for j in 0..<v {
                        let logQ = z[j] * invT - logNorm
                        var d = -fastExp(logQ) * hSum
                        if table.hasRest && !inTopK[j] { d += fastExp(logQ - logQRest) * hRest }
                        dz[j] += factor * d
                    }
                    if table.hasRest { for b in 0..<k { inTopK[Int(ids![b])] = false } }
                    for b in 0..<k {
                        let j = ids.map { Int($0[b]) } ?? b
                        dz[j] += factor * ph.value[row * k + b]
                    }
                }
            }
        }
    }
}

extension Divergence {
    /// The bucket's contribution to D and h_b = Q_b · ∂D/∂Q_b, from log P_b and log Q_b.
    @inline(__always)
    func term(logP: Double, logQ: Double) -> (value: Double, h: Double) {
        // A NaN from either side must reach the loss (the trainer stops on it), not vanish in a `p > 0` test.
        guard !logP.isNaN, !logQ.isNaN else { return (.nan, .nan) }
        let p = Foundation.exp(logP), q = Foundation.exp(logQ)
        switch self {
        case .forwardKL:
            return p > 0 ? (p * (logP - logQ), -p) : (0, 0)
        case .reverseKL:
            guard q > 0 else { return (0, 0) }
            let logPFloor = max(logP, Foundation.log(1e-10))  // a teacher zero would make the divergence infinite
            return (q * (logQ - logPFloor), q * (logQ - logPFloor + 1))
        case .jensenShannon:
            let m = 0.5 * (p + q)
            guard m > 0 else { return (0, 0) }
            let logM = Foundation.log(m)
            let value = 0.5 * ((p > 0 ? p * (logP - logM) : 0) + (q > 0 ? q * (logQ - logM) : 0))
            return (value, q > 0 ? 0.5 * q * (logQ - logM) : 0)
        case .meanSquaredError:
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
            for row in 0..<rows {  // a repeated id would count a token twice
                let slice = indices.values[row * k ..< row * k + k]
                if Set(slice).count != k { throw TensorError("distillationDivergence: row \(row) repeats a top-k index") }
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

    /// Writes log P_b at `temperature` for the stored buckets and returns log P_rest (−∞ when there is none).
    func teacherLogProbabilities(row: Int, temperature: Double, into logP: inout [Double]) -> Double {
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
        for b in 0..<k { sum += Foundation.exp(Double(l[b]) / temperature - maximum) }
        if restLogit > -.infinity { sum += Foundation.exp(restLogit - maximum) }
        let logZ = maximum + Foundation.log(sum)
        for b in 0..<k { logP[b] = Double(l[b]) / temperature - logZ }
        return restLogit - logZ
    }
}
