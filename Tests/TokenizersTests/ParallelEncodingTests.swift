// encodeDocuments cuts documents into pieces for threads; the ids must never depend on where.

import Foundation
import Testing
@testable import Tokenizers

@Suite struct ParallelEncodingTests {
    /// Documents that exercise the cut rule: "X\nY" line starts, whitespace runs before and after
    /// line feeds, added tokens at and across line ends, contractions, non-ASCII at line edges.
    static func documents() throws -> [String] {
        var generator = SeededGenerator(seed: 11)
        let fixture = try GPT2Fixture.text()
        let lines = ["First Citizen:\nBefore we proceed", "a\n\nb", "x \ny", "x\n y", "end.\n'tis", "é\nü\n中\n",
                     "<|endoftext|>\nA", "A\n<|endoftext|>", "  \n\t\nZ", "don't\nI'll\n\n\n", "1\n2\n3\n"]
        var documents = [fixture, String(repeating: fixture, count: 7), lines.joined(), "", "\n", "a"]
        for _ in 0..<6 {
            var text = ""
            for _ in 0..<40 { text += Bool.random(using: &generator) ? lines.randomElement(using: &generator)! : randomText(length: 30, generator: &generator) }
            documents.append(text)
        }
        return documents
    }

    @Test(arguments: [1, 2, 3])
    func cutsAndThreadsGiveTheIdsOfOneDocumentAtATime(threads: Int) throws {
        for tokenizer in [try GPT2Fixture.tokenizerJSON(), try tinyTokenizer(addPrefixSpace: true)] {
            let documents = try Self.documents()
            let expected = try documents.map { try tokenizer.encode($0) }
            for chunkBytes in [1, 5, 64, 4096] {
                let ids = tokenizer.encodeDocuments(documents, threads: threads, chunkBytes: chunkBytes, progress: nil)
                #expect(ids == expected, "chunks of \(chunkBytes) bytes on \(threads) threads")
            }
        }
    }

    @Test func theSafeCutRule() {
        let cuts = { (text: String) in
            Array(text.utf8).withUnsafeBufferPointer { bytes in
                var found: [Int] = [], position = 0
                while let cut = BPETokenizer.safeCut(in: bytes, from: position) { found.append(cut); position = cut + 1 }
                return found
            }
        }
        #expect(cuts("ab\ncd\n\nef\n gh\né\nx.\n'y") == [3, 20])
        #expect(cuts("no line feeds") == [])
    }

    @Test func aLongTextEncodesAsItsParts() throws {
        let tokenizer = try GPT2Fixture.tokenizerJSON()
        let line = try GPT2Fixture.text()
        let text = String(repeating: line, count: BPETokenizer.parallelThreshold / line.utf8.count + 2)
        #expect(text.utf8.count >= BPETokenizer.parallelThreshold)
        let single = tokenizer.encodeDocuments([text], threads: 1, chunkBytes: .max, progress: nil)[0]
        #expect(try tokenizer.encode(text) == single)
    }

    @Test func progressEndsWithEveryByte() throws {
        let tokenizer = try GPT2Fixture.tokenizerJSON()
        let documents = try Self.documents()
        let reports = ProgressLog()
        _ = tokenizer.encodeDocuments(documents, threads: 2, chunkBytes: 64) { reports.append($0) }
        let total = documents.reduce(0) { $0 + $1.utf8.count }
        let last = try #require(reports.last)
        #expect(last.bytesDone == total && last.bytesTotal == total)
        #expect(last.description.contains("(100%)"))
    }

    @Test func charAndByteTokenizersUseTheDefault() throws {
        let documents = ["abc", "", "cab\n"]
        let char = CharTokenizer(corpus: "abc\n")
        #expect(try char.encodeDocuments(documents) == (try documents.map { try char.encode($0) }))
        #expect(try ByteTokenizer().encodeDocuments(documents, threads: 2, progress: nil) == documents.map { $0.utf8.map { Int32($0) } })
    }
}

/// Progress reports gathered from the encoding threads.
final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var reports: [EncodingProgress] = []
    func append(_ report: EncodingProgress) { lock.lock(); reports.append(report); lock.unlock() }
    var last: EncodingProgress? { lock.lock(); defer { lock.unlock() }; return reports.last }
}
