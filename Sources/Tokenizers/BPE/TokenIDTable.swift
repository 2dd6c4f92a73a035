// Token string → id, compared by UTF-8 bytes, for checking a vocabulary's merges at load.
//
// Why not [String: Int32]: String hashing and == follow canonical equivalence, so every lookup of
// a non-ASCII token (most byte-level tokens: "Ġthe") normalises it first; checking 50k merges
// made three such lookups each and dominated loading a tokenizer. Hugging Face's Rust map
// compares bytes, so a merge spelled with a canonically equivalent but different string is not
// in the vocabulary there either.

import Foundation

struct TokenIDTable {
    private var tokens: [String]
    private var ids: [Int32]
    /// Open addressing: `slots[i]` is an index into `tokens`, or -1.
    private var slots: [Int32]
    private let mask: Int

    /// `entries` must have distinct byte strings (the caller's vocabulary already does).
    init<Entries: Collection>(_ entries: Entries) where Entries.Element == (key: String, value: Int32) {
        var bits = 4
        while (1 << bits) < 2 * max(entries.count, 1) { bits += 1 }
        mask = (1 << bits) - 1
        slots = [Int32](repeating: -1, count: 1 << bits)
        tokens = []
        ids = []
        tokens.reserveCapacity(entries.count)
        ids.reserveCapacity(entries.count)
        for (token, id) in entries {
            var slot = Self.hash(token) & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(tokens.count)
            tokens.append(token)
            ids.append(id)
        }
    }

    private static func hash(_ token: String) -> Int {
        var hasher = Hasher()
        var copy = token
        copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        return hasher.finalize()
    }

    private static func sameBytes(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        return a.utf8.count == b.utf8.count && a.withUTF8 { x in
            b.withUTF8 { y in x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 }
        }
    }

    subscript(token: String) -> Int32? {
        var slot = Self.hash(token) & mask
        while true {
            let index = slots[slot]
            if index < 0 { return nil }
            if Self.sameBytes(tokens[Int(index)], token) { return ids[Int(index)] }
            slot = (slot + 1) & mask
        }
    }
}
