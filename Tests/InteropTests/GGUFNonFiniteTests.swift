import Compress
import Foundation
@testable import Interop
import Models
import Store
import Testing
import Tokenizers

/// NaN and infinities on both sides of GGUF: an imported file with a NaN fp16 block scale or a
/// NaN/∞ F32 or F16 weight is refused naming the tensor; an export never writes an infinity that
/// the weights did not hold (F16 overflow, a Q8_0 scale beyond fp16).
@Suite("GGUF and non-finite values", .serialized) struct GGUFNonFiniteTests {
    /// An export of a tiny checkpoint (`scheme` blocks, or `type`), as bytes.
    static func exported(scheme: QuantizationScheme? = nil, type: GGUFExportType? = nil) throws -> [UInt8] {
        let url = try GPT2GGUFTests.checkpoint(scheme: scheme)
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        return [UInt8](try GPT2GGUF.export(CompressedCheckpoint.load(from: url, packSparse: false), type: type).writer.encoded())
    }

    /// `bytes` with `patch` written at byte `offset` of tensor `name`'s data.
    static func patched(_ bytes: [UInt8], tensor name: String, at offset: Int, _ patch: [UInt8]) throws -> Data {
        let file = try GGUFFile(data: Data(bytes))
        let tensor = try #require(file.tensor(named: name))
        var copy = bytes
        let start = file.dataOffset + tensor.offset + offset
        copy.replaceSubrange(start ..< start + patch.count, with: patch)
        return Data(copy)
    }

    static func importError(_ data: Data) -> String {
        do { _ = try GPT2GGUF.load(GGUFFile(data: data, source: "bad.gguf")); return "no error" } catch { return "\(error)" }
    }

    @Test("a NaN or infinite fp16 block scale is refused, naming the file, the tensor and the block",
          arguments: [QuantizationScheme.q8_0, .q4_0, .q4_1])
    func nonFiniteBlockScale(scheme: QuantizationScheme) throws {
        let bytes = try Self.exported(scheme: scheme)
        #expect(Self.importError(Data(bytes)) == "no error")
        // blk.0.ffn_up.weight is [in 32, out 128]: one block per row; row 5's d.
        for half: [UInt8] in [[0x00, 0x7E], [0x00, 0x7C], [0x00, 0xFC]] {
            let message = Self.importError(try Self.patched(bytes, tensor: "blk.0.ffn_up.weight", at: 5 * scheme.bytesPerBlock!, half))
            #expect(message.hasPrefix("bad.gguf: tensor \"blk.0.ffn_up.weight\": the \(scheme.formatLabel) block of row 5, columns 0..<32"), "\(message)")
            #expect(message.contains("scale d = "))
        }
        if scheme == .q4_1 {  // m
            let message = Self.importError(try Self.patched(bytes, tensor: "blk.1.attn_qkv.weight", at: 2, [0x00, 0x7E]))
            #expect(message.contains("\"blk.1.attn_qkv.weight\"") && message.contains("minimum m = nan"), "\(message)")
        }
    }

    @Test("a NaN or infinite F32 or F16 weight is refused, naming the tensor and the element")
    func nonFiniteFloatWeight() throws {
        let f32 = try Self.exported(type: .f32)
        let nan32 = Float.nan.bitPattern.littleEndian
        let message = Self.importError(try Self.patched(f32, tensor: "blk.1.attn_norm.bias", at: 5 * 4,
                                                        withUnsafeBytes(of: nan32) { Array($0) }))
        #expect(message == "bad.gguf: tensor \"blk.1.attn_norm.bias\" (F32) holds nan at element 5 (ggml index [5]); weights must be finite",
                "\(message)")
        let f16 = try Self.exported(type: .f16)
        // token_embd.weight is ggml [32, vocabulary]: element 40 is [8, 1].
        let infinite = Self.importError(try Self.patched(f16, tensor: "token_embd.weight", at: 40 * 2, [0x00, 0x7C]))
        #expect(infinite.contains("tensor \"token_embd.weight\" (F16) holds inf at element 40 (ggml index [8, 1])"), "\(infinite)")
        let matrix = Self.importError(try Self.patched(f16, tensor: "blk.0.ffn_down.weight", at: 0, [0x00, 0xFC]))
        #expect(matrix.contains("\"blk.0.ffn_down.weight\" (F16) holds -inf at element 0"), "\(matrix)")
    }

    /// A checkpoint of the tiny model with `value` at [0, 0] of h.0's c_fc weight, loaded for export.
    static func loaded(withWeight value: Float) throws -> (CompressedCheckpoint.Loaded, URL) {
        let config = GPT2GGUFTests.config
        let model = try GPT(config: config, seed: 3)
        let weight = try #require(model.namedParameters().first { $0.name == "transformer.h.0.mlp.c_fc.weight" }?.tensor)
        weight.data[0] = value
        let url = GPT2GGUFTests.temporary("ckpt")
        try CompressedCheckpoint.save(model: model, tokenizer: CharTokenizer(corpus: GPT2GGUFTests.corpus),
                                      info: CheckpointInfo(name: "t-F32", role: "student", corpus: "test"), to: url)
        return (try CompressedCheckpoint.load(from: url, packSparse: false), url)
    }

    @Test("export: a weight beyond F16 or a Q8_0 scale beyond fp16 is an error that says to export F32; F32 keeps it")
    func exportOverflow() throws {
        let (large, url) = try Self.loaded(withWeight: 70000)
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        let f16 = try #require(throws: InteropError.self) { try GPT2GGUF.export(large, type: .f16) }
        #expect(f16.message.contains("transformer.h.0.mlp.c_fc.weight (blk.0.ffn_up.weight): value 70000.0") && f16.message.contains("--type f32"),
                "\(f16.message)")
        #expect(throws: Never.self) { try GPT2GGUF.export(large, type: .q8_0) }  // 70000/127 fits fp16
        let (huge, hugeURL) = try Self.loaded(withWeight: 65520 * 127)
        defer { try? FileManager.default.removeItem(at: hugeURL.deletingLastPathComponent()) }
        let q8 = try #require(throws: InteropError.self) { try GPT2GGUF.export(huge, type: .q8_0) }
        #expect(q8.message.hasPrefix("transformer.h.0.mlp.c_fc.weight: row 0, columns 0..<32") && q8.message.hasSuffix("--type f32"),
                "\(q8.message)")
        let f32 = try GPT2GGUF.export(huge, type: .f32).writer
        let file = try GGUFFile(data: f32.encoded())
        #expect(try file.floats(of: #require(file.tensor(named: "blk.0.ffn_up.weight")))[0] == 65520 * 127)
    }
}
