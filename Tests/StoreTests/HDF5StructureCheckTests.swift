// Metadata that libhdf5 1.10 trusts must be an error before libhdf5 reads it, not a hang, an overrun
// or a runaway allocation. Each input is a valid logit file with one field changed, of the kinds the
// logits fuzzer found crashing libhdf5: a global heap, an attribute, a B-tree node, an object header
// chain, a dataset's storage, the superblock.

import Foundation
import Testing
@testable import Store
import Tokenizers

@Suite("HDF5 structure check") struct HDF5StructureCheckTests {
    /// A small valid top-k logit file and the offset of its (single) global heap collection.
    static func logitFile(in directory: TemporaryDirectory) throws -> (url: URL, heap: Int) {
        let tokenizer = CharTokenizer(corpus: "abcdefgh")
        let (n, t, k) = (2, 3, 2)
        let attributes = LogitsFileAttributes(
            teacher: "tiny", teacherSHA256: String(repeating: "0", count: 64), tokenizerSHA256: tokenizer.fingerprint(),
            vocabularySize: tokenizer.vocabularySize, context: t, mode: .topK(k), dtype: .float32, split: "val",
            created: "2025-01-01T00:00:00Z", stride: t, sequenceCount: n)
        let url = directory.file("heap.h5")
        let writer = try LogitsWriter(url: url, attributes: attributes,
                                      tokenizerJSON: Data(tokenizer.tokenizerJSONBytes()),
                                      layout: LogitsLayout(gzipLevel: nil))
        let indices = (0 ..< n * t * k).map { Int32($0 % k) }
        try writer.append(tokens: [Int32](repeating: 1, count: n * (t + 1)),
                          values: .topK(indices: indices, logits: [Float](repeating: 1, count: n * t * k),
                                        logSumExp: [Float](repeating: 2, count: n * t)))
        try writer.finish()
        let bytes = [UInt8](try Data(contentsOf: url))
        let signature = Array("GCOL".utf8) + [1]
        let heap = try #require((0 ..< bytes.count - 5).first { Array(bytes[$0 ..< $0 + 5]) == signature })
        return (url, heap)
    }

    /// The byte offset of the collection's free-space entry (object index 0) after `heap`.
    static func freeSpaceEntry(_ bytes: [UInt8], heap: Int) -> Int {
        var position = heap + 16
        while bytes[position] != 0 || bytes[position + 1] != 0 {
            let size = bytes[(position + 8) ..< (position + 16)].reversed().reduce(0) { $0 << 8 | Int($1) }
            position += 16 + (size + 7) / 8 * 8
        }
        return position
    }

