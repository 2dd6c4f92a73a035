// Loading a checkpoint directory, ours or one transformers saved: config.json (our "alambique"
// object optional), the weights (model.safetensors or shards, F32/F16/BF16), tokenizer.json and
// generation_config.json. The model is built without initialisation; its float32 parameters then use
// the weights where they lie in the files' copy-on-write maps (no copy), and F16/BF16 ones are widened
// once from the maps into their own storage. Nothing is read whole into memory first.

import Foundation
import NN
import Tokenizers

extension Checkpoint {
    /// transformers' generation defaults, read for the end-of-text and start tokens.
    public static let generationConfigFileName = "generation_config.json"

    /// A checkpoint read back whole: config, model with its weights, tokenizer and our info.
    public struct Loaded<Config, Model: Module> {
        public let config: Config
        public let model: Model
        public let tokenizer: any Tokenizer
        /// Ours when config.json has it; for a checkpoint from elsewhere, derived (see `readInfo`) with
        /// the tokenizer's kind and hash filled in and `format` the weights' element type.
        public let info: CheckpointInfo
        /// The weights' element types as stored (F32, or F16/BF16 widened to F32 on load).
        public let storedTypes: [SafeTensorsDataType]
        /// Start and end-of-text token ids (generation_config.json, else config.json), when given.
        public let specialTokens: SpecialTokens
    }

    /// Start and end-of-text token ids as transformers records them.
    public struct SpecialTokens: Sendable, Equatable {
        public var bos: Int?
        public var eos: Int?
        public init(bos: Int? = nil, eos: Int? = nil) {
            self.bos = bos
            self.eos = eos
        }
    }

    /// Our `"alambique"` object of config.json, or — for a checkpoint saved elsewhere (transformers),
    /// which has none — one derived from the folder: its name (which must be a plain path component,
    /// as commands name outputs after it), role `model`, corpus `unknown`, format `F32`.
    /// - Throws: `CheckpointError` naming the file and the field (e.g. `alambique.name`), or
    ///   `PathComponentError` for a name that cannot be a file name.
    public static func readInfo(from directory: URL) throws -> CheckpointInfo {
        struct Wrapper: Decodable { let alambique: CheckpointInfo? }
        if let info = try readConfig(Wrapper.self, from: directory).alambique {
            // Commands name their default outputs after the model (checkpoints/<name>, <name>.gguf).
            try PathComponent.validate(info.name, field: "\(directory.appendingPathComponent(configFileName).path): alambique.name")
            return info
        }
        let folder = directory.standardizedFileURL.lastPathComponent
        try PathComponent.validate(folder, field: "\(directory.path): the folder's name (config.json has no alambique.name)")
        return CheckpointInfo(name: folder, role: "model", corpus: "unknown", format: "F32")
    }

