import Testing
@testable import Models

@Suite("GPT") struct GPTTests {
    static let tiny = GPTConfig(vocabularySize: 11, contextLength: 8, layers: 2, heads: 2, embeddingSize: 8)

    @Test("parameter names are Hugging Face GPT-2's, with Conv1D (in, out) shapes")
    func names() throws {
        let model = try GPT(config: Self.tiny, seed: 1)
        let named = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.name, $0.tensor.shape) })
        #expect(named["transformer.wte.weight"] == [11, 8])
        #expect(named["transformer.wpe.weight"] == [8, 8])
        #expect(named["transformer.h.0.ln_1.weight"] == [8])
        #expect(named["transformer.h.1.attn.c_attn.weight"] == [8, 24])
        #expect(named["transformer.h.1.attn.c_attn.bias"] == [24])
        #expect(named["transformer.h.0.attn.c_proj.weight"] == [8, 8])
        #expect(named["transformer.h.0.ln_2.bias"] == [8])
        #expect(named["transformer.h.0.mlp.c_fc.weight"] == [8, 32])
        #expect(named["transformer.h.0.mlp.c_proj.weight"] == [32, 8])
        #expect(named["transformer.ln_f.weight"] == [8])
        #expect(named.count == 2 + 2 * 12 + 2)
        #expect(model.parameterCount == Self.tiny.parameterCount)
    }

    @Test("teacher-small at 84 characters has the reference's 3,213,824 parameters")
    func presetSize() throws {
        #expect(try GPTConfig.preset("teacher-small", vocabularySize: 84).parameterCount == 3_213_824)
        #expect(throws: ModelError.self) { try GPTConfig.preset("teacher-huge", vocabularySize: 84) }
    }

    @Test("forward shapes; a too-long sequence and a bad config are errors")
    func forward() throws {
        let model = try GPT(config: Self.tiny, seed: 2)
        let ids = try IndexTensor(shape: [2, 5], values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
        #expect(try model(ids).shape == [2, 5, 11])
        #expect(throws: ModelError.self) { try model(IndexTensor(shape: [1, 9], values: Array(repeating: 0, count: 9))) }
        var bad = Self.tiny
        bad.heads = 3
        #expect(throws: ModelError.self) { try GPT(config: bad, seed: 1) }
        let huge = GPTConfig(vocabularySize: 1 << 20, contextLength: 1024, layers: 64, heads: 64, embeddingSize: 16_384)
        let error = #expect(throws: ModelError.self) { try GPT(config: huge, seed: 1) }
        #expect(error?.message.contains("parameters") == true)
    }

    @Test("the initial loss is near ln V and the model overfits one batch to near-zero loss")
    func overfit() throws {
        let model = try GPT(config: GPTConfig(vocabularySize: 16, contextLength: 16, layers: 2, heads: 2, embeddingSize: 32), seed: 3)
        var rng = RNG(seed: 4)
        let values = (0..<(2 * 17)).map { _ in Int32(rng.nextInt(below: 16)) }
        let ids = try IndexTensor(shape: [2, 16], values: Array(values[0..<16]) + Array(values[17..<33]))
        let targets = try IndexTensor(shape: [2, 16], values: Array(values[1..<17]) + Array(values[18..<34]))
        let optimizer = try AdamW(groups: model.parameterGroups(weightDecay: 0), learningRate: 3e-3)
        var first: Float = 0, last: Float = 0
        for step in 0..<150 {
            let loss = try model.loss(ids, targets: targets)
            if step == 0 { first = try loss.item() }
            last = try loss.item()
            model.zeroGrad()
            try loss.backward()
            optimizer.step()
        }
        #expect(abs(first - log(16)) < 0.3, "initial loss \(first)")
        #expect(last < 0.05, "after 150 steps: \(last)")
    }

    @Test("config.json round trip with HF keys; wrong model_type is an error naming it")
    func config() throws {
        let data = try JSONEncoder().encode(Self.tiny)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"model_type\":\"gpt2\"") && text.contains("\"n_embd\":8") && text.contains("\"n_positions\":8"))
        #expect(try JSONDecoder().decode(GPTConfig.self, from: data) == Self.tiny)
        let llama = Data(text.replacingOccurrences(of: "\"gpt2\"", with: "\"llama\"").utf8)
        let error = #expect(throws: ModelError.self) { try JSONDecoder().decode(GPTConfig.self, from: llama) }
        #expect(error?.message.contains("llama") == true)
    }

    /// 3 layers, 4 heads of D = 2, MLP width 12; layer 0 without heads 1 and 3, layer 2 without head 0.
    static let pruned = GPTConfig(vocabularySize: 11, contextLength: 8, layers: 3, heads: 4, embeddingSize: 8,
                                  innerSize: 12, prunedHeads: [2: [0], 0: [3, 1]])

    @Test("structured config: n_inner and pruned_heads shape each layer; HF keys round trip; old configs load")
    func structuredConfig() throws {
        let config = Self.pruned
        #expect(config.prunedHeads == [0: [1, 3], 2: [0]])  // sorted
        #expect(config.keptHeads(inLayer: 0) == [0, 2] && config.headCount(inLayer: 1) == 4 && config.attentionWidth(inLayer: 2) == 6)
        let model = try GPT(config: config, seed: 1)
        let shapes = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.name, $0.tensor.shape) })
        #expect(shapes["transformer.h.0.attn.c_attn.weight"] == [8, 12] && shapes["transformer.h.0.attn.c_proj.weight"] == [4, 8])
        #expect(shapes["transformer.h.1.attn.c_attn.weight"] == [8, 24] && shapes["transformer.h.2.attn.c_attn.bias"] == [18])
        #expect(shapes["transformer.h.1.mlp.c_fc.weight"] == [8, 12] && shapes["transformer.h.2.mlp.c_proj.weight"] == [12, 8])
        #expect(model.parameterCount == config.parameterCount)
        #expect(try model(IndexTensor(shape: [2, 5], values: Array(0..<10))).shape == [2, 5, 11])
        let text = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        #expect(text.contains("\"n_inner\":12") && text.contains("\"pruned_heads\":{") && text.contains("\"0\":[1,3]"))
        #expect(try JSONDecoder().decode(GPTConfig.self, from: Data(text.utf8)) == config)
        // A config of before these keys (n_inner null, no pruned_heads) is the unpruned GPT-2.
        let old = #"{"model_type":"gpt2","vocab_size":11,"n_positions":8,"n_layer":2,"n_head":2,"n_embd":8,"n_inner":null}"#
        let decoded = try JSONDecoder().decode(GPTConfig.self, from: Data(old.utf8))
        #expect(decoded == Self.tiny && decoded.mlpWidth == 32 && decoded.prunedHeads.isEmpty)
    }

    @Test("config errors name the field: pruned_heads layer or head out of range, all heads removed, n_inner < 1",
          arguments: [
              (#""pruned_heads":{"3":[0]}"#, "pruned_heads names layer 3"),
              (#""pruned_heads":{"-1":[0]}"#, "pruned_heads names layer -1"),
              (#""pruned_heads":{"1":[4]}"#, #"pruned_heads["1"] names head 4"#),
              (#""pruned_heads":{"0":[0,1,2,3]}"#, #"pruned_heads["0"] removes all 4 heads"#),
              (#""pruned_heads":{"0":[2,2]}"#, "lists head 2 twice"),
              (#""pruned_heads":{"first":[0]}"#, #"pruned_heads key "first""#),
              (#""n_inner":0"#, "n_inner must be at least 1"),
          ])
    func structuredConfigErrors(field: String, message: String) throws {
        let json = #"{"model_type":"gpt2","vocab_size":11,"n_positions":8,"n_layer":3,"n_head":4,"n_embd":8,"#  + field + "}"
        let error = #expect(throws: ModelError.self) { try JSONDecoder().decode(GPTConfig.self, from: Data(json.utf8)) }
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "no error")")
    }
}

import Foundation
