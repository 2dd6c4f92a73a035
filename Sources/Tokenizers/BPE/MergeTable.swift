// The merge rules as a flat open-addressing hash keyed by the (left, right) id pair.
//
// Why not a Dictionary: merge lookups are the inner loop of encoding (several per byte), and a
// Swift Dictionary hashes each UInt64 key with SipHash and checks bounds and uniqueness on
// every access. One multiply picks the slot here, and the probe reads two adjacent words.

/// Pair key → `rank << 32 | result`, shared read-only by every encoding thread.
final class MergeTable: @unchecked Sendable {
    /// `slots[2i]` is a key (`empty` when unused), `slots[2i + 1]` its value.
    private let slots: UnsafeMutablePointer<UInt64>
    private let mask: Int
    private let shift: UInt64
    /// No pair has this key: ids are ≥ 0, so a left id of 0xFFFF_FFFF never occurs.
    static let empty = UInt64.max
    /// `lookup`'s answer for a pair without a rule; no real value has all 64 bits set.
    static let missing = UInt64.max
    /// Number of rules.
    let count: Int

    /// `entries` in rank order; a repeated pair keeps its last value (Hugging Face's map building).
    init(entries: [(key: UInt64, value: UInt64)]) {
        var bits = 4
        while (1 << bits) < 2 * max(entries.count, 1) { bits += 1 }
        let capacity = 1 << bits
        mask = capacity - 1
        shift = UInt64(64 - bits)
        slots = .allocate(capacity: 2 * capacity)
        slots.initialize(repeating: MergeTable.empty, count: 2 * capacity)
        var distinct = 0
        for entry in entries {
            var slot = MergeTable.slot(for: entry.key, shift: shift)
            while slots[2 * slot] != MergeTable.empty && slots[2 * slot] != entry.key { slot = (slot + 1) & mask }
            if slots[2 * slot] == MergeTable.empty { distinct += 1 }
            slots[2 * slot] = entry.key
            slots[2 * slot + 1] = entry.value
        }
        count = distinct
    }

    @inline(__always)
    private static func slot(for key: UInt64, shift: UInt64) -> Int {
        // Fibonacci hashing: the high bits of key × 2⁶⁴/φ spread consecutive ids over the table.
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    deinit { slots.deallocate() }

    /// `rank << 32 | result` for the pair, or `MergeTable.missing`.
    @inline(__always)
    func lookup(_ left: Int32, _ right: Int32) -> UInt64 {
        let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
        var slot = MergeTable.slot(for: key, shift: shift)
        while true {
            let stored = slots[2 * slot]
            if stored == key { return slots[2 * slot + 1] }
            if stored == MergeTable.empty { return MergeTable.missing }
            slot = (slot + 1) & mask
        }
    }
}
