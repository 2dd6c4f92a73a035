import Testing
@testable import Tokenizers

@Suite struct CharTokenizerTests {
    @Test func vocabularyIsTheSortedDistinctScalars() {
        let tokenizer = CharTokenizer(corpus: "hello world\nhe")
        #expect(tokenizer.characters == ["\n", " ", "d", "e", "h", "l", "o", "r", "w"])
        #expect(tokenizer.vocabularySize == 9)
        #expect(tokenizer.kind == .character)
    }

    @Test func encodesOneIdPerScalarAndRoundTrips() throws {
        let tokenizer = CharTokenizer(corpus: "hello world\nhe")
        #expect(try tokenizer.encode("hold\n") == [4, 6, 5, 2, 0])
        #expect(try tokenizer.encode("") == [])
        for text in ["", "\n", "hello\n\nworld", "  ", "dwelled\n"] {
            #expect(try tokenizer.decode(tokenizer.encode(text)) == text)
        }
    }

    @Test func roundTripsOddUnicodeAsScalarsNotGraphemes() throws {
        // "e\u{301}" and "\r\n" are one Character each but two scalars: two tokens.
        let text = "e\u{301}\r\n😀\u{0}\u{FEFF}中\u{10FFFF}"
        let tokenizer = CharTokenizer(corpus: text)
        #expect(tokenizer.vocabularySize == 9)
        let ids = try tokenizer.encode(text)
        #expect(ids.count == text.unicodeScalars.count)
        #expect(Array(try tokenizer.decode(ids).unicodeScalars) == Array(text.unicodeScalars))
        // U+0300 and U+0340 are canonically equivalent but distinct tokens.
        let marks = CharTokenizer(corpus: "\u{300}\u{340}")
        #expect(marks.vocabularySize == 2)
        #expect(try marks.encode("\u{340}\u{300}") == [1, 0])
    }

    @Test func unknownCharacterThrowsWithItsPosition() {
        let tokenizer = CharTokenizer(corpus: "abc\n")
        let error = tokenizerError { _ = try tokenizer.encode("ab\ncaz") }
        #expect(error == .unknownCharacter("z", position: 5, line: 2, column: 3))
        #expect(error?.description.contains("'z' (U+007A) at position 5 (line 2, column 3)") == true)
        let control = tokenizerError { _ = try tokenizer.encode("\t") }
        #expect(control?.description.contains("U+0009 at position 0") == true)
    }

    @Test func decodingAnIdOutsideTheVocabularyThrows() {
        let tokenizer = CharTokenizer(corpus: "ab")
        #expect(tokenizerError { _ = try tokenizer.decode([0, 2]) } == .unknownTokenID(2, position: 1, vocabularySize: 2))
        #expect(tokenizerError { _ = try tokenizer.decode([-1]) } == .unknownTokenID(-1, position: 0, vocabularySize: 2))
    }

    @Test func repeatedCharactersAreRejected() {
        #expect(tokenizerError { _ = try CharTokenizer(characters: ["a", "b", "a"]) } != nil)
    }
}
