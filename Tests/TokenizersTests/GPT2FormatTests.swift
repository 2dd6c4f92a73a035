// Hugging Face's GPT-2 tokenizer files: the fixture in Tests/Fixtures/gpt2-tokenizer was trained
// and saved by `tokenizers`/transformers (scripts/make_gpt2_tokenizer_fixture.py, versions in
// ids.json); ids.json holds HF's ids for text.txt.

import Foundation
import Testing
@testable import Tokenizers

enum GPT2Fixture {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/gpt2-tokenizer")

    static func text() throws -> String {
        try String(contentsOf: folder.appendingPathComponent("text.txt"), encoding: .utf8)
    }

    /// HF's ids for text.txt, and the end-of-text id the script recorded.
    static func reference() throws -> (ids: [Int32], endOfText: Int32, vocabularySize: Int) {
        let document = try parseJSON([UInt8](try Data(contentsOf: folder.appendingPathComponent("ids.json"))))
        guard case let .array(items)? = document["ids"], let endOfText = document["end_of_text_id"]?.integerValue,
              let size = document["vocab_size"]?.integerValue else { throw TokenizerError.invalidTraining("bad ids.json") }
        return (items.compactMap { $0.integerValue.map(Int32.init) }, Int32(endOfText), size)
    }

    static func tokenizerJSON() throws -> BPETokenizer {
        try #require(try loadTokenizer(from: folder.appendingPathComponent("tokenizer.json")) as? BPETokenizer)
    }

    static func vocabularyAndMerges() throws -> BPETokenizer {
        try GPT2VocabularyFiles.load(vocabulary: folder.appendingPathComponent("vocab.json"),
                                     merges: folder.appendingPathComponent("merges.txt"))
    }
}

@Suite struct GPT2FormatTests {
    @Test func tokenizerJSONFromHuggingFaceEncodesLikeHuggingFace() throws {
        let tokenizer = try GPT2Fixture.tokenizerJSON()
        let reference = try GPT2Fixture.reference()
        let text = try GPT2Fixture.text()
        #expect(tokenizer.vocabularySize == reference.vocabularySize)
        #expect(tokenizer.endOfTextID == reference.endOfText)
        let ids = try tokenizer.encode(text)
        #expect(ids.count == reference.ids.count)
        #expect(ids == reference.ids)
        #expect(ids.filter { $0 == reference.endOfText }.count == 5)
        #expect(try tokenizer.decode(ids) == text)
    }

    @Test func vocabularyAndMergesEncodeAsTokenizerJSONDoes() throws {
        let pair = try GPT2Fixture.vocabularyAndMerges()
        let json = try GPT2Fixture.tokenizerJSON()
        let text = try GPT2Fixture.text()
        #expect(try pair.encode(text) == (try GPT2Fixture.reference().ids))
        #expect(pair.endOfTextID == json.endOfTextID)
        #expect(pair.vocabularySize == json.vocabularySize)
        // Same vocabulary, merges, added token and settings: the same canonical file and hash.
        #expect(pair.fingerprint() == json.fingerprint())
    }

    @Test func aFolderWithOnlyThePairLoads() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for name in ["vocab.json", "merges.txt"] {
            try FileManager.default.copyItem(at: GPT2Fixture.folder.appendingPathComponent(name), to: directory.appendingPathComponent(name))
        }
        let tokenizer = try GPT2VocabularyFiles.loadTokenizer(inDirectory: directory)
        #expect(try tokenizer.encode(try GPT2Fixture.text()) == (try GPT2Fixture.reference().ids))
        try FileManager.default.removeItem(at: directory.appendingPathComponent("merges.txt"))
        let error = tokenizerError { _ = try GPT2VocabularyFiles.loadTokenizer(inDirectory: directory) }
        #expect(error?.description.contains("no tokenizer.json, and no vocab.json + merges.txt pair") == true)
    }

    @Test func writtenPairReadsBackToTheSameTokenizer() throws {
        let tokenizer = try GPT2Fixture.tokenizerJSON()
        let (vocabulary, merges) = tokenizer.gpt2VocabularyFiles()
        #expect(merges.starts(with: Array("#version: 0.2\nĠ t\n".utf8)))
        let back = try GPT2VocabularyFiles.load(vocabularyJSON: vocabulary, merges: merges)
        #expect(back.fingerprint() == tokenizer.fingerprint())
    }

    @Test(arguments: [
        ("#version: 0.2\nĠ t\nh  e\n", "merges.txt: field line 3: found \"h  e\""),
        ("Ġ t\nhe\n", "merges.txt: field line 2: found \"he\""),
        ("#version: 0.2\nĠ t\n\nh e\n", "merges.txt: field line 3: found \"\""),
        ("Ġ zq\n", "with \"zq\" not in vocab.json"),
    ])
    func badMergesNameTheLine(merges: String, message: String) throws {
        let vocabulary = [UInt8](try Data(contentsOf: GPT2Fixture.folder.appendingPathComponent("vocab.json")))
        let error = tokenizerError { _ = try GPT2VocabularyFiles.load(vocabularyJSON: vocabulary, merges: Array(merges.utf8)) }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }

    @Test(arguments: [
        ("[1, 2]", "vocab.json: field (top level): found an array of 2 items, expected an object of token → id"),
        ("{\"a\": -1}", "vocab.json: field \"a\": found the number -1, expected an integer id ≥ 0"),
        ("{\"a\": 0", "vocab.json: "),
        ("{\"a\": 0}", "no entry for byte 0"),
    ])
    func badVocabularyIsAnError(vocabulary: String, message: String) {
        let error = tokenizerError { _ = try GPT2VocabularyFiles.load(vocabularyJSON: Array(vocabulary.utf8), merges: []) }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }

    @Test func endOfTextIsOnlyOnTokenizersThatHaveIt() throws {
        #expect(try tinyTokenizer().endOfTextID == 262)
        #expect(try BPETokenizer.train(text: "the thing", vocabularySize: 258).endOfTextID == nil)
        #expect(ByteTokenizer().endOfTextID == nil)
        #expect(CharTokenizer(corpus: "abc").endOfTextID == nil)
    }
}

