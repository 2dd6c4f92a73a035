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

    @Test(arguments: [#"{"a": 1"#, #"{"a" 1}"#, "[1, 2,]", "01", "\"\\x\"", "\"\\ud800\"", "[1] 2", "", "{\"a\": tru}", "\"a\u{1}\"",
                      #"{"a":}"#, #"{"a":1,}"#, "[1 2]", #""unterminated"#, #"{"a":1} x"#, "-", "1.", "1e+", "-01"])
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

    @Test func keepsRepeatedKeysInFileOrderWhenAsked() throws {
        let text = Array(#"{"a":1,"b":[true,null],"a":"x"}"#.utf8)
        let value = try parseJSON(text, keepingDuplicateKeys: true)
        #expect(value == .object([("a", .number("1")), ("b", .array([.bool(true), .null])), ("a", .string("x"))]))
        #expect(value["a"] == .number("1"))
        #expect(throws: JSONSyntaxError.self) { try parseJSON(text) }
    }

    @Test func decodesEveryEscapeAndASurrogatePair() throws {
        let value = try parseJSON(Array(#"  "q\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"  "#.utf8))
        #expect(value == .string("q\"\\/\u{8}\u{C}\n\r\té😀"))
    }

    /// Numbers keep their text, so integers beyond 2^53 are exact and beyond 64 bits are not integers.
    @Test func numbersKeepTheirText() throws {
        let value = try parseJSON(Array("[9007199254740993, 18446744073709551616, -0, 1.50, 2E+3]".utf8))
        #expect(value == .array(["9007199254740993", "18446744073709551616", "-0", "1.50", "2E+3"].map { .number($0) }))
        guard case let .array(items) = value else { Issue.record("not an array"); return }
        #expect(items.map(\.integerValue) == [9_007_199_254_740_993, nil, 0, nil, nil])
    }

    @Test func unterminatedContainersSaySo() {
        func reason(_ text: String) -> String? {
            do { _ = try parseJSON(Array(text.utf8)); return nil } catch { return error.reason }
        }
        #expect(reason(#"{"a": {"b": 1"#) == "unterminated object")
        #expect(reason("[1, [2") == "unterminated array")
    }

    /// `maximumDepth` counts nested arrays and objects (not the scalars inside them).
    @Test func nestingLimit() throws {
        func nested(_ levels: Int) -> [UInt8] {
            Array((String(repeating: "[", count: levels - 1) + #"{"k":1}"# + String(repeating: "]", count: levels - 1)).utf8)
        }
        _ = try parseJSON(nested(64), maximumDepth: 64)
        do {
            _ = try parseJSON(nested(65), maximumDepth: 64)
            Issue.record("expected an error")
        } catch {
            #expect(error.offset == 64)
            #expect(error.reason == "nesting deeper than 64 levels")
        }
        _ = try parseJSON(nested(512))
        #expect(throws: JSONSyntaxError.self) { try parseJSON(nested(513)) }
    }
}
