import Foundation
import Testing
@testable import Tokenizers

@Suite struct TokenizerFileTests {
    static let sampleText = "The quick brown fox's tale,\n\n  jumps över 42 lazy dogs!\r\n"

    static func allKinds() throws -> [any Tokenizer] {
        [CharTokenizer(corpus: sampleText), ByteTokenizer(),
         try BPETokenizer.train(text: String(repeating: sampleText, count: 5), vocabularySize: 300), try tinyTokenizer(addPrefixSpace: true)]
    }

    @Test func saveThenLoadGivesTheSameIdsKindAndBytes() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for (index, tokenizer) in try Self.allKinds().enumerated() {
            let url = directory.appendingPathComponent("tokenizer-\(index).json")
            try tokenizer.save(to: url)
            let loaded = try loadTokenizer(from: url)
            #expect(loaded.kind == tokenizer.kind)
            #expect(loaded.vocabularySize == tokenizer.vocabularySize)
            #expect(try loaded.encode(Self.sampleText) == tokenizer.encode(Self.sampleText))
            // The canonical bytes survive a load, so the fingerprint is stable.
            #expect(loaded.tokenizerJSONBytes() == [UInt8](try Data(contentsOf: url)))
            #expect(loaded.fingerprint() == sha256Hex([UInt8](try Data(contentsOf: url))))
            // Saving over an existing file replaces it and leaves no temporary file behind.
            try loaded.save(to: url)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).count == index + 1)
        }
    }

    @Test func fingerprintsDifferBetweenTokenizers() throws {
        let fingerprints = try Self.allKinds().map { $0.fingerprint() }
        #expect(Set(fingerprints).count == fingerprints.count)
        #expect(fingerprints.allSatisfy { $0.count == 64 && $0.allSatisfy(\.isHexDigit) })
    }

    @Test func layoutsAreTheHuggingFaceOnesWeDocument() throws {
        let char = CharTokenizer(corpus: "ab").tokenizerJSON()
        #expect(char["pre_tokenizer"] == .null)
        #expect(char["decoder"] == .object([("type", .string("Fuse"))]))
        #expect(char["model"]?["vocab"] == .object([("a", .integer(0)), ("b", .integer(1))]))
        let byte = ByteTokenizer().tokenizerJSON()
        #expect(byte["pre_tokenizer"]?["type"] == .string("ByteLevel"))
        #expect(byte["pre_tokenizer"]?["add_prefix_space"] == .bool(false))
        #expect(byte["model"]?["merges"] == .array([]))
        #expect(byte["model"]?["vocab"]?["Ġ"] == .integer(32))
        let bpe = try tinyTokenizer().tokenizerJSON()
        #expect(bpe["model"]?["merges"] == .array(tinyMerges.map { .string($0.0 + " " + $0.1) }))
        #expect(bpe["added_tokens"]?.typeDescription == "an array of 1 items")
    }

    /// A file as Hugging Face 0.23 writes it: merges as [left, right] arrays, an added token
    /// outside the model vocabulary, a ByteLevel post-processor, keys we do not write.
    @Test func readsHuggingFaceWrittenFiles() throws {
        var vocabularyText = (0..<256).map { byte in
            let key = String(decoding: JSONValue.string(String(ByteLevelMapping.characterForByte[byte])).serialized().dropLast(), as: UTF8.self)
            return "\(key): \(byte)"
        }
        vocabularyText += ["\"Ġt\": 256", "\"he\": 257", "\"Ġthe\": 258"]
        let json = """
        {"version": "1.0", "truncation": null, "padding": null,
         "added_tokens": [{"id": 259, "content": "<|pad|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
         "normalizer": null,
         "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
         "post_processor": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
         "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
         "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": "", "end_of_word_suffix": "",
                   "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                   "vocab": {\(vocabularyText.joined(separator: ", "))},
                   "merges": [["Ġ", "t"], ["h", "e"], ["Ġt", "he"]]}}
        """
        let tokenizer = try loadTokenizer(jsonBytes: Array(json.utf8))
        #expect(tokenizer.kind == .bytePairEncoding)
        #expect(tokenizer.vocabularySize == 260)
        #expect(try tokenizer.encode("the<|pad|> the") == [116, 257, 259, 258])
        #expect(try tokenizer.decode([116, 257, 259, 258]) == "the<|pad|> the")
        // Written back in our layout, it loads to the same tokenizer.
        let again = try loadTokenizer(jsonBytes: tokenizer.tokenizerJSONBytes())
        #expect(try again.encode("the<|pad|> the") == [116, 257, 259, 258])
        #expect(again.tokenizerJSON()["post_processor"]?["trim_offsets"] == .bool(false))
    }

    /// Each bad file names the file and the field.
    @Test(arguments: [
        ("{\"model\": ", "invalid JSON at byte"),
        ("[1]", "found an array of 1 items, expected an object"),
        ("{\"model\": {\"type\": \"WordLevel\", \"vocab\": {}, \"unk_token\": \"?\"}}", "field model.type: found the string \"WordLevel\", expected \"BPE\""),
        ("{\"modle\": {}}", "field modle"),
        ("{\"normalizer\": {\"type\": \"NFC\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}", "field normalizer"),
        ("{\"decoder\": {\"type\": \"Fuse\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {\"ab\": 0}, \"merges\": []}}", "model.vocab[\"ab\"]"),
        ("{\"decoder\": {\"type\": \"Fuse\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 5}, \"merges\": []}}", "distinct ids 0..<2"),
        ("{\"decoder\": null, \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}", "field decoder: found null"),
        ("{\"decoder\": {\"type\": \"Fuse\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": -1}, \"merges\": []}}", "an integer id ≥ 0"),
        ("{\"decoder\": {\"type\": \"Fuse\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a\"]}}", "model.merges[0]"),
        ("{\"decoder\": {\"type\": \"Fuse\"}, \"model\": {\"type\": \"BPE\", \"dropout\": 0.1, \"vocab\": {}, \"merges\": []}}", "model.dropout"),
        ("{\"pre_tokenizer\": {\"type\": \"Whitespace\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}", "pre_tokenizer.type"),
        ("{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"decoder\": {\"type\": \"ByteLevel\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}", "no entry for byte 0"),
        ("{\"added_tokens\": [{\"id\": 0, \"content\": \"x\", \"lstrip\": true}], \"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}", "added_tokens[0].lstrip"),
    ])
    func badFilesGiveClearErrors(json: String, expectedFragment: String) {
        let error = tokenizerError { _ = try loadTokenizer(jsonBytes: Array(json.utf8), fileName: "bad.json") }
        #expect(error != nil)
        let message = error?.description ?? ""
        #expect(message.hasPrefix("bad.json: "), "\(message)")
        #expect(message.contains(expectedFragment), "\(message)")
    }

    @Test func badMergeInAByteLevelFileNamesTheMerge() throws {
        var document = try tinyTokenizer().tokenizerJSON()
        guard case var .object(root) = document, case var .object(model) = root[8].1 else { Issue.record("layout"); return }
        model[9] = ("merges", .array([.string("Ġ t"), .string("q zz")]))
        root[8] = ("model", .object(model))
        document = .object(root)
        let error = tokenizerError { _ = try loadTokenizer(jsonBytes: document.serialized(), fileName: "t.json") }
        #expect(error?.description.contains("t.json: field model.merges[1]: found \"q zz\" with \"zz\" not in model.vocab") == true)
    }

    @Test func missingFileIsAFileSystemError() {
        let url = URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString)/tokenizer.json")
        guard case .fileSystem(let file, _)? = tokenizerError({ _ = try loadTokenizer(from: url) }) else {
            Issue.record("expected a file-system error"); return
        }
        #expect(file == url.path)
    }

    @Test func tokenIdsFileChunksByLines() throws {
        #expect(TokenIDsFile.chunks(of: "a\nb\nc", linesPerChunk: 2) == ["a\nb\n", "c"])
        #expect(TokenIDsFile.chunks(of: "a\nb\n", linesPerChunk: 1) == ["a\n", "b\n"])
        #expect(TokenIDsFile.chunks(of: "a\nb", linesPerChunk: 0) == ["a\nb"])
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("ids.jsonl")
        try TokenIDsFile.write(text: "ab\nc", tokenizer: ByteTokenizer(), linesPerChunk: 1, to: url)
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0].contains("\"tokenizer_sha256\": \"\(ByteTokenizer().fingerprint())\""))
        #expect(lines[1] == "[97,98,10]" && lines[2] == "[99]")
    }
}
