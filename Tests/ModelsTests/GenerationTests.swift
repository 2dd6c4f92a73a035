import Testing
import Models

@Suite("Generation") struct GenerationTests {
    /// C = 12, 3 heads of D = 4: sizes that are not multiples of 8 exercise every scalar tail.
    static let tiny = GPTConfig(vocabularySize: 11, contextLength: 16, layers: 2, heads: 3, embeddingSize: 12)
    static let small = GPTConfig(vocabularySize: 11, contextLength: 8, layers: 2, heads: 2, embeddingSize: 16)

    /// The full forward's logits (T, V) for one sequence, under noGrad.
    static func forward(_ model: GPT, _ ids: [Int32]) throws -> [[Float]] {
        let v = model.config.vocabularySize
        let logits = try noGrad { try model(IndexTensor(shape: [1, ids.count], values: ids)) }.toArray()
        return (0..<ids.count).map { Array(logits[($0 * v)..<(($0 + 1) * v)]) }
    }

    static func maxDifference(_ a: UnsafeBufferPointer<Float>, _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
    }

    static func randomIds(_ count: Int, vocabulary: Int, seed: UInt64) -> [Int32] {
        var rng = RNG(seed: seed)
        return (0..<count).map { _ in Int32(rng.nextInt(below: vocabulary)) }
    }

