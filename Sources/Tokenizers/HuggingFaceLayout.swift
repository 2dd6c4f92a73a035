// The parts of a Hugging Face tokenizer.json that all three tokenizers share, written in
// the key order `tokenizers` itself uses, so our files diff cleanly against theirs.
//
// All three are a BPE model (vocab + merges) under different pre-tokenizers and decoders:
// - char: no pre-tokenizer, vocab = one entry per character, no merges, decoder Fuse. With
//   no merges a BPE model maps each Unicode scalar to its id, and Fuse concatenates tokens
//   (without a decoder HF would join tokens with spaces).
// - byte: ByteLevel pre-tokenizer, the 256 GPT-2 byte stand-ins as vocab with id = byte
//   value, no merges, ByteLevel decoder — i.e. byte-level BPE with zero merges.
// - bpe: the standard GPT-2 layout, ByteLevel pre-tokenizer (add_prefix_space false,
//   use_regex true), vocab + merges, ByteLevel decoder.

/// A token matched in raw text before pre-tokenization (e.g. GPT-2's `<|endoftext|>`).
public struct AddedToken: Sendable, Equatable {
    /// The token's id.
    public var id: Int32
    /// The exact text that stands for the token.
    public var content: String
    /// Whether HF marks it special (HF's `decode` skips special tokens by default; ours never does).
    public var special: Bool
    /// HF's `normalized` flag (no effect here: our tokenizers have no normalizer).
    public var normalized: Bool

    /// An added token; special by default, as GPT-2's `<|endoftext|>` is.
    public init(id: Int32, content: String, special: Bool = true, normalized: Bool = false) {
        self.id = id
        self.content = content
        self.special = special
        self.normalized = normalized
    }
}

enum HuggingFaceLayout {
    /// `{"type": "ByteLevel", ...}` as HF writes it for pre-tokenizer, post-processor and decoder.
    static func byteLevel(addPrefixSpace: Bool, trimOffsets: Bool = true, useRegex: Bool = true) -> JSONValue {
        .object([
            ("type", .string("ByteLevel")),
            ("add_prefix_space", .bool(addPrefixSpace)),
            ("trim_offsets", .bool(trimOffsets)),
            ("use_regex", .bool(useRegex)),
        ])
    }

    static let fuseDecoder: JSONValue = .object([("type", .string("Fuse"))])

    /// `tokens[id]` paired with its id, the form `document` takes for a dense vocabulary.
    static func dense(_ tokens: [String]) -> [(token: String, id: Int32)] {
        tokens.enumerated().map { ($0.element, Int32($0.offset)) }
    }

    /// A whole tokenizer.json around a BPE model; `vocabulary` in id order.
    static func document(
        vocabulary: [(token: String, id: Int32)], merges: [(String, String)], addedTokens: [AddedToken] = [],
        preTokenizer: JSONValue, postProcessor: JSONValue = .null, decoder: JSONValue,
        unknownToken: String? = nil, ignoreMerges: Bool = false
    ) -> JSONValue {
        let vocabularyObject = JSONValue.object(vocabulary.map { ($0.token, .integer(Int($0.id))) })
        // "left right" strings (HF's original merges format) are readable by every version of
        // `tokenizers`; byte-level tokens never contain a space, so the split is unambiguous.
        let mergeStrings = JSONValue.array(merges.map { .string($0.0 + " " + $0.1) })
        let added = JSONValue.array(addedTokens.map { token in
            .object([
                ("id", .integer(Int(token.id))),
                ("content", .string(token.content)),
                ("single_word", .bool(false)),
                ("lstrip", .bool(false)),
                ("rstrip", .bool(false)),
                ("normalized", .bool(token.normalized)),
                ("special", .bool(token.special)),
            ])
        })
        let model = JSONValue.object([
            ("type", .string("BPE")),
            ("dropout", .null),
            ("unk_token", unknownToken.map { .string($0) } ?? .null),
            ("continuing_subword_prefix", .null),
            ("end_of_word_suffix", .null),
            ("fuse_unk", .bool(false)),
            ("byte_fallback", .bool(false)),
            ("ignore_merges", .bool(ignoreMerges)),
            ("vocab", vocabularyObject),
            ("merges", mergeStrings),
        ])
        return .object([
            ("version", .string("1.0")),
            ("truncation", .null),
            ("padding", .null),
            ("added_tokens", added),
            ("normalizer", .null),
            ("pre_tokenizer", preTokenizer),
            ("post_processor", postProcessor),
            ("decoder", decoder),
            ("model", model),
        ])
    }
}
