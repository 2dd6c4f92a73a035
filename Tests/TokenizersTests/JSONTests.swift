import Testing
@testable import Tokenizers

@Suite struct JSONTests {
    @Test func parsesAndKeepsKeyOrder() throws {
        let value = try parseJSON(Array(#"{"b": [1, -2.5e3, true, null], "a": "x\ny\u00e9\ud83d\ude00"}"#.utf8))
        guard case let .object(pairs) = value else { Issue.record("not an object"); return }
        #expect(pairs.map(\.0) == ["b", "a"])
        #expect(value["b"] == .array([.number("1"), .number("-2.5e3"), .bool(true), .null]))
        #expect(value["a"] == .string("x\nyé😀"))
    }

    @Test func serializedTextParsesBackToTheSameValue() throws {
        let value = JSONValue.object([
            ("control", .string("\u{0}\u{1F}\u{7F}\"\\\t\r\n/")), ("unicode", .string("é中😀\u{301}")),
            ("list", .array([.integer(3), .string("a b")])), ("nested", .object([("empty", .array([])), ("obj", .object([]))])),
        ])
        let bytes = value.serialized()
        #expect(try parseJSON(bytes) == value)
        #expect(value.serialized() == bytes)  // deterministic
    }

    @Test func duplicateKeysCompareByBytesNotCanonicalEquivalence() throws {
        // U+0300 and U+0340 are canonically equivalent, so Swift's == calls them equal; as
        // tokenizer.json keys they are different tokens and must both survive.
        let value = try parseJSON(Array("{\"\u{300}\": 1, \"\u{340}\": 2}".utf8))
        guard case let .object(pairs) = value else { Issue.record("not an object"); return }
        #expect(pairs.count == 2)
        #expect(throws: JSONSyntaxError.self) { try parseJSON(Array(#"{"a": 1, "a": 2}"#.utf8)) }
    }

    @Test(arguments: [#"{"a": 1"#, #"{"a" 1}"#, "[1, 2,]", "01", "\"\\x\"", "\"\\ud800\"", "[1] 2", "", "{\"a\": tru}", "\"a\u{1}\""])
    func rejectsMalformedInput(text: String) {
        #expect(throws: JSONSyntaxError.self) { try parseJSON(Array(text.utf8)) }
    }

    @Test func errorReportsTheByteOffset() {
        do {
            _ = try parseJSON(Array(#"{"a": [1, 2 x]}"#.utf8))
            Issue.record("expected an error")
        } catch {
            #expect(error.offset == 12)
            #expect(error.description.contains("byte 12"))
        }
    }

    @Test func rejectsInvalidUTF8InsideStrings() {
        #expect(throws: JSONSyntaxError.self) { try parseJSON([0x22, 0xFF, 0x22]) }
    }
}
