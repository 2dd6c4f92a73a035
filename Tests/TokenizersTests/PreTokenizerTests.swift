import Testing
@testable import Tokenizers

@Suite struct PreTokenizerTests {
    /// Each expected split is what Hugging Face `tokenizers` 0.23.3 gives with GPT-2's pattern.
    @Test(arguments: [
        ("Hello world", ["Hello", " world"]),
        ("I'm here, they're 've", ["I", "'m", " here", ",", " they", "'re", " '", "ve"]),
        ("  a", [" ", " a"]),
        ("a  \n\n b", ["a", "  \n\n", " b"]),
        ("x\u{A0}y", ["x", "\u{A0}", "y"]),
        ("123abc 456", ["123", "abc", " 456"]),
        ("'s's'S", ["'s", "'s", "'", "S"]),
        ("trailing  ", ["trailing", "  "]),
        ("中文 テスト", ["中文", " テスト"]),
        ("e\u{301}", ["e", "\u{301}"]),
        ("👋🏽 hi!!", ["👋🏽", " hi", "!!"]),
        ("", []),
        ("\r\n\r\nNext", ["\r\n\r", "\n", "Next"]),
        ("a\t b", ["a", "\t", " b"]),
        ("don't  'll", ["don", "'t", " ", " '", "ll"]),
        ("Ⅻ½ ٣", ["Ⅻ½", " ٣"]),
    ])
    func splitsLikeGPT2(text: String, expected: [String]) {
        // Compare scalars: String == would accept canonically equivalent pieces.
        #expect(GPT2PreTokenizer.split(text).map { Array($0.unicodeScalars) } == expected.map { Array($0.unicodeScalars) })
    }

    @Test func piecesCoverTheTextExactly() {
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<20 {
            let text = randomText(length: 300, generator: &generator)
            let bytes = Array(text.utf8)
            let ranges = GPT2PreTokenizer.pieceRanges(bytes)
            #expect(ranges.allSatisfy { !$0.isEmpty })
            #expect(ranges.first?.lowerBound ?? 0 == 0 && ranges.last?.upperBound ?? 0 == bytes.count)
            #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        }
    }

    @Test func lettersNewerThanHuggingFaceUnicodeAreOther() {
        // U+0C5C (Telugu, Unicode 17.0) is unassigned to HF's Unicode 16 regex engine.
        #expect(GPT2PreTokenizer.split("a\u{0C5C}b") == ["a", "\u{0C5C}", "b"])
        #expect(GPT2PreTokenizer.classify("a") == .letter)
        #expect(GPT2PreTokenizer.classify("\u{3000}") == .whitespace)
    }
}
