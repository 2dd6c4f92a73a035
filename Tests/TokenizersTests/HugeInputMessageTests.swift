import Foundation
import Testing
@testable import Tokenizers

/// A token of 10 MB: every error about it must quote a short excerpt, and fast.
private let hugeToken = String(repeating: "x", count: 10_000_000)

/// A character-level tokenizer.json (no pre-tokenizer, Fuse decoder) around `vocab`.
private func characterFile(vocab: String, merges: String = "[]") -> [UInt8] {
    Array(("{\"version\": \"1.0\", \"truncation\": null, \"padding\": null, \"added_tokens\": [], \"normalizer\": null, "
        + "\"pre_tokenizer\": null, \"post_processor\": null, \"decoder\": {\"type\": \"Fuse\"}, "
        + "\"model\": {\"type\": \"BPE\", \"vocab\": {\(vocab)}, \"merges\": \(merges)}}").utf8)
}

/// A byte-level BPE tokenizer.json: the 256 byte stand-ins, then `extraVocab` and `merges`.
private func byteLevelFile(extraVocab: String = "", merges: String = "[]") -> [UInt8] {
    let bytes = ByteLevelMapping.characterForByte.enumerated()
        .map { "\(SafeJSON.string(String($0.element))): \($0.offset)" }.joined(separator: ", ")
    let vocab = bytes + (extraVocab.isEmpty ? "" : ", " + extraVocab)
    let byteLevel = "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true}"
    return Array(("{\"version\": \"1.0\", \"added_tokens\": [], \"pre_tokenizer\": \(byteLevel), \"decoder\": \(byteLevel), "
        + "\"model\": {\"type\": \"BPE\", \"vocab\": {\(vocab)}, \"merges\": \(merges)}}").utf8)
}

private enum SafeJSON {
    static func string(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case let control where control.value < 0x20 || control.value == 0x7F:
                result += String(format: "\\u%04x", control.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}

/// The message of the error `bytes` give, and how long reading them took.
private func failure(_ bytes: [UInt8]) throws -> (message: String, seconds: Double) {
    let start = Date()
    do {
        _ = try loadTokenizer(jsonBytes: bytes, fileName: "tokenizer.json")
    } catch {
        return ("\(error)", Date().timeIntervalSince(start))
    }
    Issue.record("the file was accepted")
    return ("", Date().timeIntervalSince(start))
}

@Suite("Errors quote at most a short excerpt of any input") struct HugeInputMessageTests {
    @Test("Excerpt.quote cuts after the limit, escapes controls, and says how long the whole was")
    func excerpt() {
        #expect(Excerpt.quote("a\"b\n\u{1}") == #""a\"b\n\u{1}""#)
        #expect(Excerpt.quote(String(repeating: "é", count: 300), limit: 3) == "\"ééé…\" (600 bytes)")
        #expect(Excerpt.quote("abc", limit: 3) == "\"abc\"")
        #expect(Excerpt.clip("abcd", limit: 3) == "abc… (4 bytes)")
        #expect(Excerpt.quote(bytes: [0x61, 0xFF, 0x62]) == "\"a\u{FFFD}b\"")
        let token = hugeToken  // built before the clock starts
        let start = Date()
        let quoted = Excerpt.quote(token)
        #expect(Date().timeIntervalSince(start) < 0.05)
        #expect(quoted.count < 240 && quoted.hasSuffix("…\" (10000000 bytes)"))
    }

    @Test("a 10 MB token in a bad place gives a short error in well under a second",
          arguments: ["character vocab entry", "unknown key", "duplicate key", "merge of an unknown token",
                      "merge result", "added token", "unknown model type"])
    func tokenInABadPlace(place: String) throws {
        let token = SafeJSON.string(hugeToken)
        let bytes: [UInt8] = switch place {
        case "character vocab entry": characterFile(vocab: "\(token): 0")
        case "unknown key": Array("{\(token): 1}".utf8)
        case "duplicate key": characterFile(vocab: "\(token): 0, \(token): 1")
        case "merge of an unknown token": byteLevelFile(merges: "[\"\(hugeToken) a\"]")
        case "merge result": byteLevelFile(extraVocab: "\(token): 256", merges: "[[\(token), \"a\"]]")
        case "added token":
            Array(String(decoding: byteLevelFile(), as: UTF8.self)
                .replacingOccurrences(of: "\"added_tokens\": []",
                                      with: "\"added_tokens\": [{\"id\": 0, \"content\": \(token)}]").utf8)
        default: characterFile(vocab: "\"a\": 0").replacing(Array("\"BPE\"".utf8), with: Array(token.utf8))
        }
        let (message, seconds) = try failure(bytes)
        #expect(seconds < 1, "took \(seconds) s")
        #expect(message.utf8.count < 1024, "message of \(message.utf8.count) bytes: \(message.prefix(300))")
        #expect(message.contains("tokenizer.json"))
    }
}
