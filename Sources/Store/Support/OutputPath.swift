// Where an output really goes, and the POSIX steps every writer shares. An output path may be a
// symlink (followed: the file it names is replaced, the link stays), a device or FIFO (written in
// place: renaming over /dev/full would replace the device node), a folder, or nothing yet.

import Foundation

/// An output path after following symlinks.
public struct OutputPath: Sendable, Equatable {
    /// What the path names on disk.
    public enum Kind: Sendable, Equatable {
        /// Nothing yet (a new file, or a symlink whose target does not exist).
        case missing
        case regularFile
        case directory
        /// A character or block device, FIFO or socket: written in place, never replaced.
        case special(String)
    }

    /// The path as given.
    public let requested: URL
    /// The path the data goes to: `requested` with every symlink followed.
    public let target: URL
    public let kind: Kind

    /// Follows `url`'s symlinks (also a dangling one, to the file it would create) and classifies
    /// what is there. A name of this process's own streams (`/dev/stdout`, `/proc/self/fd/1`) is
    /// written in place even when it leads to a regular file: replacing that file would detach
    /// it from the stream the shell holds open.
    /// - Throws: `AtomicFileError` for a symlink loop or an unreadable link.
    public static func resolve(_ url: URL) throws -> OutputPath {
        var path = url.path
        for _ in 0 ..< 40 {
            // /proc/<pid>/fd/<n> links name open files, not paths (`pipe:[123]`): use what they are.
            if isStreamName(path) { return stream(url) }
            var info = stat()
            guard lstat(path, &info) == 0 else {
                return OutputPath(requested: url, target: URL(fileURLWithPath: path), kind: .missing)
            }
            guard info.st_mode & S_IFMT == S_IFLNK else {
                return OutputPath(requested: url, target: URL(fileURLWithPath: path), kind: kind(of: info))
            }
            guard let link = readLink(path) else {
                throw AtomicFileError(path: url.path, step: "follow the symlink \(path)",
                                      reason: FileSync.reason(errno))
            }
            // Joined as text, not standardized: Foundation's standardizing resolves symlinks, and
            // would turn /proc/self/fd/1 into the file behind it.
            path = link.hasPrefix("/") ? link : (path as NSString).deletingLastPathComponent + "/" + link
        }
        throw AtomicFileError(path: url.path, step: "follow its symlinks", reason: "more than 40 links (a loop?)")
    }

    /// `/dev/stdout`, `/dev/stderr`, `/dev/fd/<n>`, `/proc/…`: names of open files of a process.
    private static func isStreamName(_ path: String) -> Bool {
        path.hasPrefix("/proc/") || path.hasPrefix("/dev/fd/") || path == "/dev/stdout" || path == "/dev/stderr"
    }

    /// A stream of this process, written in place whatever it leads to (a directory is still refused).
    private static func stream(_ url: URL) -> OutputPath {
        var info = stat()
        let kind = stat(url.path, &info) == 0 ? kind(of: info) : .missing
        return OutputPath(requested: url, target: url,
                          kind: kind == .directory ? .directory : .special("stream of this process"))
    }

    private static func kind(of info: stat) -> Kind {
        switch info.st_mode & S_IFMT {
        case S_IFREG: .regularFile
        case S_IFDIR: .directory
        case S_IFCHR: .special("character device")
        case S_IFBLK: .special("block device")
        case S_IFIFO: .special("FIFO")
        case S_IFSOCK: .special("socket")
        default: .special("special file")
        }
    }

    private static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { return nil }
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The POSIX steps of durable writes: whole writes, fsync of a file and of a folder.
enum FileSync {
    /// Files and folders flushed to stable storage by this process (lets tests see the path ran).
    static let syncCount = Locked<Int>(0)

    /// Writes all of `data` to `descriptor`, retrying short writes and interruptions.
    /// - Returns: nil on success, else the errno of the failing write.
    static func writeAll(_ data: Data, to descriptor: Int32) -> Int32? {
        data.withUnsafeBytes { buffer -> Int32? in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += written
            }
            return nil
        }
    }

    /// fsync of an open file. - Returns: nil on success, else errno.
    static func sync(_ descriptor: Int32) -> Int32? {
        while fsync(descriptor) != 0 {
            if errno != EINTR { return errno }
        }
        syncCount.withLock { $0 += 1 }
        return nil
    }

    /// fsync of the file or folder at `path` (a folder's fsync makes its renames durable).
    /// - Returns: nil on success, else errno.
    @discardableResult
    static func sync(path: String) -> Int32? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return errno }
        defer { close(descriptor) }
        return sync(descriptor)
    }

    /// fsync of a folder after a rename into it. Best effort: some file systems refuse fsync on
    /// a folder (EINVAL), and the renamed file is complete either way.
    static func syncDirectory(_ directory: URL) {
        _ = sync(path: directory.path)
    }

    /// `mkdir -p`. - Returns: nil on success, else errno.
    static func createDirectories(_ directory: URL) -> Int32? {
        var info = stat()
        if stat(directory.path, &info) == 0 { return info.st_mode & S_IFMT == S_IFDIR ? nil : ENOTDIR }
        let parent = directory.deletingLastPathComponent()
        if parent.path != directory.path, let code = createDirectories(parent) { return code }
        return mkdir(directory.path, 0o777) == 0 || errno == EEXIST ? nil : errno
    }

    /// The system's sentence for `code`, lower-cased as a clause (`no space left on device`).
    static func reason(_ code: Int32) -> String {
        let text = String(cString: strerror(code))
        return text.prefix(1).lowercased() + text.dropFirst()
    }
}
