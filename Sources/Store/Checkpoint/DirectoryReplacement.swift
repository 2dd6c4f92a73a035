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
        // rename(2) onto a missing name is atomic; onto an existing non-empty directory it fails.
        if rename(temporary.path, destination.path) == 0 { return }
        let firstError = errno
        guard firstError == EEXIST || firstError == ENOTEMPTY else {
            throw renameError(destination, step: "rename \(temporary.lastPathComponent) into place", code: firstError)
        }
        #if os(Linux)
        // Linux swaps the two directories in one step, so the destination is never missing,
        // even if the process dies right here; the temporary name then holds the old checkpoint.
        if linuxRenameExchange(currentDirectory, temporary.path, currentDirectory, destination.path, 2 /* RENAME_EXCHANGE */) == 0 {
            removeIfSuperseded(temporary, by: destination)
            return
        }
        #endif
        // Elsewhere (or on a file system without the exchange): move the existing one aside
        // first; a reader may briefly find no directory, but never a partial one.
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
        removeIfSuperseded(old, by: destination)
    }

    /// Deletes the replaced directory when it was a checkpoint (it holds config.json or
    /// model.safetensors) or when the replacement holds every file it had (a run's folder before
    /// its first checkpoint, with only the live metrics.jsonl that the checkpoint carries in full).
    /// Anything else — a folder given as the destination by mistake — is kept beside the new
    /// checkpoint as `<name>.old-*`, never deleted.
    private static func removeIfSuperseded(_ old: URL, by replacement: URL) {
        let fileManager = FileManager.default
        let names = (try? fileManager.contentsOfDirectory(atPath: old.path)) ?? []
        let replaced = Set((try? fileManager.contentsOfDirectory(atPath: replacement.path)) ?? [])
        if names.contains(Checkpoint.configFileName) || names.contains(Checkpoint.modelFileName)
            || names.allSatisfy(replaced.contains) {
            try? fileManager.removeItem(at: old)
        } else if !old.lastPathComponent.contains(".old-") {
            let kept = replacement.deletingLastPathComponent()
                .appendingPathComponent("\(replacement.lastPathComponent).old-\(uniqueSuffix())")
            _ = rename(old.path, kept.path)
        }
    }

    #if os(Linux)
    private static let currentDirectory: Int32 = -100  // AT_FDCWD
    #endif

    private static func renameError(_ destination: URL, step: String, code: Int32) -> CheckpointError {
        CheckpointError(.writeFailed, path: destination.path, "could not \(step): \(String(cString: strerror(code)))")
    }

    /// Process id and 32 random bits: distinct across concurrent writers and processes.
    private static func uniqueSuffix() -> String {
        "\(ProcessInfo.processInfo.processIdentifier)-\(String(UInt32.random(in: 0 ... .max), radix: 16))"
    }
}

#if os(Linux)
/// glibc's renameat2 (not in Swift's Glibc module map).
@_silgen_name("renameat2")
private func linuxRenameExchange(_ oldDirectory: Int32, _ oldPath: UnsafePointer<CChar>, _ newDirectory: Int32,
                                 _ newPath: UnsafePointer<CChar>, _ flags: UInt32) -> Int32
#endif
