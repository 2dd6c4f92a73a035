// Applies the merges to one pre-token: Hugging Face's `Word::merge_all` rule — repeatedly merge
// the adjacent pair of lowest rank, the leftmost one on ties — in two forms that give the same
// result: a scan over a small array for the short words that make up almost all text, and a
// priority queue for long ones (a run of 10,000 spaces would make the scan quadratic).

/// What encoding needs from a tokenizer, shared read-only by every encoding thread.
final class BPEEncodingTables: @unchecked Sendable {
    let merges: MergeTable
    /// `idForByte[b]`: the id of the stand-in token of byte `b`.
    let idForByte: UnsafeMutablePointer<Int32>
    /// Whole pre-tokens found here are one id (model `ignore_merges`); nil when the flag is off.
    let idForToken: [String: Int32]?

    init(merges: MergeTable, idForByte bytes: [Int32], idForToken: [String: Int32]?) {
        self.merges = merges
        idForByte = .allocate(capacity: 256)
        idForByte.initialize(from: bytes, count: 256)
        self.idForToken = idForToken
    }

    deinit { idForByte.deallocate() }
}

/// Encodes pre-tokens with a cache; one per thread (it is not thread-safe).
final class WordEncoder {
    let tables: BPEEncodingTables
    private let cache = WordCache()
    private var symbols: UnsafeMutablePointer<Int32>
    private var rules: UnsafeMutablePointer<UInt64>
    private var capacity: Int
    /// Longer words go through the priority queue.
    static let scanLimit = 96
    private var queue = BinaryHeap<UInt64>()
    private var next: [Int32] = [], previous: [Int32] = [], longSymbols: [Int32] = []

    init(tables: BPEEncodingTables) {
        self.tables = tables
        capacity = WordEncoder.scanLimit
        symbols = .allocate(capacity: capacity)
        rules = .allocate(capacity: capacity)
    }

    deinit {
        symbols.deallocate()
        rules.deallocate()
    }

    /// Appends the ids of the pre-token `bytes[0..<length]` to `output`.
    @inline(__always)
    func encode(_ bytes: UnsafePointer<UInt8>, _ length: Int, into output: inout [Int32]) {
        if length == 1 { output.append(tables.idForByte[Int(bytes[0])]); return }
        guard length <= WordCache.maximumKeyLength else { merge(bytes, length, into: &output); return }
        let hash = WordCache.hash(bytes, length)
        if cache.appendCached(bytes, length, hash: hash, to: &output) { return }
        let start = output.count
        merge(bytes, length, into: &output)
        cache.insert(bytes, length, hash: hash, ids: output[start...])
    }

    private func merge(_ bytes: UnsafePointer<UInt8>, _ length: Int, into output: inout [Int32]) {
        if let idForToken = tables.idForToken,
           let id = idForToken[ByteLevelMapping.tokenString(for: UnsafeBufferPointer(start: bytes, count: length))] {
            output.append(id)
            return
        }
        if length <= WordEncoder.scanLimit {
            scanMerge(bytes, length, into: &output)
        } else {
            queueMerge(bytes, length, into: &output)
        }
    }

    /// `rules[i]` is the rule (rank << 32 | result) of the pair at i, i + 1; the lowest value is
    /// the lowest rank, and equal values mean the same pair, so the first minimum is HF's choice.
    private func scanMerge(_ bytes: UnsafePointer<UInt8>, _ length: Int, into output: inout [Int32]) {
        let merges = tables.merges, idForByte = tables.idForByte
        var count = length
        for index in 0..<count { symbols[index] = idForByte[Int(bytes[index])] }
        for index in 0..<count - 1 { rules[index] = merges.lookup(symbols[index], symbols[index + 1]) }
        while count > 1 {
            var best = 0, bestRule = rules[0]
            for index in 1..<count - 1 where rules[index] < bestRule {
                best = index
                bestRule = rules[index]
            }
            if bestRule == MergeTable.missing { break }
            symbols[best] = Int32(truncatingIfNeeded: bestRule & 0xFFFF_FFFF)
            // Drop symbol best + 1 and the pair rule that started there.
            let tail = count - best - 2
            if tail > 0 {
                (symbols + best + 1).update(from: symbols + best + 2, count: tail)
                (rules + best + 1).update(from: rules + best + 2, count: tail - 1)
            }
            count -= 1
            if best + 1 < count { rules[best] = merges.lookup(symbols[best], symbols[best + 1]) }
            if best > 0 { rules[best - 1] = merges.lookup(symbols[best - 1], symbols[best]) }
        }
        output.append(contentsOf: UnsafeBufferPointer(start: symbols, count: count))
    }

    /// A queue of (rank, position) pairs; pop the lowest rank (leftmost on ties), skip entries
    /// made stale by earlier merges, merge, and queue the two pairs the new symbol forms.
    private func queueMerge(_ bytes: UnsafePointer<UInt8>, _ length: Int, into output: inout [Int32]) {
        let merges = tables.merges
        longSymbols = (0..<length).map { tables.idForByte[Int(bytes[$0])] }
        next = (0..<Int32(length)).map { $0 + 1 < length ? $0 + 1 : -1 }
        previous = (0..<Int32(length)).map { $0 - 1 }
        queue.removeAll()
        for position in 0..<length - 1 { enqueuePair(at: Int32(position), Int32(position + 1)) }
        while let entry = queue.pop() {
            let position = Int(entry & 0xFFFF_FFFF), rank = entry >> 32
            guard longSymbols[position] >= 0, next[position] >= 0 else { continue }
            let right = Int(next[position])
            let rule = merges.lookup(longSymbols[position], longSymbols[right])
            guard rule != MergeTable.missing, rule >> 32 == rank else { continue }
            longSymbols[position] = Int32(truncatingIfNeeded: rule & 0xFFFF_FFFF)
            longSymbols[right] = -1
            next[position] = next[right]
            if next[right] >= 0 { previous[Int(next[right])] = Int32(position) }
            if previous[position] >= 0 { enqueuePair(at: previous[position], Int32(position)) }
            if next[position] >= 0 { enqueuePair(at: Int32(position), next[position]) }
        }
        for symbol in longSymbols where symbol >= 0 { output.append(symbol) }
    }

    private func enqueuePair(at left: Int32, _ right: Int32) {
        let rule = tables.merges.lookup(longSymbols[Int(left)], longSymbols[Int(right)])
        guard rule != MergeTable.missing else { return }
        queue.push(rule & 0xFFFF_FFFF_0000_0000 | UInt64(UInt32(left)))
    }
}
