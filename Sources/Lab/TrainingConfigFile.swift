// A training config in YAML: the model (a preset plus overrides), the tokenizer and any field of
// the training recipe. Values it does not set keep the recipe's defaults; command-line flags
// override the file. Unknown keys are errors that name the key, the file and the line.
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
    /// The `model:` section: a preset and the fields that override it (HF's config.json keys).
    public struct Model: Codable, Equatable, Sendable {
        public var preset: String?
        public var layers: Int?
        public var heads: Int?
        public var embeddingSize: Int?
        public var positions: Int?
        /// Applied to embeddings, attention output and MLP output alike.
        public var dropout: Float?
        public var layerNormEpsilon: Float?
        enum CodingKeys: String, CodingKey {
            case preset, layers = "n_layer", heads = "n_head", embeddingSize = "n_embd", positions = "n_positions"
            case dropout, layerNormEpsilon = "layer_norm_epsilon"
        }
    }

    /// The file's sections other than `training:`, which overlays the recipe's defaults.
    struct Sections: Codable {
        var model: Model?
        var tokenizer: String?
        var role: String?
    }

    public var model: Model
    public var preset: String? { model.preset }
    public var tokenizer: String?
    public var role: String?
    public var recipe: TrainingRecipe

    /// Reads and checks `url`.
    public init(contentsOf url: URL) throws {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw ConfigFileError("\(url.path): cannot read the training config (\(FileErrorReason.describe(error)))")
        }
        try self.init(yaml: text, source: url.path)
    }

    public init(yaml: String, source: String) throws {
        do {
            let document = try YAMLDocument(yaml: yaml, source: source, expected: "model, tokenizer, training, role")
            var sections = document.root.mapping!
            let training = sections["training"]
            sections["training"] = nil
            let parsed = try document.decode(Sections.self, from: .mapping(sections), at: [])
            model = parsed.model ?? Model()
            tokenizer = parsed.tokenizer
            role = parsed.role
            recipe = try Self.recipe(overlaying: training, in: document)
        } catch let error as LabError {
            throw ConfigFileError(error.message)
        }
    }

    /// The recipe's defaults with the `training:` section's fields in place of theirs; a key the recipe
    /// does not have is unknown.
    static func recipe(overlaying training: Node?, in document: YAMLDocument) throws -> TrainingRecipe {
        guard let training else { return TrainingRecipe() }
        guard let fields = training.mapping else {
            throw LabError("\(document.locate(["training"])): training must be a mapping of recipe fields")
        }
        guard var merged = try Yams.compose(yaml: YAMLEncoder().encode(TrainingRecipe()))?.mapping else {
            throw LabError("\(document.source): the recipe's defaults do not encode as a mapping")
        }
        for (key, value) in fields {
            let name = key.string ?? String(describing: key)
            guard merged[name] != nil else {
                let line = key.mark.map { "\(document.source):\($0.line)" } ?? document.source
                throw LabError("\(line): unknown key \"training.\(Excerpt.clip(name))\"; expected one of "
                    + merged.keys.compactMap(\.string).sorted().joined(separator: ", "))
            }
            merged[name] = value
        }
        return try document.decode(TrainingRecipe.self, from: .mapping(merged), at: ["training"])
    }

    /// The GPT config: `preset` (the caller resolves flag > file > default) with the file's
    /// overrides applied.
    public func modelConfig(preset: String, vocabularySize: Int, source: String) throws -> GPTConfig {
        var config: GPTConfig
        do { config = try GPTConfig.preset(preset, vocabularySize: vocabularySize) } catch let error as ModelError {
            throw ConfigFileError("\(source): model.preset: \(error.message)")
        }
        if let layers = model.layers { config.layers = layers }
        if let heads = model.heads { config.heads = heads }
        if let embeddingSize = model.embeddingSize { config.embeddingSize = embeddingSize }
        if let positions = model.positions { config.contextLength = positions }
        if let dropout = model.dropout { config.dropout = dropout }
        if let epsilon = model.layerNormEpsilon { config.layerNormEpsilon = epsilon }
        do { try config.validate() } catch let error as ModelError {
            throw ConfigFileError("\(source): model: \(error.message)")
        }
        return config
    }
}

/// A config file that cannot be used, with the file and key named.
public struct ConfigFileError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
