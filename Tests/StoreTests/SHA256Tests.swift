import Foundation
import Testing
@testable import Store

@Suite("SHA-256")
struct SHA256Tests {
    // Reference digests from Python's hashlib, covering the padding edge cases (55, 56, 64 bytes).
    @Test(arguments: [
        ([UInt8](), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (Array("abc".utf8), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ([UInt8](repeating: 0x61, count: 55), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"),
        (Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8),
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ([UInt8](repeating: 0x61, count: 64), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"),
        ((0 ..< 1000).map { UInt8($0 % 251) }, "4e4c294b331f7a2099a379bec34b9f9fc03dc46ab465d998f4d683da53487e6d"),
    ])
    func knownDigests(message: [UInt8], expected: String) {
        #expect(SHA256.hexDigest(of: Data(message)) == expected)
    }

    @Test func sliceOfLargerDataHashesLikeACopy() {
        let whole = Data((0 ..< 300).map { UInt8($0 % 256) })
        let slice = whole[100 ..< 250]
        #expect(SHA256.hexDigest(of: slice) == SHA256.hexDigest(of: Data(Array(slice))))
    }
}

@Suite("Strict JSON")
struct StrictJSONTests {
    @Test func keepsDuplicateKeysInOrder() throws {
        let value = try StrictJSONParser.parse(Array(#"{"a":1,"b":[true,null],"a":"x"}"#.utf8))
        #expect(value == .object([.init(key: "a", value: .number("1")),
                                  .init(key: "b", value: .array([.bool(true), .null])),
                                  .init(key: "a", value: .string("x"))]))
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let value = try StrictJSONParser.parse(Array(#"  "q\"\\\/\n\u00e9\ud83d\ude00"  "#.utf8))
        #expect(value == .string("q\"\\/\né😀"))
    }

    @Test(arguments: [#"{"a":}"#, #"{"a":1,}"#, #"[1 2]"#, #""unterminated"#, "01", #"{"a":1} x"#, "\"\u{01}\""])
    func rejectsMalformedText(_ text: String) {
        #expect(throws: StrictJSONError.self) { try StrictJSONParser.parse(Array(text.utf8)) }
    }

    @Test func writerEscapesLikeSerdeJSON() {
        #expect(SafeTensors.jsonString("a\"b\\c\n\u{01}é") == #""a\"b\\c\n\u0001é""#)
    }
}
