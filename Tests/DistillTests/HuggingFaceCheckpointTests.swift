import Foundation
import Testing
@testable import Distill
import Models
import Store
import Tokenizers

/// Checkpoints saved by transformers (Tests/Fixtures, made by scripts/make_hf_fixtures.py): a tiny
/// GPT2LMHeadModel in F32, BF16 and two shards, with HF's ids and logits for a fixed text.
@Suite struct HuggingFaceCheckpointTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures").standardizedFileURL
    static let tiny = fixtures.appendingPathComponent("hf-gpt2-tiny")
    static let bf16 = fixtures.appendingPathComponent("hf-gpt2-tiny-bf16")
    static let sharded = fixtures.appendingPathComponent("hf-gpt2-tiny-sharded")

    struct Reference {
        let text: String
        let ids: [Int32]
        let shape: [Int]
        let logits: [Float]
        let bf16Logits: [Float]
    }

    static func reference() throws -> Reference {
        let data = try Data(contentsOf: fixtures.appendingPathComponent("hf-gpt2-tiny.reference.json"))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        func floats(_ key: String) throws -> [Float] { try #require(object[key] as? [Double]).map(Float.init) }
        return Reference(text: try #require(object["text"] as? String),
                         ids: try #require(object["ids"] as? [Int]).map(Int32.init),
                         shape: try #require(object["shape"] as? [Int]),
                         logits: try floats("logits"), bf16Logits: try floats("bf16_logits"))
    }

    /// Our logits for the reference ids from the checkpoint at `directory`.
    static func logits(_ directory: URL) throws -> [Float] {
        let reference = try reference()
        let loaded = try loadGPT(from: directory)
        loaded.model.eval()
        let ids = try IndexTensor(shape: [1, reference.ids.count], values: reference.ids)
        return try loaded.model(ids).toArray()
    }

    static func maximumDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    /// A copy of the F32 fixture in a temporary folder, for tests that change a file.
    static func copyOfTiny(named name: String = "hf-copy") throws -> URL {
        let parent = FileManager.default.temporaryDirectory.appendingPathComponent("alambique-hf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        let copy = parent.appendingPathComponent(name)
        try FileManager.default.copyItem(at: tiny, to: copy)
        return copy
    }

    @Test func f32LogitsMatchTransformers() throws {
        let reference = try Self.reference()
        let ours = try Self.logits(Self.tiny)
        #expect(ours.count == reference.shape.reduce(1, *))
        #expect(Self.maximumDifference(ours, reference.logits) <= 1e-4)
    }

    @Test func shardedLogitsMatchTransformers() throws {
        let ours = try Self.logits(Self.sharded)
        #expect(Self.maximumDifference(ours, try Self.reference().logits) <= 1e-4)
        #expect(try CheckpointWeights(directory: Self.sharded).files.count == 2)
    }

    @Test func bf16LogitsMatchTransformersAndStayWithinRoundingOfF32() throws {
        let reference = try Self.reference()
        let ours = try Self.logits(Self.bf16)
        // Widening is exact, so ours and HF's float32 forward of the same bf16 weights agree closely.
        #expect(Self.maximumDifference(ours, reference.bf16Logits) <= 1e-4)
        // Against the F32 model: every weight moved by at most 2⁻⁹ of itself (bf16 keeps 8 significant
        // bits); through 2 layers the logits, at most max|logit| in size, move by a few times that.
        let largest = reference.logits.reduce(0) { max($0, abs($1)) }
        let bound = 8 * Float(1.0 / 512) * largest
        let difference = Self.maximumDifference(ours, reference.logits)
        #expect(difference <= bound)
        #expect(difference > 0)  // the weights really were rounded
    }

    @Test func tokenizerGivesTransformersIDs() throws {
        let reference = try Self.reference()
        let loaded = try loadGPT(from: Self.tiny)
        #expect(try loaded.tokenizer.encode(reference.text) == reference.ids)
        #expect(try loaded.tokenizer.decode(reference.ids) == reference.text)
    }

    @Test func infoComesFromTheFolderAndSpecialTokensFromGenerationConfig() throws {
        let loaded = try loadGPT(from: Self.tiny)
        #expect(loaded.info.name == "hf-gpt2-tiny")
        #expect(loaded.info.role == "model")
        #expect(loaded.info.tokenizerSHA256 == loaded.tokenizer.fingerprint())
        #expect(loaded.info.format == "F32")
        #expect(loaded.specialTokens == Checkpoint.SpecialTokens(bos: 0, eos: 0))
        #expect(loaded.config.layers == 2 && loaded.config.embeddingSize == 32 && loaded.config.vocabularySize == 300)
        let widened = try loadGPT(from: Self.bf16)
        #expect(widened.storedTypes == [.bfloat16])
        #expect(widened.info.format == "BF16")
    }

    @Test func aFolderNameThatCannotBeAFileNameIsRefused() throws {
        let copy = try Self.copyOfTiny(named: "bad name")
        #expect { try loadGPT(from: copy) } throws: { "\($0)".contains("the folder's name") }
    }

    @Test func inspectShowsEachFromHeadersAlone() throws {
        let plain = try Inspection.checkpoint(Self.tiny)
        #expect(plain.contains("checkpoint hf-gpt2-tiny (model"))
        #expect(plain.contains("transformer.h.1.mlp.c_proj.weight"))
        let widened = try Inspection.checkpoint(Self.bf16)
        #expect(widened.contains("BF16, widened to F32 on load"))
        let shards = try Inspection.checkpoint(Self.sharded)
        #expect(shards.contains("2 shards"))
        #expect(shards.contains("model-00002-of-00002.safetensors"))
    }

    @Test func pickledWeightsAreRefusedWithTheConversionCommand() throws {
        let copy = try Self.copyOfTiny()
        try FileManager.default.removeItem(at: copy.appendingPathComponent("model.safetensors"))
        try Data([0x80, 0x02]).write(to: copy.appendingPathComponent("pytorch_model.bin"))
        #expect { try loadGPT(from: copy) } throws: { error in
            let text = "\(error)"
            return text.contains("pytorch_model.bin") && text.contains("safe_serialization=True")
        }
    }

    /// The sharded fixture copied with its index replaced by `edit` of the original.
    static func shardedCopy(_ edit: (inout [String: String]) -> Void) throws -> URL {
        let parent = FileManager.default.temporaryDirectory.appendingPathComponent("alambique-hf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        let copy = parent.appendingPathComponent("sharded")
        try FileManager.default.copyItem(at: sharded, to: copy)
        let indexURL = copy.appendingPathComponent(CheckpointWeights.indexFileName)
        var map = try CheckpointWeights.parseIndex(Data(contentsOf: indexURL), source: indexURL.path)
        edit(&map)
        try JSONSerialization.data(withJSONObject: ["metadata": [:], "weight_map": map]).write(to: indexURL)
        return copy
    }

    @Test func anIndexNamingAShardOutsideTheFolderIsRefused() throws {
        let copy = try Self.shardedCopy { $0["transformer.wte.weight"] = "../outside.safetensors" }
        #expect { try loadGPT(from: copy) } throws: { error in
            let text = "\(error)"
            return text.contains("weight_map.transformer.wte.weight") && text.contains("not a file in this folder")
        }
    }

    @Test func anIndexListingATensorItsShardLacksIsRefused() throws {
        let copy = try Self.shardedCopy { map in
            let name = "transformer.wte.weight"
            map[name] = map.values.first { $0 != map[name] }
        }
        #expect { try loadGPT(from: copy) } throws: { "\($0)".contains("transformer.wte.weight") }
        let missing = try Self.shardedCopy { $0["transformer.h.9.attn.c_attn.weight"] = $0["transformer.wte.weight"] }
        #expect { try loadGPT(from: missing) } throws: { error in
            "\(error)".contains("transformer.h.9.attn.c_attn.weight") && "\(error)".contains("does not hold it")
        }
    }

    @Test(arguments: [
        ("activation_function", "\"gelu\""), ("scale_attn_by_inverse_layer_idx", "true"),
        ("scale_attn_weights", "false"), ("tie_word_embeddings", "false"), ("add_cross_attention", "true"),
        ("architectures", "[\"GPT2ForSequenceClassification\"]"), ("activation_function", "\"relu\""),
    ])
    func configKeysThatChangeTheMathAreRefused(key: String, value: String) throws {
        let copy = try Self.copyOfTiny()
        let url = copy.appendingPathComponent("config.json")
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        object[key] = try JSONSerialization.jsonObject(with: Data(value.utf8), options: .fragmentsAllowed)
        try JSONSerialization.data(withJSONObject: object).write(to: url)
        #expect { try loadGPT(from: copy) } throws: { error in
            "\(error)".contains("config.json") && "\(error)".contains(key)
        }
    }
}
