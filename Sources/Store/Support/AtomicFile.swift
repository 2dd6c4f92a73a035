import Foundation

/// Writes files so that a reader never sees a half-written one: the bytes go to a temporary file in
/// the destination's own directory (same file system, so `rename` is atomic), are flushed to disk
/// (fsync), and are renamed over the destination only once complete; the folder is then flushed
/// too, so the finished file survives a power loss. A symlinked destination is followed (the file
/// it names is replaced, the link stays); a device or FIFO (`/dev/null`, `/dev/full`, a pipe) is
/// written in place, never replaced.
public enum AtomicFile {
    /// Writes `data` to `url` atomically, creating the parent directory if needed. Temporary files
    /// that a killed earlier run left beside the destination are removed first.
    /// - Throws: `AtomicFileError` naming the file, the step that failed and the system's reason
    ///   (e.g. "no space left on device"); the temporary file is removed and the destination is
    ///   left as it was.
    public static func write(_ data: Data, to url: URL) throws {
        let output = try OutputPath.resolve(url)
        switch output.kind {
        case .directory:
            throw AtomicFileError(path: url.path, step: "write", reason: "it is a directory; expected a file name")
        case .special(let description):
            try writeInPlace(data, to: url, description: description)
        case .missing, .regularFile:
            try replace(output.target, with: data, requested: url, keepingModeOf: output.kind == .regularFile)
        }
    }

    private static func replace(_ target: URL, with data: Data, requested: URL, keepingModeOf existing: Bool) throws {
        let directory = target.deletingLastPathComponent()
        if let code = FileSync.createDirectories(directory) {
            throw AtomicFileError(path: requested.path, step: "create the directory \(directory.path)",
                                  reason: FileSync.reason(code))
        }
        TemporaryFiles.removeStale(for: target, hidden: true)
        let temporary = TemporaryFiles.temporaryURL(for: target, hidden: true)
        TemporaryFiles.register(temporary)
        func fail(_ step: String, _ code: Int32) -> AtomicFileError {
            TemporaryFiles.discard(temporary)
            return AtomicFileError(path: requested.path, step: step, reason: FileSync.reason(code)
                                   + " (nothing was written under this name; the temporary file was removed)")
        }
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard descriptor >= 0 else { throw fail("create the temporary file \(temporary.lastPathComponent)", errno) }
        var info = stat()
        if existing, stat(target.path, &info) == 0 { _ = fchmod(descriptor, info.st_mode & 0o7777) }
        if let code = FileSync.writeAll(data, to: descriptor) {
            close(descriptor)
            throw fail("write \(data.count) bytes", code)
        }
        if let code = FileSync.sync(descriptor) {
            close(descriptor)
            throw fail("flush the file to disk (fsync)", code)
        }
        guard close(descriptor) == 0 else { throw fail("close the temporary file", errno) }
        var renameCode: Int32 = 0
        do {
            try TemporaryFiles.commit(temporary) {
                // rename(2) replaces an existing destination in one step; FileManager's move would not.
                guard rename(temporary.path, target.path) == 0 else {
                    renameCode = errno
                    throw RenameFailed()
                }
            }
        } catch {
            throw fail("rename \(temporary.lastPathComponent) into place", renameCode)
        }
        FileSync.syncDirectory(directory)
    }

    /// Writes to a device, FIFO or stream as it is: no temporary file, no rename. A stream that
    /// leads to a regular file (`/dev/stdout > out.txt`) is appended to: reopening it through
    /// /proc starts at offset 0 and would overwrite what the process already printed.
    private static func writeInPlace(_ data: Data, to url: URL, description: String) throws {
        var info = stat()
        let append = stat(url.path, &info) == 0 && info.st_mode & S_IFMT == S_IFREG ? O_APPEND : 0
        let descriptor = open(url.path, O_WRONLY | O_CLOEXEC | append)
        guard descriptor >= 0 else {
            throw AtomicFileError(path: url.path, step: "open (a \(description)) for writing",
                                  reason: FileSync.reason(errno))
        }
        defer { close(descriptor) }
        if let code = FileSync.writeAll(data, to: descriptor) {
            throw AtomicFileError(path: url.path, step: "write \(data.count) bytes (to a \(description))",
                                  reason: FileSync.reason(code))
        }
    }
}

private struct RenameFailed: Error {}

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
