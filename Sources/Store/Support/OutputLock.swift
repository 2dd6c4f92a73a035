// One writer per output folder. Two runs writing the same checkpoint folder would replace each
// other's saves and interleave their metrics; an exclusive flock makes the second fail at once.
// A checkpoint folder is replaced whole by rename, so the lock cannot live inside it: it is the
// hidden file `.<name>.lock` beside it. flock is released by the kernel when the process dies,
// so a killed run never leaves a stale lock; the file itself stays (removing it would race with
// a process that just opened it) and holds the owner's pid and command while locked.

import Foundation

/// An exclusive lock on an output folder, held until the object is released.
public final class OutputLock {
    /// The folder the lock guards (symlinks followed, so two links to one folder share a lock).
    public let folder: URL
    /// The lock file beside it, `.<name>.lock`.
    public let lockFile: URL
    private let descriptor: Int32

    /// Takes the lock for `folder`, creating its parent directory if needed.
    /// - Parameters:
    ///   - command: what holds the lock (e.g. the command line), shown to a second process.
    /// - Throws: `OutputLockError` at once (never waits) when another process, or another lock in
    ///   this one, holds the folder: the message names its pid and command.
    public init(for folder: URL, command: String) throws {
        let target = (try? OutputPath.resolve(folder).target) ?? folder
        self.folder = target.standardizedFileURL
        let parent = self.folder.deletingLastPathComponent()
        lockFile = parent.appendingPathComponent(".\(self.folder.lastPathComponent).lock")
        if let code = FileSync.createDirectories(parent) {
            throw OutputLockError(folder: folder.path,
                                  "cannot create the directory \(parent.path): \(FileSync.reason(code))")
        }
        let descriptor = open(lockFile.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw OutputLockError(folder: folder.path,
                                  "cannot open the lock file \(lockFile.path): \(FileSync.reason(errno))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            let owner = Self.owner(descriptor)
            close(descriptor)
            guard code == EWOULDBLOCK else {
                throw OutputLockError(folder: folder.path, "cannot lock \(lockFile.path): \(FileSync.reason(code))")
            }
            throw OutputLockError(folder: folder.path,
                                  "is in use by another run (\(owner.isEmpty ? "owner unknown" : owner)); "
                                      + "wait for it to finish or choose another output folder")
        }
        self.descriptor = descriptor
        let record = "pid \(getpid()): \(Self.quoted(command))\n"
        _ = ftruncate(descriptor, 0)
        _ = pwrite(descriptor, record, record.utf8.count, 0)
    }

    deinit {
        _ = ftruncate(descriptor, 0)  // still locked here, so no other owner's record is erased
        close(descriptor)
    }

    /// The command line of this process, for `command`.
    public static var currentCommandLine: String { CommandLine.arguments.joined(separator: " ") }

    /// What the current owner wrote into the lock file (`pid 123: alambique train …`).
    private static func owner(_ descriptor: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = pread(descriptor, &buffer, buffer.count, 0)
        guard count > 0 else { return "" }
        return String(decoding: buffer.prefix(count), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// At most ~200 characters of a command line.
    private static func quoted(_ command: String) -> String {
        let oneLine = command.replacingOccurrences(of: "\n", with: " ")
        return oneLine.count <= 200 ? oneLine : String(oneLine.prefix(200)) + "…"
    }
}

/// An output folder that another run is writing, or whose lock cannot be taken.
public struct OutputLockError: Error, CustomStringConvertible, LocalizedError {
    /// The folder as given.
    public let folder: String
    public let detail: String

    public init(folder: String, _ detail: String) {
        self.folder = folder
        self.detail = detail
    }

    public var description: String { "\(folder): \(detail)" }
    public var errorDescription: String? { description }
}
