import Foundation
import Testing
@testable import Tokenizers

@Suite struct SHA256Tests {
    /// FIPS 180-4 examples and lengths around the 55/56/64-byte padding boundaries
    /// (expected digests from Python's hashlib).
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        (String(repeating: "a", count: 55), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"),
        (String(repeating: "a", count: 56), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"),
        (String(repeating: "a", count: 63), "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"),
        (String(repeating: "a", count: 64), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"),
        (String(repeating: "a", count: 65), "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"),
        (String(repeating: "a", count: 1000), "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"),
    ])
    func knownDigests(message: String, digest: String) {
        #expect(sha256Hex(Array(message.utf8)) == digest)
    }

    @Test func knownDigestOfEveryByteValue() {
        #expect(sha256Hex((0 ..< 1000).map { UInt8($0 % 251) }) == "4e4c294b331f7a2099a379bec34b9f9fc03dc46ab465d998f4d683da53487e6d")
    }

    /// Data and its slices (the corpus manifest hashes file contents) hash like a copy of their bytes.
    @Test func dataAndSlicesHashLikeACopy() {
        let whole = Data((0 ..< 300).map { UInt8($0 % 256) })
        let slice = whole[100 ..< 250]
        #expect(sha256Hex(slice) == sha256Hex(Array(slice)))
        #expect(sha256Hex(whole) == sha256Hex(Array(whole)))
    }

    /// A sequence without contiguous storage goes through the chunked path (more than one 4 KiB chunk).
    @Test func nonContiguousSequenceHashesLikeAnArray() {
        let bytes = (0 ..< 10_000).lazy.map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        #expect(sha256Hex(bytes) == "470b2cd71bff57ce8be0be3fc23df273052c4bb10a1235fddb8f158d6f928546")
        #expect(sha256Hex(Array(bytes)) == "470b2cd71bff57ce8be0be3fc23df273052c4bb10a1235fddb8f158d6f928546")
    }

    /// FIPS 180-4's million "a"s, fed in irregular pieces that straddle block boundaries.
    @Test func millionAsStreamedInIrregularPieces() {
        let message = [UInt8](repeating: 0x61, count: 1_000_000)
        let expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        #expect(sha256Hex(message) == expected)
        var hasher = SHA256Hasher()
        var start = 0, length = 1
        while start < message.count {
            let end = min(start + length, message.count)
            hasher.update(message[start ..< end])
            start = end
            length = (length * 7 + 3) % 200
        }
        #expect(hasher.finalize().map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() == expected)
    }

    @Test func streamingInPiecesEqualsOneShot() {
        let message = Array(String(repeating: "The quick brown fox. ", count: 20).utf8)
        var hasher = SHA256Hasher()
        for start in stride(from: 0, to: message.count, by: 37) { hasher.update(message[start..<min(start + 37, message.count)]) }
        let digest = hasher.finalize()
        #expect(digest.count == 32)
        #expect(digest.map { String($0, radix: 16) }.count == 32)
        let hex = digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        #expect(hex == sha256Hex(message))
    }
}
