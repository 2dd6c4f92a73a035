import Foundation

/// A corpus that cannot be read: the file (and line or byte offset) and what was wrong there.
public struct CorpusError: Error, CustomStringConvertible, LocalizedError, Equatable {
    /// `file`, `file:line` or `file: byte N`.
    public let source: String
    public let reason: String

    public init(source: String, _ reason: String) {
        self.source = source
        self.reason = reason
    }

    public var description: String { "\(source): \(reason)" }
    public var errorDescription: String? { description }
}