    static func argmax(_ row: [Float]) -> Int32 { Int32(row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) }!) }

    @Test("KV-cache logits equal the full forward's at every position (|Δ| < 1e-4)", arguments: [
        ("tiny", tiny, 16, Float(10)),
        ("teacher-small", try! GPTConfig.preset("teacher-small", vocabularySize: 84), 24, Float(5)),
        // Structurally pruned: layer 0 keeps 2 heads, layer 1 all 3 (the cache's width), layer 2 one; MLP width 20.
        ("head-pruned", GPTConfig(vocabularySize: 11, contextLength: 16, layers: 3, heads: 3, embeddingSize: 12,
                                  innerSize: 20, prunedHeads: [0: [1], 2: [0, 2]]), 16, Float(10)),
    ])
    func cacheMatchesForward(name: String, config: GPTConfig, length: Int, boost: Float) throws {
        let model = try GPT(config: config, seed: 7)
        // Larger weights than the init so that attention is far from uniform (logits of a few units).
        for p in model.parameters() where p.rank == 2 { for i in 0..<p.count { p.data[i] *= boost } }
        let ids = Self.randomIds(length, vocabulary: config.vocabularySize, seed: 8)
        let expected = try Self.forward(model, ids)
        let generator = model.makeGenerator()

        // Row by row from position 0.
        var worst: Float = 0
        for (position, id) in ids.enumerated() {
            worst = max(worst, Self.maxDifference(try generator.logits(forNext: id), expected[position]))
        }
        #expect(worst < 1e-4, "\(name): row-by-row max |Δ| = \(worst)")
        #expect(generator.cache.count == length && generator.tokens == ids)

        // Batched prefill of a prefix, then steps.
        generator.reset()
        let split = length / 2
        worst = Self.maxDifference(try generator.prefill(Array(ids[..<split])), expected[split - 1])
        for position in split..<length {
            worst = max(worst, Self.maxDifference(try generator.logits(forNext: ids[position]), expected[position]))
        }
        #expect(worst < 1e-4, "\(name): prefill + steps max |Δ| = \(worst)")
    }

    @Test("greedy generation is deterministic and is the full forward's argmax step by step")
    func greedy() throws {
        let model = try GPT(config: Self.tiny, seed: 3)
        for p in model.parameters() where p.rank == 2 { for i in 0..<p.count { p.data[i] *= 10 } }
        let prompt: [Int32] = [1, 5, 2]
        var streamed: [Int32] = []
        let first = try model.generate(prompt: prompt, maxNewTokens: 12) { streamed.append($0); return true }
        let second = try model.makeGenerator().generate(prompt: prompt, maxNewTokens: 12)
        #expect(first.count == 12 && first == second && streamed == first)
        var sequence = prompt
        for token in first {
            #expect(token == Self.argmax(try Self.forward(model, sequence).last!), "after \(sequence)")
            sequence.append(token)
        }
        // onToken returning false stops at that token.
        #expect(try model.generate(prompt: prompt, maxNewTokens: 12) { _ in false } == [first[0]])
        #expect(try model.generate(prompt: prompt, maxNewTokens: 0).isEmpty)
    }

    @Test("seeded sampling is reproducible; top-k = 1 and a tiny top-p are greedy")
    func sampling() throws {
        let model = try GPT(config: Self.tiny, seed: 4)
        let generator = model.makeGenerator()
        let prompt: [Int32] = [3, 1, 4]
        let options = SamplingOptions(temperature: 1, topK: 0, topP: 1, seed: 42)
        let a = try generator.generate(prompt: prompt, maxNewTokens: 12, options: options)
        let b = try generator.generate(prompt: prompt, maxNewTokens: 12, options: options)
        var other = options
        other.seed = 43
        let c = try generator.generate(prompt: prompt, maxNewTokens: 12, options: other)
        #expect(a == b)
        #expect(a != c, "two seeds over a near-uniform distribution gave the same 12 tokens")
        let greedy = try generator.generate(prompt: prompt, maxNewTokens: 12)
        for options in [SamplingOptions(temperature: 1, topK: 1, seed: 5), SamplingOptions(temperature: 2, topP: 1e-6, seed: 6),
                        SamplingOptions(temperature: 0.7, topK: 3, topP: 1e-6, seed: 7)] {
            #expect(try generator.generate(prompt: prompt, maxNewTokens: 12, options: options) == greedy, "\(options)")
        }
        // Top-k = 2 only ever picks one of the two largest logits.
        var rng = RNG(seed: 9)
        generator.reset()
        let row = try generator.prefill(prompt)
        let values = Array(row)
        let top2 = Set(values.indices.sorted { values[$0] > values[$1] }.prefix(2).map { Int32($0) })
        for _ in 0..<50 {
            #expect(top2.contains(try generator.sample(row, options: SamplingOptions(temperature: 5, topK: 2), rng: &rng)))
        }
    }

    @Test("at the context length generate slides the window: each token is the argmax over the last T tokens")
    func slidingWindow() throws {
        let model = try GPT(config: Self.small, seed: 5)
        for p in model.parameters() where p.rank == 2 { for i in 0..<p.count { p.data[i] *= 10 } }
        let prompt: [Int32] = [2, 7, 1]
        let generated = try model.generate(prompt: prompt, maxNewTokens: 20)
        #expect(generated.count == 20)
        var sequence = prompt
        for token in generated {
            let window = Array(sequence.suffix(Self.small.contextLength))
            #expect(token == Self.argmax(try Self.forward(model, window).last!), "after \(sequence)")
            sequence.append(token)
        }
        // A shorter kept window still generates; .error accepts exactly what fits.
        #expect(try model.generate(prompt: prompt, maxNewTokens: 20, overflow: .slide(keep: 3)).count == 20)
        let fits = try model.generate(prompt: prompt, maxNewTokens: 6, overflow: .error)
        #expect(fits == Array(generated.prefix(6)))
    }

    @Test("errors: empty or too-long prompt, bad token ids, bad options, a full cache")
    func errors() throws {
        let model = try GPT(config: Self.small, seed: 6)
        let generator = model.makeGenerator()
        let context = Self.small.contextLength
        #expect(throws: ModelError.self) { try generator.generate(prompt: [], maxNewTokens: 3) }
        #expect(throws: ModelError.self) { try generator.prefill([]) }
        #expect(throws: ModelError.self) { try generator.generate(prompt: Array(repeating: 1, count: context + 1), maxNewTokens: 1) }
        #expect(throws: ModelError.self) { try generator.generate(prompt: [1, 11], maxNewTokens: 3) }
        #expect(throws: ModelError.self) { try generator.generate(prompt: [-1], maxNewTokens: 3) }
        #expect(throws: ModelError.self) { try generator.logits(forNext: 11) }
        #expect(throws: ModelError.self) { try generator.generate(prompt: [1], maxNewTokens: -1) }
        for bad in [SamplingOptions(temperature: -0.5), SamplingOptions(temperature: .nan), SamplingOptions(temperature: .infinity),
                    SamplingOptions(temperature: 1, topK: -1), SamplingOptions(temperature: 1, topP: 0),
                    SamplingOptions(temperature: 1, topP: 1.5), SamplingOptions(temperature: 1, topP: .nan)] {
            #expect(throws: ModelError.self, "\(bad)") { try generator.generate(prompt: [1], maxNewTokens: 3, options: bad) }
        }
        #expect(throws: ModelError.self) { try generator.generate(prompt: [1, 2], maxNewTokens: context, overflow: .error) }
        #expect(throws: ModelError.self) { try generator.generate(prompt: [1], maxNewTokens: 3, overflow: .slide(keep: 0)) }
        #expect(throws: ModelError.self) { try generator.generate(prompt: [1], maxNewTokens: 3, overflow: .slide(keep: context)) }
        // The cache refuses a token past the context; after reset() it accepts again.
        generator.reset()
        _ = try generator.prefill(Array(repeating: 3, count: context))
        #expect(throws: ModelError.self) { try generator.logits(forNext: 1) }
        #expect(throws: ModelError.self) { try generator.prefill([1]) }
        generator.reset()
        #expect(try generator.logits(forNext: 1).count == Self.small.vocabularySize)
    }

    @Test("inference kernels: GELU and layer norm equal the Tensor ops exactly; linear and attention to rounding")
    func kernels() throws {
        var rng = RNG(seed: 11)
        func random(_ shape: [Int], scale: Float = 1) throws -> Tensor {
            try Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in Float(rng.nextNormal()) * scale })
        }
        let (c, out) = (20, 13)
        let x = try random([1, c], scale: 3), gamma = try random([c]), beta = try random([c])
        let weight = try random([c, out]), bias = try random([out])
        var row = x.toArray()
        row.withUnsafeMutableBufferPointer { InferenceKernels.geluInPlace($0.baseAddress!, count: c) }
        #expect(row == x.gelu().toArray())
        row.withUnsafeMutableBufferPointer {
            InferenceKernels.layerNormRow(x.data, weight: gamma.data, bias: beta.data, out: $0.baseAddress!, count: c, epsilon: 1e-5)
        }
        #expect(row == (try x.layerNorm(weight: gamma, bias: beta)).toArray())
        var y = [Float](repeating: 0, count: out)
        y.withUnsafeMutableBufferPointer {
            InferenceKernels.linearRow(x.data, weight: weight.data, bias: bias.data, out: $0.baseAddress!, inFeatures: c, outFeatures: out)
        }
        var worst = zip(y, try x.linear(weight: weight, bias: bias).toArray()).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-5, "linearRow max |Δ| = \(worst)")

        // The last query of causal attention over T = 9 positions, 3 heads of D = 20 (C = 60).
        let (t, heads, width) = (9, 3, 60)
        let qkv = try random([1, t, 3 * width], scale: 2)
        let expected = Array(try qkv.causalSelfAttention(heads: heads).toArray().suffix(width))
        var scores = [Float](repeating: 0, count: t), attention = [Float](repeating: 0, count: width)
        scores.withUnsafeMutableBufferPointer { s in
            attention.withUnsafeMutableBufferPointer { o in
                let last = qkv.data + (t - 1) * 3 * width
                InferenceKernels.attentionRow(query: last, keys: qkv.data + width, values: qkv.data + 2 * width,
                                              rowStride: 3 * width, length: t, heads: heads, headSize: width / heads,
                                              scores: s.baseAddress!, out: o.baseAddress!)
            }
        }
        worst = zip(attention, expected).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-5, "attentionRow max |Δ| = \(worst)")
        #expect(InferenceKernels.argmax([1, 3, 3, 2], count: 4) == 1)
    }
}