    @Test func validFileOpens() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (url, _) = try Self.logitFile(in: directory)
        let reader = try LogitsReader(url: url)
        #expect(reader.sequenceCount == 2)
        try reader.close()
    }

    @Test(.timeLimit(.minutes(1))) func zeroLengthFreeSpaceIsAnError() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (url, heap) = try Self.logitFile(in: directory)
        var bytes = [UInt8](try Data(contentsOf: url))
        let entry = Self.freeSpaceEntry(bytes, heap: heap)
        for i in 8 ..< 16 { bytes[entry + i] = 0 }  // libhdf5 would loop here forever
        try Data(bytes).write(to: url)
        let error = try #require(throws: HDF5Error.self) { try LogitsReader(url: url) }
        #expect(error.description.contains("global heap at byte \(heap)"))
        #expect(error.description.contains("free-space entry at byte \(entry) has length 0"))
    }

    @Test(.timeLimit(.minutes(1))) func objectLongerThanItsHeapIsAnError() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (url, heap) = try Self.logitFile(in: directory)
        var bytes = [UInt8](try Data(contentsOf: url))
        for i in 0 ..< 8 { bytes[heap + 16 + 8 + i] = i < 4 ? 0xFF : 0 }  // object 1 claims 4 GiB
        try Data(bytes).write(to: url)
        let error = try #require(throws: HDF5Error.self) { try LogitsReader(url: url) }
        #expect(error.description.contains("object 1 at byte \(heap + 16) needs"))
    }

    /// The error from opening the file after `change` edits its bytes.
    static func error(after change: (inout [UInt8]) throws -> Void) throws -> HDF5Error {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (url, _) = try Self.logitFile(in: directory)
        var bytes = [UInt8](try Data(contentsOf: url))
        try change(&bytes)
        try Data(bytes).write(to: url)
        return try #require(throws: HDF5Error.self) { try LogitsReader(url: url) }
    }

    /// Offsets where `pattern` starts.
    static func find(_ pattern: [UInt8], in bytes: [UInt8]) -> [Int] {
        (0 ... bytes.count - pattern.count).filter { bytes[$0 ..< $0 + pattern.count].elementsEqual(pattern) }
    }

    static func store(_ value: UInt64, _ width: Int, at offset: Int, in bytes: inout [UInt8]) {
        for i in 0 ..< width { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }

    @Test func attributeNameLongerThanItsMessageIsAnError() throws {
        let error = try Self.error { bytes in
            // A version-1 attribute message: version, reserved, u16 name size, u16 type size, u16 space size, name.
            let name = try #require(Self.find(Array("teacher_sha256\0".utf8), in: bytes).first)
            Self.store(0xFFF0, 2, at: name - 6, in: &bytes)
        }
        #expect(error.detail.contains("the attribute message at byte"))
        #expect(error.detail.contains("is too short"))
    }

    @Test func stringNamingAMissingHeapObjectIsAnError() throws {
        let error = try Self.error { bytes in
            let heap = try #require(Self.find(Array("GCOL".utf8) + [1], in: bytes).first)
            Self.store(0x7FFF, 2, at: heap + 16, in: &bytes)  // object 1 becomes object 32767
        }
        #expect(error.detail.contains("a string refers to object 1 of the global heap"))
    }

    @Test func chunkNodeUsingMoreEntriesThanFitIsAnError() throws {
        let error = try Self.error { bytes in
            let node = try #require(Self.find(Array("TREE".utf8) + [1, 0], in: bytes).first)
            Self.store(0xFFFF, 2, at: node + 6, in: &bytes)
        }
        #expect(error.detail.contains("uses 65535 entries, at most 64 fit"))
    }

    @Test func continuationBackToItsOwnHeaderIsAnError() throws {
        let error = try Self.error { bytes in
            // The root object header's address is in the superblock's root entry (byte 64); its continuation
            // message, the first in the header, gets the header's own address.
            let root = Int(bytes[64 ..< 72].reversed().reduce(0) { $0 << 8 | UInt64($1) })
            try #require(bytes[root + 16] == 0x10)
            Self.store(UInt64(root), 8, at: root + 24, in: &bytes)
        }
        #expect(error.detail.contains("is reached a second time"))
    }

    @Test func contiguousDatasetLargerThanItsDataspaceIsAnError() throws {
        let error = try Self.error { bytes in
            // Layout version 3, class 1 (contiguous): O address, L size, the size being tokenizer.json's bytes.
            let tokenizer = UInt64(CharTokenizer(corpus: "abcdefgh").tokenizerJSONBytes().count)
            let size = (0 ..< 8).map { UInt8(truncatingIfNeeded: tokenizer >> (8 * UInt64($0))) }
            let layouts = Self.find([3, 1], in: bytes)
            let layout = try #require(layouts.first { bytes[$0 + 10 ..< $0 + 18].elementsEqual(size) })
            Self.store(tokenizer + 1, 8, at: layout + 10, in: &bytes)
        }
        #expect(error.detail.contains("storage holds"))
    }

    @Test func superblockEndPastTheFileIsAnError() throws {
        let error = try Self.error { bytes in Self.store(UInt64(bytes.count + 1), 8, at: 40, in: &bytes) }
        #expect(error.detail.contains("the file is truncated"))
    }
}
