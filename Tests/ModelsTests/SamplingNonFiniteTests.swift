import Testing
import Models

/// The sampler over logits holding NaN and infinities: a NaN is never drawn (as argmax never picks
/// one), a +∞ takes all the probability, a row with nothing finite gives the argmax's token.
@Suite("Sampling over non-finite logits") struct SamplingNonFiniteTests {
    static let config = GPTConfig(vocabularySize: 11, contextLength: 8, layers: 1, heads: 2, embeddingSize: 8)

    static let optionsToTry: [SamplingOptions] = [
        .greedy, SamplingOptions(temperature: 1, seed: 1), SamplingOptions(temperature: 3, topK: 3, seed: 2),
        SamplingOptions(temperature: 0.5, topP: 0.9, seed: 3), SamplingOptions(temperature: 2, topK: 4, topP: 0.5, seed: 4),
        SamplingOptions(temperature: 1e-30, seed: 5),
    ]

    func draws(_ logits: [Float], _ options: SamplingOptions, count: Int = 100) throws -> Set<Int32> {
        let generator = try GPT(config: Self.config, seed: 1).makeGenerator()
        var rng = RNG(seed: options.seed)
        return try logits.withUnsafeBufferPointer { row in
            var seen = Set<Int32>()
            for _ in 0..<count { seen.insert(try generator.sample(row, options: options, rng: &rng)) }
            return seen
        }
    }

    @Test("NaN logits are never drawn, whatever the temperature, top-k or top-p")
    func nanIsNeverDrawn() throws {
        let logits: [Float] = [.nan, 1, 2, .nan, 1.5, .nan, 0.5, -.infinity, .nan, 1.9, .nan]
        for options in Self.optionsToTry {
            let seen = try draws(logits, options)
            #expect(seen.isSubset(of: [1, 2, 4, 6, 9]), "\(options): \(seen.sorted())")
            if options.temperature == 0 || options.temperature < 1e-20 { #expect(seen == [2]) }
        }
        // Top-k = 2 over the finite logits: the two largest, 2 and 9.
        #expect(try draws(logits, SamplingOptions(temperature: 10, topK: 2, seed: 8), count: 300) == [2, 9])
    }

    @Test("+∞ takes all the probability (the first +∞); a row with nothing finite gives the argmax's token")
    func infinitiesAndEmptyRows() throws {
        let cases: [([Float], Int32)] = [
            ([1, .infinity, .nan, .infinity, 2, 0, 0, 0, 0, 0, 0], 1),
            ([Float](repeating: .nan, count: 11), 0),
            ([Float](repeating: -.infinity, count: 11), 0),
            ([.nan, .nan, -.infinity, .nan, -.infinity, .nan, .nan, .nan, .nan, .nan, .nan], 2),
        ]
        for (logits, expected) in cases {
            for options in Self.optionsToTry {
                #expect(try draws(logits, options, count: 20) == [expected], "\(logits) \(options)")
            }
        }
    }

    @Test("a model whose weights are NaN generates valid token ids (0 every time: argmax of all-NaN logits)")
    func nanModelGenerates() throws {
        let model = try GPT(config: Self.config, seed: 2)
        let bias = try #require(model.namedParameters().first { $0.name == "transformer.ln_f.bias" }?.tensor)
        bias.data[0] = .nan
        for options in Self.optionsToTry {
            let tokens = try model.generate(prompt: [1, 2, 3], maxNewTokens: 10, options: options)
            #expect(tokens == [Int32](repeating: 0, count: 10), "\(options)")
        }
    }
}
