// Trains byte-level BPE merges GPT-2 style: pre-tokenize, count distinct pre-tokens, then
// repeatedly merge the most frequent adjacent pair.
//
// Speed: pair counts are kept incrementally. Each merge visits only the distinct words that
// contain the pair (an index pair → words), takes their old pairs out of the counts and puts
// their new ones in; a lazy max-heap holds (count, pair) entries, and an entry whose count
// no longer matches the current one is dropped when popped (a fresh one was pushed on change).
//
// Determinism: the best pair is the one with the highest count; ties go to the smaller
// (left id, right id), comparing left ids first. Ids are bytes 0–255 by value, then merged
// tokens in creation order, so the same text and size always give the same merges.

/// Learns a byte-level BPE vocabulary from text.
public struct BPETrainer: Sendable {
    /// Target number of ids: 256 byte tokens plus merged tokens (e.g. 1024 = 256 + 768 merges).
    public var vocabularySize: Int
    /// Pairs seen fewer times than this are never merged (so training may stop below the
    /// target on a small text). 2 by default: a pair seen once gives nothing to generalize.
    public var minimumPairCount: Int

    public init(vocabularySize: Int, minimumPairCount: Int = 2) {
        self.vocabularySize = vocabularySize
        self.minimumPairCount = minimumPairCount
    }

    /// One (count, pair) heap entry; `<` means "better", so the min-heap pops the best pair.
    struct Candidate: Comparable {
        var count: Int
        var pair: UInt64
        static func < (lhs: Candidate, rhs: Candidate) -> Bool {
            lhs.count != rhs.count ? lhs.count > rhs.count : lhs.pair < rhs.pair
        }
    }

    /// Trains on `text` and returns the tokenizer (vocabulary ids: bytes 0–255, then merges in order).
    public func train(text: String) throws -> BPETokenizer {
        guard vocabularySize >= 256 else {
            throw TokenizerError.invalidTraining("vocabulary size \(vocabularySize) is below the 256 byte tokens")
        }
        guard vocabularySize <= Int(Int32.max) else {
            throw TokenizerError.invalidTraining("vocabulary size \(vocabularySize) does not fit 32-bit ids")
        }
        guard minimumPairCount >= 1 else {
            throw TokenizerError.invalidTraining("minimum pair count \(minimumPairCount) must be at least 1")
        }
        var words = Self.countWords(text)
        var tokens: [[UInt8]] = (0..<256).map { [UInt8($0)] }
        var idForToken: [[UInt8]: Int32] = [:]
        for (id, token) in tokens.enumerated() { idForToken[token] = Int32(id) }
        var mergePairs: [(Int32, Int32)] = []
        var mergedPairs = Set<UInt64>()

        var pairCounts: [UInt64: Int] = [:]
        var wordsWithPair: [UInt64: [Int32]] = [:]
        for (index, word) in words.symbols.enumerated() where word.count > 1 {
            for position in 0..<word.count - 1 {
                let pair = BPETokenizer.pairKey(word[position], word[position + 1])
                pairCounts[pair, default: 0] += words.counts[index]
                if wordsWithPair[pair]?.last != Int32(index) { wordsWithPair[pair, default: []].append(Int32(index)) }
            }
        }
        var heap = BinaryHeap<Candidate>()
        for (pair, count) in pairCounts { heap.push(Candidate(count: count, pair: pair)) }

        var lastVisit = [Int](repeating: -1, count: words.symbols.count)
        var iteration = 0
        while tokens.count < vocabularySize, let best = heap.pop() {
            guard pairCounts[best.pair] == best.count else { continue }  // stale entry
            guard best.count >= minimumPairCount else { break }
            iteration += 1
            let left = Int32(truncatingIfNeeded: best.pair >> 32), right = Int32(truncatingIfNeeded: best.pair & 0xFFFF_FFFF)
            let merged = tokens[Int(left)] + tokens[Int(right)]
            // Two merge paths can spell the same bytes ("a"+"bc", "ab"+"c"): reuse the id, as the
            // vocabulary maps each string to one id.
            let mergedID: Int32
            if let existing = idForToken[merged] {
                mergedID = existing
            } else {
                mergedID = Int32(tokens.count)
                tokens.append(merged)
                idForToken[merged] = mergedID
            }
            // A pair merged before can reappear only through such a reused id; merging it again
            // in the words is right, listing it twice in the merges is not.
            if mergedPairs.insert(best.pair).inserted { mergePairs.append((left, right)) }

            var deltas: [UInt64: Int] = [:]
            for wordIndex in wordsWithPair[best.pair] ?? [] where lastVisit[Int(wordIndex)] != iteration {
                lastVisit[Int(wordIndex)] = iteration
                let old = words.symbols[Int(wordIndex)]
                let new = Self.apply(left, right, mergedID, to: old)
                guard new.count != old.count else { continue }
                let count = words.counts[Int(wordIndex)]
                for position in 0..<old.count - 1 { deltas[BPETokenizer.pairKey(old[position], old[position + 1]), default: 0] -= count }
                for position in 0..<max(new.count - 1, 0) {
                    let pair = BPETokenizer.pairKey(new[position], new[position + 1])
                    deltas[pair, default: 0] += count
                    if new[position] == mergedID || new[position + 1] == mergedID {
                        wordsWithPair[pair, default: []].append(wordIndex)  // duplicates skipped by lastVisit
                    }
                }
                words.symbols[Int(wordIndex)] = new
            }
            wordsWithPair[best.pair] = nil
            for (pair, delta) in deltas where delta != 0 {
                let count = pairCounts[pair, default: 0] + delta
                if count > 0 {
                    pairCounts[pair] = count
                    heap.push(Candidate(count: count, pair: pair))
                } else {
                    pairCounts[pair] = nil
                }
            }
        }

        let standIns = tokens.map { ByteLevelMapping.tokenString(for: $0) }
        var vocabulary: [String: Int32] = [:]
        for (id, token) in standIns.enumerated() where vocabulary.updateValue(Int32(id), forKey: token) != nil {
            // Unreachable: distinct byte strings have distinct stand-in spellings.
            throw TokenizerError.invalidTraining("two tokens spell \(Excerpt.quote(token))")
        }
        return try BPETokenizer(vocabulary: vocabulary,
                                merges: mergePairs.map { (standIns[Int($0.0)], standIns[Int($0.1)]) },
                                source: "trained BPE")
    }

