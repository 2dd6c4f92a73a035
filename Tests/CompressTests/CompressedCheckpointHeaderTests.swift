import Foundation
import Testing
@testable import Compress
import Models
import Store
import Tokenizers

/// Rewrites config.json's top-level object in `directory` with `change` applied.
private func editConfig(_ directory: URL, _ change: (inout [String: Any]) -> Void) throws {
    let url = directory.appendingPathComponent("config.json")
    var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    change(&json)
    try JSONSerialization.data(withJSONObject: json).write(to: url)
}

@Suite("Compressed checkpoints: the header is checked before building, inspect reads headers only", .serialized)
struct CompressedCheckpointHeaderTests {
    static let config = GPTConfig(vocabularySize: 256, contextLength: 8, layers: 2, heads: 2, embeddingSize: 32)

    /// A checkpoint with q8_0 attention matrices and 90%-sparse MLP matrices, in a fresh directory.
    static func compressedCheckpoint() throws -> (directory: URL, model: GPT) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alambique-header-\(UUID().uuidString)")
        let model = try GPT(config: config, seed: 3)
        let masks = try MagnitudePruning.prune(model, sparsity: 0.9, scope: .layer)
        let mlp = Set(masks.tensors.map(\.name).filter { $0.contains(".mlp.") })
        _ = try ModelQuantization.quantize(model, scheme: .q8_0, keep: [".mlp."])
        try CompressedCheckpoint.save(model: model, tokenizer: ByteTokenizer(),
                                      info: CheckpointInfo(name: "h", role: "test", corpus: "test", format: "Q8_0-s90"),
                                      sparse: mlp, to: directory)
        return (directory, model)
    }

    @Test("a config implying 1.5·10⁹ parameters over a small file fails at once, naming the tensor")
    func hugeConfig() throws {
        let (directory, _) = try Self.compressedCheckpoint()
        defer { try? FileManager.default.removeItem(at: directory) }
        try editConfig(directory) { $0["n_layer"] = 24; $0["n_embd"] = 2304 }
        let start = Date()
        let error = try #require(throws: CompressionError.self) { try CompressedCheckpoint.load(from: directory) }
        #expect(Date().timeIntervalSince(start) < 0.5)
        #expect(error.message.contains("transformer.wte.weight: has shape [256, 32], the model expects [256, 2304]"))
        #expect(error.message.contains("config.json implies 1.5B parameters"))

        // inspect's compression tables come from the header: no model of 6 GB is built for them either.
        let summaryStart = Date()
        _ = try CompressionSummary.describe(directory)
        #expect(Date().timeIntervalSince(summaryStart) < 0.5)
    }

    @Test("a quantized record whose shape is not the parameter's, or whose entries are missing, fails before building")
    func quantizedRecordAgainstConfig() throws {
        let (directory, _) = try Self.compressedCheckpoint()
        defer { try? FileManager.default.removeItem(at: directory) }
        let weights = directory.appendingPathComponent("model.safetensors")
        let file = try SafeTensors.read(contentsOf: weights)
        var records = try QuantizationMetadata.decode(file.metadata)
        let name = "transformer.h.0.attn.c_attn.weight"
        records[name]?.shape = [32, 96]  // (in, out): the parameter's layout, not the stored (out, in)
        var metadata = file.metadata
        metadata[QuantizedMatrix.metadataKey] = QuantizationMetadata.encode(records)
        try SafeTensors.write(file.entries, metadata: metadata, to: weights)
        let transposed = try #require(throws: CompressionError.self) { try CompressedCheckpoint.load(from: directory) }
        #expect(transposed.message.contains("\(name): alambique.quantization records shape [32, 96] (out, in); the parameter is [32, 96] (in, out)"))

        try SafeTensors.write(file.entries.filter { $0.name != name + ".blocks" }, metadata: file.metadata, to: weights)
        let missing = try #require(throws: CompressionError.self) { try CompressedCheckpoint.load(from: directory) }
        #expect(missing.message.contains("\(name): no entry \(name).blocks (expected shape [96, 34])"))
    }

    @Test("the compression tables from the header agree with the loaded model")
    func summaryFromHeader() throws {
        let (directory, model) = try Self.compressedCheckpoint()
        defer { try? FileManager.default.removeItem(at: directory) }
        let summary = try #require(try CompressionSummary.describe(directory))
        for (name, tensor) in model.namedParameters() where name.contains(".mlp.c_") && name.hasSuffix(".weight") {
            let zeros = (0 ..< tensor.count).filter { tensor.data[$0] == 0 }.count
            let percent = String(format: "%.1f%%", 100 * Double(zeros) / Double(tensor.count))
            #expect(summary.contains("| \(name) | \(tensor.shape) | \(percent) |"), "\(summary)")
        }
        #expect(summary.contains("| transformer.h.1.attn.c_proj.weight | [32, 32] (out, in) | q8_0 / block | \(32 * 34) |"))
        let loaded = try CompressedCheckpoint.load(from: directory, packSparse: false)
        let removed = loaded.parameters - loaded.nonzeroParameters
        #expect(removed > 0)
        // Dense tensors are counted whole from the header; only the sparse ones' zeros are known.
        let sparseZeros = model.namedParameters().filter { $0.name.contains(".mlp.c_") && $0.name.hasSuffix(".weight") }
            .reduce(0) { total, entry in total + (0 ..< entry.tensor.count).filter { entry.tensor.data[$0] == 0 }.count }
        #expect(summary.contains("non-zero parameters: \(Self.config.parameterCount - sparseZeros) of \(Self.config.parameterCount)"))
    }

    @Test("a tokenizer.json swapped for another with as many tokens is refused")
    func swappedTokenizer() throws {
        let (directory, _) = try Self.compressedCheckpoint()
        defer { try? FileManager.default.removeItem(at: directory) }
        let other = try CharTokenizer(characters: (0x100 ..< 0x200).map { Unicode.Scalar($0)! })
        #expect(other.vocabularySize == 256)
        try other.save(to: directory.appendingPathComponent("tokenizer.json"))
        let error = try #require(throws: CheckpointError.self) { try CompressedCheckpoint.load(from: directory) }
        #expect(error.kind == .tokenizerMismatch)
        #expect(error.description.contains(other.fingerprint()) && error.description.contains(ByteTokenizer().fingerprint()))
    }
}
