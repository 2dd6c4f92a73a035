import Foundation
import Testing
@testable import Distill
import Models
import Store
import Tokenizers

@Suite("Teacher logit export and inspection", .serialized) struct TeacherLogitsTests {
    /// A tiny char-level teacher saved as a checkpoint.
    static func teacher(in directory: URL) throws -> URL {
        let text = "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n"
        let tokenizer = CharTokenizer(corpus: text)
        let config = GPTConfig(vocabularySize: tokenizer.vocabularySize, contextLength: 16, layers: 1, heads: 2, embeddingSize: 16)
        let url = directory.appendingPathComponent("teacher")
        try Checkpoint.save(module: try GPT(config: config, seed: 5), config: config, tokenizer: tokenizer,
                            info: CheckpointInfo(name: "test-teacher-tiny", role: "teacher", corpus: "test"), to: url)
        return url
    }

    @Test("the export carries the teacher's identity and tokenizer; inspect decodes a position and lists a checkpoint's tensors")
    func exportAndInspect() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alambique-logits-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let checkpoint = try Self.teacher(in: directory)
        let loaded = try loadGPT(from: checkpoint)
        let tokens = try loaded.tokenizer.encode(String(repeating: "To be, or not to be, that is the question:\n", count: 4))
        let url = directory.appendingPathComponent("out.h5")
        let report = try TeacherLogits.export(teacher: loaded, directory: checkpoint, tokens: tokens, split: "val",
                                              settings: LogitsExportSettings(context: 16, mode: .topK(4)), to: url)
        #expect(report.sequences == (tokens.count - 17) / 16 + 1)

        let reader = try LogitsReader(url: url)
        let weights = try Data(contentsOf: checkpoint.appendingPathComponent("model.safetensors"))
        #expect(reader.attributes.teacher == "test-teacher-tiny")
        #expect(reader.attributes.teacherSHA256 == sha256Hex(weights))
        #expect(reader.attributes.tokenizerSHA256 == loaded.tokenizer.fingerprint())
        try reader.validate(tokenizerSHA256: loaded.tokenizer.fingerprint(), vocabularySize: loaded.config.vocabularySize, context: 16)
        #expect(try loadTokenizer(jsonBytes: [UInt8](reader.tokenizerJSON())).fingerprint() == loaded.tokenizer.fingerprint())
        try reader.close()

        let text = try Inspection.logitsFile(url, sample: Inspection.Sample(sequence: 1, position: 3, top: 3))
        #expect(text.contains("top-4 logits as float16, vocabulary \(loaded.config.vocabularySize)"))
        #expect(text.contains("| topk/indices | uint16 |"))
        #expect(text.contains("complete = 1"))
        #expect(text.contains("sample: sequence 1, position 3"))
        let target = try loaded.tokenizer.decode([tokens[16 + 4]])
        #expect(text.contains("true next token \"\(target)\""))

        let summary = try Inspection.checkpoint(checkpoint)
        #expect(summary.contains("checkpoint test-teacher-tiny"))
        #expect(summary.contains("| transformer.h.0.attn.c_attn.weight | F32 | [16, 48] | 768 |"))
        #expect(summary.contains("\(loaded.model.parameterCount) parameters"))

        // A context longer than the teacher's is refused before anything is written.
        #expect(throws: LogitsFileError.self) {
            _ = try TeacherLogits.export(teacher: loaded, directory: checkpoint, tokens: tokens, split: "val",
                                         settings: LogitsExportSettings(context: 17, mode: .topK(4)), to: url)
        }
    }
}

@Suite("Teacher logits without dropout", .serialized) struct TeacherLogitsDropoutTests {
    @Test("a teacher whose config has dropout exports the eval-mode logits, the same on every export")
    func noDropout() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alambique-drop-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let text = "To be, or not to be, that is the question:\n"
        let tokenizer = CharTokenizer(corpus: text)
        var config = GPTConfig(vocabularySize: tokenizer.vocabularySize, contextLength: 16, layers: 1, heads: 2,
                               embeddingSize: 16)
        config.dropout = 0.5  // as resid_pdrop in a transformers config, but large enough to change every logit
        let checkpoint = directory.appendingPathComponent("teacher")
        try Checkpoint.save(module: try GPT(config: config, seed: 5), config: config, tokenizer: tokenizer,
                            info: CheckpointInfo(name: "test-teacher-dropout", role: "teacher", corpus: "test"),
                            to: checkpoint)
        let loaded = try loadGPT(from: checkpoint)
        #expect(loaded.model.isTraining)  // loaded models start in training mode: the export must switch
        let tokens = try tokenizer.encode(String(repeating: text, count: 3))
        var exported: [[Float]] = []
        for name in ["a.h5", "b.h5"] {
            let url = directory.appendingPathComponent(name)
            _ = try TeacherLogits.export(teacher: loaded, directory: checkpoint, tokens: tokens, split: "val",
                                         settings: LogitsExportSettings(context: 16, mode: .full, dtype: .float32),
                                         to: url)
            let reader = try LogitsReader(url: url)
            exported.append(try reader.read(0 ..< 1).logits.toArray())
            try reader.close()
        }
        let reference = try loadGPT(from: checkpoint).model
        reference.eval()
        let ids = try IndexTensor(shape: [1, 16], values: Array(tokens[0 ..< 16]))
        let expected = try noGrad { try reference(ids) }.toArray()
        #expect(exported[0] == exported[1])
        #expect(zip(exported[0], expected).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) })
    }
}
