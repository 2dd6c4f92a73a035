// Deterministic JSON serialization: keys in the order given, two-space indentation like
// Hugging Face's pretty tokenizer.json, and a fixed escaping rule, so the same tokenizer
// always gives the same bytes (and so the same fingerprint) on every platform.

extension JSONValue {
    /// Serializes the value. Arrays whose items are all scalars (merges, token pairs) stay
    /// on one line; objects put one key per line.
    public func serialized() -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(1 << 16)
        write(to: &output, indent: 0)
        output.append(0x0A)
        return output
    }

    private var isScalar: Bool {
        switch self {
        case .array, .object: return false
        default: return true
        }
    }

    private func write(to output: inout [UInt8], indent: Int) {
        switch self {
        case .null: output.append(contentsOf: Array("null".utf8))
        case .bool(let value): output.append(contentsOf: Array((value ? "true" : "false").utf8))
        case .number(let text): output.append(contentsOf: Array(text.utf8))
        case .string(let text): JSONValue.writeString(text, to: &output)
        case .array(let items):
            if items.isEmpty { output.append(contentsOf: [0x5B, 0x5D]); return }
            if items.allSatisfy(\.isScalar) {
                output.append(0x5B)
                for (index, item) in items.enumerated() {
                    if index > 0 { output.append(contentsOf: [0x2C, 0x20]) }
                    item.write(to: &output, indent: indent)
                }
                output.append(0x5D)
                return
            }
            output.append(0x5B)
            for (index, item) in items.enumerated() {
                output.append(contentsOf: index == 0 ? [0x0A] : [0x2C, 0x0A])
                JSONValue.writeIndent(indent + 1, to: &output)
                item.write(to: &output, indent: indent + 1)
            }
            output.append(0x0A)
            JSONValue.writeIndent(indent, to: &output)
            output.append(0x5D)
        case .object(let pairs):
            if pairs.isEmpty { output.append(contentsOf: [0x7B, 0x7D]); return }
            output.append(0x7B)
            for (index, (key, value)) in pairs.enumerated() {
                output.append(contentsOf: index == 0 ? [0x0A] : [0x2C, 0x0A])
                JSONValue.writeIndent(indent + 1, to: &output)
                JSONValue.writeString(key, to: &output)
                output.append(contentsOf: [0x3A, 0x20])
                value.write(to: &output, indent: indent + 1)
            }
            output.append(0x0A)
            JSONValue.writeIndent(indent, to: &output)
            output.append(0x7D)
        }
    }

    private static func writeIndent(_ level: Int, to output: inout [UInt8]) {
        output.append(contentsOf: repeatElement(0x20, count: 2 * level))
    }

    /// Escapes `"`, `\` and control characters (short forms where JSON has them, else
    /// `\u00XX`); everything else, including non-ASCII, is written as raw UTF-8.
    static func writeString(_ text: String, to output: inout [UInt8]) {
        output.append(0x22)
        // Almost every string needs no escape: copy its bytes at once (a vocabulary is ~100k strings).
        var text = text
        let plain = text.withUTF8 { utf8 in
            guard !utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0x7F }) else { return false }
            output.append(contentsOf: utf8)
            return true
        }
        if plain {
            output.append(0x22)
            return
        }
        let hexDigits = Array("0123456789abcdef".utf8)
        for byte in text.utf8 {
            switch byte {
            case 0x22: output.append(contentsOf: [0x5C, 0x22])
            case 0x5C: output.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: output.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: output.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x08: output.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: output.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0x00..<0x20, 0x7F:
                output.append(contentsOf: Array("\\u00".utf8))
                output.append(hexDigits[Int(byte >> 4)])
                output.append(hexDigits[Int(byte & 0x0F)])
            default: output.append(byte)
            }
        }
        output.append(0x22)
    }
}
