// Quoting input in error messages. A hostile or broken file can hold a token, key or value of
// hundreds of megabytes; a message that repeats it whole takes as long to print as the file took
// to read and buries the point. Every parser quotes input through here, so a message holds at
// most `Excerpt.limit` characters of any one piece of input and costs O(limit) to build.

/// Short, escaped excerpts of untrusted input for error messages.
public enum Excerpt {
    /// The most characters (Unicode scalars) of one piece of input a message shows.
    public static let limit = 200

    /// `text` in double quotes with control characters, quotes and backslashes escaped, cut after
    /// `limit` scalars; a cut excerpt ends with `…` and says how long the whole text is, in bytes.
    /// Only the shown prefix is visited (plus the O(1) UTF-8 length of a native string), so quoting
    /// a 100 MB string is as fast as quoting a short one.
    ///
    ///     Excerpt.quote("a\nb")                 // "\"a\\nb\""
    ///     Excerpt.quote(String(repeating: "x", count: 1_000_000), limit: 3)  // "\"xxx…\" (1000000 bytes)"
    public static func quote(_ text: some StringProtocol, limit: Int = limit) -> String {
        "\"" + escapedPrefix(text, limit: limit) + "\"" + lengthNote(text, limit: limit)
    }

    /// As `quote`, without the surrounding quotes: for text that a message already frames (a field
    /// path such as `model.vocab["…"]`, a name after a colon).
    public static func clip(_ text: some StringProtocol, limit: Int = limit) -> String {
        escapedPrefix(text, limit: limit) + lengthNote(text, limit: limit)
    }

    /// `bytes` quoted as `quote` does, decoded as UTF-8 (an invalid sequence shows as U+FFFD); only
    /// the first `4 · limit` bytes are decoded.
    public static func quote(bytes: some Collection<UInt8>, limit: Int = limit) -> String {
        let shown = bytes.prefix(4 * limit)
        let text = String(decoding: shown, as: UTF8.self)
        let cut = shown.count < bytes.count
        return "\"" + escapedPrefix(text, limit: limit) + (cut && text.unicodeScalars.count <= limit ? "…" : "") + "\""
            + (cut || !lengthNote(text, limit: limit).isEmpty ? " (\(bytes.count) bytes)" : "")
    }

    // MARK: - Helpers

    private static func escapedPrefix(_ text: some StringProtocol, limit: Int) -> String {
        var result = ""
        var shown = 0
        for scalar in text.unicodeScalars {
            guard shown < limit else { return result + "…" }
            shown += 1
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case let control where control.value < 0x20 || (0x7F ... 0x9F).contains(control.value):
                result += "\\u{" + String(control.value, radix: 16, uppercase: true) + "}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// " (N bytes)" when the text is longer than `limit` scalars; only looks past the limit once.
    private static func lengthNote(_ text: some StringProtocol, limit: Int) -> String {
        var scalars = text.unicodeScalars.makeIterator()
        var seen = 0
        while seen <= limit, scalars.next() != nil { seen += 1 }
        return seen > limit ? " (\(text.utf8.count) bytes)" : ""
    }
}