@Suite struct PostProcessorTests {
    /// The fixture with its post-processor replaced (transformers 5 writes this one for GPT2Tokenizer).
    static func fixture(postProcessor: String) throws -> [UInt8] {
        let bytes = [UInt8](try Data(contentsOf: GPT2Fixture.folder.appendingPathComponent("tokenizer.json")))
        guard case let .object(pairs) = try parseJSON(bytes) else { throw TokenizerError.invalidTraining("bad fixture") }
        let replacement = try parseJSON(Array(postProcessor.utf8))
        return JSONValue.object(pairs.map { $0.0 == "post_processor" ? ($0.0, replacement) : $0 }).serialized()
    }

    @Test func aTemplateThatAddsNothingIsAccepted() throws {
        let template = #"{"type": "TemplateProcessing", "single": [{"Sequence": {"id": "A", "type_id": 0}}], "#
            + #""pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}], "special_tokens": {}}"#
        let tokenizer = try loadTokenizer(jsonBytes: try Self.fixture(postProcessor: template))
        #expect(try tokenizer.encode(try GPT2Fixture.text()) == (try GPT2Fixture.reference().ids))
    }

    @Test func aTemplateThatAddsATokenIsRefused() throws {
        let template = #"{"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}, "#
            + #"{"Sequence": {"id": "A", "type_id": 0}}], "pair": [], "special_tokens": {}}"#
        let bytes = try Self.fixture(postProcessor: template)
        let error = tokenizerError { _ = try loadTokenizer(jsonBytes: bytes) }
        #expect(error?.description.contains("field post_processor.single: found an array of 2 items") == true,
                "\(String(describing: error))")
    }
}

/// The fingerprint hashed while a file is read is the one the loaded tokenizer gives: the canonical
/// document built from what was read equals the one the tokenizer writes back.
@Suite struct ConcurrentFingerprintTests {
    @Test(arguments: ["Fixtures/gpt2-tokenizer/tokenizer.json", "Fixtures/hf-gpt2-tiny/tokenizer.json"])
    func hashedWhileReadingEqualsTheTokenizers(path: String) throws {
        let url = GPT2Fixture.folder.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(path)
        let (tokenizer, fingerprint) = try loadTokenizerAndFingerprint(from: url)
        #expect(tokenizer is BPETokenizer)
        #expect(fingerprint == tokenizer.fingerprint())
        #expect(fingerprint == (try loadTokenizer(from: url)).fingerprint())
    }

    @Test func trainedAndSavedTokenizer() throws {
        let trained = try BPETokenizer.train(text: String(repeating: "the cat sat on the mat, naïve café ", count: 40),
                                             vocabularySize: 300)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("fingerprint-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try trained.save(to: url)
        let (_, fingerprint) = try loadTokenizerAndFingerprint(from: url)
        #expect(fingerprint == trained.fingerprint())
    }

    @Test func aBadFileIsStillAnError() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("fingerprint-bad-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: url) }
        var text = try String(contentsOf: GPT2Fixture.folder.appendingPathComponent("tokenizer.json"), encoding: .utf8)
        text = text.replacingOccurrences(of: "\"Ġ\": ", with: "\"Ġx-not-a-byte\": ")
        try text.write(to: url, atomically: true, encoding: .utf8)
        #expect(throws: TokenizerError.self) { _ = try loadTokenizerAndFingerprint(from: url) }
    }
}
