// UTF-8 checking with a position: the standard library validates quickly but does not say where input goes
// wrong, so the fast check runs first and the scalar-by-scalar scan only on input that failed it.

/// Decoded text and how many ill-formed sequences became U+FFFD.
struct DecodedText {
    var text: String
    var replaced: Int
}

enum UTF8Text {
    /// The offset of the first byte that is not part of a well-formed UTF-8 sequence, or nil.
    static func firstInvalidOffset(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        if String(validating: bytes, as: UTF8.self) != nil { return nil }
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded): offset += encoded.count
            case .error: return offset
            case .emptyInput: return nil
            }
        }
    }

    /// `bytes` as text: an error naming `source` and the absolute byte offset (`baseOffset` + the position)
    /// under `.error`; each maximal ill-formed subsequence as U+FFFD under `.replace` (as `String(decoding:)`).
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, policy: InvalidTextPolicy, source: String,
                       baseOffset: Int, line: Int? = nil) throws(CorpusError) -> DecodedText {
        if let text = String(validating: bytes, as: UTF8.self) { return DecodedText(text: text, replaced: 0) }
        switch policy {
        case .error:
            let offset = baseOffset + (firstInvalidOffset(bytes) ?? 0)
            let at = line.map { "\(source):\($0)" } ?? source
            throw CorpusError(source: at, "invalid UTF-8 at byte offset \(offset) of the file "
                + "(pass --on-invalid replace to read such bytes as U+FFFD)")
        case .replace:
            var replaced = 0
            var parser = Unicode.UTF8.ForwardParser()
            var iterator = bytes.makeIterator()
            loop: while true {
                switch parser.parseScalar(from: &iterator) {
                case .valid: continue
                case .error: replaced += 1
                case .emptyInput: break loop
                }
            }
            return DecodedText(text: String(decoding: bytes, as: UTF8.self), replaced: replaced)
        }
    }
}
