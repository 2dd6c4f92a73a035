import Testing
@testable import Tokenizers

@Suite struct BPETokenizerTests {
    /// Expected ids come from Hugging Face `tokenizers` 0.23.3 on the same tiny tokenizer.json.
    @Test(arguments: [
        ("the thing in the ring<|endoftext|> then", [116, 257, 256, 104, 260, 32, 259, 258, 32, 114, 260, 262, 258, 110] as [Int32]),
        ("aaaaa", [261, 261, 97]),
        ("", []),
        ("the", [116, 257]),
        ("<|endoftext|>the<|endoftext|>", [262, 116, 257, 262]),
        ("  the\n\nthe  ", [32, 258, 10, 10, 116, 257, 32, 32]),
        ("é the", [195, 169, 258]),
    ])
    func tinyMergesTableGivesHuggingFaceIds(text: String, expected: [Int32]) throws {
        let tokenizer = try tinyTokenizer()
        #expect(try tokenizer.encode(text) == expected)
        #expect(try tokenizer.decode(expected) == text)
    }

    @Test(arguments: [
        ("the thing in the ring<|endoftext|> then", [258, 256, 104, 260, 32, 259, 258, 32, 114, 260, 262, 258, 110] as [Int32]),
        ("aaaaa", [32, 261, 261, 97]),
        ("", []),
        ("<|endoftext|>the<|endoftext|>", [262, 258, 262]),
        ("é the", [32, 195, 169, 258]),
    ])
    func addPrefixSpaceMatchesHuggingFace(text: String, expected: [Int32]) throws {
        #expect(try tinyTokenizer(addPrefixSpace: true).encode(text) == expected)
    }

    @Test func mergesPickLowestRankThenLeftmost() throws {
        let tokenizer = try tinyTokenizer()
        // " thing": "Ġ t" (rank 0) first, then "i n" (3), then "in g" (4); "t h" is no merge.
        #expect(try tokenizer.encode(" thing") == [256, 104, 260])
        // Overlapping "a a": the leftmost pair merges first.
        #expect(try tokenizer.encode("aaa") == [261, 97])
    }

    @Test func encodingEqualsTheReferenceAlgorithmOnRandomText() throws {
        var generator = SeededGenerator(seed: 3)
        let training = randomText(length: 3000, generator: &generator)
        let tokenizer = try BPETokenizer.train(text: training, vocabularySize: 400)
        #expect(tokenizer.vocabularySize > 300)
        for _ in 0..<10 {
            let text = randomText(length: 400, generator: &generator)
            let ids = try tokenizer.encode(text)
            #expect(ids == referenceEncode(text, tokenizer))
            #expect(Array(try tokenizer.decode(ids).unicodeScalars) == Array(text.unicodeScalars))
        }
    }

    /// GPT-2's original loop (openai/gpt-2 encoder.py `bpe`): while a ranked pair exists, take
    /// the lowest-ranked one and merge all its occurrences left to right.
    func referenceEncode(_ text: String, _ tokenizer: BPETokenizer) -> [Int32] {
        var rank: [[Int32]: (Int, Int32)] = [:]
        for (index, merge) in tokenizer.merges.enumerated() { rank[[merge.left, merge.right]] = (index, merge.result) }
        var ids: [Int32] = []
        for piece in GPT2PreTokenizer.split(text) {
            var word = piece.utf8.map { Int32($0) }  // ids 0–255 are the bytes in a trained tokenizer
            while word.count > 1 {
                let ranked = zip(word, word.dropFirst()).compactMap { left, right in
                    rank[[left, right]].map { (pair: [left, right], rank: $0.0, result: $0.1) }
                }
                guard let best = ranked.min(by: { $0.rank < $1.rank }) else { break }
                var merged: [Int32] = []
                var position = 0
                while position < word.count {
                    if position + 1 < word.count, [word[position], word[position + 1]] == best.pair {
                        merged.append(best.result); position += 2
                    } else {
                        merged.append(word[position]); position += 1
                    }
                }
                word = merged
            }
            ids += word
        }
        return ids
    }

