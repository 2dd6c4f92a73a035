import Testing
@testable import Tokenizers

@Suite struct ByteTokenizerTests {
    @Test func idsAreTheUTF8Bytes() throws {
        let tokenizer = ByteTokenizer()
        #expect(tokenizer.vocabularySize == 256)
        #expect(try tokenizer.encode("aé\n") == [97, 0xC3, 0xA9, 10])
        #expect(try tokenizer.encode("") == [])
        #expect(try tokenizer.decode([0xF0, 0x9F, 0x98, 0x80]) == "😀")
    }

    @Test func roundTripsArbitraryValidUTF8() throws {
        let tokenizer = ByteTokenizer()
        var generator = SeededGenerator(seed: 11)
        for _ in 0..<50 {
            let text = randomText(length: 200, generator: &generator)
            let ids = try tokenizer.encode(text)
            #expect(ids.count == text.utf8.count)
            #expect(Array(try tokenizer.decode(ids).unicodeScalars) == Array(text.unicodeScalars))
        }
    }

    @Test func invalidUTF8DecodesWithReplacementCharacters() throws {
        // A character cut in the middle (as sampling can produce) must not throw.
        #expect(try ByteTokenizer().decode([0x61, 0xE4, 0xB8]) == "a\u{FFFD}")
    }

    @Test func idsOutsideTheBytesThrow() {
        #expect(tokenizerError { _ = try ByteTokenizer().decode([65, 256]) } == .unknownTokenID(256, position: 1, vocabularySize: 256))
    }
}
