// Our tokenizers as llama.cpp's "gpt2" (byte-level BPE) vocabulary, so llama.cpp tokenizes text
// to the ids we do, and back.
//
// llama.cpp's gpt2 tokenizer: split text with GPT-2's pattern (`tokenizer.ggml.pre = "gpt-2"`),
// write each piece's UTF-8 bytes as GPT-2's stand-in characters (space → "Ġ"), start from one
// symbol per stand-in character, apply `tokenizer.ggml.merges` lowest rank first, and look each
// final symbol up in `tokenizer.ggml.tokens`.
// - Byte-level BPE: exported as it is (tokens in stand-in form, merges as "left right").
// - Byte (256 ids): the 256 stand-ins and no merges; each byte is its own symbol and token.
// - Char: token i is the stand-in form of character i's UTF-8 bytes. An ASCII character is one
//   byte, one symbol, one token. A character of n > 1 bytes gets the merges that rebuild it from
//   its bytes left to right (b1+b2, b1b2+b3, …); those merges only ever join a lead byte with
//   the continuation bytes that follow it, so they never reach across characters, and every
//   character of the vocabulary comes out as one token: the ids are the char tokenizer's. Text
//   with a character outside the vocabulary is an error in our tokenizer; llama.cpp drops it.
// The exact tokenizer also travels as `tokenizer.huggingface.json`, which `import gguf` reads.
//
// Zero merges are fine for llama.cpp's loader (it requires the key, not a count); the anchor
// script's note about "at least one merge" concerns Python gguf writers.
//
// The lab's vocabularies have no end-of-text token; llama.cpp defaults gpt2's eos to id 11 (a
// character here), so the export names a special added token if the BPE has one, else the
// newline token, as bos/eos (llama.cpp stops at the
// end of a line; `llama-cli --ignore-eos` or `-n` for longer text) and turns BOS/EOS insertion off.

import Foundation
import Store
import Tokenizers

public enum GGUFTokenizer {
    /// llama.cpp token types.
    static let normalTokenType: Int32 = 1, controlTokenType: Int32 = 3

    /// The tokenizer metadata for `tokenizer`.
    /// - Throws: `InteropError` for a BPE tokenizer llama.cpp's gpt2 pre-tokenizer cannot
    ///   reproduce (no GPT-2 split, `ignore_merges`).
    public static func metadata(for tokenizer: any Tokenizer) throws -> [(key: String, value: GGUFValue)] {
        let tokens: [String], merges: [String], types: [Int32]
        var addSpacePrefix = false
        switch tokenizer {
        case let char as CharTokenizer:
            tokens = char.characters.map { ByteLevelMapping.tokenString(for: Array(String($0).utf8)) }
            merges = characterMerges(char.characters)
            types = Array(repeating: normalTokenType, count: tokens.count)
        case is ByteTokenizer:
            tokens = ByteLevelMapping.characterForByte.map { String($0) }
            merges = []
            types = Array(repeating: normalTokenType, count: 256)
        case let bpe as BPETokenizer:
            guard bpe.options.useRegex, !bpe.options.ignoreMerges else {
                throw InteropError("tokenizer: a byte-level BPE without GPT-2's pre-tokenization split (use_regex false) or with ignore_merges has no llama.cpp gpt2 equivalent")
            }
            tokens = (0..<Int32(bpe.vocabularySize)).map { bpe.token(for: $0)! }
            merges = bpe.merges.map { "\(bpe.token(for: $0.left)!) \(bpe.token(for: $0.right)!)" }
            let special = Set(bpe.addedTokens.filter(\.special).map(\.id))
            types = (0..<Int32(bpe.vocabularySize)).map { special.contains($0) ? controlTokenType : normalTokenType }
            addSpacePrefix = bpe.options.addPrefixSpace
        default:
            throw InteropError("tokenizer: \(tokenizer.kind.rawValue) tokenizers have no GGUF mapping")
        }
        // End of text: a special added token (GPT-2's <|endoftext|>) if there is one, else the newline.
        let newline = (try? tokenizer.encode("\n")).flatMap { $0.count == 1 ? $0[0] : nil } ?? 0
        let endOfText = (tokenizer as? BPETokenizer)?.addedTokens.first(where: \.special)?.id ?? newline
        return [
            ("tokenizer.ggml.model", .string("gpt2")),
            ("tokenizer.ggml.pre", .string("gpt-2")),
            ("tokenizer.ggml.tokens", .strings(tokens)),
            ("tokenizer.ggml.token_type", .int32s(types)),
            ("tokenizer.ggml.merges", .strings(merges)),
            ("tokenizer.ggml.bos_token_id", .uint32(UInt32(endOfText))),
            ("tokenizer.ggml.eos_token_id", .uint32(UInt32(endOfText))),
            ("tokenizer.ggml.add_bos_token", .bool(false)),
            ("tokenizer.ggml.add_eos_token", .bool(false)),
            ("tokenizer.ggml.add_space_prefix", .bool(addSpacePrefix)),
            ("tokenizer.huggingface.json", .string(String(decoding: tokenizer.tokenizerJSONBytes(), as: UTF8.self))),
        ]
    }

