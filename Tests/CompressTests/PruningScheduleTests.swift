import Testing
import Models
@testable import Compress

@Suite("Pruning: gradual schedule and masks during training") struct PruningScheduleTests {
    @Test("cubic schedule: s_i at t0 and before, s_f at the end and after, the formula between")
    func cubic() {
        func s(_ t: Int) -> Double {
            GradualPruningSchedule.sparsity(step: t, initial: 0.1, final: 0.9, start: 100, steps: 10, every: 20)
        }
        #expect(s(0) == 0.1)
        #expect(s(100) == 0.1)
        #expect(s(300) == 0.9)
        #expect(s(10_000) == 0.9)
        // Midpoint: t − t0 = n·Δt/2 → s_f + (s_i − s_f)·(1/2)³.
        #expect(abs(s(200) - (0.9 + (0.1 - 0.9) * 0.125)) < 1e-12)
        // Piecewise constant between events (every 20 steps): 139 is still the event at 120.
        #expect(s(139) == s(120))
        #expect(s(140) > s(139))
        let third = 1 - 40.0 / 200
        #expect(abs(s(140) - (0.9 + (0.1 - 0.9) * third * third * third)) < 1e-12)
        // Monotone non-decreasing.
        #expect((0..<400).allSatisfy { s($0) <= s($0 + 1) })
        let schedule = GradualPruningSchedule(initialSparsity: 0.1, finalSparsity: 0.9, start: 100, events: 10, interval: 20)
        #expect(schedule.sparsity(at: 200) == s(200))
        #expect(schedule.isPruningStep(100) && schedule.isPruningStep(300) && !schedule.isPruningStep(310) && !schedule.isPruningStep(101))
        #expect(throws: CompressionError.self) { try GradualPruningSchedule(finalSparsity: 1, start: 0, events: 1, interval: 1).validate() }
        #expect(throws: CompressionError.self) { try GradualPruningSchedule(finalSparsity: 0.5, start: 0, events: 0, interval: 1).validate() }
    }

    @Test("masks keep pruned weights and their AdamW moments at exactly zero through steps")
    func adamWStaysPruned() throws {
        let model = try PruningFixtures.model()
        model.eval()
        let optimizer = try AdamW(groups: model.parameterGroups(weightDecay: 0.1), learningRate: 1e-2)
        let ids = try IndexTensor(shape: [2, 8], values: (0..<16).map { Int32($0 % 16) })
        let targets = try IndexTensor(shape: [2, 8], values: (0..<16).map { Int32(($0 * 5 + 3) % 16) })
        func step() throws {
            model.zeroGrad()
            try model.loss(ids, targets: targets).backward()
        }
        // A step before pruning, so moments are non-zero everywhere.
        try step(); optimizer.step()
        var set = MaskSet(model: model)
        try set.recompute(sparsity: 0.5, scope: .global)
        try set.apply(to: optimizer)
        let parameters = optimizer.groups.flatMap(\.parameters)
        func checkZero() {
            for ((name, t), mask) in zip(set.tensors, set.masks) {
                let k = parameters.firstIndex { $0 === t }!
                for i in 0..<t.count where !mask[i] {
                    #expect(t.data[i] == 0 && optimizer.firstMoments[k].data[i] == 0 && optimizer.secondMoments[k].data[i] == 0, "\(name)[\(i)]")
                }
            }
        }
        checkZero()
        // Gradients masked before the step: the update of a pruned weight is exactly 0.
        for _ in 0..<2 {
            try step()
            set.maskGradients()
            optimizer.step()
            checkZero()
        }
        // Without masking gradients, the step moves pruned weights; apply(to:) puts them back.
        try step(); optimizer.step()
        let moved = zip(set.tensors, set.masks).contains { t, m in (0..<t.tensor.count).contains { !m[$0] && t.tensor.data[$0] != 0 } }
        #expect(moved)
        try set.apply(to: optimizer)
        checkZero()
        let total = set.masks.reduce(0) { $0 + $1.count }
        #expect(set.masks.reduce(0) { $0 + $1.prunedCount } == total / 2)
    }

    @Test("recomputing at a higher sparsity keeps the already pruned weights pruned")
    func monotone() throws {
        let model = try PruningFixtures.model()
        var set = try MagnitudePruning.prune(model, sparsity: 0.3, scope: .layer)
        let before = set.masks
        try set.recompute(sparsity: 0.6, scope: .layer)
        set.applyToWeights()
        for (old, new) in zip(before, set.masks) {
            for i in 0..<old.count where !old[i] { #expect(!new[i]) }
        }
    }
}
