import Foundation
@testable import Tokenizers

/// A seeded SplitMix64 generator so property tests are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random text mixing ASCII words, whitespace runs, punctuation, contractions and non-ASCII
/// scalars from many planes (combining marks, CJK, emoji, controls, NBSP…).
func randomText(length: Int, generator: inout SeededGenerator) -> String {
    let pieces: [String] = ["the", " the", "a", " and", "'s", "'ll", " '", "\n", "\n\n", "  ", "\t", "\r\n", ",", ".", "!",
                            "é", "e\u{301}", "中文", " テスト", "👋🏽", "\u{00A0}", "\u{2003}", "\u{0}", "\u{7F}", "١٢", "Ⅻ", "\u{10FFFF}"]
    var text = ""
    while text.unicodeScalars.count < length {
        if Int.random(in: 0..<4, using: &generator) == 0 {
            // A random scalar anywhere in Unicode (surrogates are not scalars, so retry).
            var scalar: Unicode.Scalar? = nil
            while scalar == nil { scalar = Unicode.Scalar(UInt32.random(in: 0...0x10FFFF, using: &generator)) }
            text.unicodeScalars.append(scalar!)
        } else {
            text += pieces.randomElement(using: &generator)!
        }
    }
    return text
}

/// A fresh empty directory under the system temporary directory.
func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("TokenizersTests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The tiny hand-made GPT-2-style tokenizer the Hugging Face oracle ids in the tests were
/// computed with (`tokenizers` 0.23.3): ids 0–255 = bytes, then six merges, then
/// `<|endoftext|>` as added token 262.
let tinyMerges: [(String, String)] = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("in", "g"), ("a", "a")]

func tinyTokenizer(addPrefixSpace: Bool = false) throws -> BPETokenizer {
    var vocabulary: [String: Int32] = [:]
    for byte in 0..<256 { vocabulary[String(ByteLevelMapping.characterForByte[byte])] = Int32(byte) }
    for (index, (left, right)) in tinyMerges.enumerated() { vocabulary[left + right] = Int32(256 + index) }
    var options = BPEOptions()
    options.addPrefixSpace = addPrefixSpace
    return try BPETokenizer(vocabulary: vocabulary, merges: tinyMerges,
                            addedTokens: [AddedToken(id: 262, content: "<|endoftext|>")], options: options)
}

/// Catches the TokenizerError a closure throws (nil when it throws nothing or something else).
func tokenizerError(_ body: () throws -> Void) -> TokenizerError? {
    do { try body() } catch let error as TokenizerError { return error } catch { return nil }
    return nil
}