    @Test func roundTripsOddText() throws {
        let tokenizer = try BPETokenizer.train(text: String(repeating: "the theme of the thesis, then \n", count: 20), vocabularySize: 300)
        for text in ["", "\n", "\n\n\n", "  spaces  ", "e\u{301}\u{300}\u{340}", "\u{0}\u{10FFFF}😀🏽", "中文 テスト\r\n", "the<|x|>"] {
            #expect(Array(try tokenizer.decode(tokenizer.encode(text)).unicodeScalars) == Array(text.unicodeScalars))
        }
    }

    @Test func decodeRejectsUnknownIdsAndReplacesCutCharacters() throws {
        let tokenizer = try tinyTokenizer()
        #expect(tokenizerError { _ = try tokenizer.decode([263]) } == .unknownTokenID(263, position: 0, vocabularySize: 263))
        #expect(try tokenizer.decode([195]) == "\u{FFFD}")
        #expect(tokenizer.token(for: 258) == "Ġthe")
        #expect(tokenizer.token(for: 262) == "<|endoftext|>")
    }

    @Test func invalidVocabulariesAreRejected() {
        var vocabulary: [String: Int32] = [:]
        for byte in 0..<256 { vocabulary[String(ByteLevelMapping.characterForByte[byte])] = Int32(byte) }
        // A merge whose result is missing from the vocabulary.
        let missingResult = tokenizerError { _ = try BPETokenizer(vocabulary: vocabulary, merges: [("a", "b")]) }
        #expect(missingResult?.description.contains("model.merges[0]") == true)
        // A missing byte.
        var noSpace = vocabulary
        noSpace["Ġ"] = nil
        noSpace["x y"] = 32
        #expect(tokenizerError { _ = try BPETokenizer(vocabulary: noSpace, merges: []) }?.description.contains("byte 32") == true)
        // A gap in the ids.
        var gap = vocabulary
        gap["ab"] = 300
        #expect(tokenizerError { _ = try BPETokenizer(vocabulary: gap, merges: []) }?.description.contains("no token with id 256") == true)
        // An id far beyond the vocabulary is a gap, found without a table of that size.
        var far = vocabulary
        far["ab"] = Int32.max
        #expect(tokenizerError { _ = try BPETokenizer(vocabulary: far, merges: []) }?.description.contains("no token with id 256 among 257") == true)
        // An added token that repeats its vocabulary entry adds no id; one that collides is refused.
        var withEnd = vocabulary
        withEnd["<|endoftext|>"] = 256
        let repeated = [AddedToken(id: 256, content: "<|endoftext|>")]
        #expect((try? BPETokenizer(vocabulary: withEnd, merges: [], addedTokens: repeated))?.vocabularySize == 257)
        let clash = [AddedToken(id: 256, content: "<|other|>")]
        #expect(tokenizerError { _ = try BPETokenizer(vocabulary: withEnd, merges: [], addedTokens: clash) }?.description.contains("added_tokens[0]") == true)
    }

    /// Merges are matched to the vocabulary by bytes, as Hugging Face's map does: a merge spelled with a
    /// canonically equivalent but different string (e + U+0301 for é) is not in the vocabulary.
    @Test func mergesMatchTheVocabularyByBytes() throws {
        var vocabulary: [String: Int32] = [:]
        for byte in 0..<256 { vocabulary[String(ByteLevelMapping.characterForByte[byte])] = Int32(byte) }
        vocabulary["\u{E9}a"] = 256  // U+00E9 (é) is the stand-in of byte 0xE9
        let exact = try BPETokenizer(vocabulary: vocabulary, merges: [("\u{E9}", "a")])
        #expect(exact.merges == [BPEMerge(left: 0xE9, right: Int32(UInt8(ascii: "a")), result: 256)])
        let decomposed = tokenizerError { _ = try BPETokenizer(vocabulary: vocabulary, merges: [("e\u{301}", "a")]) }
        #expect(decomposed?.description.contains("not in model.vocab") == true)
    }
}
