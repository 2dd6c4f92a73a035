// A split's token ids streamed to disk as flat little-endian uint16 or uint32, with AtomicFile's guarantees
// for a file too large to hold: a hidden temporary name beside the destination, fsync, then rename.

import Foundation

final class TokenFileWriter {
    let destination: URL
    let width: TokenWidth
    private let temporary: URL
    private var descriptor: Int32
    private var buffer: [UInt8] = []
    private(set) var count = 0

    init(_ destination: URL, width: TokenWidth) throws {
        self.destination = destination
        self.width = width
        let directory = destination.deletingLastPathComponent()
        if let code = FileSync.createDirectories(directory) {
            throw AtomicFileError(path: destination.path, step: "create the directory \(directory.path)", reason: FileSync.reason(code))
        }
        TemporaryFiles.removeStale(for: destination, hidden: true)
        temporary = TemporaryFiles.temporaryURL(for: destination, hidden: true)
        TemporaryFiles.register(temporary)
        descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard descriptor >= 0 else {
            let code = errno
            TemporaryFiles.discard(temporary)
            throw AtomicFileError(path: destination.path, step: "create a temporary file", reason: FileSync.reason(code))
        }
        buffer.reserveCapacity(1 << 20)
    }

    deinit {
        if descriptor >= 0 {
            close(descriptor)
            TemporaryFiles.discard(temporary)
        }
    }

    func append(_ tokens: [Int32]) throws {
        for token in tokens {
            let value = UInt32(bitPattern: token)
            buffer.append(UInt8(truncatingIfNeeded: value))
            buffer.append(UInt8(truncatingIfNeeded: value >> 8))
            if width == .uint32 {
                buffer.append(UInt8(truncatingIfNeeded: value >> 16))
                buffer.append(UInt8(truncatingIfNeeded: value >> 24))
            }
        }
        count += tokens.count
        if buffer.count >= 1 << 20 { try flush() }
    }

    private func flush() throws {
        if let code = FileSync.writeAll(Data(buffer), to: descriptor) { throw fail("write", code) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func fail(_ step: String, _ code: Int32) -> AtomicFileError {
        close(descriptor)
        descriptor = -1
        TemporaryFiles.discard(temporary)
        return AtomicFileError(path: destination.path, step: step, reason: FileSync.reason(code)
                               + " (nothing was written under this name; the temporary file was removed)")
    }

    /// Flushes, syncs and renames the file into place.
    func finish() throws {
        try flush()
        if let code = FileSync.sync(descriptor) { throw fail("flush the file to disk (fsync)", code) }
        close(descriptor)
        descriptor = -1
        var renameCode: Int32 = 0
        do {
            try TemporaryFiles.commit(temporary) {
                guard rename(temporary.path, destination.path) == 0 else {
                    renameCode = errno
                    throw AtomicFileError(path: destination.path, step: "rename", reason: FileSync.reason(errno))
                }
            }
        } catch {
            TemporaryFiles.discard(temporary)
            throw AtomicFileError(path: destination.path, step: "rename the temporary file into place",
                                  reason: FileSync.reason(renameCode))
        }
        FileSync.syncDirectory(destination.deletingLastPathComponent())
    }
}
