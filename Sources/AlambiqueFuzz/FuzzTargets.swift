// The parsers under fuzzing, one entry per input format. Each takes the raw bytes of one file as a
// hostile user could hand it to the CLI and drives the same calls the commands make; the contract
// is that every input returns or throws — a trap, a hang or a runaway allocation is a finding.

import Foundation
import Interop
import Lab
import Models
import Store
import Tokenizers

/// One parser under fuzzing.
enum FuzzTarget: String, CaseIterable, Sendable {
    /// model.safetensors: header, tensor decoding, strict loading into a tiny GPT-2.
    case safetensors
    /// config.json: GPTConfig (and its validation) and the "alambique" CheckpointInfo object.
    case config
    /// tokenizer.json (char, byte, BPE), then a round trip of a short text through it.
    case tokenizer
    /// GPT-2's vocab.json + merges.txt pair: the input is vocab.json, a NUL byte, then merges.txt.
    case gpt2vocab
    /// A logit file (HDF5): `inspect`, which runs the reader's checks, lists datasets and reads a block.
    case logits
    /// GGUF: the reader, tensor decoding, and `import gguf`'s mapping to a GPT-2 and its tokenizer.
    case gguf
    /// An experiment YAML file.
    case experiment
    /// A JSONL corpus: lines, UTF-8 (checked, and replaced), JSON objects and their text field.
    case jsonl
    /// A gzip JSONL corpus (`.jsonl.gz`): inflation, member boundaries and truncation, then the JSONL reader.
    case jsonlgz
    /// model.safetensors.index.json (shard names must stay in the folder) and generation_config.json.
    case shardindex

    /// Feeds one input to the parser. Thrown errors are the expected outcome for bad input.
    func run(_ bytes: [UInt8]) {
        switch self {
        case .safetensors: try? FuzzParsers.safeTensors(bytes)
        case .config: try? FuzzParsers.config(bytes)
        case .tokenizer: try? FuzzParsers.tokenizer(bytes)
        case .gpt2vocab: try? FuzzParsers.gpt2Vocabulary(bytes)
        case .logits: try? FuzzParsers.logits(bytes)
        case .gguf: try? FuzzParsers.gguf(bytes)
        case .experiment: try? FuzzParsers.experiment(bytes)
        case .jsonl: try? FuzzParsers.jsonl(bytes)
        case .jsonlgz: try? FuzzParsers.jsonlGzip(bytes)
        case .shardindex: try? FuzzParsers.shardIndex(bytes)
        }
    }
}

enum FuzzParsers {
    /// The seeds' tiny model, to load weights into: the strict name and shape checks are part of the parser.
    nonisolated(unsafe) static let model: GPT = try! GPT(config: FuzzSeeds.microConfig, seed: 0)

    /// Files the file-based readers open, one folder per process in /dev/shm (memory, not disk).
    static let scratch: URL = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let url = URL(fileURLWithPath: base).appendingPathComponent("alambique-fuzz-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    static func safeTensors(_ bytes: [UInt8]) throws {
        let file = try SafeTensors.decode(Data(bytes), source: "model.safetensors")
        var parameters: [String: ParameterValues] = [:]
        for entry in file.entries {
            switch entry.dataType {
            case .float32, .float16, .bfloat16:
                parameters[entry.name] = ParameterValues(shape: entry.shape, values: try file.floats(named: entry.name))
            default:
                _ = try? file.values(named: entry.name, as: UInt8.self)
            }
        }
        try model.loadParameters(parameters, source: "model.safetensors")
    }

    static func config(_ bytes: [UInt8]) throws {
        let directory = scratch.appendingPathComponent("checkpoint")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(bytes).write(to: directory.appendingPathComponent(Checkpoint.configFileName))
        _ = try? Checkpoint.readInfo(from: directory)
        let config = try Checkpoint.readConfig(GPTConfig.self, from: directory)
        try config.validate()
        _ = config.parameterCount
        for layer in 0..<min(config.layers, 64) { _ = config.attentionWidth(inLayer: layer) }
    }

    static func shardIndex(_ bytes: [UInt8]) throws {
        let directory = scratch.appendingPathComponent("sharded")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(bytes).write(to: directory.appendingPathComponent(Checkpoint.generationConfigFileName))
        _ = try? Checkpoint.readSpecialTokens(from: directory)
        let map = try CheckpointWeights.parseIndex(Data(bytes), source: CheckpointWeights.indexFileName)
        for shard in Set(map.values) where PathComponent.problem(with: shard) != nil {
            fatalError("parseIndex accepted the shard name \(shard), which leaves the folder")
        }
    }

    static func tokenizer(_ bytes: [UInt8]) throws {
        let tokenizer = try loadTokenizer(jsonBytes: bytes)
        _ = tokenizer.fingerprint()
        let ids = try tokenizer.encode("To be, or not to be: that is the question.\n Ça va? 日本 🙂")
        _ = try tokenizer.decode(ids)
    }

    /// Splits the input at its first NUL into vocab.json and merges.txt, loads the pair, and encodes
    /// a text with added-token, contraction and multi-byte pieces, then decodes it.
    static func gpt2Vocabulary(_ bytes: [UInt8]) throws {
        let cut = bytes.firstIndex(of: 0) ?? bytes.count
        let merges = cut < bytes.count ? Array(bytes[(cut + 1)...]) : []
        let tokenizer = try GPT2VocabularyFiles.load(vocabularyJSON: Array(bytes[..<cut]), merges: merges)
        _ = tokenizer.fingerprint()
        let ids = try tokenizer.encode("To be, or not to be<|endoftext|>I'll say: Ça va? 日本 🙂\n\n  ")
        _ = try tokenizer.decode(ids)
        _ = tokenizer.gpt2VocabularyFiles()
    }

    static func logits(_ bytes: [UInt8]) throws {
        let url = scratch.appendingPathComponent("fuzz.h5")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        // `inspect` opens the file with LogitsReader (every check), lists it, and reads and decodes a block.
        _ = try Inspection.logitsFile(url)
    }

    static func gguf(_ bytes: [UInt8]) throws {
        let file = try GGUFFile(data: Data(bytes), source: "model.gguf")
        _ = file.summary()
        for tensor in file.tensors {
            switch tensor.type {
            case .f32, .f16: _ = try file.floats(of: tensor)
            default: _ = file.data(of: tensor)
            }
        }
        _ = try? GGUFTokenizer.tokenizer(from: file)
        _ = try GPT2GGUF.load(file)
    }

    static func jsonl(_ bytes: [UInt8]) throws {
        _ = try? JSONLDocuments.read(bytes, policy: .error)
        _ = try JSONLDocuments.read(bytes, policy: .replace)
    }

    static func jsonlGzip(_ bytes: [UInt8]) throws {
        _ = try? JSONLDocuments.read(gzip: bytes, policy: .error)
        _ = try JSONLDocuments.read(gzip: bytes, policy: .replace)
    }

    static func experiment(_ bytes: [UInt8]) throws {
        _ = try Experiment(yaml: String(decoding: bytes, as: UTF8.self), source: "experiment.yaml")
    }
}
