// GPT-2-style byte-level BPE: text → (added tokens) → GPT-2 pre-tokens → UTF-8 bytes →
// merges applied lowest rank first → ids. Matches Hugging Face `tokenizers` exactly.

import Foundation

/// Settings of a byte-level BPE tokenizer that Hugging Face files can vary.
public struct BPEOptions: Sendable, Equatable {
    /// Prepend a space to text that does not start with one (ByteLevel `add_prefix_space`).
    public var addPrefixSpace = false
    /// Split with GPT-2's pattern before merging (ByteLevel `use_regex`); else one piece per text.
    public var useRegex = true
    /// Emit a whole pre-token as one id when it is in the vocabulary (model `ignore_merges`).
    public var ignoreMerges = false
    /// Model `unk_token`; never produced, since all 256 bytes are in the vocabulary.
    public var unknownToken: String? = nil
    /// The file's post-processor, kept verbatim: null or ByteLevel (which only trims offsets).
    public var postProcessor: JSONValue = .null

    public init() {}
}

/// One merge rule: `left` + `right` → `result` (ids), applied in list order (rank).
public struct BPEMerge: Sendable, Equatable {
    /// Id of the left token.
    public var left: Int32
    /// Id of the right token.
    public var right: Int32
    /// Id of the merged token (its string is left's followed by right's).
    public var result: Int32

    public init(left: Int32, right: Int32, result: Int32) {
        self.left = left
        self.right = right
        self.result = result
    }
}

/// A byte-level BPE tokenizer (GPT-2 layout). Build one with `BPETokenizer.train(text:vocabularySize:)`,
/// `loadTokenizer(from:)`, or from a vocabulary and merges.
public struct BPETokenizer: Tokenizer {
    public var kind: TokenizerKind { .bytePairEncoding }
    /// Model vocabulary (GPT-2 byte stand-in strings) in id order; added tokens outside it are separate.
    public let vocabulary: [(token: String, id: Int32)]
    /// Merge rules in rank order.
    public let merges: [BPEMerge]
    /// Tokens matched in raw text before pre-tokenization (leftmost, then longest, first).
    public let addedTokens: [AddedToken]
    /// Pre-tokenizer and model settings read from (and written back to) tokenizer.json.
    public let options: BPEOptions
    /// Model vocabulary plus added tokens; ids are dense in `0..<vocabularySize`.
    public let vocabularySize: Int

    /// Merge rules, byte ids and the ignore-merges vocabulary, shared by encoding threads.
    let tables: BPEEncodingTables
    /// Added tokens as UTF-8, longest first, and which bytes can start one.
    let addedPatterns: AddedTokenPatterns
    private let bytesForID: [[UInt8]]

