// Character-level tokenizer: one token per distinct Unicode scalar of a corpus.
//
// Why Unicode scalars and not Swift `Character`s (grapheme clusters): Hugging Face
// `tokenizers` and Python both see text as scalars (code points), so only scalars give the
// same ids on both sides; and graphemes would fuse "\r\n" or "e\u{301}" into single tokens
// whose set depends on the Unicode version. The Shakespeare corpus has 84 distinct scalars.

/// A tokenizer with one id per Unicode scalar, ids in ascending scalar order.
public struct CharTokenizer: Tokenizer {
    public var kind: TokenizerKind { .character }
    /// The vocabulary: `characters[id]` is the scalar for `id`.
    public let characters: [Unicode.Scalar]
    /// Id of each ASCII scalar, -1 when absent (the fast path for most text).
    private let asciiIDs: [Int32]
    private let otherIDs: [Unicode.Scalar: Int32]

    public var vocabularySize: Int { characters.count }

    /// A vocabulary of the sorted distinct Unicode scalars of `corpus`.
    public init(corpus: String) {
        self.init(distinct: Set(corpus.unicodeScalars).sorted { $0.value < $1.value })
    }

    /// A vocabulary in the given order (`characters[id]`); throws on a repeated scalar.
    public init(characters: [Unicode.Scalar]) throws {
        var seen = Set<Unicode.Scalar>()
        for (id, scalar) in characters.enumerated() where !seen.insert(scalar).inserted {
            throw TokenizerError.invalidFile(file: "character vocabulary", field: "characters[\(id)]",
                                             found: TokenizerError.describe(scalar) + " a second time",
                                             expected: "distinct characters")
        }
        self.init(distinct: characters)
    }

    private init(distinct characters: [Unicode.Scalar]) {
        var asciiIDs = [Int32](repeating: -1, count: 128)
        var otherIDs: [Unicode.Scalar: Int32] = [:]
        for (id, scalar) in characters.enumerated() {
            if scalar.isASCII { asciiIDs[Int(scalar.value)] = Int32(id) } else { otherIDs[scalar] = Int32(id) }
        }
        self.characters = characters
        self.asciiIDs = asciiIDs
        self.otherIDs = otherIDs
    }

    /// The id of `scalar`, or nil when it is not in the vocabulary.
    public func id(for scalar: Unicode.Scalar) -> Int32? {
        if scalar.isASCII {
            let id = asciiIDs[Int(scalar.value)]
            return id < 0 ? nil : id
        }
        return otherIDs[scalar]
    }

    /// One id per Unicode scalar; throws `unknownCharacter` naming the first scalar not in the vocabulary.
    public func encode(_ text: String) throws -> [Int32] {
        var ids: [Int32] = []
        ids.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            guard let id = id(for: scalar) else { throw unknownCharacterError(scalar, at: ids.count, in: text) }
            ids.append(id)
        }
        return ids
    }

    /// Concatenates the characters of `ids`.
    public func decode(_ ids: [Int32]) throws -> String {
        var scalars = String.UnicodeScalarView()
        for (position, id) in ids.enumerated() {
            guard id >= 0, Int(id) < characters.count else {
                throw TokenizerError.unknownTokenID(id, position: position, vocabularySize: characters.count)
            }
            scalars.append(characters[Int(id)])
        }
        return String(scalars)
    }

    /// BPE model with one-scalar tokens and no merges, no pre-tokenizer, Fuse decoder.
    public func tokenizerJSON() -> JSONValue {
        HuggingFaceLayout.document(vocabulary: HuggingFaceLayout.dense(characters.map { String($0) }), merges: [],
                                   preTokenizer: .null, decoder: HuggingFaceLayout.fuseDecoder)
    }

    /// Builds the error only on failure, so encoding does not track lines on the fast path.
    private func unknownCharacterError(_ scalar: Unicode.Scalar, at position: Int, in text: String) -> TokenizerError {
        var line = 1, column = 1
        for preceding in text.unicodeScalars.prefix(position) {
            if preceding == "\n" { line += 1; column = 1 } else { column += 1 }
        }
        return .unknownCharacter(scalar, position: position, line: line, column: column)
    }
}