    /// Replaces each non-overlapping occurrence of (left, right), scanning left to right.
    static func apply(_ left: Int32, _ right: Int32, _ merged: Int32, to symbols: [Int32]) -> [Int32] {
        var output: [Int32] = []
        output.reserveCapacity(symbols.count)
        var position = 0
        while position < symbols.count {
            if position + 1 < symbols.count, symbols[position] == left, symbols[position + 1] == right {
                output.append(merged)
                position += 2
            } else {
                output.append(symbols[position])
                position += 1
            }
        }
        return output
    }

    /// Distinct pre-tokens (as byte ids) and how often each occurs, sorted by bytes so the
    /// word order never depends on hashing.
    static func countWords(_ text: String) -> (symbols: [[Int32]], counts: [Int]) {
        let bytes = Array(text.utf8)
        var counts: [ArraySlice<UInt8>: Int] = [:]
        for range in GPT2PreTokenizer.pieceRanges(bytes) { counts[bytes[range], default: 0] += 1 }
        let sorted = counts.sorted { $0.key.lexicographicallyPrecedes($1.key) }
        return (sorted.map { $0.key.map { Int32($0) } }, sorted.map(\.value))
    }
}

extension BPETrainer {
    /// Trains with the default settings (pairs seen at least twice) up to `vocabularySize` ids.
    public static func train(text: String, vocabularySize: Int) throws -> BPETokenizer {
        try BPETrainer(vocabularySize: vocabularySize).train(text: text)
    }
}

extension BPETokenizer {
    /// Trains a byte-level BPE tokenizer on `text` up to `vocabularySize` ids (see `BPETrainer`).
    public static func train(text: String, vocabularySize: Int) throws -> BPETokenizer {
        try BPETrainer(vocabularySize: vocabularySize).train(text: text)
    }
}