    /// Builds and validates a tokenizer. `vocabulary` maps stand-in strings to ids; merges are
    /// pairs of vocabulary strings whose concatenation is also in it. `source` names the
    /// origin in error messages (a file name when loading).
    public init(vocabulary: [String: Int32], merges mergePairs: [(String, String)],
                addedTokens: [AddedToken] = [], options: BPEOptions = BPEOptions(),
                source: String = "BPE vocabulary") throws {
        func invalid(_ field: String, _ found: String, _ expected: String) -> TokenizerError {
            .invalidFile(file: source, field: field, found: found, expected: expected)
        }
        let ordered = vocabulary.map { (token: $0.key, id: $0.value) }.sorted { $0.id < $1.id }
        // Ids must be dense, so any id at or beyond the number of tokens leaves a gap; checking that
        // first bounds the table below by the input's size, whatever ids a hostile file holds.
        let claimed = vocabulary.count + addedTokens.count
        func gapError() -> TokenizerError {
            let present = Set(ordered.map(\.id) + addedTokens.map(\.id))
            let gap = (0..<Int32(present.count)).first { !present.contains($0) } ?? Int32(present.count)
            return invalid("model.vocab", "no token with id \(gap) among \(present.count) tokens", "ids 0..<\(present.count) with no gaps")
        }
        var tokenForID = [String?](repeating: nil, count: claimed)
        for entry in ordered {
            guard entry.id >= 0 else { throw invalid("model.vocab[\(Excerpt.quote(entry.token))]", "id \(entry.id)", "an id ≥ 0") }
            guard Int(entry.id) < claimed else { throw gapError() }
            if let other = tokenForID[Int(entry.id)] {
                throw invalid("model.vocab", "id \(entry.id) used by both \(Excerpt.quote(other)) and \(Excerpt.quote(entry.token))", "one token per id")
            }
            tokenForID[Int(entry.id)] = entry.token
        }
        for (index, added) in addedTokens.enumerated() {
            if added.id >= 0, Int(added.id) < claimed, let existing = tokenForID[Int(added.id)], existing != added.content {
                throw invalid("added_tokens[\(index)]", "id \(added.id) with content \(Excerpt.quote(added.content)) while model.vocab has \(Excerpt.quote(existing)) there",
                              "an added token to match its vocabulary entry")
            }
            guard added.id >= 0, !added.content.isEmpty else {
                throw invalid("added_tokens[\(index)]", "id \(added.id), content \(Excerpt.quote(added.content))", "an id ≥ 0 and non-empty content")
            }
            guard Int(added.id) < claimed else { throw gapError() }
            tokenForID[Int(added.id)] = added.content
        }
        // An added token may repeat a vocabulary entry, so fewer ids than `claimed` can be in use.
        let size = tokenForID.count(where: { $0 != nil })
        if let gap = tokenForID[..<size].firstIndex(where: { $0 == nil }) {
            throw invalid("model.vocab", "no token with id \(gap) among \(size) tokens", "ids 0..<\(size) with no gaps")
        }
        tokenForID.removeLast(claimed - size)
        let idForToken = TokenIDTable(vocabulary)
        var idForByte = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 {
            let standIn = String(ByteLevelMapping.characterForByte[byte])
            guard let id = idForToken[standIn] else {
                throw invalid("model.vocab", "no entry for byte \(byte) (\"\(standIn)\")", "all 256 GPT-2 byte characters (byte-level BPE)")
            }
            idForByte[byte] = id
        }
        if let unknown = options.unknownToken, idForToken[unknown] == nil {
            throw invalid("model.unk_token", "\(Excerpt.quote(unknown)), which is not in model.vocab", "null or a vocabulary token")
        }
        var mergeEntries: [(key: UInt64, value: UInt64)] = []
        mergeEntries.reserveCapacity(mergePairs.count)
        var merges: [BPEMerge] = []
        merges.reserveCapacity(mergePairs.count)
        for (rank, (left, right)) in mergePairs.enumerated() {
            guard let leftID = idForToken[left], let rightID = idForToken[right] else {
                throw invalid("model.merges[\(rank)]", "\(Excerpt.quote(left + " " + right)) with \(Excerpt.quote(idForToken[left] == nil ? left : right)) not in model.vocab",
                              "both parts to be vocabulary tokens")
            }
            guard let resultID = idForToken[left + right] else {
                throw invalid("model.merges[\(rank)]", "\(Excerpt.quote(left + " " + right)) whose result \(Excerpt.quote(left + right)) is not in model.vocab",
                              "the merged token to be in the vocabulary")
            }
            merges.append(BPEMerge(left: leftID, right: rightID, result: resultID))
            // A repeated pair takes its last rank (MergeTable keeps the last), as Hugging Face's map building does.
            mergeEntries.append((BPETokenizer.pairKey(leftID, rightID), UInt64(rank) << 32 | UInt64(UInt32(resultID))))
        }
        self.vocabulary = ordered
        self.merges = merges
        self.addedTokens = addedTokens
        self.options = options
        self.vocabularySize = size
        self.tables = BPEEncodingTables(merges: MergeTable(entries: mergeEntries), idForByte: idForByte,
                                        idForToken: options.ignoreMerges ? vocabulary : nil)
        self.addedPatterns = AddedTokenPatterns(addedTokens)
        self.bytesForID = tokenForID.map { ByteLevelMapping.bytes(forToken: $0!) }
    }

