// The files a corpus spec names, in the order they are read: one file, or every `.txt`/`.md` below a folder
// sorted by their relative paths' bytes (the same order on every machine). Symbolic links are followed only to
// files inside the folder, and never into directories (no cycles, nothing read from outside).

import Foundation
import Tokenizers

/// One file of a corpus, as found on disk.
public struct CorpusFile: Codable, Equatable, Sendable {
    public var path: String
    public var size: Int
    /// Modification time in nanoseconds since 1970: with the size, a quick "unchanged" check.
    public var modified: Int64
    /// SHA-256 of the file's bytes; empty until the file has been read.
    public var sha256: String

    enum CodingKeys: String, CodingKey { case path, size, modified = "mtime_ns", sha256 }

    /// The file's size and modification time (following a symlink).
    public static func onDisk(_ path: String) throws(CorpusError) -> CorpusFile {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw CorpusError(source: path, "cannot read (\(String(cString: strerror(errno))))")
        }
        guard info.st_mode & S_IFMT == S_IFREG else { throw CorpusError(source: path, "not a regular file") }
        let modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        return CorpusFile(path: path, size: Int(info.st_size), modified: modified, sha256: "")
    }
}

enum CorpusFiles {
    /// The files of `spec` (not the built-in corpus), checked to be what the spec's name says.
    static func list(_ spec: CorpusSpec) throws(CorpusError) -> [CorpusFile] {
        switch spec {
        case .shakespeare:
            preconditionFailure("the built-in corpus is prepared before it is read")
        case .textFile(let path), .jsonl(let path, _):
            return [try CorpusFile.onDisk(path)]
        case .folder(let path):
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw CorpusError(source: path, "not found as a folder (a corpus is shakespeare, a .txt or .md file, "
                    + "a folder of them, a .jsonl or a .jsonl.gz file)")
            }
            let root = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
            var relative: [String] = []
            try collect(root: root, folder: "", into: &relative)
            relative.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            var files: [CorpusFile] = []
            for name in relative { files.append(try CorpusFile.onDisk(path + "/" + name)) }
            guard !files.isEmpty else { throw CorpusError(source: path, "the folder holds no .txt or .md file") }
            return files
        }
    }

    static func isText(_ name: String) -> Bool {
        let lower = name.lowercased()
        return lower.hasSuffix(".txt") || lower.hasSuffix(".md")
    }

    private static func collect(root: String, folder: String, into names: inout [String]) throws(CorpusError) {
        let directory = folder.isEmpty ? root : root + "/" + folder
        let entries: [String]
        do { entries = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw CorpusError(source: directory, "cannot list the folder (\(FileErrorReason.describe(error)))")
        }
        for entry in entries {
            let relative = folder.isEmpty ? entry : folder + "/" + entry
            let full = root + "/" + relative
            var info = stat()
            guard lstat(full, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                try collect(root: root, folder: relative, into: &names)
            case S_IFREG where isText(entry):
                names.append(relative)
            case S_IFLNK where isText(entry):
                // Only a link to a regular file inside the folder counts.
                let target = URL(fileURLWithPath: full).resolvingSymlinksInPath().path
                var targetInfo = stat()
                if target.hasPrefix(root + "/"), stat(target, &targetInfo) == 0, targetInfo.st_mode & S_IFMT == S_IFREG {
                    names.append(relative)
                }
            default:
                continue
            }
        }
    }
}
