import Foundation

/// Writes a whole directory so that a reader never sees a half-written one under the final name:
/// the files go into `<name>.tmp-<random>` beside the destination (same file system, so renames are
/// atomic), and only a complete directory is renamed into place. An existing destination is first
/// renamed aside to `<name>.old-<random>`, then removed once the new one is in place.
enum DirectoryReplacement {
    /// Creates a temporary sibling of `destination`, lets `fill` write into it, and moves it into
    /// place. On any failure the temporary directory is removed and `destination` is left as it was.
    static func write(to destination: URL, _ fill: (URL) throws -> Void) throws {
        let destination = destination.standardizedFileURL
        let parent = destination.deletingLastPathComponent()
        let name = destination.lastPathComponent
        let fileManager = FileManager.default
        do {
            try fileManager.createDirectory(at: parent, withIntermediateDirectories: true)
        } catch {
            throw CheckpointError(.writeFailed, path: destination.path,
                                  "cannot create the parent directory \(parent.path): \(error.localizedDescription)")
        }
        let temporary = parent.appendingPathComponent("\(name).tmp-\(uniqueSuffix())")
        do {
            try fileManager.createDirectory(at: temporary, withIntermediateDirectories: false)
        } catch {
            throw CheckpointError(.writeFailed, path: destination.path,
                                  "cannot create the temporary directory \(temporary.path): \(error.localizedDescription)")
        }
        do {
            try fill(temporary)
            try moveIntoPlace(temporary, destination: destination)
        } catch {
            try? fileManager.removeItem(at: temporary)
            throw error
        }
    }

    private static func moveIntoPlace(_ temporary: URL, destination: URL) throws {
        // rename(2) onto a missing name is atomic; onto an existing non-empty directory it fails,
        // so an existing checkpoint is moved aside first (a reader may briefly find no directory,
        // but never a partial one).
        if rename(temporary.path, destination.path) == 0 { return }
        let firstError = errno
        guard firstError == EEXIST || firstError == ENOTEMPTY else {
            throw renameError(destination, step: "rename \(temporary.lastPathComponent) into place", code: firstError)
        }
        let old = destination.deletingLastPathComponent()
            .appendingPathComponent("\(destination.lastPathComponent).old-\(uniqueSuffix())")
        guard rename(destination.path, old.path) == 0 else {
            throw renameError(destination, step: "move the existing directory aside to \(old.lastPathComponent)", code: errno)
        }
        guard rename(temporary.path, destination.path) == 0 else {
            let code = errno
            _ = rename(old.path, destination.path)  // put the previous checkpoint back
            throw renameError(destination, step: "rename \(temporary.lastPathComponent) into place", code: code)
        }
        try? FileManager.default.removeItem(at: old)
    }

    private static func renameError(_ destination: URL, step: String, code: Int32) -> CheckpointError {
        CheckpointError(.writeFailed, path: destination.path, "could not \(step): \(String(cString: strerror(code)))")
    }

    /// Process id and 32 random bits: distinct across concurrent writers and processes.
    private static func uniqueSuffix() -> String {
        "\(ProcessInfo.processInfo.processIdentifier)-\(String(UInt32.random(in: 0 ... .max), radix: 16))"
    }
}
