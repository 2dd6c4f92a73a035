import Testing
import Models
@testable import Compress

/// Tiny models for the pruning tests: vocab 16, context 8, 2 layers, 2 heads, 16 dims.
enum PruningFixtures {
    static let tiny = GPTConfig(vocabularySize: 16, contextLength: 8, layers: 2, heads: 2, embeddingSize: 16)

    static func model(seed: UInt64 = 7) throws -> GPT {
        let model = try GPT(config: tiny, seed: seed)
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

    static func zeros(_ t: Tensor) -> Int { (0..<t.count).filter { t.data[$0] == 0 }.count }
}
