import Foundation
import Testing
@testable import Tokenizers

@Suite struct BPETrainerTests {
    /// Hand-checked: "aaabdaaabac" is one pre-token. Pairs: aa×4, ab×2, the rest ×1 → merge
    /// "a a". Then (aa, a)×2 ties with (a, b)×2; ties go to the smaller (left, right) ids, and
    /// (97, 98) < (256, 97) → "a b". Then (aa, ab)×2 → "aa ab". Every pair left is seen once.
    @Test func smallTextGivesTheHandCheckedMerges() throws {
        let tokenizer = try BPETokenizer.train(text: "aaabdaaabac", vocabularySize: 300)
        #expect(tokenizer.vocabularySize == 259)
        #expect(tokenizer.merges == [BPEMerge(left: 97, right: 97, result: 256), BPEMerge(left: 97, right: 98, result: 257),
                                     BPEMerge(left: 256, right: 257, result: 258)])
        #expect(try tokenizer.encode("aaabdaaabac") == [258, 100, 258, 97, 99])
        // With pairs seen once allowed, the four-way tie goes to the smallest pair (a, c).
        let once = try BPETrainer(vocabularySize: 260, minimumPairCount: 1).train(text: "aaabdaaabac")
        #expect(once.merges.last == BPEMerge(left: 97, right: 99, result: 259))
    }

    @Test func countsAreWeightedByWordFrequencyAndSpacesStayAttached() throws {
        // " ab" ×3 and "cd" ×1: the most frequent pair is ("Ġ", "a") or ("a", "b") at 3 each
        // (Ġ = byte 32 < 97, so "Ġ a" first), then "Ġa b".
        let tokenizer = try BPETokenizer.train(text: "cd ab ab ab", vocabularySize: 258)
        #expect(tokenizer.merges.map { [$0.left, $0.right] } == [[32, 97], [256, 98]])
        #expect(tokenizer.token(for: 257) == "Ġab")
        #expect(try tokenizer.encode(" ab") == [257])
    }

    @Test func stopsAtTheTargetSizeAndIsDeterministic() throws {
        var generator = SeededGenerator(seed: 5)
        let text = randomText(length: 4000, generator: &generator)
        let first = try BPETokenizer.train(text: text, vocabularySize: 320)
        let second = try BPETokenizer.train(text: text, vocabularySize: 320)
        #expect(first.vocabularySize == 320)
        #expect(first.merges == second.merges)
        #expect(first.fingerprint() == second.fingerprint())
        // Every vocabulary string is distinct and every merge result spells left + right.
        let tokens = (0..<Int32(first.vocabularySize)).map { first.token(for: $0)! }
        #expect(Set(tokens.map { Array($0.utf8) }).count == tokens.count)
        #expect(first.merges.allSatisfy { tokens[Int($0.result)] == tokens[Int($0.left)] + tokens[Int($0.right)] })
    }

    @Test func rejectsImpossibleRequests() throws {
        #expect(tokenizerError { _ = try BPETokenizer.train(text: "abc", vocabularySize: 100) } != nil)
        #expect(tokenizerError { _ = try BPETrainer(vocabularySize: 300, minimumPairCount: 0).train(text: "abc") } != nil)
        #expect(try BPETokenizer.train(text: "", vocabularySize: 300).vocabularySize == 256)
    }
}
