// GPT-2's pre-tokenizer: splits text into the pieces BPE merges never cross, exactly as the
// regular expression
//     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// does (what Hugging Face's ByteLevel pre-tokenizer runs with use_regex true).
//
// Why hand-written: a regex engine is ~50× slower on a 5M-character corpus, and the
// alternation's first-match-wins and backtracking order is easy to state directly. The
// pattern is applied left to right; at each position the first alternative that matches
// wins (not the longest), so e.g. "'s" is one piece and " 's" is " '" + "s".
// Character classes: \s = Unicode White_Space, \p{L} = general categories Lu Ll Lt Lm Lo,
// \p{N} = Nd Nl No (as Oniguruma defines them for the pattern in Hugging Face tokenizers).
// Unicode version: Oniguruma in `tokenizers` 0.23 knows Unicode 16.0, Swift 6.3 knows 17.0;
// the 4,657 letters and digits that 17.0 added are "other" to HF, so scalars assigned after
// `huggingFaceUnicodeVersion` are classed as unassigned here too (checked against HF for
// every scalar). A Swift older than Unicode 16 would differ on 16.0's additions.

/// The class of a Unicode scalar as GPT-2's pattern sees it.
enum PreTokenClass: UInt8 {
    case letter, number, whitespace, other
}

/// Splits UTF-8 text into GPT-2 pre-tokens, as byte ranges.
public enum GPT2PreTokenizer {
    /// Classes of U+0000…U+FFFF, built on first use (64 KB): the Unicode property lookups behind
    /// `classify` cost far more than the rest of pre-tokenization.
    private static let basicPlaneClasses: [PreTokenClass] = (0..<0x1_0000).map { value in
        Unicode.Scalar(UInt32(value)).map(classify) ?? .other
    }
    private static let asciiClasses: [PreTokenClass] = Array(basicPlaneClasses[0..<128])

    /// The Unicode version of the regex engine in Hugging Face `tokenizers`.
    static let huggingFaceUnicodeVersion = (major: 16, minor: 0)

    static func classify(_ scalar: Unicode.Scalar) -> PreTokenClass {
        let properties = scalar.properties
        if let age = properties.age, (age.major, age.minor) > huggingFaceUnicodeVersion { return .other }
        if properties.isWhitespace { return .whitespace }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    /// Splits `text` and returns the pieces as strings (convenient for tests and tools).
    public static func split(_ text: String) -> [String] {
        let bytes = Array(text.utf8)
        return pieceRanges(bytes).map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    /// Splits valid UTF-8 `bytes` into consecutive, non-empty byte ranges covering all of them.
    public static func pieceRanges(_ bytes: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(bytes.count / 4)
        bytes.withUnsafeBufferPointer { buffer in
            forEachPiece(in: buffer) { start, end in ranges.append(start..<end) }
        }
        return ranges
    }

    /// Calls `body(start, end)` for each piece of the valid UTF-8 in `bytes`, in order.
    @inline(__always)
    static func forEachPiece(in bytes: UnsafeBufferPointer<UInt8>, _ body: (Int, Int) -> Void) {
        guard let base = bytes.baseAddress else { return }
        var scanner = Scanner(bytes: base, count: bytes.count)
        while scanner.position < scanner.count {
            let start = scanner.position
            scanner.advancePiece()
            body(start, scanner.position)
        }
    }

    /// Walks the bytes one pre-token at a time. The bytes are valid UTF-8 (they come from a
    /// String), so a lead byte is always followed by its continuation bytes.
    struct Scanner {
        let bytes: UnsafePointer<UInt8>
        let count: Int
        var position = 0

        init(bytes: UnsafePointer<UInt8>, count: Int) {
            self.bytes = bytes
            self.count = count
        }

        /// The class and byte length of the scalar at `offset` (which must be < count).
        @inline(__always)
        func scalar(at offset: Int) -> (PreTokenClass, length: Int) {
            let lead = bytes[offset]
            if lead < 0x80 { return (GPT2PreTokenizer.asciiClasses[Int(lead)], 1) }
            let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2
            var value = UInt32(lead) & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
            for index in 1..<length { value = value << 6 | UInt32(bytes[offset + index] & 0x3F) }
            if value < 0x1_0000 { return (GPT2PreTokenizer.basicPlaneClasses[Int(value)], length) }
            return (GPT2PreTokenizer.classify(Unicode.Scalar(value) ?? "\u{FFFD}"), length)
        }

        /// End offset of the run of scalars of class `runClass` starting at `offset`.
        @inline(__always)
        func endOfRun(from offset: Int, of runClass: PreTokenClass) -> Int {
            var end = offset
            while end < count {
                let lead = bytes[end]
                if lead < 0x80 {
                    if GPT2PreTokenizer.asciiClasses[Int(lead)] != runClass { break }
                    end += 1
                    continue
                }
                let (scalarClass, length) = scalar(at: end)
                if scalarClass != runClass { break }
                end += length
            }
            return end
        }

        /// Length of a contraction ('s 't 're 've 'm 'll 'd) at `offset`, or 0.
        func contractionLength(at offset: Int) -> Int {
            guard bytes[offset] == UInt8(ascii: "'"), offset + 1 < count else { return 0 }
            switch bytes[offset + 1] {
            case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"): return 2
            case UInt8(ascii: "r"), UInt8(ascii: "v"):
                return offset + 2 < count && bytes[offset + 2] == UInt8(ascii: "e") ? 3 : 0
            case UInt8(ascii: "l"):
                return offset + 2 < count && bytes[offset + 2] == UInt8(ascii: "l") ? 3 : 0
            default: return 0
            }
        }

        mutating func advancePiece() {
            let contraction = contractionLength(at: position)
            if contraction > 0 { position += contraction; return }
            let (firstClass, _) = scalar(at: position)
            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional leading space (U+0020 only).
            if bytes[position] == 0x20, position + 1 < count {
                let (nextClass, _) = scalar(at: position + 1)
                if nextClass != .whitespace {
                    position = endOfRun(from: position + 1, of: nextClass)
                    return
                }
            }
            if firstClass != .whitespace {
                position = endOfRun(from: position, of: firstClass)
                return
            }
            // `\s+(?!\S)`: the whitespace run, minus its last scalar when a non-space follows
            // (that scalar then starts the next piece, e.g. " world"); else `\s+`.
            let runEnd = endOfRun(from: position, of: .whitespace)
            if runEnd == count { position = runEnd; return }
            var lastStart = runEnd - 1
            while bytes[lastStart] & 0xC0 == 0x80 { lastStart -= 1 }
            position = lastStart > position ? lastStart : runEnd
        }
    }
}
