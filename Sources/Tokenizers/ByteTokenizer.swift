// Byte-level tokenizer: the ids are the bytes of the text's UTF-8 encoding.

/// A tokenizer with 256 ids, one per byte value; it encodes any text and needs no training.
public struct ByteTokenizer: Tokenizer {
    public var kind: TokenizerKind { .byte }
    public var vocabularySize: Int { 256 }

    public init() {}

    /// The UTF-8 bytes of `text` as ids.
    public func encode(_ text: String) throws -> [Int32] {
        text.utf8.map { Int32($0) }
    }

    /// The text whose UTF-8 bytes are `ids`. A sequence that is not valid UTF-8 (e.g. cut in
    /// the middle of a character, as sampled text can be) decodes with U+FFFD replacement
    /// characters, as Hugging Face's ByteLevel decoder does.
    public func decode(_ ids: [Int32]) throws -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count)
        for (position, id) in ids.enumerated() {
            guard (0..<256).contains(id) else {
                throw TokenizerError.unknownTokenID(id, position: position, vocabularySize: 256)
            }
            bytes.append(UInt8(id))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// GPT-2's byte-level layout with zero merges: the vocab maps each byte's GPT-2 stand-in
    /// character to the byte value, so Hugging Face yields exactly the UTF-8 bytes.
    public func tokenizerJSON() -> JSONValue {
        HuggingFaceLayout.document(
            vocabulary: HuggingFaceLayout.dense(ByteLevelMapping.characterForByte.map { String($0) }), merges: [],
            preTokenizer: HuggingFaceLayout.byteLevel(addPrefixSpace: false),
            decoder: HuggingFaceLayout.byteLevel(addPrefixSpace: true))
    }
}