    /// The start and end-of-text ids: generation_config.json's when it has them, else config.json's.
    /// A list of end ids (some configs give several) yields its first.
    /// - Throws: `CheckpointError` for a file that is not JSON or an id that is not an integer.
    public static func readSpecialTokens(from directory: URL) throws -> SpecialTokens {
        func tokens(_ name: String) throws -> SpecialTokens {
            let url = directory.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) else { return SpecialTokens() }
            let json: JSONValue
            do {
                json = try parseJSON([UInt8](readData(url)), maximumDepth: 64)
            } catch let error as JSONSyntaxError {
                throw CheckpointError(.unreadableFile, path: url.path, "not valid JSON at byte \(error.offset): \(error.reason)")
            }
            guard case .object(let members) = json else {
                throw CheckpointError(.invalidField, path: url.path, "expected a JSON object")
            }
            func id(_ key: String) throws -> Int? {
                let value = members.last { $0.0 == key }?.1
                if case .array(let list) = value, let first = list.first { return try checked(first, key) }
                return try value.flatMap { try checked($0, key) }
            }
            func checked(_ value: JSONValue, _ key: String) throws -> Int? {
                if case .null = value { return nil }
                guard let id = value.integerValue, id >= 0 else {
                    throw CheckpointError(.invalidField, path: url.path, field: key,
                                          "expected a token id (an integer ≥ 0) or null")
                }
                return id
            }
            return SpecialTokens(bos: try id("bos_token_id"), eos: try id("eos_token_id"))
        }
        let generation = try tokens(generationConfigFileName), config = try tokens(configFileName)
        return SpecialTokens(bos: generation.bos ?? config.bos, eos: generation.eos ?? config.eos)
    }

    /// Reads the config, checks the weights' headers against the parameters the config implies
    /// (names, shapes, element types; Hugging Face's extra tensors allowed) before building anything,
    /// builds the module with `build` — which should leave parameters uninitialised, as every value is
    /// then copied in from the weight files — and checks the tokenizer: its vocabulary size against
    /// config.json's `vocab_size` and its fingerprint against the `tokenizer_sha256` recorded at save
    /// (when there is one; otherwise it is hashed here and put in `info`).
    ///
    ///     let loaded = try Checkpoint.load(from: directory, parameterShapes: \GPTConfig.parameterShapes,
    ///                                      extras: \.checkpointExtraTensors) { try GPT(uninitializedFor: $0) }
    /// - Throws: `CheckpointError`, `SafeTensorsError`, `LoadError` (names, shapes, non-finite values),
    ///   or the config's own error, each naming the file and the field or tensor.
    public static func load<Config: Decodable, Model: Module>(
        from directory: URL, parameterShapes: (Config) -> [(name: String, shape: [Int])],
        extras: (Config) -> [CheckpointExtraTensor] = { _ in [] },
        build: (Config) throws -> Model
    ) throws -> Loaded<Config, Model> {
        let config = try readConfig(Config.self, from: directory)
        var info = try readInfo(from: directory)
        let specialTokens = try readSpecialTokens(from: directory)
        // The tokenizer is read and hashed on another thread while the weights are checked and mapped
        // (a 50k-token BPE takes as long as the rest of the load); its errors are still reported first.
        let reading = Background { () throws -> (tokenizer: any Tokenizer, fingerprint: String) in
            try loadTokenizerAndFingerprint(from: directory)
        }
        var model: Model?, weights: CheckpointWeights?, weightsError: Error?
        do {
            let opened = try CheckpointWeights(directory: directory)
            try validateHeader(opened.combinedHeader(), expected: parameterShapes(config), extras: extras(config))
            let built = try build(config)
            try built.fillParameters(source: opened.source) { try opened.fill($1, from: $0, inPlace: true) }
            (model, weights) = (built, opened)
        } catch {
            weightsError = error
        }
        let (tokenizer, fingerprint) = try reading.result()
        let configURL = directory.appendingPathComponent(configFileName)
        if let vocabularySize = try vocabularySize(inConfigJSON: readData(configURL), path: configURL.path) {
            try validateTokenizer(tokenizer, vocabularySize: vocabularySize, path: directory.path)
        }
        try validateTokenizerFingerprint(tokenizer, info: info, directory: directory, fingerprint: fingerprint)
        if let weightsError { throw weightsError }
        guard let model, let weights else { preconditionFailure("the weights loaded or threw") }
        if info.tokenizerSHA256.isEmpty {
            info.tokenizerKind = tokenizer.kind.rawValue
            info.tokenizerSHA256 = fingerprint
            info.parameterCount = model.parameterCount
            info.format = weights.dataTypes.map(\.rawValue).joined(separator: "+")
        }
        return Loaded(config: config, model: model, tokenizer: tokenizer, info: info,
                      storedTypes: weights.dataTypes, specialTokens: specialTokens)
    }

    /// Copies the weights of `directory` (model.safetensors or its shards) into `module`'s parameters,
    /// strictly: every tensor must be a parameter (or one of `module.checkpointExtraTensors`), every
    /// parameter must be present, every shape must match and every value must be finite. F16 and BF16
    /// are widened exactly. Everything but finiteness is checked before a value is copied. Values are
    /// copied into the parameters' own storage, which data-parallel replicas and optimizers may share.
    /// - Throws: `CheckpointError` (missing file), `SafeTensorsError` (malformed file), or
    ///   `LoadError` naming the file, the tensor and expected versus found.
    public static func loadParameters(into module: Module, from directory: URL) throws {
        let weights = try CheckpointWeights(directory: directory)
        let expected = module.namedParameters().map { (name: $0.name, shape: $0.tensor.shape) }
        try validateHeader(weights.combinedHeader(), expected: expected, extras: module.checkpointExtraTensors)
        try module.fillParameters(source: weights.source) { try weights.fill($1, from: $0, inPlace: false) }
    }
}

/// A value computed on its own thread; `result()` waits for it and rethrows its error.
private final class Background<Value>: @unchecked Sendable {
    private var outcome: Result<Value, Error>?
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping @Sendable () throws -> Value) {
        let thread = Thread { [self] in
            outcome = Result { try body() }
            done.signal()
        }
        thread.stackSize = 8 << 20  // the JSON reader recurses; the main thread's default, not a secondary one's 512 KB
        thread.start()
    }

    func result() throws -> Value {
        done.wait()
        return try outcome!.get()
    }
}
