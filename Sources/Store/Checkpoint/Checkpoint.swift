// Checkpoint directories (DESIGN.md §6): config.json (the model config's Hugging Face keys plus
// an "alambique" object), model.safetensors (F32, names from the module walk, "format": "pt" so
// transformers accepts it), tokenizer.json, and for resumable runs trainer_state.{safetensors,json}.
// The whole directory is written beside its destination and renamed into place in one step.

import Foundation
import NN
import Tokenizers

/// Saving and strictly loading checkpoint directories. A directory loads in Hugging Face
/// transformers as `GPT2LMHeadModel.from_pretrained(directory)` when the config is a GPT-2 config.
public enum Checkpoint {
    /// The model config with HF keys, plus the `"alambique"` object (`CheckpointInfo`).
    public static let configFileName = "config.json"
    /// The weights, one F32 tensor per parameter of the module walk.
    public static let modelFileName = "model.safetensors"
    /// The tokenizer in Hugging Face's tokenizer.json format.
    public static let tokenizerFileName = "tokenizer.json"
    /// The key of our own object inside config.json.
    public static let infoKey = "alambique"

    /// Writes a checkpoint directory at `directory`, replacing any existing one atomically: the
    /// files go to `<directory>.tmp-*` and the complete directory is renamed into place.
    /// - Parameters:
    ///   - config: the model config, encoded as a JSON object (GPTConfig writes HF's keys).
    ///   - info: our own fields; `parameterCount`, `tokenizerKind`, `tokenizerSHA256` and `created`
    ///     are filled in here.
    ///   - trainer: optimizer moments and trainer state, for a run that can resume; saved in the
    ///     same directory replacement as the weights, so model and state always match.
    ///   - extraFiles: other files the directory must keep (e.g. a run's metrics.jsonl), by plain file
    ///     name; the replacement removes anything not written here.
    /// - Returns: the info as written.
    /// - Throws: `CheckpointError` (the tokenizer's vocabulary differs from the config's `vocab_size`,
    ///   or a write failed), `SafeTensorsError`, or the config's encoding error.
    @discardableResult
    ///   - weights: the tensors of model.safetensors and its metadata, when they are not the module's
    ///     float32 parameters (compressed checkpoints: quantized blocks, sparse masks); `info.parameterCount`
    ///     is then the caller's.
    public static func save<Config: Encodable>(module: Module, config: Config, tokenizer: any Tokenizer,
                                               info: CheckpointInfo, trainer: TrainerCheckpoint? = nil,
                                               extraFiles: [String: Data] = [:],
                                               weights: (entries: [SafeTensorsEntry], metadata: [String: String])? = nil,
                                               to directory: URL) throws -> CheckpointInfo {
        var info = info
        if weights == nil { info.parameterCount = module.parameterCount }
        info.tokenizerKind = tokenizer.kind.rawValue
        info.tokenizerSHA256 = tokenizer.fingerprint()
        info.created = ISO8601DateFormatter().string(from: Date())

        let configBytes = try configJSON(config, info: info, destination: directory)
        if let vocabularySize = try? vocabularySize(inConfigJSON: configBytes, path: configFileName) {
            try validateTokenizer(tokenizer, vocabularySize: vocabularySize, path: directory.path)
        }
        let reserved = [configFileName, modelFileName, tokenizerFileName, trainerStateFileName, trainerMomentsFileName]
        for name in extraFiles.keys where name.isEmpty || name.contains("/") || name.hasPrefix(".") || reserved.contains(name) {
            throw CheckpointError(.writeFailed, path: directory.path, field: "extraFiles",
                                  "\"\(name)\" is not a plain file name or is one of the checkpoint's own files")
        }
        let entries = weights?.entries ?? module.namedParameters().map { name, tensor in
            SafeTensorsEntry(name: name, dataType: .float32, shape: tensor.shape,
                             bytes: Data(bytes: tensor.data, count: tensor.count * MemoryLayout<Float>.stride))
        }
        let metadata = ["format": "pt"].merging(weights?.metadata ?? [:]) { _, new in new }
        try DirectoryReplacement.write(to: directory) { temporary in
            try write(configBytes, to: temporary.appendingPathComponent(configFileName))
            try SafeTensors.write(entries, metadata: metadata, to: temporary.appendingPathComponent(modelFileName))
            try tokenizer.save(to: temporary.appendingPathComponent(tokenizerFileName))
            if let trainer { try writeTrainerState(trainer, module: module, into: temporary) }
            for (name, data) in extraFiles { try write(data, to: temporary.appendingPathComponent(name)) }
        }
        return info
    }

