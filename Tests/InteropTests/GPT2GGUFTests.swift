import Autodiff
import Compress
import Foundation
@testable import Interop
import Models
import Store
import Testing
import Tokenizers

@Suite("GGUF export and import of GPT-2 checkpoints", .serialized) struct GPT2GGUFTests {
    static let corpus = "To be, or not to be: that is the question —\nWhether ’tis nobler in the mind… €5 🎭\n"
    static let config = GPTConfig(vocabularySize: CharTokenizer(corpus: corpus).vocabularySize, contextLength: 16,
                                  layers: 2, heads: 2, embeddingSize: 32)

    static func temporary(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("alambique-gguf-\(UUID().uuidString)").appendingPathComponent(name)
    }

    /// A checkpoint of a random tiny model, quantized with `scheme` when given.
    static func checkpoint(scheme: QuantizationScheme? = nil, tokenizer: any Tokenizer = CharTokenizer(corpus: corpus)) throws -> URL {
        var config = Self.config
        config.vocabularySize = tokenizer.vocabularySize
        let model = try GPT(config: config, seed: 3)
        if let scheme { _ = try ModelQuantization.quantize(model, scheme: scheme) }
        let url = temporary("ckpt")
        let format = scheme?.formatLabel ?? "F32"
        try CompressedCheckpoint.save(model: model, tokenizer: tokenizer,
                                      info: CheckpointInfo(name: "test-student-tiny-\(format)", role: "student", corpus: "test", format: format), to: url)
        return url
    }

    static func entries(_ checkpoint: URL) throws -> [String: SafeTensorsEntry] {
        let file = try SafeTensors.read(contentsOf: checkpoint.appendingPathComponent(Checkpoint.modelFileName))
        return Dictionary(uniqueKeysWithValues: file.names.map { ($0, file[$0]!) })
    }

    /// Export → GGUF bytes → import → saved checkpoint.
    static func roundTrip(_ checkpoint: URL, type: GGUFExportType?) throws -> (file: GGUFFile, imported: URL) {
        let loaded = try CompressedCheckpoint.load(from: checkpoint, packSparse: false)
        let (writer, _, _) = try GPT2GGUF.export(loaded, type: type)
        let file = try GGUFFile(data: writer.encoded(), source: "t.gguf")
        let imported = try GPT2GGUF.load(file)
        let out = temporary("imported")
        try CompressedCheckpoint.save(model: imported.model, tokenizer: imported.tokenizer, info: imported.info, to: out)
        return (file, out)
    }

    @Test("F32 and ggml blocks: export then import gives every tensor back bit for bit", arguments: [nil, QuantizationScheme.q8_0, .q4_0, .q4_1])
    func bitForBit(scheme: QuantizationScheme?) throws {
        let original = try Self.checkpoint(scheme: scheme)
        let (file, imported) = try Self.roundTrip(original, type: nil)
        defer { try? FileManager.default.removeItem(at: original.deletingLastPathComponent()); try? FileManager.default.removeItem(at: imported.deletingLastPathComponent()) }
        let before = try Self.entries(original), after = try Self.entries(imported)
        #expect(before.keys.sorted() == after.keys.sorted())
        for (name, entry) in before {
            #expect(after[name]?.bytes == entry.bytes, "\(name)")
            #expect(after[name]?.shape == entry.shape, "\(name)")
        }
        let expectedType: GGMLType = switch scheme { case .q8_0?: .q8_0; case .q4_0?: .q4_0; case .q4_1?: .q4_1; default: .f32 }
        #expect(file.tensor(named: "blk.1.ffn_down.weight")?.type == expectedType)
        #expect(file.tensor(named: "blk.1.ffn_down.weight")?.dimensions == [128, 32])  // ggml: [in, out]
        #expect(file.tensor(named: "token_embd.weight")?.type == .f32)
        #expect(file.tensor(named: "blk.0.attn_qkv.bias")?.type == .f32)
        #expect(file["general.file_type"] == .uint32(scheme == nil ? 0 : scheme == .q8_0 ? 7 : scheme == .q4_0 ? 2 : 3))
        #expect((file["general.quantization_version"] != nil) == (scheme != nil))
        #expect(file["gpt2.feed_forward_length"] == .uint32(128))
        #expect(file["gpt2.attention.head_count"] == .uint32(2))
        #expect(file["general.name"] == .string("test-student-tiny-\(scheme?.formatLabel ?? "F32")"))
        let info = try Checkpoint.readInfo(from: imported)
        #expect(info.role == "student" && info.format == (scheme?.formatLabel ?? "F32"))
        // Same logits, and the same tokenizer.
        let ids = try IndexTensor(shape: [1, 8], values: [0, 3, 5, 7, 2, 9, 11, 1])
        let a = try CompressedCheckpoint.load(from: original), b = try CompressedCheckpoint.load(from: imported)
        #expect(try noGrad { try a.model(ids) }.toArray() == noGrad { try b.model(ids) }.toArray())
        #expect(b.tokenizer.fingerprint() == a.tokenizer.fingerprint())
    }

