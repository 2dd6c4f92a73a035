// A corrupted global heap (where a logit file's string attributes live) must be an error, not a
// libhdf5 hang or an overrun. The inputs are a valid file with one heap field changed, as the logits
// fuzzer found them.

import Foundation
import Testing
@testable import Store
import Tokenizers

@Suite("HDF5 global heap check") struct HDF5GlobalHeapCheckTests {
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
        let error = try #require(throws: LogitsFileError.self) { try LogitsReader(url: url) }
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
        let error = try #require(throws: LogitsFileError.self) { try LogitsReader(url: url) }
        #expect(error.description.contains("object 1 at byte \(heap + 16) needs"))
    }
}
