// Pre-token bytes → their ids, one cache per encoding thread.
//
// Pre-tokens repeat a lot (Shakespeare's 1.1M pre-tokens are ~40k distinct ones), so most
// words are a hash, a probe and a memcmp instead of a merge loop. Keys and ids live in two
// arenas and a slot holds offsets into them: no allocation per word. When the cache holds
// `maximumEntries` words it starts over, which bounds its memory on corpora of any size.

import Foundation

final class WordCache {
    private struct Slot {
        /// 0 = empty; `hash(_:_:)` never returns 0.
        var hash: UInt64
        var keyStart: Int32
        var keyLength: Int32
        var idsStart: Int32
        var idsCount: Int32
    }

    /// Longer pre-tokens are merged every time (they are rare, and would crowd the arenas).
    static let maximumKeyLength = 255
    let maximumEntries: Int

    private var slots: UnsafeMutablePointer<Slot>
    private var mask: Int
    private var count = 0
    private var keys: UnsafeMutablePointer<UInt8>
    private var keyCapacity: Int
    private var keyUsed = 0
    private var ids: UnsafeMutablePointer<Int32>
    private var idCapacity: Int
    private var idUsed = 0

    init(maximumEntries: Int = 1 << 18) {
        self.maximumEntries = maximumEntries
        let capacity = 1 << 12
        mask = capacity - 1
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: Slot(hash: 0, keyStart: 0, keyLength: 0, idsStart: 0, idsCount: 0), count: capacity)
        keyCapacity = 1 << 15
        keys = .allocate(capacity: keyCapacity)
        idCapacity = 1 << 14
        ids = .allocate(capacity: idCapacity)
    }

    deinit {
        slots.deallocate()
        keys.deallocate()
        ids.deallocate()
    }

    /// A 64-bit hash of the bytes, never 0: eight bytes at a time, then the tail, each step a
    /// multiply and a xor-shift (enough to spread short words over the table).
    @inline(__always)
    static func hash(_ bytes: UnsafePointer<UInt8>, _ length: Int) -> UInt64 {
        let multiplier: UInt64 = 0x9E37_79B9_7F4A_7C15
        var state = 0x243F_6A88_85A3_08D3 ^ UInt64(length)
        var offset = 0
        let raw = UnsafeRawPointer(bytes)
        while offset + 8 <= length {
            state = (state ^ raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* multiplier
            state ^= state >> 32
            offset += 8
        }
        var tail: UInt64 = 0
        while offset < length {
            tail = tail << 8 | UInt64(bytes[offset])
            offset += 1
        }
        state = (state ^ tail) &* multiplier
        state ^= state >> 29
        return state == 0 ? 1 : state
    }

    /// Appends the cached ids of the word to `output` and returns true, or returns false.
    @inline(__always)
    func appendCached(_ bytes: UnsafePointer<UInt8>, _ length: Int, hash: UInt64, to output: inout [Int32]) -> Bool {
        var index = Int(truncatingIfNeeded: hash) & mask
        while true {
            let slot = slots[index]
            if slot.hash == 0 { return false }
            if slot.hash == hash, Int(slot.keyLength) == length, memcmp(keys + Int(slot.keyStart), bytes, length) == 0 {
                let cached = UnsafeBufferPointer(start: ids + Int(slot.idsStart), count: Int(slot.idsCount))
                output.append(contentsOf: cached)
                return true
            }
            index = (index + 1) & mask
        }
    }

    /// Stores the ids of a word that `appendCached` did not find.
    func insert(_ bytes: UnsafePointer<UInt8>, _ length: Int, hash: UInt64, ids wordIDs: ArraySlice<Int32>) {
        if count >= maximumEntries { removeAll() }
        if 2 * (count + 1) > mask + 1 { growSlots() }
        reserve(keys: length, ids: wordIDs.count)
        (keys + keyUsed).update(from: bytes, count: length)
        wordIDs.withUnsafeBufferPointer { (ids + idUsed).update(from: $0.baseAddress!, count: $0.count) }
        var index = Int(truncatingIfNeeded: hash) & mask
        while slots[index].hash != 0 { index = (index + 1) & mask }
        slots[index] = Slot(hash: hash, keyStart: Int32(keyUsed), keyLength: Int32(length),
                            idsStart: Int32(idUsed), idsCount: Int32(wordIDs.count))
        keyUsed += length
        idUsed += wordIDs.count
        count += 1
    }

    private func removeAll() {
        (slots).update(repeating: Slot(hash: 0, keyStart: 0, keyLength: 0, idsStart: 0, idsCount: 0), count: mask + 1)
        count = 0
        keyUsed = 0
        idUsed = 0
    }

    private func reserve(keys keyCount: Int, ids idCount: Int) {
        if keyUsed + keyCount > keyCapacity {
            let capacity = max(2 * keyCapacity, keyUsed + keyCount)
            let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
            grown.update(from: keys, count: keyUsed)
            keys.deallocate()
            keys = grown
            keyCapacity = capacity
        }
        if idUsed + idCount > idCapacity {
            let capacity = max(2 * idCapacity, idUsed + idCount)
            let grown = UnsafeMutablePointer<Int32>.allocate(capacity: capacity)
            grown.update(from: ids, count: idUsed)
            ids.deallocate()
            ids = grown
            idCapacity = capacity
        }
    }

    private func growSlots() {
        let oldSlots = slots, oldCapacity = mask + 1
        let capacity = 2 * oldCapacity
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: Slot(hash: 0, keyStart: 0, keyLength: 0, idsStart: 0, idsCount: 0), count: capacity)
        mask = capacity - 1
        for old in 0..<oldCapacity where oldSlots[old].hash != 0 {
            var index = Int(truncatingIfNeeded: oldSlots[old].hash) & mask
            while slots[index].hash != 0 { index = (index + 1) & mask }
            slots[index] = oldSlots[old]
        }
        oldSlots.deallocate()
    }
}
