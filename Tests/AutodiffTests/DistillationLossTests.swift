// The distillation divergences: gradient checks for every divergence with full logits and with a
// top-k teacher (with and without a rest bucket), top-k with K = V equal to full logits, and a
// hand-computed forward KL.

import Foundation
import Testing
@testable import Autodiff

/// The top-k of each row of `logits` (N, V) as a distillation teacher: indices, values, log-sum-exp.
private func topKTeacher(_ logits: Tensor, k: Int) throws -> DistillationTeacher {
    let v = logits.shape.last!, rows = logits.count / v
    var indices: [Int32] = [], values: [Float] = [], lse: [Float] = []
    for row in 0..<rows {
        let x = (0..<v).map { logits.data[row * v + $0] }
        let order = x.indices.sorted { (a: Int, b: Int) -> Bool in x[a] != x[b] ? x[a] > x[b] : a < b }.prefix(k)
        indices += order.map { Int32($0) }
        values += order.map { x[$0] }
        let m = Double(x.max()!)
        lse.append(Float(m + log(x.reduce(0.0) { $0 + exp(Double($1) - m) })))
    }
    return .topK(indices: try IndexTensor(shape: [rows, k], values: indices),
                 logits: try Tensor(shape: [rows, k], values: values), logSumExp: try Tensor(shape: [rows], values: lse))
}

@Suite("Distillation divergences") struct DistillationLossTests {
    @Test("gradient check: every divergence, full logits and top-k with a rest bucket",
          arguments: Divergence.allCases, [1, 2, 4] as [Float])
    func gradients(divergence: Divergence, temperature: Float) throws {
        let student = try randomTensor([4, 7], seed: 40, scale: 1.5)
        let teacherLogits = try noGrad { try randomTensor([4, 7], seed: 41, scale: 2).detached() }
        try expectGradient([student]) {
            try student.distillationDivergence(teacher: .logits(teacherLogits), temperature: temperature, divergence: divergence)
        }
        for k in [1, 3, 7] {
            let teacher = try topKTeacher(teacherLogits, k: k)
            try expectGradient([student]) {
                try student.distillationDivergence(teacher: teacher, temperature: temperature, divergence: divergence)
            }
        }
    }

    @Test("top-k with K = V equals the full-logit loss, for every divergence and temperature",
          arguments: Divergence.allCases, [0.5, 1, 3] as [Float])
    func topKOfAllEqualsFull(divergence: Divergence, temperature: Float) throws {
        let student = try randomTensor([5, 9], seed: 42, scale: 2)
        let teacherLogits = try randomTensor([5, 9], seed: 43, scale: 3)
        let full = try student.distillationDivergence(teacher: .logits(teacherLogits), temperature: temperature, divergence: divergence)
        let top = try student.distillationDivergence(teacher: topKTeacher(teacherLogits, k: 9), temperature: temperature,
                                                     divergence: divergence)
        #expect(abs(try full.item() - top.item()) <= 1e-5 * max(1, abs(try full.item())))
        // And the gradients agree.
        try full.backward()
        let gradFull = student.grad!.toArray()
        student.grad = nil
        try top.backward()
        let gradTop = student.grad!.toArray()
        #expect(zip(gradFull, gradTop).allSatisfy { abs($0 - $1) <= 1e-6 })
    }

    @Test("forward KL at T = 2 on a hand-computed case; at T = 1 with the rest bucket it equals the exact bucketed KL")
    func handComputed() throws {
        // Student uniform over 3 tokens; teacher logits (0, 0, 2 ln 3): at T = 2, p = (1/5, 1/5, 3/5).
        let student = try Tensor(shape: [1, 3], values: [0, 0, 0])
        let teacher = try Tensor(shape: [1, 3], values: [0, 0, Float(2 * log(3.0))])
        let kl = try student.distillationDivergence(teacher: .logits(teacher), temperature: 2, divergence: .forwardKL).item()
        let expected = 0.4 * log(0.6) + 0.6 * log(1.8)  // Σ p ln(p/q) = 0.148342…
        #expect(abs(Double(kl) - expected) < 1e-6)
        #expect(abs(Double(kl) - 0.148342) < 1e-6)

        // Top-1 of (0, 0, 2 ln 3) at T = 1: buckets {token 2: 9/11} and rest {2/11}; student (1/3, 2/3).
        let top = try topKTeacher(teacher, k: 1)
        let bucketed = try student.distillationDivergence(teacher: top, temperature: 1, divergence: .forwardKL).item()
        let exact = (9.0 / 11) * log((9.0 / 11) / (1.0 / 3)) + (2.0 / 11) * log((2.0 / 11) / (2.0 / 3))
        #expect(abs(Double(bucketed) - exact) < 1e-6)
    }

    @Test("bad teacher rows are refused with the shapes named")
    func errors() throws {
        let student = try Tensor(shape: [2, 4], values: [Float](repeating: 0, count: 8))
        #expect(throws: TensorError.self) {
            try student.distillationDivergence(teacher: .logits(Tensor(shape: [2, 3], values: [Float](repeating: 0, count: 6))),
                                               temperature: 1, divergence: .forwardKL)
        }
        let outside = DistillationTeacher.topK(indices: try IndexTensor(shape: [2, 1], values: [0, 4]),
                                               logits: try Tensor(shape: [2, 1], values: [1, 1]),
                                               logSumExp: try Tensor(shape: [2], values: [2, 2]))
        #expect(throws: TensorError.self) { try student.distillationDivergence(teacher: outside, temperature: 1, divergence: .jensenShannon) }
        #expect(throws: TensorError.self) {
            try student.distillationDivergence(teacher: .logits(student), temperature: 0, divergence: .meanSquaredError)
        }
    }
}
