// GPT-2's reversible byte ↔ Unicode mapping (`bytes_to_unicode` in openai/gpt-2 encoder.py).
// Byte-level BPE tokens are strings over 256 printable stand-in characters, one per byte, so
// that a vocabulary of bytes can be stored as JSON strings: printable Latin-1 bytes map to
// themselves, the other 68 (controls, space, 0x7F–0xA0, 0xAD) to U+0100 onwards, in order.

/// GPT-2's byte-to-character table and its inverse.
public enum ByteLevelMapping {
    /// `characterForByte[b]` is the stand-in scalar for byte `b` (e.g. space → "Ġ", U+0120).
    public static let characterForByte: [Unicode.Scalar] = {
        let printable = Set(Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF))
        var next: UInt32 = 256
        return (0..<256).map { byte in
            if printable.contains(byte) { return Unicode.Scalar(UInt8(byte)) }
            defer { next += 1 }
            return Unicode.Scalar(next)!  // at most U+0143, always a valid scalar
        }
    }()

    /// The byte a stand-in scalar represents, or nil for scalars outside the table.
    public static func byte(for scalar: Unicode.Scalar) -> UInt8? {
        let value = scalar.value
        guard value < UInt32(byteForCharacter.count) else { return nil }
        let byte = byteForCharacter[Int(value)]
        return byte < 0 ? nil : UInt8(byte)
    }

    /// Inverse table indexed by scalar value (all stand-ins are below U+0144); -1 = not a stand-in.
    private static let byteForCharacter: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (byte, scalar) in characterForByte.enumerated() { table[Int(scalar.value)] = Int16(byte) }
        return table
    }()

    /// The token string for a byte sequence (each byte → its stand-in character).
    public static func tokenString<Bytes: Sequence>(for bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var scalars = String.UnicodeScalarView()
        for byte in bytes { scalars.append(characterForByte[Int(byte)]) }
        return String(scalars)
    }

    /// The bytes a token string stands for. As Hugging Face's ByteLevel decoder does, a token
    /// containing any character outside the table (an added token such as "<|x|>" written
    /// with other characters) stands for its own UTF-8 bytes.
    public static func bytes(forToken token: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(token.unicodeScalars.count)
        for scalar in token.unicodeScalars {
            guard let byte = byte(for: scalar) else { return Array(token.utf8) }
            bytes.append(byte)
        }
        return bytes
    }
}
