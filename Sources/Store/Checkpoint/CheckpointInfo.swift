import Foundation

/// The lab's own fields of a checkpoint, stored as the `"alambique"` object of config.json beside
/// the model config's Hugging Face keys (which HF ignores). The caller states what the model is
/// (`name`, `role`, `corpus`, `format`, …); `Checkpoint.save` fills in what it can measure
/// (`parameterCount`, `tokenizerKind`, `tokenizerSHA256`, `created`).
public struct CheckpointInfo: Codable, Sendable, Equatable {
    /// Version of this object's layout; bumped when a field changes meaning.
    public var formatVersion: Int = 1
    /// The model's name, by `CheckpointInfo.modelName(…)`, e.g. `shakespeare-teacher-3.3M-ctx128-char-F32`.
    public var name: String
    /// `teacher`, `student`, … (free text, as in model names).
    public var role: String
    /// The training corpus, e.g. `shakespeare`.
    public var corpus: String
    /// Storage format as in model names: `F32`, `INT8`, `Q8_0`, `F32-s90`, …
    public var format: String
    /// Fraction of weights that are zero (pruned models), in [0, 1].
    public var sparsity: Double?
    /// The teacher's model name, for distilled students.
    public var teacher: String?
    /// Number of scalar parameters (tied tensors counted once). Set by `save`.
    public var parameterCount: Int = 0
    /// The tokenizer family (`char`, `byte`, `bpe`). Set by `save`.
    public var tokenizerKind: String = ""
    /// `Tokenizer.fingerprint()` of the saved tokenizer. Set by `save`.
    public var tokenizerSHA256: String = ""
    /// When the checkpoint was written, ISO 8601 in UTC. Set by `save`.
    public var created: String = ""

    public init(name: String, role: String, corpus: String, format: String = "F32",
                sparsity: Double? = nil, teacher: String? = nil) {
        self.name = name
        self.role = role
        self.corpus = corpus
        self.format = format
        self.sparsity = sparsity
        self.teacher = teacher
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", name, role, corpus, format, sparsity, teacher
        case parameterCount = "parameter_count", tokenizerKind = "tokenizer", tokenizerSHA256 = "tokenizer_sha256"
        case created
    }
}

extension CheckpointInfo {
    /// A model name in the community's habit (size, context, format), DESIGN.md §6:
    /// `<corpus>-<role>-<params>-ctx<T>-<tokenizer>-<format>[-s<sparsity%>]`,
    /// e.g. `shakespeare-teacher-3.3M-ctx128-char-F32` or `shakespeare-student-0.45M-ctx128-char-F32-s90`.
    /// - Parameters:
    ///   - parameters: the parameter count, written with two significant digits (`3.2M`, `0.45M`,
    ///     `85K`, `124M` — whole numbers keep all their digits).
    ///   - sparsity: the fraction of zero weights in [0, 1], written as a whole percentage.
    public static func modelName(corpus: String, role: String, parameters: Int, context: Int,
                                 tokenizer: String, format: String, sparsity: Double? = nil) -> String {
        var name = "\(corpus)-\(role)-\(parameterCountLabel(parameters))-ctx\(context)-\(tokenizer)-\(format)"
        if let sparsity { name += "-s\(Int((sparsity * 100).rounded()))" }
        return name
    }

    /// `3.2M`, `0.45M`, `85K`, `1.5K`, `124M`, `1.6B`, `840`: two significant digits (at least the
    /// whole part), in K below 100,000, M below 10⁹, B above.
    public static func parameterCountLabel(_ count: Int) -> String {
        guard count >= 1000 else { return String(count) }
        let (value, unit): (Double, String) = switch count {
        case ..<100_000: (Double(count) / 1e3, "K")
        case ..<1_000_000_000: (Double(count) / 1e6, "M")
        default: (Double(count) / 1e9, "B")
        }
        // Decimals for two significant digits: 0.45 → 2, 3.2 → 1, 85 → 0.
        let decimals = value < 1 ? 2 : value < 10 ? 1 : 0
        return String(format: "%.\(decimals)f", value) + unit
    }
}
