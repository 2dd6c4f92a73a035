import Foundation
import Testing
import Models
@testable import Store
import Tokenizers

/// A GPT-2-style byte-level BPE with `<|endoftext|>` as added token 256.
func endOfTextTokenizer() throws -> BPETokenizer {
    var vocabulary: [String: Int32] = [:]
    for byte in 0 ..< 256 { vocabulary[String(ByteLevelMapping.characterForByte[byte])] = Int32(byte) }
    return try BPETokenizer(vocabulary: vocabulary, merges: [], addedTokens: [AddedToken(id: 256, content: "<|endoftext|>")])
}

@Suite("Corpus token cache")
struct CorpusCacheTests {
    static func jsonl(_ texts: [String], in directory: TemporaryDirectory, name: String = "c.jsonl") throws -> CorpusSource {
        let lines = try texts.map { String(decoding: try JSONSerialization.data(withJSONObject: ["text": $0]), as: UTF8.self) }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: directory.file(name))
        return CorpusSource(spec: .jsonl(directory.file(name).path, compressed: false), options: CorpusOptions())
    }

    @Test func documentsAreJoinedWithEndOfTextOrANewline() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var source = try Self.jsonl(["ab", "c", "de"], in: directory)
        source.options.validation = try Self.jsonl(["xy", "z"], in: directory, name: "v.jsonl").spec
        let tokenizer = try endOfTextTokenizer()
        #expect(tokenizer.endOfTextID == 256 && ByteTokenizer().endOfTextID == nil)
        let root = directory.file("cache")
        let withEnd = try CorpusCache.tokenize(source, name: "c", tokenizer: tokenizer, cacheRoot: root) { _ in }
        #expect(withEnd.train.all == [97, 98, 256, 99, 256, 100, 101] && withEnd.validation.all == [120, 121, 256, 122])
        #expect(withEnd.manifest.train.documents == 3 && withEnd.manifest.validation.documents == 2)
        #expect(withEnd.manifest.cut == .separate && withEnd.manifest.dtype == .uint16 && withEnd.manifest.endOfTextID == 256)
        let bytes = try CorpusCache.tokenize(source, name: "c", tokenizer: ByteTokenizer(), cacheRoot: root) { _ in }
        #expect(bytes.train.all == [97, 98, 10, 99, 10, 100, 101])
        let file = withEnd.directory.appendingPathComponent(withEnd.manifest.train.file)
        #expect(try Data(contentsOf: file) == Data([97, 0, 98, 0, 0, 1, 99, 0, 0, 1, 100, 0, 101, 0]))  // little-endian uint16
    }

    @Test func theCacheIsReusedRebuiltOnChangeAndOnDamage() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = try Self.jsonl((0 ..< 40).map { "document number \($0)" }, in: directory)
        let root = directory.file("cache")
        var messages: [String] = []
        let first = try CorpusCache.tokenize(source, name: "c", tokenizer: ByteTokenizer(), cacheRoot: root) { messages.append($0) }
        #expect(!first.reused)
        let second = try CorpusCache.tokenize(source, name: "c", tokenizer: ByteTokenizer(), cacheRoot: root) { messages.append($0) }
        #expect(second.reused && second.train.all == first.train.all && second.validation.all == first.validation.all)
        #expect(second.manifest.sources[0].sha256 == sha256Hex(Array(try Data(contentsOf: directory.file("c.jsonl")))))

        // Another tokenizer: another cache folder, tokenized anew.
        let other = try CorpusCache.tokenize(source, name: "c", tokenizer: try endOfTextTokenizer(), cacheRoot: root) { _ in }
        #expect(!other.reused && other.directory != first.directory && other.manifest.tokenizerSHA256 != first.manifest.tokenizerSHA256)

        // The same bytes with a new mtime: hashed, found equal, reused.
        let url = directory.file("c.jsonl")
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 100)], ofItemAtPath: url.path)
        #expect(try CorpusCache.tokenize(source, name: "c", tokenizer: ByteTokenizer(), cacheRoot: root) { _ in }.reused)

        // Changed content: rebuilt, with the reason.
        _ = try Self.jsonl((0 ..< 40).map { "document number \($0)!" }, in: directory)
        messages = []
        let changed = try CorpusCache.tokenize(source, name: "c", tokenizer: ByteTokenizer(), cacheRoot: root) { messages.append($0) }
        #expect(!changed.reused && changed.train.count > first.train.count)
        #expect(messages.contains { $0.contains("changed") })

        // A split file of the wrong length, then a manifest that is not one: rebuilt, never trusted. (The test
        // truncates the mapped file in place; a rebuild renames new files in, so old mappings stay valid.)
        let expected = changed.train.all
        let split = changed.directory.appendingPathComponent(changed.manifest.train.file)
        try Data([1, 2, 3]).write(to: split)
        messages = []
        let repaired = try CorpusCache.tokenize(source, name: "c", tokenizer: ByteTokenizer(), cacheRoot: root) { messages.append($0) }
        #expect(!repaired.reused && repaired.train.all == expected && messages.contains { $0.contains("damaged") })
        try Data("{\"format\": 1".utf8).write(to: changed.directory.appendingPathComponent(CorpusCache.manifestFileName))
        let again = try CorpusCache.tokenize(source, name: "c", tokenizer: ByteTokenizer(), cacheRoot: root) { _ in }
        #expect(!again.reused && again.train.all == expected)
    }

    @Test func mappedWindowsEqualInMemoryWindows() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let tokens = (0 ..< 5000).map { Int32(($0 * 7919) % 70_000) }
        for width in TokenWidth.allCases {
            let stored = width == .uint16 ? tokens.map { $0 % 65_536 } : tokens
            let writer = try TokenFileWriter(directory.file("t.\(width.fileExtension)"), width: width)
            try writer.append(stored)
            try writer.finish()
            let mapped = try TokenSequence.mapping(directory.file("t.\(width.fileExtension)"), width: width, expectedCount: stored.count)
            #expect(mapped.all == stored)
            let fromFile = try TokenWindows(sequence: mapped, context: 16, name: "mapped")
            let inMemory = try TokenWindows(tokens: stored, context: 16, name: "memory")
            var rngA = RNG(seed: 3), rngB = RNG(seed: 3)
            let a = try fromFile.randomBatch(batchSize: 4, rng: &rngA), b = try inMemory.randomBatch(batchSize: 4, rng: &rngB)
            #expect(a.inputs.values == b.inputs.values && a.targets.values == b.targets.values)
            let va = try fromFile.validationBatches(batchSize: 2, maximumBatches: 3)
            let vb = try inMemory.validationBatches(batchSize: 2, maximumBatches: 3)
            #expect(va.map(\.inputs.values) == vb.map(\.inputs.values) && va.map(\.targets.values) == vb.map(\.targets.values))
            #expect(throws: DataError.self) {
                _ = try TokenSequence.mapping(directory.file("t.\(width.fileExtension)"), width: width, expectedCount: stored.count + 1)
            }
        }
    }

    @Test func emptyAndUncuttableCorporaAreClearErrors() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try Data("\n\n".utf8).write(to: directory.file("empty.jsonl"))
        let empty = CorpusSource(spec: .jsonl(directory.file("empty.jsonl").path, compressed: false), options: CorpusOptions())
        let error = corpusError { _ = try CorpusCache.tokenize(empty, name: "e", tokenizer: ByteTokenizer(),
                                                               cacheRoot: directory.file("cache")) { _ in } }
        #expect(error?.reason.contains("the corpus is empty") == true, "\(String(describing: error))")
        let one = try Self.jsonl(["just one document"], in: directory)
        let cut = corpusError { _ = try CorpusCache.tokenize(one, name: "o", tokenizer: ByteTokenizer(),
                                                             cacheRoot: directory.file("cache")) { _ in } }
        #expect(cut?.reason.contains("cannot cut a validation split from 1 document") == true, "\(String(describing: cut))")
        let short = try CorpusCache.tokenize(try Self.jsonl([String](repeating: "ab", count: 20), in: directory, name: "s.jsonl"), name: "s",
                                             tokenizer: ByteTokenizer(), cacheRoot: directory.file("cache")) { _ in }
        #expect(throws: DataError.self) { _ = try TokenWindows(sequence: short.train, context: 128, name: "training split") }
        let missing = corpusError { _ = try CorpusFiles.list(.folder(directory.file("nowhere").path)) }
        #expect(missing?.reason.contains("not found as a folder") == true)
    }
}