    static func pairKey(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// The added token `<|endoftext|>` (GPT-2's document separator), when the tokenizer has it.
    public var endOfTextID: Int32? { addedTokens.first { $0.content == BPETokenizer.endOfText }?.id }

    /// GPT-2's end-of-text token.
    public static let endOfText = "<|endoftext|>"

    /// The token string (GPT-2 stand-in form, or an added token's content) of `id`.
    public func token(for id: Int32) -> String? {
        guard id >= 0, Int(id) < vocabularySize else { return nil }
        if let added = addedTokens.first(where: { $0.id == id }) { return added.content }
        return ByteLevelMapping.tokenString(for: bytesForID[Int(id)])
    }

    /// Concatenates the bytes of the tokens; throws on an id outside the vocabulary.
    public func decode(_ ids: [Int32]) throws -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for (position, id) in ids.enumerated() {
            guard id >= 0, Int(id) < vocabularySize else {
                throw TokenizerError.unknownTokenID(id, position: position, vocabularySize: vocabularySize)
            }
            bytes.append(contentsOf: bytesForID[Int(id)])
        }
        // Invalid UTF-8 (ids cut inside a character) becomes U+FFFD, like HF's ByteLevel decoder.
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The standard Hugging Face GPT-2 layout (ByteLevel pre-tokenizer and decoder, BPE model).
    public func tokenizerJSON() -> JSONValue {
        let mergePairs = merges.map { (tokenString(vocabularyID: $0.left), tokenString(vocabularyID: $0.right)) }
        return Self.document(vocabulary: vocabulary, merges: mergePairs, addedTokens: addedTokens, options: options)
    }

    /// The canonical tokenizer.json of a byte-level BPE. Merges name vocabulary tokens by their exact
    /// bytes (see TokenIDTable), so the pairs read from a file are the pairs `tokenizerJSON` writes back.
    static func document(vocabulary: [(token: String, id: Int32)], merges: [(String, String)],
                         addedTokens: [AddedToken], options: BPEOptions) -> JSONValue {
        HuggingFaceLayout.document(
            vocabulary: vocabulary, merges: merges, addedTokens: addedTokens,
            preTokenizer: HuggingFaceLayout.byteLevel(addPrefixSpace: options.addPrefixSpace, useRegex: options.useRegex),
            postProcessor: options.postProcessor, decoder: HuggingFaceLayout.byteLevel(addPrefixSpace: true),
            unknownToken: options.unknownToken, ignoreMerges: options.ignoreMerges)
    }

    /// `init` and the result's `fingerprint()`, the hash computed on a second thread from the same inputs
    /// while the tables are built (a 50k-token file takes about as long to hash as to build).
    static func withFingerprint(vocabulary: [String: Int32], merges: [(String, String)], addedTokens: [AddedToken],
                                options: BPEOptions, source: String) throws -> (BPETokenizer, String) {
        final class Slots: @unchecked Sendable {
            var tokenizer: Result<BPETokenizer, Error>?
            var fingerprint = ""
        }
        let slots = Slots()
        DispatchQueue.concurrentPerform(iterations: 2) { part in
            if part == 0 {
                slots.tokenizer = Result {
                    try BPETokenizer(vocabulary: vocabulary, merges: merges, addedTokens: addedTokens,
                                     options: options, source: source)
                }
            } else {
                // The order `init` keeps; if ids repeat, `init` throws and this hash is dropped.
                let ordered = vocabulary.map { (token: $0.key, id: $0.value) }.sorted { $0.id < $1.id }
                slots.fingerprint = sha256Hex(document(vocabulary: ordered, merges: merges, addedTokens: addedTokens,
                                                       options: options).serialized())
            }
        }
        return (try slots.tokenizer!.get(), slots.fingerprint)
    }

    private func tokenString(vocabularyID id: Int32) -> String {
        // Vocabulary ids are the ones merges refer to; sorted, so binary search would do, but
        // merges are written once per save and the vocabulary is small.
        vocabulary[vocabulary.partitioningIndex { $0.id >= id }].token
    }
}

extension RandomAccessCollection {
    /// Index of the first element satisfying `predicate`, which must be false then true along the collection.
    func partitioningIndex(where predicate: (Element) -> Bool) -> Index {
        var low = startIndex, count = self.count
        while count > 0 {
            let half = count / 2
            let middle = index(low, offsetBy: half)
            if predicate(self[middle]) { count = half } else { low = index(after: middle); count -= half + 1 }
        }
        return low
    }
}
