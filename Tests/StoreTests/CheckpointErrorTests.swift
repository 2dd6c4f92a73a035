import Foundation
import Models
import Testing
import Tokenizers
@testable import Store

/// Loads the whole checkpoint into a GPT built from its config.
private func loadTiny(_ directory: URL) throws {
    _ = try Checkpoint.load(from: directory, parameterShapes: \.parameterShapes) { (config: GPTConfig) in try GPT(config: config, seed: 5) }
}

/// Rewrites config.json with `change` applied to its top-level object.
private func editConfig(_ saved: TinyCheckpoint, _ change: (inout [String: Any]) -> Void) throws {
    var json = try JSONSerialization.jsonObject(with: Data(contentsOf: saved.file("config.json"))) as! [String: Any]
    change(&json)
    try JSONSerialization.data(withJSONObject: json).write(to: saved.file("config.json"))
}

/// Rewrites model.safetensors with `change` applied to its entries.
private func editWeights(_ saved: TinyCheckpoint, _ change: (inout [SafeTensorsEntry]) -> Void) throws {
    var entries = try SafeTensors.read(contentsOf: saved.file("model.safetensors")).entries
    change(&entries)
    try SafeTensors.write(entries, metadata: ["format": "pt"], to: saved.file("model.safetensors"))
}

@Suite("Checkpoint directories: rejecting bad ones") struct CheckpointErrorTests {
    @Test("a truncated model.safetensors is an error naming the file")
    func truncated() throws {
        let saved = try TinyCheckpoint()
        defer { saved.temporary.remove() }
        let bytes = try Data(contentsOf: saved.file("model.safetensors"))
        try bytes.prefix(bytes.count - 100).write(to: saved.file("model.safetensors"))
        let error = try #require(throws: SafeTensorsError.self) { try loadTiny(saved.directory) }
        #expect(error.kind == .offsetsOutOfRange)
        #expect(error.description.contains(saved.file("model.safetensors").path))
    }

    @Test("a garbage header is an error naming the file")
    func corruptedHeader() throws {
        let saved = try TinyCheckpoint()
        defer { saved.temporary.remove() }
        var bytes = try Data(contentsOf: saved.file("model.safetensors"))
        bytes.replaceSubrange(8 ..< 20, with: Array("#garbage!{[\"".utf8))
        try bytes.write(to: saved.file("model.safetensors"))
        let error = try #require(throws: SafeTensorsError.self) { try loadTiny(saved.directory) }
        #expect(error.kind == .invalidHeaderJSON)
        #expect(error.description.contains("model.safetensors") && error.description.contains("not valid JSON"))
    }

    @Test("header offsets past the data are an error naming the tensor")
    func offsetsOutOfRange() throws {
        let saved = try TinyCheckpoint()
        defer { saved.temporary.remove() }
        let header = #"{"transformer.wte.weight":{"dtype":"F32","shape":[11,8],"data_offsets":[0,352]}}"#
        let bytes = littleEndianBytes(UInt64(header.utf8.count)) + Array(header.utf8) + [UInt8](repeating: 0, count: 8)
        try Data(bytes).write(to: saved.file("model.safetensors"))
        let error = try #require(throws: SafeTensorsError.self) { try loadTiny(saved.directory) }
        #expect(error.kind == .offsetsOutOfRange && error.tensor == "transformer.wte.weight")
        #expect(error.description.contains("[0, 352)"))
    }

    @Test("a config that does not match the weights names the tensor and both shapes")
    func configMismatch() throws {
        let saved = try TinyCheckpoint()
        defer { saved.temporary.remove() }
        try editConfig(saved) { $0["n_embd"] = 16 }
        let error = try #require(throws: LoadError.self) { try loadTiny(saved.directory) }
        #expect(error.kind == .shapeMismatch && error.parameter == "transformer.wte.weight")
        #expect(error.description.contains("expected shape [11, 16], found [11, 8]"))
        #expect(error.description.contains(saved.file("model.safetensors").path))
    }

