import Foundation
import Tokenizers

/// Names that come from files (config.json's `alambique.name`, GGUF's `general.name`, an experiment's stage
/// names) and become file or folder names. Each must be exactly one path component, so that no name can
/// reach outside the folder it is put in or hide among the lab's own dot-files.
public enum PathComponent {
    /// The longest name accepted, well under every file system's limit of 255 bytes once a suffix is added.
    public static let maximumLength = 128

    /// Whether `name` is one safe path component: letters, digits, `.`, `_` and `-` (ASCII), not empty,
    /// not `.` or `..`, not starting with `.`, at most `maximumLength` characters.
    public static func isValid(_ name: String) -> Bool {
        problem(with: name) == nil
    }

    /// Returns `name` when it is one safe path component.
    /// - Parameter field: where the name came from, e.g. `model.gguf: general.name`; errors start with it.
    /// - Throws: `PathComponentError` naming the field, quoting the name and saying what is allowed.
    @discardableResult
    public static func validate(_ name: String, field: String) throws -> String {
        if let problem = problem(with: name) {
            throw PathComponentError(field: field, name: name, problem: problem)
        }
        return name
    }

    /// Why `name` is not one safe path component, or nil when it is.
    public static func problem(with name: String) -> String? {
        if name.isEmpty { return "it is empty" }
        if name == "." || name == ".." { return "it names a folder itself, not a file in it" }
        if name.utf8.count > maximumLength { return "it is \(name.utf8.count) bytes long (at most \(maximumLength))" }
        if name.hasPrefix(".") { return "it starts with \".\" (hidden names are the lab's own)" }
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
        return allowed ? nil : "it holds characters other than ASCII letters, digits, \".\", \"_\" and \"-\""
    }
}

/// A name that cannot be used as a file or folder name.
public struct PathComponentError: Error, CustomStringConvertible, LocalizedError {
    /// Where the name came from (file and field).
    public let field: String
    /// The name as found.
    public let name: String
    /// Why it is refused.
    public let problem: String

    public var description: String {
        return "\(field): the name \(Excerpt.quote(name, limit: 60)) cannot be a file or folder name: \(problem); "
            + "use one path component of letters, digits, \".\", \"_\" and \"-\" (at most \(PathComponent.maximumLength))"
    }
    public var errorDescription: String? { description }
}
