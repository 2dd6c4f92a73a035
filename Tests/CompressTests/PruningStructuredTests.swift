import Testing
import Models
@testable import Compress

@Suite("Pruning: structured (heads, neurons)") struct PruningStructuredTests {
    @Test("heads and neurons ranked by L2 norm, a fraction kept per layer, ties by index")
    func ranking() throws {
        let model = try PruningFixtures.model()
        // Make head 1 of layer 0 dominant, and neuron 5 of layer 1.
        let attn = model.transformer.h[0].attn
        for r in 8..<16 { for j in 0..<16 { attn.projection.weight.data[r * 16 + j] *= 50 } }
        let mlp = model.transformer.h[1].mlp
        for i in 0..<16 { mlp.expand.weight.data[i * 64 + 5] *= 50 }
        let plan = try StructuredPruning.plan(model, keepHeads: 0.5, keepNeurons: 0.25)
        #expect(plan.keptHeads[0] == [1])
        #expect(plan.effectiveHeads == [1, 1] && plan.effectiveNeurons == [16, 16])
        #expect(plan.keptNeurons[1].contains(5))
        let scores = try StructuredPruning.neuronScores(model)[0]
        let keptMin = plan.keptNeurons[0].map { scores[$0] }.min()!
        let prunedMax = (0..<64).filter { !plan.keptNeurons[0].contains($0) }.map { scores[$0] }.max()!
        #expect(keptMin >= prunedMax)
        #expect(StructuredPruning.top([1, 3, 3, 2], fraction: 0.5) == [1, 2])
        #expect(throws: CompressionError.self) { try StructuredPruning.plan(model, keepHeads: 0) }
        #expect(throws: CompressionError.self) { try StructuredPruning.plan(model, keepNeurons: 1.5) }
    }

    @Test("zeroed heads contribute nothing: their q/k/v weights no longer change the logits")
    func headsRemoved() throws {
        let model = try PruningFixtures.model()
        model.eval()
        let original = try PruningFixtures.logits(model)
        let (plan, set) = try StructuredPruning.prune(model, keepHeads: 0.5)
        let pruned = try PruningFixtures.logits(model)
        #expect(PruningFixtures.maxDifference(pruned, original) > 1e-4)  // something was removed
        // The masked original: every mask holds (pruned entries zero).
        for ((name, t), mask) in zip(set.tensors, set.masks) {
            for i in 0..<t.count where !mask[i] { #expect(t.data[i] == 0, "\(name)") }
        }
        #expect(plan.effectiveHeads == [1, 1])
        // Write noise into the removed heads' q, k, v columns and biases: the logits do not move.
        var rng = RNG(seed: 5)
        for (layer, block) in model.transformer.h.enumerated() {
            let removed = (0..<2).filter { !plan.keptHeads[layer].contains($0) }
            for h in removed {
                for part in 0..<3 {
                    for e in 0..<8 {
                        let column = part * 16 + h * 8 + e
                        for i in 0..<16 { block.attn.qkv.weight.data[i * 48 + column] = Float(rng.nextNormal()) }
                        block.attn.qkv.bias!.data[column] = Float(rng.nextNormal())
                    }
                }
            }
        }
        #expect(PruningFixtures.maxDifference(try PruningFixtures.logits(model), pruned) <= 1e-6)
    }

    @Test("the compacted GPT (narrower MLPs) gives the logits of the masked original")
    func compacted() throws {
        let model = try PruningFixtures.model()
        model.eval()
        let (plan, _) = try StructuredPruning.prune(model, keepHeads: 0.5, keepNeurons: 0.25)
        let masked = try PruningFixtures.logits(model)
        let small = try StructuredPruning.compactedCopy(of: model, plan: plan)
        #expect(small.transformer.h[0].mlp.expand.weight.shape == [16, 16])
        #expect(small.transformer.h[1].mlp.projection.weight.shape == [16, 16])
        #expect(small.parameterCount == model.parameterCount - 2 * (16 * 48 + 48 + 48 * 16))
        #expect(PruningFixtures.maxDifference(try PruningFixtures.logits(small), masked) <= 1e-5)
        // Compacting the unzeroed original by the same plan gives the same model too.
        let fresh = try PruningFixtures.model()
        fresh.eval()
        _ = try StructuredPruning.maskSet(fresh, plan: plan).applyToWeights()
        #expect(PruningFixtures.maxDifference(try PruningFixtures.logits(fresh), masked) == 0)
    }
}