    @Test("an unknown tensor and a missing tensor are errors naming the tensor and the file")
    func unknownAndMissing() throws {
        let saved = try TinyCheckpoint()
        defer { saved.temporary.remove() }
        try editWeights(saved) { $0.append(SafeTensorsEntry(name: "lm_head.weight", shape: [11, 8], values: [Float](repeating: 0, count: 88))) }
        let unknown = try #require(throws: LoadError.self) { try loadTiny(saved.directory) }
        #expect(unknown.kind == .unknownParameter && unknown.parameter == "lm_head.weight")
        #expect(unknown.source == saved.file("model.safetensors").path)

        try editWeights(saved) { $0.removeAll { $0.name == "lm_head.weight" || $0.name == "transformer.ln_f.bias" } }
        let missing = try #require(throws: LoadError.self) { try loadTiny(saved.directory) }
        #expect(missing.kind == .missingParameter && missing.parameter == "transformer.ln_f.bias")
        #expect(missing.description.contains("expected shape [8]"))
    }

    @Test("a weight stored as integers is refused, not converted")
    func wrongDataType() throws {
        let saved = try TinyCheckpoint()
        defer { saved.temporary.remove() }
        try editWeights(saved) { entries in
            let index = entries.firstIndex { $0.name == "transformer.ln_f.weight" }!
            entries[index] = SafeTensorsEntry(name: "transformer.ln_f.weight", shape: [8], values: [Int32](repeating: 1, count: 8))
        }
        let error = try #require(throws: SafeTensorsError.self) { try loadTiny(saved.directory) }
        #expect(error.kind == .dataTypeMismatch && error.tensor == "transformer.ln_f.weight")
    }

    @Test("missing files and directories are named with what a checkpoint holds", arguments: ["config.json", "model.safetensors", "tokenizer.json", ""])
    func missingFile(name: String) throws {
        let saved = try TinyCheckpoint()
        defer { saved.temporary.remove() }
        try FileManager.default.removeItem(at: name.isEmpty ? saved.directory : saved.file(name))
        let error = try #require(throws: CheckpointError.self) { try loadTiny(saved.directory) }
        #expect(error.kind == .missingFile && error.path == saved.directory.path)
        #expect(error.description.contains(name.isEmpty ? "no checkpoint directory" : "has no \(name)"))
        #expect(error.description.contains("config.json, model.safetensors and tokenizer.json"))
    }

    @Test("a tokenizer whose vocabulary differs from vocab_size names both sizes")
    func vocabularyMismatch() throws {
        let saved = try TinyCheckpoint()
        defer { saved.temporary.remove() }
        try CharTokenizer(corpus: "xyz").save(to: saved.file("tokenizer.json"))
        let error = try #require(throws: CheckpointError.self) { try loadTiny(saved.directory) }
        #expect(error.kind == .vocabularyMismatch && error.field == "vocab_size")
        #expect(error.description.contains("has 3 tokens") && error.description.contains("vocab_size is 11"))
        #expect(throws: Never.self) { try Checkpoint.validateTokenizer(ByteTokenizer(), vocabularySize: 256) }
    }

    @Test("a bad config.json names the file and the field")
    func badConfig() throws {
        let saved = try TinyCheckpoint()
        defer { saved.temporary.remove() }
        try editConfig(saved) { $0["n_layer"] = nil }
        let missingField = try #require(throws: CheckpointError.self) { try loadTiny(saved.directory) }
        #expect(missingField.kind == .invalidField && missingField.field == "n_layer")
        #expect(missingField.path == saved.file("config.json").path)

        try editConfig(saved) { $0["n_layer"] = 2; $0["alambique"] = ["format_version": 1, "name": "x"] }
        let badInfo = try #require(throws: CheckpointError.self) { try Checkpoint.readInfo(from: saved.directory) }
        #expect(badInfo.field == "alambique.role", "\(badInfo)")

        try Data("{\"vocab_size\": 11,".utf8).write(to: saved.file("config.json"))
        let garbage = try #require(throws: CheckpointError.self) { try loadTiny(saved.directory) }
        #expect(garbage.kind == .unreadableFile && garbage.description.contains("not valid JSON"))
    }
}
