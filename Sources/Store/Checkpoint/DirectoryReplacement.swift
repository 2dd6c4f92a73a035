import Foundation

/// Writes a whole directory so that a reader never sees a half-written one under the final name:
/// the files go into `<name>.tmp-<pid>-<hex>` beside the destination (same file system, so renames
/// are atomic), are flushed to disk with the folder, and only a complete directory is renamed into
/// place; the parent is flushed after, so the new checkpoint survives a power loss. An existing
/// destination is swapped out (or renamed aside to `<name>.old-<hex>`) and removed once the new one
/// is in place. A symlinked destination is followed: the folder it names is replaced, the link stays.
enum DirectoryReplacement {
    /// Creates a temporary sibling of `destination`, lets `fill` write into it, and moves it into
    /// place. On any failure (or SIGINT/SIGTERM) the temporary directory is removed and
    /// `destination` is left as it was. Temporary folders a killed earlier save left are cleaned first.
    static func write(to requested: URL, _ fill: (URL) throws -> Void) throws {
        let destination = try resolve(requested)
        let parent = destination.deletingLastPathComponent()
        if let code = FileSync.createDirectories(parent) {
            throw CheckpointError(.writeFailed, path: requested.path,
                                  "cannot create the parent directory \(parent.path): \(FileSync.reason(code))")
        }
        removeStaleTemporaries(of: destination)
        let name = requested.lastPathComponent
        let outcome = FileManager.default.fileExists(atPath: destination.path)
            ? "the checkpoint in \(name) is unchanged" : "\(name) was not created"
        let temporary = TemporaryFiles.temporaryURL(for: destination, hidden: false)
        TemporaryFiles.register(temporary)
        guard mkdir(temporary.path, 0o777) == 0 else {
            let code = errno
            TemporaryFiles.unregister(temporary)
            throw CheckpointError(.writeFailed, path: requested.path,
                                  "cannot create the temporary directory \(temporary.path): \(FileSync.reason(code))")
        }
        do {
            try fill(temporary)
            try syncContents(of: temporary, destination: requested)
            try TemporaryFiles.commit(temporary) { try moveIntoPlace(temporary, destination: destination) }
        } catch let error as AtomicFileError {
            TemporaryFiles.discard(temporary)
            // Name the file by its place in the checkpoint, not in the temporary folder just removed.
            func placed(_ text: String) -> String {
                text.replacingOccurrences(of: temporary.path, with: requested.path)
            }
            throw AtomicFileError(path: placed(error.path), step: placed(error.step),
                                  reason: placed(error.reason) + "; " + outcome)
        } catch {
            TemporaryFiles.discard(temporary)
            throw error
        }
        FileSync.syncDirectory(parent)
    }

    /// The folder a checkpoint path names: symlinks followed (a dangling one to the folder it
    /// would create); anything there but a folder is refused, never replaced.
    private static func resolve(_ requested: URL) throws -> URL {
        let output: OutputPath
        do { output = try OutputPath.resolve(requested.standardizedFileURL) } catch {
            throw CheckpointError(.writeFailed, path: requested.path, "\(error)")
        }
        switch output.kind {
        case .missing, .directory: return output.target.standardizedFileURL
        case .regularFile:
            throw CheckpointError(.writeFailed, path: requested.path,
                                  "a file is there; a checkpoint is a directory (choose another --out)")
        case .special(let description):
            throw CheckpointError(.writeFailed, path: requested.path,
                                  "a \(description) is there; a checkpoint is a directory (choose another --out)")
        }
    }

    /// fsync of every file written into the temporary folder, then of the folder itself: the
    /// rename must never publish a folder whose data is still only in the page cache.
    private static func syncContents(of temporary: URL, destination: URL) throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? []
        for name in names.sorted() + ["."] {
            let path = name == "." ? temporary.path : temporary.appendingPathComponent(name).path
            if let code = FileSync.sync(path: path), code != EINVAL {
                let what = name == "." ? "the folder" : name
                throw CheckpointError(.writeFailed, path: destination.path,
                                      "could not flush \(what) to disk (fsync): \(FileSync.reason(code))")
            }
        }
    }

    /// Leftovers of a save whose process was killed: a partly written checkpoint is removed, and
    /// so is a replaced checkpoint (after the exchange its old files sit under the temporary name);
    /// a folder that is neither is kept as `<name>.old-*`, never deleted.
    private static func removeStaleTemporaries(of destination: URL) {
        for stale in TemporaryFiles.staleEntries(for: destination, hidden: false) {
            removeIfSuperseded(stale, by: destination)
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
