// Seed inputs for the fuzzers, made by the lab's own writers so that they are valid files of every
// kind the readers accept: a tiny checkpoint (F32 and F16 weights, its config, char/byte/BPE
// tokenizers), top-k and full logit files, GGUF exports in each type. Mutations of valid files
// reach far deeper into a parser than random bytes do.

import Foundation
import Compress
import Interop
import Models
import Store
import Tokenizers

enum FuzzSeeds {
    /// Nineteen distinct characters, the tiny model's vocabulary.
    static let text = "to be or not; a question!\nwhy? "
    /// The seeds' models are as small as each format allows, since an execution costs about its input's
    /// size: 8 channels for float weights, 32 (one Q8_0/Q4 block per row) for quantized GGUF.
    static let microConfig = GPTConfig(vocabularySize: CharTokenizer(corpus: text).vocabularySize, contextLength: 4,
                                       layers: 1, heads: 2, embeddingSize: 8, innerSize: 8)
    static let tinyConfig = GPTConfig(vocabularySize: CharTokenizer(corpus: text).vocabularySize, contextLength: 4,
                                      layers: 1, heads: 2, embeddingSize: 32, innerSize: 32)

    /// Writes seeds for every target under `directory/<target>/`.
    static func write(to directory: URL) throws {
        let manager = FileManager.default
        func folder(_ target: FuzzTarget) throws -> URL {
            let url = directory.appendingPathComponent(target.rawValue)
            try manager.createDirectory(at: url, withIntermediateDirectories: true)
            return url
        }
        let work = directory.appendingPathComponent(".work-\(getpid())")
        try? manager.removeItem(at: work)
        defer { try? manager.removeItem(at: work) }

        let characters = CharTokenizer(corpus: text)
        let info = CheckpointInfo(name: "fuzz-tiny-F32", role: "teacher", corpus: "fuzz")
        let checkpoint = work.appendingPathComponent("micro"), tinyCheckpoint = work.appendingPathComponent("tiny")
        for (config, directory) in [(microConfig, checkpoint), (tinyConfig, tinyCheckpoint)] {
            try Checkpoint.save(module: try GPT(config: config, seed: 1), config: config, tokenizer: characters,
                                info: info, to: directory)
        }

        let safeTensors = try folder(.safetensors)
        let weights = checkpoint.appendingPathComponent(Checkpoint.modelFileName)
        try copy(weights, to: safeTensors.appendingPathComponent("seed-f32"))
        let halves = try SafeTensors.read(contentsOf: weights).entries.map {
            SafeTensorsEntry.float16(name: $0.name, shape: $0.shape, converting: try $0.floats())
        }
        try SafeTensors.write(halves, metadata: ["format": "pt"], to: safeTensors.appendingPathComponent("seed-f16"))
        try SafeTensors.write([SafeTensorsEntry(name: "a.blocks", shape: [2, 34],
                                                values: [UInt8](repeating: 7, count: 68)),
                               SafeTensorsEntry(name: "b.q", shape: [3], values: [Int8(-1), 0, 1])],
                              metadata: ["alambique.quantization": "{\"a\": \"q8_0\"}"],
                              to: safeTensors.appendingPathComponent("seed-blocks"))

        let indexes = try folder(.shardindex)
        let index = #"{"metadata": {"total_size": 96}, "weight_map": {"#
            + #""transformer.wte.weight": "model-00001-of-00002.safetensors", "#
            + #""transformer.wpe.weight": "model-00002-of-00002.safetensors"}}"#
        try Data(index.utf8).write(to: indexes.appendingPathComponent("seed-index.json"))
        try Data(#"{"bos_token_id": 0, "eos_token_id": [0, 2], "transformers_version": "5.25.0"}"#.utf8)
            .write(to: indexes.appendingPathComponent("seed-generation-config.json"))
        let configs = try folder(.config)
        try copy(checkpoint.appendingPathComponent(Checkpoint.configFileName),
                 to: configs.appendingPathComponent("seed-tiny.json"))
        let pruned = GPTConfig(vocabularySize: characters.vocabularySize, contextLength: 8, layers: 2, heads: 4,
                               embeddingSize: 32, innerSize: 64, prunedHeads: [1: [0, 2]])
        let prunedCheckpoint = work.appendingPathComponent("pruned")
        try Checkpoint.save(module: try GPT(config: pruned, seed: 2), config: pruned, tokenizer: characters, info: info,
                            to: prunedCheckpoint)
        try copy(prunedCheckpoint.appendingPathComponent(Checkpoint.configFileName),
                 to: configs.appendingPathComponent("seed-pruned.json"))

        let tokenizers = try folder(.tokenizer)
        let bpe = try BPETokenizer.train(text: String(repeating: text, count: 8) + "the theme then these",
                                         vocabularySize: 270)
        for (name, tokenizer) in [("char", characters as any Tokenizer), ("byte", ByteTokenizer()), ("bpe", bpe)] {
            try Data(tokenizer.tokenizerJSONBytes()).write(to: tokenizers.appendingPathComponent("seed-\(name).json"))
        }
        // GPT-2's pair, as transformers writes it, with <|endoftext|> as the last token (id 270).
        var vocabulary = Dictionary(uniqueKeysWithValues: bpe.vocabulary.map { ($0.token, $0.id) })
        vocabulary["<|endoftext|>"] = Int32(vocabulary.count)
        let pairs = bpe.merges.map { (bpe.token(for: $0.left) ?? "", bpe.token(for: $0.right) ?? "") }
        let gpt2 = try BPETokenizer(vocabulary: vocabulary, merges: pairs)
        let pair = gpt2.gpt2VocabularyFiles()
        try Data(pair.vocabulary + [0] + pair.merges).write(to: try folder(.gpt2vocab).appendingPathComponent("seed-gpt2.bin"))

        try writeLogitsSeeds(to: try folder(.logits), tokenizer: characters)

        let gguf = try folder(.gguf)
        let micro = try CompressedCheckpoint.load(from: checkpoint, packSparse: false)
        let tiny = try CompressedCheckpoint.load(from: tinyCheckpoint, packSparse: false)
        for type in GGUFExportType.allCases {
            let export = try GPT2GGUF.export(type == .f32 || type == .f16 ? micro : tiny, type: type)
            try export.writer.encoded().write(to: gguf.appendingPathComponent("seed-\(type.rawValue).gguf"))
        }
        let jsonl = try folder(.jsonl)
        let lines = ["{\"text\": \"To be, or not to be\"}", "{\"id\": 2, \"text\": \"caf\\u00e9 \\n \\ud83d\\ude00\"}",
                     "", "{\"text\": \"\", \"meta\": {\"a\": [1, 2.5, null, true]}}\r"]
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: jsonl.appendingPathComponent("seed-documents.jsonl"))
        try Data([0x7B, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D, 0x0A])
            .write(to: jsonl.appendingPathComponent("seed-invalid-utf8.jsonl"))
        // The experiment seeds are the repository's experiments/*.yaml, which `make fuzz` copies here.
        _ = try folder(.experiment)
    }

