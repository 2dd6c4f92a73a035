// A safetensors file's header without its data: the 8-byte length and the JSON, read with two
// preads, checked against the file's length (every tensor's byte range inside it, the ranges tiling
// the data section). Loading checks a checkpoint's header against its config before building a model,
// and `inspect` shows a checkpoint from its header alone, so neither touches gigabytes of weights to
// find that a file cannot be what the config says.

import Foundation
import Tokenizers

/// One tensor as the header describes it: element type, shape and where its bytes are.
public struct SafeTensorsTensorInfo: Sendable, Equatable {
    /// The tensor's name.
    public let name: String
    /// The element type.
    public let dataType: SafeTensorsDataType
    /// The dimensions, outermost first; `[]` is a scalar.
    public let shape: [Int]
    /// The byte range within the data section (which starts after the header).
    public let dataOffsets: Range<Int>

    /// The number of elements (1 for a scalar). The header was checked, so this does not overflow.
    public var elementCount: Int { shape.reduce(1, *) }
}

/// What a safetensors file's header says, validated as `SafeTensors.decode` validates a whole file.
public struct SafeTensorsHeader: Sendable {
    /// The path it was read from, or `<memory>`.
    public let source: String
    /// The string-to-string `__metadata__` map (empty when absent).
    public let metadata: [String: String]
    /// The tensors in the order their bytes appear in the file.
    public let tensors: [SafeTensorsTensorInfo]
    /// Where the data section starts: 8 + the header's length.
    public let dataStart: Int
    /// The file's length in bytes.
    public let fileLength: Int

    /// The tensor called `name`, or nil.
    public subscript(name: String) -> SafeTensorsTensorInfo? { tensors.first { $0.name == name } }

    /// Every tensor by name.
    public var tensorsByName: [String: SafeTensorsTensorInfo] {
        Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The elements of all tensors together.
    public var totalElementCount: Int { tensors.reduce(0) { $0 + $1.elementCount } }
}

extension SafeTensors {
    /// Reads and validates only the header of the file at `url` (its first 8 + N bytes), checking
    /// every tensor's byte range against the file's length.
    /// - Throws: `SafeTensorsError` naming the file and, where there is one, the tensor.
    public static func readHeader(contentsOf url: URL) throws -> SafeTensorsHeader {
        let source = url.path
        func unreadable(_ what: String, _ code: Int32) -> SafeTensorsError {
            SafeTensorsError(.unreadableFile, source: source, "cannot \(what) (\(FileErrorReason.describe(posixCode: code)))")
        }
        // O_NONBLOCK: opening a FIFO must not wait for a writer; the fstat below refuses it anyway.
        let descriptor = open(source, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { throw unreadable("open the file", errno) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw unreadable("read the file's status", errno) }
        try requireRegularFile(mode: status.st_mode, source: source)
        let fileLength = Int(status.st_size)

        func bytes(at offset: Int, count: Int) throws -> [UInt8] {
            var buffer = [UInt8](repeating: 0, count: count)
            var done = 0
            while done < count {
                let got = buffer.withUnsafeMutableBytes { raw in
                    pread(descriptor, raw.baseAddress! + done, count - done, off_t(offset + done))
                }
                if got < 0, errno == EINTR { continue }
                guard got >= 0 else { throw unreadable("read the header", errno) }
                guard got > 0 else {
                    throw SafeTensorsError(.fileTooShort, source: source,
                                           "the file ended at byte \(offset + done) while reading the header (it changed while being read?)")
                }
                done += got
            }
            return buffer
        }
        let prefix = try bytes(at: 0, count: min(8, fileLength))
        let headerLength = try checkedHeaderLength(prefix: Data(prefix), fileLength: fileLength, source: source)
        return try parseHeader(bytes(at: 8, count: headerLength), dataStart: 8 + headerLength, fileLength: fileLength,
                               source: source)
    }

    /// Refuses anything but a regular file (a directory, a FIFO, a device) with a sentence saying so.
    static func requireRegularFile(_ url: URL) throws {
        var status = stat()
        guard stat(url.path, &status) == 0 else {
            throw SafeTensorsError(.unreadableFile, source: url.path,
                                   "cannot read the file (\(FileErrorReason.describe(posixCode: errno)))")
        }
        try requireRegularFile(mode: status.st_mode, source: url.path)
    }

    private static func requireRegularFile(mode: mode_t, source: String) throws {
        let kind = mode & S_IFMT
        guard kind != S_IFREG else { return }
        let found = switch kind {
        case S_IFDIR: "a directory"
        case S_IFIFO: "a FIFO"
        case S_IFCHR, S_IFBLK: "a device"
        default: "a special file"
        }
        throw SafeTensorsError(.unreadableFile, source: source, "this is \(found), expected a safetensors file")
    }
}
