// The tokens that mark structure rather than text.

extension Tokenizer {
    /// The id of the end-of-text token (`<|endoftext|>`, GPT-2's document separator), when the tokenizer has one.
    public var endOfTextID: Int32? {
        guard let bpe = self as? BPETokenizer else { return nil }
        return bpe.addedTokens.first { $0.content == "<|endoftext|>" }?.id
    }
}
