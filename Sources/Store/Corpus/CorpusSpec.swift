// What `--data <spec>` names: the built-in Shakespeare corpus, a text file, a folder of texts, or a JSONL
// file (plain or gzip). Parsing is by name only, so it never fails; whether the path is what its name says
// is checked when the corpus is opened, with an error naming the path.

import Foundation

/// A corpus: the built-in one or text on disk.
public enum CorpusSpec: Hashable, Sendable, CustomStringConvertible {
    /// The complete works (`data fetch shakespeare`), with their own fixed 90/10 split.
    case shakespeare
    /// One UTF-8 text file (`.txt` or `.md`): one document.
    case textFile(String)
    /// Every `.txt` and `.md` file below a folder, in byte order of their paths: one document each.
    case folder(String)
    /// One JSON object per line, the text in a string field; `compressed` for `.jsonl.gz`.
    case jsonl(String, compressed: Bool)

    /// `shakespeare`, a path ending in `.txt`/`.md`, `.jsonl` or `.jsonl.gz`, or else a folder.
    public init(parsing text: String) {
        let lower = text.lowercased()
        if text == "shakespeare" {
            self = .shakespeare
        } else if lower.hasSuffix(".jsonl.gz") {
            self = .jsonl(text, compressed: true)
        } else if lower.hasSuffix(".jsonl") {
            self = .jsonl(text, compressed: false)
        } else if lower.hasSuffix(".txt") || lower.hasSuffix(".md") {
            self = .textFile(text)
        } else {
            self = .folder(text)
        }
    }

    /// The spec as it is written on the command line.
    public var description: String {
        switch self {
        case .shakespeare: "shakespeare"
        case .textFile(let path), .folder(let path), .jsonl(let path, _): path
        }
    }

    /// The path on disk, or nil for the built-in corpus.
    public var path: String? {
        switch self {
        case .shakespeare: nil
        case .textFile(let path), .folder(let path), .jsonl(let path, _): path
        }
    }

    /// The corpus's name in model names and checkpoint metadata: `shakespeare`, or the file or folder name
    /// without its extensions, reduced to letters, digits, `-` and `_`.
    public var name: String {
        guard let path else { return "shakespeare" }
        var base = URL(fileURLWithPath: path).lastPathComponent
        for suffix in [".gz", ".jsonl", ".txt", ".md"] where base.lowercased().hasSuffix(suffix) {
            base = String(base.dropLast(suffix.count))
        }
        let cleaned = String(base.unicodeScalars.map { scalar -> Character in
            let allowed = scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || scalar == "-" || scalar == "_")
            return allowed ? Character(scalar) : "-"
        })
        return cleaned.isEmpty ? "corpus" : cleaned
    }
}

/// What to do with bytes that are not UTF-8.
public enum InvalidTextPolicy: String, CaseIterable, Codable, Sendable {
    /// Stop with the file and byte offset.
    case error
    /// Decode each bad sequence as U+FFFD and count them.
    case replace
}

/// How a corpus is read and split.
public struct CorpusOptions: Hashable, Sendable {
    /// The JSONL field holding each document's text.
    public var textField: String
    public var onInvalid: InvalidTextPolicy
    /// A separate validation corpus; when nil, the last `validationFraction` of the corpus (cut at a
    /// document boundary) is validation. Shakespeare keeps its own split either way.
    public var validation: CorpusSpec?
    public var validationFraction: Double

    public static let defaultTextField = "text"
    public static let defaultValidationFraction = 0.1

    public init(textField: String = CorpusOptions.defaultTextField, onInvalid: InvalidTextPolicy = .error,
                validation: CorpusSpec? = nil, validationFraction: Double = CorpusOptions.defaultValidationFraction) {
        self.textField = textField
        self.onInvalid = onInvalid
        self.validation = validation
        self.validationFraction = validationFraction
    }

    /// A fraction in (0, 1) and a non-empty field name.
    public func validate() throws(CorpusError) {
        guard validationFraction > 0, validationFraction < 1 else {
            throw CorpusError(source: "--val-fraction", "\(validationFraction) is not a fraction in (0, 1)")
        }
        guard !textField.isEmpty else { throw CorpusError(source: "--text-field", "the field name is empty") }
    }
}
