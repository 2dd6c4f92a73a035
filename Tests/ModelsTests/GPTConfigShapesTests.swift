import Foundation
import Testing
@testable import Models

@Suite("GPT config: parameter shapes without building") struct GPTConfigShapesTests {
    static let configs = [
        GPTConfig(vocabularySize: 11, contextLength: 8, layers: 2, heads: 2, embeddingSize: 8),
        GPTConfig(vocabularySize: 97, contextLength: 16, layers: 3, heads: 4, embeddingSize: 16, innerSize: 40,
                  prunedHeads: [0: [1, 3], 2: [0]]),
    ]

    @Test("parameterShapes lists exactly the module walk's names and shapes, in its order", arguments: configs)
    func shapesAreTheWalks(config: GPTConfig) throws {
        let model = try GPT(config: config, seed: 1)
        let walk = model.namedParameters().map { "\($0.name) \($0.tensor.shape)" }
        #expect(config.parameterShapes.map { "\($0.name) \($0.shape)" } == walk)
        #expect(config.parameterCount == model.parameterCount)
    }

    @Test("parameterCount saturates for absurd sizes instead of trapping, and validate refuses them")
    func absurdSizesDoNotTrap() {
        let absurd = GPTConfig(vocabularySize: 1 << 40, contextLength: 1 << 40, layers: 3, heads: 1, embeddingSize: 1 << 40)
        #expect(absurd.parameterCount == Int.max)
        #expect(throws: ModelError.self) { try absurd.validate() }
    }

    @Test("a hostile model_type is quoted in 200 characters, not whole")
    func hostileModelType() throws {
        let json = "{\"model_type\": \"\(String(repeating: "y", count: 1_000_000))\", \"vocab_size\": 11, \"n_positions\": 8, "
            + "\"n_layer\": 1, \"n_head\": 1, \"n_embd\": 8}"
        let error = try #require(throws: ModelError.self) { try JSONDecoder().decode(GPTConfig.self, from: Data(json.utf8)) }
        #expect(error.message.utf8.count < 400 && error.message.contains("(1000000 bytes)"), "\(error.message.prefix(300))")
    }
}