    /// Decodes the model config from `config.json` (unknown keys, such as `"alambique"`, are ignored
    /// by keyed decoding).
    /// - Throws: `CheckpointError` naming the file and the field.
    public static func readConfig<Config: Decodable>(_ type: Config.Type, from directory: URL) throws -> Config {
        let url = try requiredFile(configFileName, in: directory)
        let data = try readData(url)
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw CheckpointError.decoding(error, path: url.path)
        }
    }

    /// Reads `tokenizer.json`.
    /// - Throws: `CheckpointError` if it is missing, else the tokenizer reader's error (naming the field).
    public static func loadTokenizer(from directory: URL) throws -> any Tokenizer {
        try Tokenizers.loadTokenizer(from: requiredFile(tokenizerFileName, in: directory))
    }

    /// `loadTokenizer(from:)` and the tokenizer's `fingerprint()`, hashed while it is built.
    static func loadTokenizerAndFingerprint(from directory: URL) throws -> (tokenizer: any Tokenizer, fingerprint: String) {
        try Tokenizers.loadTokenizerAndFingerprint(from: requiredFile(tokenizerFileName, in: directory))
    }

    /// Checks that `tokenizer` gives exactly the ids of a model with `vocabularySize` tokens.
    /// - Throws: `CheckpointError` of kind `.vocabularyMismatch` naming both sizes.
    public static func validateTokenizer(_ tokenizer: any Tokenizer, vocabularySize: Int, path: String = "tokenizer") throws {
        guard tokenizer.vocabularySize == vocabularySize else {
            throw CheckpointError(.vocabularyMismatch, path: path, field: "vocab_size",
                                  "the tokenizer (\(tokenizer.kind.rawValue)) has \(tokenizer.vocabularySize) tokens, but the model's vocab_size is \(vocabularySize)")
        }
    }

    /// Checks a weights file's header against the parameters a model will have, before the model is
    /// built: every name present, no other name, each shape equal, each element type a float one.
    /// With the header's byte ranges already checked against the file's length, a config can then
    /// only make us allocate what the file itself holds.
    /// - Throws: `LoadError` (unknown, missing or misshapen tensor: the name, the shape the config
    ///   implies, the shape found, and both parameter totals) or `SafeTensorsError` (element type).
    /// - Parameter extras: tensors a checkpoint may hold that are not parameters (Hugging Face's tied
    ///   `lm_head.weight`, attention-mask buffers), with the shape each must have when one is required.
    public static func validateHeader(_ header: SafeTensorsHeader, expected: [(name: String, shape: [Int])],
                                      extras: [CheckpointExtraTensor] = []) throws {
        var tensors = header.tensorsByName
        for extra in extras {
            guard let found = tensors.removeValue(forKey: extra.name) else { continue }
            if let shape = extra.shape, found.shape != shape {
                throw LoadError(.shapeMismatch, source: header.source, parameter: extra.name,
                                "expected shape \(shape) (\(extra.role)), found \(shapeText(found.shape))")
            }
        }
        let header = SafeTensorsHeader(source: header.source, metadata: header.metadata,
                                       tensors: header.tensors.filter { tensors[$0.name] != nil },
                                       dataStart: header.dataStart, fileLength: header.fileLength)
        let expectedNames = Set(expected.map(\.name))
        // Saturating: a config's implied total is only a number to report, and may be absurd.
        let implied = expected.reduce(0) { total, entry in
            let count = entry.shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
            return total.addingReportingOverflow(count).overflow ? Int.max : total + count
        }
        let held = header.totalElementCount
        let totals = "; the config implies \(implied) parameters (\(CheckpointInfo.parameterCountLabel(implied)))"
            + " in \(expected.count) tensors, the file holds \(held) (\(CheckpointInfo.parameterCountLabel(held)))"
            + " in \(header.tensors.count)"
        let unknown = header.tensors.map(\.name).filter { !expectedNames.contains($0) }.sorted()
        if let first = unknown.first {
            throw LoadError(.unknownParameter, source: header.source, parameter: Excerpt.clip(first),
                            "is not a parameter of a model of this config"
                                + (unknown.count > 1 ? " (\(unknown.count) unknown names in all)" : "")
                                + "; expected names like \"\(expected.first?.name ?? "")\"" + totals)
        }
        for (name, shape) in expected {
            guard let tensor = tensors[name] else {
                let missing = expected.filter { tensors[$0.name] == nil }.count
                throw LoadError(.missingParameter, source: header.source, parameter: name,
                                "is missing (expected shape \(shape))"
                                    + (missing > 1 ? "; \(missing) parameters are missing in all" : "") + totals)
            }
            guard tensor.shape == shape else {
                throw LoadError(.shapeMismatch, source: header.source, parameter: name,
                                "expected shape \(shape), found \(shapeText(tensor.shape))" + totals)
            }
            guard [.float32, .float16, .bfloat16].contains(tensor.dataType) else {
                throw SafeTensorsError(.dataTypeMismatch, source: header.source, tensor: name,
                                       "stored as \(tensor.dataType.rawValue), expected a floating-point type (F32, F16 or BF16)")
            }
        }
    }

    /// Checks that `tokenizer` is the one the checkpoint was saved with: its fingerprint must equal
    /// `info.tokenizerSHA256` when that is recorded (checkpoints from elsewhere may not record it).
    /// The vocabulary size alone misses a tokenizer.json swapped for another of the same size,
    /// which would silently map every id to a different token.
    /// - Throws: `CheckpointError` of kind `.tokenizerMismatch` naming both hashes and the file.
    /// - Parameter fingerprint: `tokenizer.fingerprint()` when the caller has computed it already.
    public static func validateTokenizerFingerprint(_ tokenizer: any Tokenizer, info: CheckpointInfo,
                                                    directory: URL, fingerprint: String? = nil) throws {
        guard !info.tokenizerSHA256.isEmpty else { return }
        let found = fingerprint ?? tokenizer.fingerprint()
        guard found == info.tokenizerSHA256 else {
            throw CheckpointError(.tokenizerMismatch, path: directory.appendingPathComponent(tokenizerFileName).path,
                                  field: "alambique.tokenizer_sha256",
                                  "the tokenizer's sha256 is \(found), but \(configFileName) records "
                                      + "\(Excerpt.clip(info.tokenizerSHA256)) (this tokenizer.json is not the one the "
                                      + "model was saved with, so its ids would mean other tokens; restore the original "
                                      + "file, or re-save the checkpoint with this tokenizer)")
        }
    }

    // MARK: - Files

    /// The config's JSON object with `"alambique": info` added, keys sorted, pretty-printed.
    static func configJSON<Config: Encodable>(_ config: Config, info: CheckpointInfo, destination: URL) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let path = destination.appendingPathComponent(configFileName).path
        guard let object = try JSONSerialization.jsonObject(with: encoder.encode(config)) as? [String: Any] else {
            throw CheckpointError(.invalidField, path: path, "the config must encode as a JSON object")
        }
        guard object[infoKey] == nil else {
            throw CheckpointError(.invalidField, path: path, field: infoKey, "the config already has this key, which is reserved for CheckpointInfo")
        }
        // Merge through the encoder (not JSONSerialization's writer) so numbers keep Swift's
        // shortest round-trip spelling: 1e-05, not 1.0000000000000001e-05.
        return try encoder.encode(MergedConfig(config: config, info: info))
    }

    /// Encodes the config's keys and the info under `"alambique"` into one JSON object.
    private struct MergedConfig<Config: Encodable>: Encodable {
        let config: Config
        let info: CheckpointInfo
        struct InfoKey: CodingKey {
            var stringValue: String { Checkpoint.infoKey }
            var intValue: Int? { nil }
            init() {}
            init?(stringValue: String) { nil }
            init?(intValue: Int) { nil }
        }
        func encode(to encoder: Encoder) throws {
            try config.encode(to: encoder)
            var container = encoder.container(keyedBy: InfoKey.self)  // the same object, one more key
            try container.encode(info, forKey: InfoKey())
        }
    }

    /// config.json's `vocab_size`, if it has one.
    static func vocabularySize(inConfigJSON data: Data, path: String) throws -> Int? {
        struct Vocabulary: Decodable {
            let size: Int?
            enum CodingKeys: String, CodingKey { case size = "vocab_size" }
        }
        do {
            return try JSONDecoder().decode(Vocabulary.self, from: data).size
        } catch {
            throw CheckpointError.decoding(error, path: path)
        }
    }

    /// The URL of `name` inside `directory`, which must exist.
    /// - Throws: `CheckpointError` of kind `.missingFile` naming the directory and what a checkpoint holds.
    static func requiredFile(_ name: String, in directory: URL) throws -> URL {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            // A save interrupted between its two renames leaves the previous checkpoint as <name>.old-*.
            let parent = directory.deletingLastPathComponent()
            let leftover = (try? FileManager.default.contentsOfDirectory(atPath: parent.path))?
                .first { $0.hasPrefix(directory.lastPathComponent + ".old-") }
            throw CheckpointError(.missingFile, path: directory.path,
                                  "no checkpoint directory here (expected a directory holding \(configFileName), \(modelFileName) and \(tokenizerFileName))"
                                      + (leftover.map { "; an interrupted save left the previous checkpoint at \(parent.appendingPathComponent($0).path)" } ?? ""))
        }
        let url = directory.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else {
            let holds = [trainerStateFileName, trainerMomentsFileName].contains(name)
                ? "only a checkpoint saved with trainer state, for resuming, holds \(trainerStateFileName) and \(trainerMomentsFileName)"
                : "a checkpoint holds \(configFileName), \(modelFileName) and \(tokenizerFileName)"
            throw CheckpointError(.missingFile, path: directory.path, "the checkpoint directory has no \(name) (\(holds))")
        }
        return url
    }

    static func readData(_ url: URL) throws -> Data {
        if let problem = FileErrorReason.notARegularFile(url) {
            throw CheckpointError(.unreadableFile, path: url.path, "cannot read the file (\(problem))")
        }
        do {
            return try Data(contentsOf: url)
        } catch {
            throw CheckpointError(.unreadableFile, path: url.path, "cannot read the file (\(FileErrorReason.describe(error)))")
        }
    }

    /// Through `AtomicFile`: fsync, and a full disk's error as the system's sentence.
    static func write(_ data: Data, to url: URL) throws {
        try AtomicFile.write(data, to: url)
    }
}
