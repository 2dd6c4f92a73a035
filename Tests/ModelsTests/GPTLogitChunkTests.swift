import Testing
@testable import Models

@Suite("GPT: logits a chunk at a time, and a model built uninitialised")
struct GPTLogitChunkTests {
    static let config = GPTConfig(vocabularySize: 23, contextLength: 16, layers: 2, heads: 2, embeddingSize: 16)

    @Test("forEachLogitChunk gives self(ids)'s logits, window by window and chunk by chunk", arguments: [1, 5, 16])
    func chunksEqualTheWholeForward(positions: Int) throws {
        let model = try GPT(config: Self.config, seed: 3)
        model.eval()
        let values: [Int32] = (0 ..< 22).map { (i: Int) -> Int32 in Int32((i * 7 + 3) % 23) }
        let ids = try IndexTensor(shape: [2, 11], values: values)
        let whole = try model(ids).toArray()
        var seen = [Bool](repeating: false, count: 2 * 11)
        try model.forEachLogitChunk(ids, positions: positions) { window, range, logits in
            #expect(logits.shape == [1, range.count, 23])
            #expect(range.count <= positions)
            let chunk = logits.toArray()
            for (offset, position) in range.enumerated() {
                let row = window * 11 + position
                seen[row] = true
                let expected = Array(whole[(row * 23) ..< (row + 1) * 23])
                let found = Array(chunk[(offset * 23) ..< (offset + 1) * 23])
                #expect(zip(expected, found).allSatisfy { abs($0 - $1) <= 1e-5 })
            }
        }
        #expect(seen.allSatisfy { $0 })
    }

    @Test("a model built uninitialised has the initialised one's parameter names and shapes")
    func uninitialisedHasTheSameParameters() throws {
        let drawn = try GPT(config: Self.config, seed: 1).namedParameters().map { "\($0.name) \($0.tensor.shape)" }
        let empty = try GPT(uninitializedFor: Self.config).namedParameters().map { "\($0.name) \($0.tensor.shape)" }
        #expect(drawn == empty)
        #expect(Self.config.checkpointExtraTensors.map(\.name).contains("lm_head.weight"))
    }
}
