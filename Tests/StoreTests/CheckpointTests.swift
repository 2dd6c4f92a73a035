import Foundation
import Models
import Testing
import Tokenizers
@testable import Store

/// A tiny GPT, its character tokenizer (11 symbols = vocab_size) and a saved checkpoint of it.
struct TinyCheckpoint {
    static let config = GPTConfig(vocabularySize: 11, contextLength: 8, layers: 2, heads: 2, embeddingSize: 8)
    static let tokenizer = CharTokenizer(corpus: "abcdefghijk")
    static let info = CheckpointInfo(name: "tiny-teacher-1.9K-ctx8-char-F32", role: "teacher", corpus: "tiny")

    let temporary: TemporaryDirectory
    let directory: URL
    let model: GPT

    init(seed: UInt64 = 1) throws {
        temporary = try TemporaryDirectory()
        directory = temporary.file("tiny-teacher")
        model = try GPT(config: Self.config, seed: seed)
        try Checkpoint.save(module: model, config: Self.config, tokenizer: Self.tokenizer, info: Self.info, to: directory)
    }

    func file(_ name: String) -> URL { directory.appendingPathComponent(name) }
}

/// How many elements differ in bit pattern (0 means bit-identical), and the largest difference.
func bitDifferences(_ a: [Float], _ b: [Float]) -> (count: Int, maximum: Float) {
    guard a.count == b.count else { return (max(a.count, b.count), .infinity) }
    let differing = zip(a, b).filter { $0.bitPattern != $1.bitPattern }
    return (differing.count, differing.map { abs($0 - $1) }.max() ?? 0)
}

func logits(_ model: GPT) throws -> [Float] {
    try model(IndexTensor(shape: [2, 4], values: [0, 3, 7, 10, 1, 1, 2, 5])).toArray()
}

@Suite("Checkpoint directories") struct CheckpointTests {
    @Test("save then load gives bit-identical parameters and logits in a fresh model")
    func roundTrip() throws {
        let saved = try TinyCheckpoint()
        defer { saved.temporary.remove() }
        let loaded = try Checkpoint.load(from: saved.directory, parameterShapes: \.parameterShapes) { (config: GPTConfig) in try GPT(config: config, seed: 99) }
        #expect(loaded.config == TinyCheckpoint.config)
        let original = saved.model.namedParameters(), restored = loaded.model.namedParameters()
        #expect(original.map(\.name) == restored.map(\.name))
        for ((name, a), (_, b)) in zip(original, restored) {
            let differences = bitDifferences(a.toArray(), b.toArray())
            #expect(differences.count == 0, "\(name): \(differences.count) values differ, by up to \(differences.maximum)")
        }
        let logitDifferences = try bitDifferences(logits(saved.model), logits(loaded.model))
        #expect(logitDifferences.count == 0, "logits differ by up to \(logitDifferences.maximum)")
        #expect(try loaded.tokenizer.encode("kaj") == [10, 0, 9])
        #expect(loaded.info.name == TinyCheckpoint.info.name)
        #expect(loaded.info.parameterCount == TinyCheckpoint.config.parameterCount)
        #expect(loaded.info.tokenizerKind == "char")
        #expect(loaded.info.tokenizerSHA256 == TinyCheckpoint.tokenizer.fingerprint())
        #expect(!loaded.info.created.isEmpty)
    }