    /// A top-k file (uncompressed) and a full file (gzip), each of 3 sequences of context 4.
    static func writeLogitsSeeds(to folder: URL, tokenizer: any Tokenizer) throws {
        let (n, t, v, k) = (3, 4, tokenizer.vocabularySize, 4)
        let tokens = (0 ..< n * (t + 1)).map { Int32($0 % v) }
        let files = [("seed-topk.h5", LogitsMode.topK(k), nil as Int?), ("seed-full.h5", LogitsMode.full, 4)]
        for (name, mode, gzip) in files {
            let attributes = LogitsFileAttributes(
                teacher: "fuzz-tiny-F32", teacherSHA256: String(repeating: "0", count: 64),
                tokenizerSHA256: tokenizer.fingerprint(), vocabularySize: v, context: t, mode: mode,
                dtype: mode == .full ? .float32 : .float16, split: "val", created: "2025-01-01T00:00:00Z",
                stride: t, sequenceCount: n)
            let writer = try LogitsWriter(url: folder.appendingPathComponent(name), attributes: attributes,
                                          tokenizerJSON: Data(tokenizer.tokenizerJSONBytes()),
                                          layout: LogitsLayout(gzipLevel: gzip, blockSequences: 2))
            let values: LogitsValues = switch mode {
            case .full: .full(logits: (0 ..< n * t * v).map { Float($0 % 7) - 3 })
            case .topK: .topK(indices: (0 ..< n * t * k).map { Int32($0 % k) },
                              logits: (0 ..< n * t * k).map { Float(k - $0 % k) },
                              logSumExp: [Float](repeating: 5, count: n * t))
            }
            try writer.append(tokens: tokens, values: values)
            try writer.finish()
        }
    }

    private static func copy(_ source: URL, to destination: URL) throws {
        try? FileManager.default.removeItem(at: destination)
        try FileManager.default.copyItem(at: source, to: destination)
    }
}
