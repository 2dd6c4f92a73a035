// Every failure the tokenizers report: a clear message, never a trap.

/// Errors from encoding, decoding, training, and reading or writing tokenizer.json.
public enum TokenizerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The text holds a character the character-level vocabulary lacks. `position` counts
    /// Unicode scalars from 0; `line` and `column` count from 1.
    case unknownCharacter(Unicode.Scalar, position: Int, line: Int, column: Int)
    /// An id outside the vocabulary was given to `decode`; `position` is its index in the input.
    case unknownTokenID(Int32, position: Int, vocabularySize: Int)
    /// A tokenizer.json (or an in-memory vocabulary) is malformed or uses something we do not
    /// implement. `field` is a dotted path such as `model.merges[12]`.
    case invalidFile(file: String, field: String, found: String, expected: String)
    /// The file is not JSON at all.
    case invalidJSON(file: String, reason: String)
    /// The file could not be read or written.
    case fileSystem(file: String, reason: String)
    /// A training request that cannot be met (e.g. a vocabulary smaller than 256 bytes).
    case invalidTraining(String)

    public var description: String {
        switch self {
        case let .unknownCharacter(scalar, position, line, column):
            return "character \(TokenizerError.describe(scalar)) at position \(position) (line \(line), column \(column)) is not in the character-level vocabulary"
        case let .unknownTokenID(id, position, vocabularySize):
            return "token id \(id) at position \(position) is outside the vocabulary (valid ids are 0..<\(vocabularySize))"
        case let .invalidFile(file, field, found, expected):
            return "\(file): field \(field): found \(found), expected \(expected)"
        case let .invalidJSON(file, reason):
            return "\(file): \(reason)"
        case let .fileSystem(file, reason):
            return "\(file): \(reason)"
        case let .invalidTraining(reason):
            return "BPE training: \(reason)"
        }
    }

    /// "'a' (U+0061)", with control characters shown only by code point.
    static func describe(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        let code = "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        let printable = !scalar.properties.isWhitespace && scalar.properties.generalCategory != .control
            && scalar.properties.generalCategory != .format
        return printable ? "'\(scalar)' (\(code))" : code
    }
}
