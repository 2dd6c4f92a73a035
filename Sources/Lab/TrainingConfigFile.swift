// A training config in YAML: the model (a preset plus overrides), the tokenizer and any field of
// the training recipe. Values it does not set keep the recipe's defaults; command-line flags
// override the file. Unknown keys are errors that name the key and the file.
//
//     model:
//       preset: teacher-small
//       dropout: 0.1
//     tokenizer: char
//     training:
//       steps: 3000
//       learning_rate: 6e-4

import Distill
import Foundation
import Models
import Tokenizers
import Yams

/// A parsed training config file.
public struct TrainingConfigFile {
    public var preset: String?
    /// GPT config fields to override after the preset (HF keys: n_layer, n_head, n_embd, n_positions, dropout, layer_norm_epsilon).
    public var modelOverrides: [String: Any]
    public var tokenizer: String?
    public var role: String?
    public var recipe: TrainingRecipe

    static let topKeys: Set = ["model", "tokenizer", "training", "role"]
    static let modelKeys: Set = ["preset", "n_layer", "n_head", "n_embd", "n_positions", "dropout", "layer_norm_epsilon"]

    /// Reads and checks `url`.
    public init(contentsOf url: URL) throws {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw ConfigFileError("\(url.path): cannot read (\(FileErrorReason.describe(error)))")
        }
        try self.init(yaml: text, source: url.path)
    }

    public init(yaml: String, source: String) throws {
        let document: Any?
        do { document = try Yams.load(yaml: yaml) } catch {
            throw ConfigFileError("\(source): not valid YAML (\(error))")
        }
        guard let root = document as? [String: Any] else {
            throw ConfigFileError("\(source): expected a mapping with keys \(Self.topKeys.sorted()), found \(type(of: document))")
        }
        try Self.rejectUnknown(root, allowed: Self.topKeys, path: "", source: source)
        let model = try Self.mapping(root["model"], path: "model", source: source) ?? [:]
        try Self.rejectUnknown(model, allowed: Self.modelKeys, path: "model.", source: source)
        preset = try Self.string(model["preset"], path: "model.preset", source: source)
        modelOverrides = model.filter { $0.key != "preset" }
        tokenizer = try Self.string(root["tokenizer"], path: "tokenizer", source: source)
        role = try Self.string(root["role"], path: "role", source: source)

        // The recipe: defaults, overlaid with the file's fields, decoded (so types are checked).
        let training = try Self.mapping(root["training"], path: "training", source: source) ?? [:]
        var fields = try JSONSerialization.jsonObject(with: JSONEncoder().encode(TrainingRecipe())) as! [String: Any]
        try Self.rejectUnknown(training, allowed: Set(fields.keys), path: "training.", source: source)
        fields.merge(training) { _, new in new }
        do {
            recipe = try JSONDecoder().decode(TrainingRecipe.self, from: JSONSerialization.data(withJSONObject: fields))
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.dataCorrupted(context) {
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw ConfigFileError("\(source): training.\(key) has the wrong type (\(context.debugDescription))")
        }
    }

    /// The GPT config: `preset` (the caller resolves flag > file > default) with the file's
    /// overrides applied.
    public func modelConfig(preset: String, vocabularySize: Int, source: String) throws -> GPTConfig {
        var fields = try JSONSerialization.jsonObject(
            with: JSONEncoder().encode(GPTConfig.preset(preset, vocabularySize: vocabularySize))) as! [String: Any]
        fields.merge(modelOverrides) { _, new in new }
        if let dropout = modelOverrides["dropout"] {
            for key in ["embd_pdrop", "attn_pdrop", "resid_pdrop"] { fields[key] = dropout }
        }
        if let positions = modelOverrides["n_positions"] { fields["n_ctx"] = positions }
        do {
            return try JSONDecoder().decode(GPTConfig.self, from: JSONSerialization.data(withJSONObject: fields))
        } catch let error as ModelError {
            throw ConfigFileError("\(source): model: \(error.message)")
        } catch {
            throw ConfigFileError("\(source): model: \(error)")
        }
    }

    private static func rejectUnknown(_ mapping: [String: Any], allowed: Set<String>, path: String, source: String) throws {
        if let key = mapping.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw ConfigFileError("\(source): unknown key \"\(path)\(key)\"; expected one of \(allowed.sorted().joined(separator: ", "))")
        }
    }

    private static func mapping(_ value: Any?, path: String, source: String) throws -> [String: Any]? {
        guard let value else { return nil }
        guard let mapping = value as? [String: Any] else {
            throw ConfigFileError("\(source): \"\(path)\" must be a mapping, found \(value)")
        }
        return mapping
    }

    private static func string(_ value: Any?, path: String, source: String) throws -> String? {
        guard let value else { return nil }
        guard let string = value as? String else { throw ConfigFileError("\(source): \"\(path)\" must be a string, found \(value)") }
        return string
    }
}

/// A config file that cannot be used, with the file and key named.
public struct ConfigFileError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
