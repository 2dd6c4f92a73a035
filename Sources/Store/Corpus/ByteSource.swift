// The bytes of a corpus file, read in blocks so that a file larger than memory streams through: straight
// from the file, or inflated by zlib for `.gz`. Each source also hashes the bytes it reads from disk (the
// cache's content key) and says how far into the file it is (the validation cut and the progress line).

import CZlib
import Foundation
import Tokenizers

protocol ByteSource {
    /// Up to one block of bytes; empty at the end.
    mutating func read() throws(CorpusError) -> [UInt8]
    /// Bytes of the file on disk consumed so far (compressed bytes for gzip).
    var fileOffset: Int { get }
    /// SHA-256 of the file's bytes read so far (all of them once `read` returned empty).
    var hasher: SHA256Hasher { get }
}

/// A file read in blocks.
struct FileByteSource: ByteSource {
    static let blockSize = 1 << 20
    let path: String
    private let handle: FileHandle
    private(set) var fileOffset = 0
    private(set) var hasher = SHA256Hasher()

    init(path: String) throws(CorpusError) {
        self.path = path
        do { handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path)) } catch {
            throw CorpusError(source: path, "cannot open (\(FileErrorReason.describe(error)))")
        }
    }

    mutating func read() throws(CorpusError) -> [UInt8] {
        let data: Data?
        do { data = try handle.read(upToCount: Self.blockSize) } catch {
            throw CorpusError(source: path, "cannot read at byte \(fileOffset) (\(FileErrorReason.describe(error)))")
        }
        guard let data, !data.isEmpty else {
            try? handle.close()
            return []
        }
        let bytes = [UInt8](data)
        fileOffset += bytes.count
        hasher.update(bytes)
        return bytes
    }
}

/// gzip data inflated block by block (concatenated members are read one after another, as gzip does),
/// from a file or, for the fuzz target, from memory.
struct GzipByteSource<Compressed: ByteSource>: ByteSource {
    private var file: Compressed
    /// Names the data in errors.
    private let path: String
    private var stream: Stream
    private var input: [UInt8] = []
    private var inputPosition = 0
    private var finished = false

    /// Owns the z_stream so that it is freed once.
    final class Stream {
        var z = z_stream()
        init(path: String) throws(CorpusError) {
            let status = inflateInit2_(&z, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
            guard status == Z_OK else { throw CorpusError(source: path, "zlib cannot start (status \(status))") }
        }
        deinit { inflateEnd(&z) }
    }

    var fileOffset: Int { file.fileOffset - (input.count - inputPosition) }
    var hasher: SHA256Hasher { file.hasher }

    /// Inflated bytes per `read` at most.
    private let blockSize: Int

    init(_ compressed: Compressed, path: String, blockSize: Int = FileByteSource.blockSize) throws(CorpusError) {
        file = compressed
        self.path = path
        self.blockSize = max(blockSize, 1)
        stream = try Stream(path: path)
    }

    mutating func read() throws(CorpusError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: blockSize)
        var produced = 0
        while produced == 0, !finished {
            if inputPosition == input.count {
                input = try file.read()
                inputPosition = 0
                if input.isEmpty {
                    // Inflate ended on a member boundary unless it is still waiting for input.
                    if !memberComplete {
                        throw CorpusError(source: path, "the gzip data ends early, at compressed byte \(fileOffset)")
                    }
                    finished = true
                    break
                }
            }
            let (status, used, made) = inflateStep(into: &output)
            inputPosition += used
            produced += made
            memberComplete = status == Z_STREAM_END
            if status == Z_STREAM_END {
                inflateReset(&stream.z)
            } else if status != Z_OK && status != Z_BUF_ERROR {
                let message = stream.z.msg.map { String(cString: $0) } ?? "status \(status)"
                throw CorpusError(source: path, "not valid gzip data near compressed byte \(fileOffset) (\(message))")
            }
        }
        output.removeSubrange(produced...)
        return output
    }

    private var memberComplete = true

    private mutating func inflateStep(into output: inout [UInt8]) -> (Int32, Int, Int) {
        let available = input.count - inputPosition
        return input.withUnsafeMutableBufferPointer { inputBuffer in
            output.withUnsafeMutableBufferPointer { outputBuffer in
                stream.z.next_in = inputBuffer.baseAddress! + inputPosition
                stream.z.avail_in = UInt32(available)
                stream.z.next_out = outputBuffer.baseAddress!
                stream.z.avail_out = UInt32(outputBuffer.count)
                let status = inflate(&stream.z, Z_NO_FLUSH)
                let used = available - Int(stream.z.avail_in)
                let made = outputBuffer.count - Int(stream.z.avail_out)
                stream.z.next_in = nil
                stream.z.next_out = nil
                return (status, used, made)
            }
        }
    }
}
