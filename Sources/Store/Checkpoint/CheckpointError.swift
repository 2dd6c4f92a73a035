import Foundation
import Tokenizers

/// Why a checkpoint directory could not be written or read: which file, which field, and what
/// was found against what was expected. Problems inside `model.safetensors` surface as
/// `SafeTensorsError` (malformed file) or `LoadError` (names and shapes), which name the file too.
public struct CheckpointError: Error, CustomStringConvertible, LocalizedError, Equatable {
    /// The class of problem, for callers that branch on it (tests, the CLI's exit codes).
    public enum Kind: String, Sendable, Equatable {
        /// The directory, or a file a checkpoint must hold, does not exist.
        case missingFile
        /// A file exists but cannot be read or parsed.
        case unreadableFile
        /// A JSON field is missing or has the wrong type or value.
        case invalidField
        /// The tokenizer's vocabulary size differs from the model's `vocab_size`.
        case vocabularyMismatch
        /// The tokenizer is not the one the checkpoint was saved with (its sha256 differs).
        case tokenizerMismatch
        /// The trainer state does not fit the optimizer or the model (names, shapes, settings).
        case trainerStateMismatch
        /// Writing or renaming the directory failed.
        case writeFailed
    }

    /// The class of problem.
    public let kind: Kind
    /// The file (or directory) concerned.
    public let path: String
    /// The field or tensor concerned, when there is one (a dotted JSON path or a tensor name).
    public let field: String?
    /// What was found versus what was expected.
    public let detail: String

    public init(_ kind: Kind, path: String, field: String? = nil, _ detail: String) {
        self.kind = kind
        self.path = path
        self.field = field
        self.detail = detail
    }

    public var description: String {
        if let field { return "\(path): \(field): \(detail)" }
        return "\(path): \(detail)"
    }

    public var errorDescription: String? { description }
}

extension CheckpointError {
    /// A `DecodingError` from reading `path`, with the failing field spelled as a dotted path.
    static func decoding(_ error: Error, path: String) -> CheckpointError {
        guard let error = error as? DecodingError else {
            // A check inside the type's own init(from:) (e.g. a config's validate()).
            return CheckpointError(.invalidField, path: path, Excerpt.clip("\(error)", limit: 4 * Excerpt.limit))
        }
        func dotted(_ codingPath: [CodingKey]) -> String {
            codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let field = dotted(context.codingPath + [key])
            return CheckpointError(.invalidField, path: path, field: field, "missing")
        case .typeMismatch(let type, let context):
            return CheckpointError(.invalidField, path: path, field: dotted(context.codingPath),
                                   "expected a value of type \(type): \(Excerpt.clip(context.debugDescription))")
        case .valueNotFound(let type, let context):
            return CheckpointError(.invalidField, path: path, field: dotted(context.codingPath),
                                   "expected a value of type \(type), found null")
        case .dataCorrupted(let context):
            // The underlying error's localized text is Foundation's "The operation could not be
            // completed"; its debug description says where the JSON breaks.
            let underlying = (context.underlyingError as NSError?)?.userInfo["NSDebugDescription"] as? String
            let detail = context.codingPath.isEmpty
                ? "not valid JSON" + (underlying.map { " (\(Excerpt.clip($0)))" } ?? "")
                : Excerpt.clip(context.debugDescription)
            return CheckpointError(context.codingPath.isEmpty ? .unreadableFile : .invalidField, path: path,
                                   field: context.codingPath.isEmpty ? nil : dotted(context.codingPath), detail)
        @unknown default:
            return CheckpointError(.unreadableFile, path: path, Excerpt.clip("\(error)"))
        }
    }
}
