// A token stream that training and export index into: either owned in memory or a memory-mapped cache file
// of little-endian uint16 or uint32 ids. A mapped stream costs no heap; the kernel pages in the windows read.

import Foundation

/// How token ids are stored in a cache file.
public enum TokenWidth: String, Codable, Sendable, CaseIterable {
    case uint16, uint32

    public var bytes: Int { self == .uint16 ? 2 : 4 }
    /// The file extension of a split stored at this width.
    public var fileExtension: String { self == .uint16 ? "u16" : "u32" }

    /// uint16 when every id of a vocabulary of `vocabularySize` fits, else uint32.
    public static func fitting(vocabularySize: Int) -> TokenWidth {
        vocabularySize <= Int(UInt16.max) + 1 ? .uint16 : .uint32
    }
}

/// Token ids, read by position.
public final class TokenSequence: @unchecked Sendable {
    public let count: Int
    public let width: TokenWidth
    private let base: UnsafeRawPointer
    private let release: () -> Void

    /// Tokens held in memory (4 bytes each).
    public init(_ tokens: [Int32]) {
        let storage = UnsafeMutablePointer<Int32>.allocate(capacity: max(tokens.count, 1))
        tokens.withUnsafeBufferPointer { storage.update(from: $0.baseAddress!, count: tokens.count) }
        count = tokens.count
        width = .uint32
        base = UnsafeRawPointer(storage)
        release = { storage.deallocate() }
    }

    private init(count: Int, width: TokenWidth, base: UnsafeRawPointer, release: @escaping () -> Void) {
        self.count = count
        self.width = width
        self.base = base
        self.release = release
    }

    deinit { release() }

    /// Maps `url` read-only. The file must hold exactly `expectedCount` ids of `width`.
    /// - Throws: `DataError` naming the file when it is missing, of another length, or cannot be mapped.
    public static func mapping(_ url: URL, width: TokenWidth, expectedCount: Int) throws -> TokenSequence {
        let descriptor = open(url.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw DataError("\(url.path): cannot open (\(String(cString: strerror(errno))))") }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw DataError("\(url.path): not a regular file")
        }
        let (expectedBytes, overflow) = expectedCount.multipliedReportingOverflow(by: width.bytes)
        guard !overflow, expectedCount >= 0, Int(info.st_size) == expectedBytes else {
            throw DataError("\(url.path): \(info.st_size) bytes; \(expectedCount) \(width.rawValue) tokens need \(expectedBytes)")
        }
        guard expectedBytes > 0 else { return TokenSequence([]) }
        guard let mapped = mmap(nil, expectedBytes, PROT_READ, MAP_PRIVATE, descriptor, 0), mapped != MAP_FAILED else {
            throw DataError("\(url.path): cannot map \(expectedBytes) bytes (\(String(cString: strerror(errno))))")
        }
        return TokenSequence(count: expectedCount, width: width, base: UnsafeRawPointer(mapped)) {
            munmap(mapped, expectedBytes)
        }
    }

    public subscript(index: Int) -> Int32 {
        precondition(index >= 0 && index < count, "token \(index) of \(count)")
        switch width {
        case .uint16: return Int32(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self)))
        case .uint32:
            return Int32(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)))
        }
    }

    /// Copies `range` to `destination`.
    public func copy(_ range: Range<Int>, to destination: UnsafeMutablePointer<Int32>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "tokens \(range) of \(count)")
        switch width {
        case .uint16:
            let source = base.assumingMemoryBound(to: UInt16.self)
            for (offset, index) in range.enumerated() { destination[offset] = Int32(UInt16(littleEndian: source[index])) }
        case .uint32:
            let source = base.assumingMemoryBound(to: UInt32.self)
            for (offset, index) in range.enumerated() {
                destination[offset] = Int32(bitPattern: UInt32(littleEndian: source[index]))
            }
        }
    }

    /// The ids in `range` as an array.
    public func array(_ range: Range<Int>) -> [Int32] {
        [Int32](unsafeUninitializedCapacity: range.count) { buffer, initialized in
            copy(range, to: buffer.baseAddress!)
            initialized = range.count
        }
    }

    /// Every id (for small streams and tests).
    public var all: [Int32] { array(0 ..< count) }
}
