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
}

import Foundation