    @Test("an F32 checkpoint exported as q8_0 carries exactly the blocks `alambique quantize` makes")
    func quantizeOnExport() throws {
        let dense = try Self.checkpoint(), quantized = try Self.checkpoint(scheme: .q8_0)
        defer { for url in [dense, quantized] { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) } }
        let a = try GPT2GGUF.export(CompressedCheckpoint.load(from: dense, packSparse: false), type: .q8_0)
        let b = try GPT2GGUF.export(CompressedCheckpoint.load(from: quantized, packSparse: false), type: nil)
        #expect(a.type == .q8_0 && b.type == .q8_0)
        #expect(a.writer.tensors.map(\.bytes) == b.writer.tensors.map(\.bytes))
    }

    @Test("F16: matrices and embeddings in half precision, vectors F32; import widens them")
    func halfPrecision() throws {
        let original = try Self.checkpoint()
        let (file, imported) = try Self.roundTrip(original, type: .f16)
        defer { try? FileManager.default.removeItem(at: original.deletingLastPathComponent()); try? FileManager.default.removeItem(at: imported.deletingLastPathComponent()) }
        #expect(file.tensor(named: "blk.0.attn_qkv.weight")?.type == .f16)
        #expect(file.tensor(named: "token_embd.weight")?.type == .f16)
        #expect(file.tensor(named: "output_norm.weight")?.type == .f32)
        let before = try Self.entries(original)["transformer.h.0.mlp.c_fc.weight"]!.values(as: Float.self)
        let after = try Self.entries(imported)["transformer.h.0.mlp.c_fc.weight"]!.values(as: Float.self)
        #expect(zip(before, after).allSatisfy { Float(Float16($0)) == $1 })
    }

    @Test("export refuses int8 without a type and re-quantizing blocks; says what to do")
    func exportErrors() throws {
        let int8 = try Self.checkpoint(scheme: .int8Symmetric), q4 = try Self.checkpoint(scheme: .q4_0)
        defer { for url in [int8, q4] { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) } }
        let a = try CompressedCheckpoint.load(from: int8, packSparse: false)
        #expect { try GPT2GGUF.export(a, type: nil) } throws: { "\($0)".contains("--type f32 or f16") }
        #expect(try GPT2GGUF.export(a, type: .f32).notes.contains { $0.contains("dequantized") })
        let b = try CompressedCheckpoint.load(from: q4, packSparse: false)
        #expect { try GPT2GGUF.export(b, type: .q8_0) } throws: { "\($0)".contains("re-quantizing") }
    }

    /// llama.cpp's gpt2 tokenization of one pre-token: stand-in characters, merges lowest rank first, lookup.
    static func llamaCppTokenize(_ text: String, tokens: [String], merges: [String]) -> [Int32]? {
        let ranks = Dictionary(merges.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        var symbols = ByteLevelMapping.tokenString(for: Array(text.utf8)).unicodeScalars.map { String($0) }
        while symbols.count > 1 {
            let best = (0 ..< symbols.count - 1).compactMap { i in ranks[symbols[i] + " " + symbols[i + 1]].map { (i, $0) } }.min { $0.1 < $1.1 }
            guard let (i, _) = best else { break }
            symbols[i] += symbols.remove(at: i + 1)
        }
        let ids = Dictionary(tokens.enumerated().map { ($1, Int32($0)) }, uniquingKeysWith: { a, _ in a })
        let result = symbols.compactMap { ids[$0] }
        return result.count == symbols.count ? result : nil
    }

    @Test("char vocabulary as gpt2 tokens + merges: llama.cpp's algorithm gives the char tokenizer's ids, multi-byte characters included")
    func charMapping() throws {
        let tokenizer = CharTokenizer(corpus: Self.corpus)
        let metadata = Dictionary(try GGUFTokenizer.metadata(for: tokenizer).map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        let tokens = metadata["tokenizer.ggml.tokens"]!.elements!.map { $0.string! }
        let merges = metadata["tokenizer.ggml.merges"]!.elements!.map { $0.string! }
        #expect(tokens.count == tokenizer.vocabularySize)
        // — ’ … share E2 80 (1 merge) then one each (3); € E2 82 AC (2); 🎭 F0 9F 8E AD (3).
        #expect(merges.count == 1 + 3 + 2 + 3)
        for text in [Self.corpus, "To be —’€🎭\n", "the mind… the question"] {
            #expect(Self.llamaCppTokenize(text, tokens: tokens, merges: merges) == (try tokenizer.encode(text)), "\(text)")
        }
        #expect(metadata["tokenizer.ggml.eos_token_id"] == .uint32(UInt32(try tokenizer.encode("\n")[0])))
    }

    @Test("a BPE vocabulary travels as is; without tokenizer.huggingface.json it is rebuilt from tokens and merges")
    func bpeMapping() throws {
        let bpe = try BPETokenizer.train(text: String(repeating: Self.corpus, count: 20), vocabularySize: 300)
        let metadata = try GGUFTokenizer.metadata(for: bpe)
        let values = Dictionary(metadata.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        let tokens = values["tokenizer.ggml.tokens"]!.elements!.map { $0.string! }
        let merges = values["tokenizer.ggml.merges"]!.elements!.map { $0.string! }
        #expect(merges.count == bpe.merges.count)
        for word in ["question", " nobler", "🎭"] {
            #expect(Self.llamaCppTokenize(word, tokens: tokens, merges: merges) == (try bpe.encode(word)))
        }
        var writer = GGUFWriter()
        for (key, value) in metadata where key != "tokenizer.huggingface.json" { writer.set(key, value) }
        let rebuilt = try GGUFTokenizer.tokenizer(from: GGUFFile(data: writer.encoded()))
        #expect(try rebuilt.encode(Self.corpus) == bpe.encode(Self.corpus))
    }

    /// A valid export's writer with one change.
    static func modifiedExport(_ change: (inout GGUFWriter) throws -> Void) throws -> Data {
        let url = try Self.checkpoint()
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        var writer = try GPT2GGUF.export(CompressedCheckpoint.load(from: url, packSparse: false), type: nil).writer
        try change(&writer)
        return writer.encoded()
    }

    @Test("import errors name the key or tensor: unknown architecture, wrong shape, missing tensor, untied head, vocabulary mismatch")
    func importErrors() throws {
        func importMessage(_ data: Data) -> String {
            do { _ = try GPT2GGUF.load(GGUFFile(data: data, source: "bad.gguf")); return "no error" } catch { return "\(error)" }
        }
        #expect(importMessage(try Self.modifiedExport { $0.set("general.architecture", .string("llama")) }).contains("\"llama\""))
        #expect(importMessage(try Self.modifiedExport { $0.set("gpt2.embedding_length", .uint32(64)) }).contains("\"token_embd.weight\" has dimensions [32,"))
        #expect(importMessage(try Self.modifiedExport { $0.set("gpt2.feed_forward_length", .uint32(96)) }).contains("\"blk.0.ffn_up.weight\" has dimensions [32, 128]"))
        #expect(importMessage(try Self.modifiedExport { $0.set("gpt2.block_count", .uint32(3)) }).contains("no tensor \"blk.2."))
        #expect(importMessage(try Self.modifiedExport { $0.set("gpt2.attention.head_count", .string("2")) }).contains("gpt2.attention.head_count"))
        let wrongShape = try Self.modifiedExport { writer in
            var copy = GGUFWriter()
            for (key, value) in writer.metadata { copy.set(key, value) }
            for t in writer.tensors {
                if t.name == "blk.0.ffn_up.weight" {
                    try copy.addTensor(t.name, dimensions: [128, 32], type: t.type, bytes: t.bytes)
                } else {
                    try copy.addTensor(t.name, dimensions: t.dimensions, type: t.type, bytes: t.bytes)
                }
            }
            writer = copy
        }
        #expect(importMessage(wrongShape).contains("\"blk.0.ffn_up.weight\" has dimensions [128, 32]"))
        let untied = try Self.modifiedExport { try $0.addTensor("output.weight", dimensions: [32, Self.config.vocabularySize], floats: Array(repeating: 1, count: 32 * Self.config.vocabularySize)) }
        #expect(importMessage(untied).contains("ties the output head"))
        let extra = try Self.modifiedExport { try $0.addTensor("blk.0.attn_q.weight", dimensions: [1], floats: [0]) }
        #expect(importMessage(extra).contains("unknown tensor"))
        let fewerTokens = try Self.modifiedExport { $0.set("tokenizer.ggml.tokens", .strings(["a"])) }
        #expect(importMessage(fewerTokens).contains("disagree"))
    }

    @Test("fuzz: a real export with bytes overwritten (mostly in the header) reads or fails with an error, never crashes")
    func fuzzImport() throws {
        let url = try Self.checkpoint(scheme: .q4_0)
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        let bytes = [UInt8](try GPT2GGUF.export(CompressedCheckpoint.load(from: url, packSparse: false), type: nil).writer.encoded())
        let header = try GGUFFile(data: Data(bytes)).dataOffset
        // ALAMBIQUE_FUZZ_ROUNDS=200000 swift test --filter fuzzImport fuzzes for a while (BENCHMARKS.md).
        let rounds = ProcessInfo.processInfo.environment["ALAMBIQUE_FUZZ_ROUNDS"].flatMap(Int.init) ?? 400
        var rng = SystemRandomNumberGenerator()
        var loaded = 0, rejected = 0
        for round in 0 ..< rounds {
            var mutated = bytes
            for _ in 0 ..< 1 + round % 3 {
                let i = round % 10 == 0 ? Int.random(in: 0 ..< mutated.count, using: &rng) : Int.random(in: 0 ..< header, using: &rng)
                mutated[i] = [0, 0xFF, 0x7F, 0x80].randomElement(using: &rng)! &+ (round % 5 == 0 ? UInt8.random(in: 0 ... 255, using: &rng) : 0)
            }
            do {
                _ = try GPT2GGUF.load(GGUFFile(data: Data(mutated), source: "fuzz.gguf"))
                loaded += 1
            } catch {
                rejected += 1
            }
        }
        #expect(loaded + rejected == rounds)
        #expect(rejected > rounds / 4)
    }

    @Test("a structurally pruned model: a narrower MLP travels as feed_forward_length; pruned heads are refused")
    func structured() throws {
        var config = Self.config
        config.innerSize = 64
        let model = try GPT(config: config, seed: 5)
        let url = Self.temporary("ckpt")
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        try CompressedCheckpoint.save(model: model, tokenizer: CharTokenizer(corpus: Self.corpus),
                                      info: CheckpointInfo(name: "narrow-F32", role: "student", corpus: "test"), to: url)
        let (file, imported) = try Self.roundTrip(url, type: .q8_0)
        defer { try? FileManager.default.removeItem(at: imported.deletingLastPathComponent()) }
        #expect(file["gpt2.feed_forward_length"] == .uint32(64))
        #expect(file.tensor(named: "blk.0.ffn_down.weight")?.dimensions == [64, 32])
        #expect(try Checkpoint.readConfig(GPTConfig.self, from: imported).innerSize == 64)

        config.innerSize = nil
        config.prunedHeads = [1: [0]]
        let headless = try GPT(config: config, seed: 5)
        let url2 = Self.temporary("ckpt2")
        defer { try? FileManager.default.removeItem(at: url2.deletingLastPathComponent()) }
        try CompressedCheckpoint.save(model: headless, tokenizer: CharTokenizer(corpus: Self.corpus),
                                      info: CheckpointInfo(name: "heads-F32", role: "student", corpus: "test"), to: url2)
        #expect { try GPT2GGUF.export(CompressedCheckpoint.load(from: url2, packSparse: false), type: nil) } throws: { "\($0)".contains("pruned attention heads (layers 1)") }
    }

    @Test("exported names keep a pruned model's sparsity tag and replace the storage format")
    func exportedNames() {
        #expect(GPT2GGUF.exportedFormat("F32-s90", as: .q8_0) == "Q8_0-s90")
        #expect(GPT2GGUF.exportedFormat("F32-heads50-mlp50", as: .f16) == "F16-heads50-mlp50")
        #expect(GPT2GGUF.exportedFormat("INT8-ASYM", as: .f32) == "F32")
        #expect(GPT2GGUF.exportedFormat("Q4_0", as: .q4_0) == "Q4_0")
    }

    @Test("the Modelfile points at the GGUF beside it and sets the context")
    func modelfile() {
        let text = GPT2GGUF.modelfile(ggufFileName: "m.gguf", contextLength: 128)
        #expect(text.contains("FROM ./m.gguf\n"))
        #expect(text.contains("PARAMETER num_ctx 128\n"))
        #expect(text.contains("TEMPLATE \"\"\"{{ .Prompt }}\"\"\""))
    }
}
