import Foundation
import Testing
@testable import Compress
import Models
import Store
import Tokenizers

@Suite("Compressed checkpoints", .serialized) struct CompressedCheckpointTests {
    static let config = GPTConfig(vocabularySize: 256, contextLength: 8, layers: 2, heads: 2, embeddingSize: 32)
    static let ids = try! IndexTensor(shape: [2, 8], values: (0 ..< 16).map { Int32($0 * 13 % 256) })

    static func directory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("alambique-compressed-\(UUID().uuidString)")
    }

    static func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.toArray(), b.toArray()).map { abs($0 - $1) }.max() ?? 0
    }

    @Test("quantized: saved, loaded back packed, the same logits as the in-memory quantized model; smaller file",
          arguments: [QuantizationScheme.int8Symmetric, .int8Asymmetric, .q8_0, .q4_0, .q4_1])
    func quantizedRoundTrip(scheme: QuantizationScheme) throws {
        let url = Self.directory()
        defer { try? FileManager.default.removeItem(at: url) }
        let dense = try GPT(config: Self.config, seed: 7)
        let denseLogits = try noGrad { try dense(Self.ids) }
        let denseBytes = dense.parameterCount * 4
        let model = try GPT(config: Self.config, seed: 7)
        let reports = try ModelQuantization.quantize(model, scheme: scheme)
        #expect(reports.count == 8)  // 4 linears × 2 layers
        #expect(CompressedCheckpoint.linearLayers(of: model).allSatisfy { $0.linear.packed != nil })
        let quantizedLogits = try noGrad { try model(Self.ids) }
        #expect(Self.maxDifference(quantizedLogits, denseLogits) < 0.05)  // close to float32, not equal
        try CompressedCheckpoint.save(model: model, tokenizer: ByteTokenizer(),
                                      info: CheckpointInfo(name: "t", role: "test", corpus: "test", format: scheme.formatLabel), to: url)
        let loaded = try CompressedCheckpoint.load(from: url)
        #expect(loaded.parameters == dense.parameterCount)
        #expect(try noGrad { try loaded.model(Self.ids) }.toArray() == quantizedLogits.toArray())
        // The file holds the packed bytes of the 8 matrices plus float32 for everything else (and a header).
        let packedBytes = CompressedCheckpoint.linearLayers(of: model).reduce(0) { $0 + ($1.linear.packed?.storedBytes ?? 0) }
        let linearParameters = CompressedCheckpoint.linearLayers(of: model).reduce(0) { $0 + $1.linear.inFeatures * $1.linear.outFeatures }
        let expected = (dense.parameterCount - linearParameters) * 4 + packedBytes
        #expect(loaded.bytes >= expected && loaded.bytes < expected + 8192)
        #expect(loaded.bytes < denseBytes)
        // Batch-1 generation runs on the packed layers and agrees with the batched forward.
        let generator = loaded.model.makeGenerator()
        let row = try generator.prefill(Array(Self.ids.values[0 ..< 8]))
        let batched = try noGrad { try loaded.model(IndexTensor(shape: [1, 8], values: Array(Self.ids.values[0 ..< 8]))) }
        let last = Array(batched.toArray()[7 * 256 ..< 8 * 256])
        #expect(zip(Array(row), last).map { abs($0 - $1) }.max()! < 1e-3)
    }

    @Test("sparse: mask + values, the file shrinks, loading gives the pruned model's logits (CSR-packed at 90%)")
    func sparseRoundTrip() throws {
        let url = Self.directory()
        defer { try? FileManager.default.removeItem(at: url) }
        let model = try GPT(config: Self.config, seed: 8)
        let masks = try MagnitudePruning.prune(model, sparsity: 0.9, scope: .layer)
        let prunedLogits = try noGrad { try model(Self.ids) }
        try CompressedCheckpoint.save(model: model, tokenizer: ByteTokenizer(),
                                      info: CheckpointInfo(name: "s", role: "test", corpus: "test", format: "F32-s90"),
                                      sparse: Set(masks.tensors.map(\.name)), to: url)
        let loaded = try CompressedCheckpoint.load(from: url)
        #expect(CompressedCheckpoint.linearLayers(of: loaded.model).allSatisfy { $0.linear.packed is SparseMatrix })
        #expect(Self.maxDifference(try noGrad { try loaded.model(Self.ids) }, prunedLogits) < 1e-5)
        let prunable = masks.tensors.reduce(0) { $0 + $1.tensor.count }
        let nonzero = model.parameters().reduce(0) { sum, t in sum + (0 ..< t.count).filter { t.data[$0] != 0 }.count }
        #expect(loaded.nonzeroParameters == nonzero)
        #expect(loaded.parameters == model.parameterCount)
        #expect(prunable > 0)
        let dense = Self.directory()
        defer { try? FileManager.default.removeItem(at: dense) }
        try CompressedCheckpoint.save(model: model, tokenizer: ByteTokenizer(), info: CheckpointInfo(name: "d", role: "test", corpus: "test"), to: dense)
        let denseBytes = try CompressedCheckpoint.load(from: dense).bytes
        #expect(Double(loaded.bytes) < 0.5 * Double(denseBytes))
        // Without packing the model stays dense with its zeros, same logits.
        let unpacked = try CompressedCheckpoint.load(from: url, packSparse: false)
        #expect(CompressedCheckpoint.linearLayers(of: unpacked.model).allSatisfy { $0.linear.packed == nil })
        #expect(Self.maxDifference(try noGrad { try unpacked.model(Self.ids) }, prunedLogits) < 1e-6)
    }

    @Test("strict loading: a missing scale and an unknown entry are named; a block scheme refuses a row length not a multiple of 32")
    func errors() throws {
        let url = Self.directory()
        defer { try? FileManager.default.removeItem(at: url) }
        let model = try GPT(config: Self.config, seed: 9)
        _ = try ModelQuantization.quantize(model, scheme: .int8Symmetric)
        try CompressedCheckpoint.save(model: model, tokenizer: ByteTokenizer(), info: CheckpointInfo(name: "e", role: "test", corpus: "test"), to: url)
        let weights = url.appendingPathComponent("model.safetensors")
        let file = try SafeTensors.read(contentsOf: weights)
        let withoutScale = file.entries.filter { $0.name != "transformer.h.1.mlp.c_fc.weight.scale" }
        try SafeTensors.write(withoutScale, metadata: file.metadata, to: weights)
        let missing = #expect(throws: CompressionError.self) { try CompressedCheckpoint.load(from: url) }
        #expect(missing?.message.contains("transformer.h.1.mlp.c_fc.weight.scale") == true)
        try SafeTensors.write(file.entries + [SafeTensorsEntry(name: "stray", shape: [1], values: [Float(1)])], metadata: file.metadata, to: weights)
        let stray = #expect(throws: CompressionError.self) { try CompressedCheckpoint.load(from: url) }
        #expect(stray?.message.contains("stray") == true)

        let narrow = try GPT(config: GPTConfig(vocabularySize: 16, contextLength: 4, layers: 1, heads: 1, embeddingSize: 24), seed: 1)
        let error = #expect(throws: CompressionError.self) { try ModelQuantization.quantize(narrow, scheme: .q4_0) }
        #expect(error?.message.contains("c_attn") == true)
        #expect(CompressedCheckpoint.linearLayers(of: narrow).allSatisfy { $0.linear.packed == nil })  // untouched
    }
}
