// SHA-256 (FIPS 180-4), written out so the Tokenizers target needs no dependency (CryptoKit is
// not on Linux; swift-crypto would be one more package for one function). Used for
// `Tokenizer.fingerprint()`, which the logit files record as `tokenizer_sha256`, and by Store for
// the corpus manifest's checksums (files of several MB, hence the block loop over raw buffers).

/// A streaming SHA-256 hasher.
public struct SHA256Hasher: Sendable {
    private static let roundConstants: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    private var state: [UInt32] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ]
    /// Bytes fed but not yet compressed (always fewer than 64).
    private var pending: [UInt8] = []
    /// Every byte fed so far, compressed or pending.
    private var totalBytes: UInt64 = 0

    public init() {}

    /// Feeds more message bytes. Contiguous inputs (arrays, slices, `Data`) are hashed in place.
    public mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            absorb(UnsafeRawBufferPointer(buffer))
        }
        guard done == nil else { return }
        var chunk: [UInt8] = []
        chunk.reserveCapacity(4096)
        for byte in bytes {
            chunk.append(byte)
            if chunk.count == 4096 {
                chunk.withUnsafeBytes { absorb($0) }
                chunk.removeAll(keepingCapacity: true)
            }
        }
        chunk.withUnsafeBytes { absorb($0) }
    }

    /// Pads, processes the last block(s) and returns the 32-byte digest. Call it once.
    public mutating func finalize() -> [UInt8] {
        // Padding: 0x80, zeros, then the message length in bits as a big-endian UInt64.
        let messageBits = totalBytes &* 8
        var tail = pending
        tail.append(0x80)
        while tail.count % 64 != 56 { tail.append(0) }
        for shift in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: messageBits >> UInt64(shift))) }
        pending.removeAll()
        tail.withUnsafeBytes { Self.compressBlocks($0, into: &state) }
        var digest: [UInt8] = []
        digest.reserveCapacity(32)
        for word in state {
            for shift in stride(from: 24, through: 0, by: -8) { digest.append(UInt8(truncatingIfNeeded: word >> UInt32(shift))) }
        }
        return digest
    }

    private mutating func absorb(_ input: UnsafeRawBufferPointer) {
        totalBytes &+= UInt64(input.count)
        var state = self.state
        defer { self.state = state }
        var offset = 0
        if !pending.isEmpty {
            offset = min(64 - pending.count, input.count)
            pending.append(contentsOf: input[0 ..< offset])
            guard pending.count == 64 else { return }
            pending.withUnsafeBytes { Self.compressBlocks($0, into: &state) }
            pending.removeAll(keepingCapacity: true)
        }
        let wholeBlocks = (input.count - offset) / 64 * 64
        Self.compressBlocks(UnsafeRawBufferPointer(rebasing: input[offset ..< offset + wholeBlocks]), into: &state)
        pending.append(contentsOf: input[(offset + wholeBlocks)...])
    }

    /// Compresses `blocks`, whose length is a multiple of 64, into `state`.
    private static func compressBlocks(_ blocks: UnsafeRawBufferPointer, into state: inout [UInt32]) {
        guard !blocks.isEmpty else { return }
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { words in
            roundConstants.withUnsafeBufferPointer { constants in
                var offset = 0
                while offset < blocks.count {
                    compress(UnsafeRawBufferPointer(rebasing: blocks[offset ..< offset + 64]),
                             state: &state, words: words, constants: constants)
                    offset += 64
                }
            }
        }
    }

    private static func compress(_ block: UnsafeRawBufferPointer, state: inout [UInt32],
                                 words: UnsafeMutableBufferPointer<UInt32>, constants: UnsafeBufferPointer<UInt32>) {
        for index in 0 ..< 16 {
            words[index] = UInt32(block[4 * index]) << 24 | UInt32(block[4 * index + 1]) << 16
                | UInt32(block[4 * index + 2]) << 8 | UInt32(block[4 * index + 3])
        }
        for index in 16 ..< 64 {
            let word15 = words[index - 15], word2 = words[index - 2]
            let sigma0 = word15.rotatedRight(7) ^ word15.rotatedRight(18) ^ (word15 >> 3)
            let sigma1 = word2.rotatedRight(17) ^ word2.rotatedRight(19) ^ (word2 >> 10)
            words[index] = words[index - 16] &+ sigma0 &+ words[index - 7] &+ sigma1
        }
        var a = state[0], b = state[1], c = state[2], d = state[3]
        var e = state[4], f = state[5], g = state[6], h = state[7]
        for index in 0 ..< 64 {
            let sum1 = e.rotatedRight(6) ^ e.rotatedRight(11) ^ e.rotatedRight(25)
            let choice = (e & f) ^ (~e & g)
            let temporary1 = h &+ sum1 &+ choice &+ constants[index] &+ words[index]
            let sum0 = a.rotatedRight(2) ^ a.rotatedRight(13) ^ a.rotatedRight(22)
            let majority = (a & b) ^ (a & c) ^ (b & c)
            let temporary2 = sum0 &+ majority
            h = g; g = f; f = e; e = d &+ temporary1
            d = c; c = b; b = a; a = temporary1 &+ temporary2
        }
        state[0] &+= a; state[1] &+= b; state[2] &+= c; state[3] &+= d
        state[4] &+= e; state[5] &+= f; state[6] &+= g; state[7] &+= h
    }
}

extension UInt32 {
    @inline(__always)
    fileprivate func rotatedRight(_ count: UInt32) -> UInt32 { (self >> count) | (self << (32 - count)) }
}

/// Lowercase hex SHA-256 of `bytes`.
public func sha256Hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
    var hasher = SHA256Hasher()
    hasher.update(bytes)
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    for byte in hasher.finalize() { text.append(digits[Int(byte >> 4)]); text.append(digits[Int(byte & 0x0F)]) }
    return String(decoding: text, as: UTF8.self)
}
