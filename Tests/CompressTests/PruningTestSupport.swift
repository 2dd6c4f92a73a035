import Testing
import Models
@testable import Compress

/// Tiny models for the pruning tests: vocab 16, context 8, 2 layers, 2 heads, 16 dims.
enum PruningFixtures {
    static let tiny = GPTConfig(vocabularySize: 16, contextLength: 8, layers: 2, heads: 2, embeddingSize: 16)

    static func model(seed: UInt64 = 7, heads: Int = 2) throws -> GPT {
        var config = tiny
        config.heads = heads
        let model = try GPT(config: config, seed: seed)
        // Non-zero biases so that zeroing them matters in the structured tests.
        var rng = RNG(seed: seed &+ 1)
        for (name, t) in model.namedParameters() where name.hasSuffix(".bias") { rng.fillNormal(t, std: 0.05) }
        return model
    }

    /// Logits (T, V) flattened for one fixed sequence.
    static func logits(_ model: GPT) throws -> [Float] {
        let ids = try IndexTensor(shape: [1, 8], values: [1, 5, 3, 15, 0, 9, 2, 7])
        return try noGrad { try model(ids) }.toArray()
    }

    static func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count)
        return zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    /// Zeroes, in place, what `plan` removes from the full-size `model` (the removed heads' q/k/v columns
    /// and biases of c_attn and rows of attn.c_proj; the removed neurons' c_fc columns and biases and
    /// mlp.c_proj rows): the model a compact one must equal.
    static func zeroRemoved(_ model: GPT, plan: StructuredPruningPlan) throws {
        let c = model.config.embeddingSize, d = model.config.headSize, n = model.config.mlpWidth
        for (layer, block) in model.transformer.h.enumerated() {
            let a = block.attn.heads * d
            for h in 0..<block.attn.heads where !plan.keptHeads[layer].contains(h) {
                for part in 0..<3 {
                    for column in (part * a + h * d)..<(part * a + (h + 1) * d) {
                        for i in 0..<c { block.attn.qkv.weight.data[i * 3 * a + column] = 0 }
                        block.attn.qkv.bias!.data[column] = 0
                    }
                }
                for r in (h * d)..<((h + 1) * d) { for j in 0..<c { block.attn.projection.weight.data[r * c + j] = 0 } }
            }
            for j in 0..<n where !plan.keptNeurons[layer].contains(j) {
                for i in 0..<c { block.mlp.expand.weight.data[i * n + j] = 0 }
                block.mlp.expand.bias!.data[j] = 0
                for o in 0..<c { block.mlp.projection.weight.data[j * c + o] = 0 }
            }
        }
    }

    static func zeros(_ t: Tensor) -> Int { (0..<t.count).filter { t.data[$0] == 0 }.count }
}
