import Foundation
import Models
import Testing
import Tokenizers
@testable import Store

/// Writes checkpoints and our logits for `scripts/check_hf_checkpoint.py`, which loads each directory
/// in Hugging Face transformers and compares. Runs only when ALAMBIQUE_INTEROP_DIR names an output
/// folder (`make interop`); the Python side cannot run inside `swift test`.
@Suite("Checkpoint directories: Hugging Face interop export") struct CheckpointInteropTests {
    static let outputDirectory = ProcessInfo.processInfo.environment["ALAMBIQUE_INTEROP_DIR"]
    static let text = "to be, or not to be: that is the question."

    /// A tiny model, and one with teacher-small's shape (4 layers, 4 heads, 256 dims, context 128).
    @Test("export perturbed GPT checkpoints and their logits", .enabled(if: outputDirectory != nil),
          arguments: [(16, 2, 2, 16), (128, 4, 4, 256)])
    func export(context: Int, layers: Int, heads: Int, embeddingSize: Int) throws {
        let output = URL(fileURLWithPath: try #require(Self.outputDirectory))
        let tokenizer = CharTokenizer(corpus: Self.text)
        let config = GPTConfig(vocabularySize: tokenizer.vocabularySize, contextLength: context, layers: layers,
                               heads: heads, embeddingSize: embeddingSize)
        let model = try GPT(config: config, seed: 3)
        // Move every parameter off its initial value (biases 0, norms 1) so all of them matter.
        var rng = RNG(seed: 4)
        for (_, tensor) in model.namedParameters() {
            for i in 0..<tensor.count { tensor.data[i] += 0.1 * Float(rng.nextNormal()) }
        }
        let name = CheckpointInfo.modelName(corpus: "interop", role: "teacher", parameters: model.parameterCount,
                                            context: context, tokenizer: tokenizer.kind.rawValue, format: "F32")
        let directory = output.appendingPathComponent(name)
        try Checkpoint.save(module: model, config: config, tokenizer: tokenizer,
                            info: CheckpointInfo(name: name, role: "teacher", corpus: "interop"), to: directory)

        let prefix = String(Self.text.prefix(32))
        let ids = try tokenizer.encode(prefix)
        let batch = try IndexTensor(shape: [2, 16], values: ids)
        let logits = try noGrad { try model(batch) }
        struct Expected: Encodable {
            let text: String, ids: [[Int32]], shape: [Int], logits: [Float]
        }
        let expected = Expected(text: prefix, ids: [Array(ids[0..<16]), Array(ids[16..<32])],
                                shape: logits.shape, logits: logits.toArray())
        try JSONEncoder().encode(expected).write(to: output.appendingPathComponent("\(name).logits.json"))

        let reloaded = try Checkpoint.load(from: directory, parameterShapes: \.parameterShapes) { (config: GPTConfig) in try GPT(config: config, seed: 0) }
        #expect(try noGrad { try reloaded.model(batch) }.toArray() == logits.toArray())
    }
}
