import Foundation

/// Writes files so that a reader never sees a half-written one: the bytes go to a temporary file in
/// the destination's own directory (same file system, so `rename` is atomic) and are renamed over
/// the destination only once complete.
public enum AtomicFile {
    /// Writes `data` to `url` atomically, creating the parent directory if needed.
    /// - Throws: `AtomicFileError` naming the file and the step that failed.
    public static func write(_ data: Data, to url: URL) throws {
        let directory = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw AtomicFileError(path: url.path, step: "create directory \(directory.path)",
                                  reason: error.localizedDescription)
        }
        let temporary = directory.appendingPathComponent(
            ".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0 ... .max))")
        do {
            try data.write(to: temporary)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw AtomicFileError(path: url.path, step: "write temporary file \(temporary.path)",
                                  reason: error.localizedDescription)
        }
        // rename(2) replaces an existing destination in one step; FileManager's move would not.
        if rename(temporary.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw AtomicFileError(path: url.path, step: "rename \(temporary.lastPathComponent) into place",
                                  reason: reason)
        }
    }
}

/// A failed atomic write: which file, which step, and the system's reason.
public struct AtomicFileError: Error, CustomStringConvertible, LocalizedError {
    /// The destination file.
    public let path: String
    /// What was being done when it failed.
    public let step: String
    /// The underlying reason.
    public let reason: String

    public var description: String { "\(path): could not \(step): \(reason)" }
    public var errorDescription: String? { description }
}