    @Test("config.json has HF GPT-2 keys and our alambique object; tensors are the walk's names, F32, no lm_head")
    func layout() throws {
        let saved = try TinyCheckpoint()
        defer { saved.temporary.remove() }
        let files = try FileManager.default.contentsOfDirectory(atPath: saved.directory.path).sorted()
        #expect(files == ["config.json", "model.safetensors", "tokenizer.json"])

        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: saved.file("config.json"))) as! [String: Any]
        #expect(json["model_type"] as? String == "gpt2")
        #expect(json["architectures"] as? [String] == ["GPT2LMHeadModel"])
        #expect(json["n_embd"] as? Int == 8 && json["vocab_size"] as? Int == 11)
        let info = try #require(json["alambique"] as? [String: Any])
        #expect(info["role"] as? String == "teacher" && info["tokenizer"] as? String == "char")
        let configText = try String(contentsOf: saved.file("config.json"), encoding: .utf8)
        #expect(configText.contains("\"layer_norm_epsilon\" : 1e-05"), "\(configText)")

        let file = try SafeTensors.read(contentsOf: saved.file("model.safetensors"))
        #expect(file.metadata == ["format": "pt"])
        #expect(Set(file.names) == Set(saved.model.namedParameters().map(\.name)))
        #expect(file.names.contains("transformer.wte.weight"))
        #expect(file.names.contains("transformer.h.1.mlp.c_proj.weight"))
        #expect(!file.names.contains { $0.contains("lm_head") })
        #expect(file.entries.allSatisfy { $0.dataType == .float32 })
        #expect(file["transformer.h.0.attn.c_attn.weight"]?.shape == [8, 24])
    }

    @Test("saving over an existing checkpoint replaces it whole and leaves no temporary or old directory")
    func replace() throws {
        let saved = try TinyCheckpoint(seed: 1)
        defer { saved.temporary.remove() }
        try Data("stale".utf8).write(to: saved.file("stale.txt"))
        let second = try GPT(config: TinyCheckpoint.config, seed: 2)
        try Checkpoint.save(module: second, config: TinyCheckpoint.config, tokenizer: TinyCheckpoint.tokenizer,
                            info: TinyCheckpoint.info, extraFiles: ["metrics.jsonl": Data("{}\n".utf8)], to: saved.directory)
        #expect(try FileManager.default.contentsOfDirectory(atPath: saved.temporary.url.path) == ["tiny-teacher"])
        #expect(!FileManager.default.fileExists(atPath: saved.file("stale.txt").path))
        #expect(try Data(contentsOf: saved.file("metrics.jsonl")) == Data("{}\n".utf8))
        #expect(throws: CheckpointError.self) {
            try Checkpoint.save(module: second, config: TinyCheckpoint.config, tokenizer: TinyCheckpoint.tokenizer,
                                info: TinyCheckpoint.info, extraFiles: ["config.json": Data()], to: saved.directory)
        }
        let reloaded = try GPT(config: TinyCheckpoint.config, seed: 3)
        try Checkpoint.loadParameters(into: reloaded, from: saved.directory)
        #expect(try bitDifferences(logits(reloaded), logits(second)).count == 0)
    }

    @Test("a run's folder before its first checkpoint (only metrics.jsonl) is replaced without a trace; a foreign file is kept aside")
    func replaceRunFolder() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let model = try GPT(config: TinyCheckpoint.config, seed: 1)
        let curve = Data("{\"step\": 0}\n{\"step\": 1}\n".utf8)
        func save(to directory: URL) throws {
            try Checkpoint.save(module: model, config: TinyCheckpoint.config, tokenizer: TinyCheckpoint.tokenizer,
                                info: TinyCheckpoint.info, extraFiles: ["metrics.jsonl": curve], to: directory)
        }
        let fileManager = FileManager.default
        let run = temporary.file("run")
        try fileManager.createDirectory(at: run, withIntermediateDirectories: true)
        try Data("{\"step\": 0}\n".utf8).write(to: run.appendingPathComponent("metrics.jsonl"))
        try save(to: run)
        #expect(try fileManager.contentsOfDirectory(atPath: temporary.url.path) == ["run"])
        #expect(try Data(contentsOf: run.appendingPathComponent("metrics.jsonl")) == curve)

        let mistaken = temporary.file("mistaken")
        try fileManager.createDirectory(at: mistaken, withIntermediateDirectories: true)
        try Data("keep me".utf8).write(to: mistaken.appendingPathComponent("notes.txt"))
        try save(to: mistaken)
        let kept = try fileManager.contentsOfDirectory(atPath: temporary.url.path).filter { $0.hasPrefix("mistaken.old-") }
        #expect(kept.count == 1)
        #expect(try String(contentsOf: temporary.url.appendingPathComponent(kept[0]).appendingPathComponent("notes.txt"),
                           encoding: .utf8) == "keep me")
    }

    @Test("a failed save leaves the existing checkpoint untouched and no temporary directory behind")
    func failedSave() throws {
        let saved = try TinyCheckpoint()
        defer { saved.temporary.remove() }
        let before = try Data(contentsOf: saved.file("model.safetensors"))
        let wrongVocabulary = CharTokenizer(corpus: "abc")
        let error = try #require(throws: CheckpointError.self) {
            try Checkpoint.save(module: saved.model, config: TinyCheckpoint.config, tokenizer: wrongVocabulary,
                                info: TinyCheckpoint.info, to: saved.directory)
        }
        #expect(error.kind == .vocabularyMismatch)
        #expect(try Data(contentsOf: saved.file("model.safetensors")) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: saved.temporary.url.path) == ["tiny-teacher"])
    }

    @Test("model names follow <corpus>-<role>-<params>-ctx<T>-<tokenizer>-<format>[-s<sparsity%>]")
    func names() {
        #expect(CheckpointInfo.modelName(corpus: "shakespeare", role: "teacher", parameters: 3_257_856, context: 128,
                                         tokenizer: "char", format: "F32") == "shakespeare-teacher-3.3M-ctx128-char-F32")
        #expect(CheckpointInfo.modelName(corpus: "shakespeare", role: "teacher", parameters: 3_213_824, context: 128,
                                         tokenizer: "char", format: "F32") == "shakespeare-teacher-3.2M-ctx128-char-F32")
        #expect(CheckpointInfo.modelName(corpus: "shakespeare", role: "student", parameters: 445_952, context: 128,
                                         tokenizer: "char", format: "F32", sparsity: 0.9)
                == "shakespeare-student-0.45M-ctx128-char-F32-s90")
        #expect(CheckpointInfo.parameterCountLabel(85_000) == "85K")
        #expect(CheckpointInfo.parameterCountLabel(1_520) == "1.5K")
        #expect(CheckpointInfo.parameterCountLabel(124_439_808) == "124M")
        #expect(CheckpointInfo.parameterCountLabel(1_557_611_200) == "1.6B")
        #expect(CheckpointInfo.parameterCountLabel(840) == "840")
    }
}