    /// The merges that rebuild each multi-byte character from its bytes, left to right, once each.
    static func characterMerges(_ characters: [Unicode.Scalar]) -> [String] {
        var merges: [String] = [], seen = Set<String>()
        for scalar in characters {
            let bytes = Array(String(scalar).utf8)
            guard bytes.count > 1 else { continue }
            for end in 2...bytes.count {
                let merge = ByteLevelMapping.tokenString(for: bytes[0 ..< end - 1]) + " " + ByteLevelMapping.tokenString(for: bytes[end - 1 ..< end])
                if seen.insert(merge).inserted { merges.append(merge) }
            }
        }
        return merges
    }

    /// The tokenizer of a GGUF file: `tokenizer.huggingface.json` when present (checked against
    /// `tokenizer.ggml.tokens`), else a byte-level BPE built from the gpt2 tokens and merges.
    /// - Throws: `InteropError`/`GGUFError` naming the key that is missing or inconsistent.
    public static func tokenizer(from file: GGUFFile) throws -> any Tokenizer {
        let model = try file.required("tokenizer.ggml.model", "a string", \.string)
        guard model == "gpt2" else {
            throw GGUFError(source: file.source, "tokenizer.ggml.model is \"\(model)\"; only \"gpt2\" (byte-level BPE) vocabularies can be imported")
        }
        let tokens = try file.required("tokenizer.ggml.tokens", "an array of strings") { value -> [String]? in
            guard let elements = value.elements else { return nil }
            let strings = elements.compactMap(\.string)
            return strings.count == elements.count ? strings : nil
        }
        if let json = file["tokenizer.huggingface.json"] {
            guard let text = json.string else {
                throw GGUFError(source: file.source, "tokenizer.huggingface.json is \(json.summary); expected a string")
            }
            let tokenizer: any Tokenizer
            do {
                tokenizer = try loadTokenizer(jsonBytes: Array(text.utf8), fileName: "\(file.source): tokenizer.huggingface.json")
            } catch {
                throw GGUFError(source: file.source, "tokenizer.huggingface.json: \(error)")
            }
            let expected = try metadata(for: tokenizer).first { $0.key == "tokenizer.ggml.tokens" }!.value.elements!.map { $0.string! }
            guard expected == tokens else {
                let index = zip(expected, tokens).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(expected.count, tokens.count)
                throw GGUFError(source: file.source, "tokenizer.huggingface.json and tokenizer.ggml.tokens disagree (\(expected.count) vs \(tokens.count) tokens; first difference at id \(index))")
            }
            return tokenizer
        }
        let merges = try file.required("tokenizer.ggml.merges", "an array of strings") { value -> [(String, String)]? in
            guard let elements = value.elements else { return nil }
            var pairs: [(String, String)] = []
            for element in elements {
                guard let text = element.string, let space = text.dropFirst().firstIndex(of: " ") else { return nil }
                pairs.append((String(text[..<space]), String(text[text.index(after: space)...])))
            }
            return pairs
        }
        var vocabulary: [String: Int32] = [:]
        for (id, token) in tokens.enumerated() where vocabulary.updateValue(Int32(id), forKey: token) != nil {
            throw GGUFError(source: file.source, "tokenizer.ggml.tokens has \"\(token)\" twice (again at id \(id))")
        }
        do {
            return try BPETokenizer(vocabulary: vocabulary, merges: merges, source: "\(file.source): tokenizer.ggml")
        } catch {
            throw GGUFError(source: file.source, "tokenizer.ggml.tokens/merges do not form a byte-level BPE: \(error)")
        }
    }
}

/// A model or tokenizer that cannot be mapped to or from another tool's format.
public struct InteropError: Error, CustomStringConvertible, LocalizedError {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }
}
