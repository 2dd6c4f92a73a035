// A strict RFC 8259 JSON parser over UTF-8 bytes (see JSONValue.swift for why it exists).

import Foundation

/// A JSON syntax error at a byte offset.
public struct JSONSyntaxError: Error, Sendable, CustomStringConvertible {
    /// Byte offset in the input where the problem was found.
    public let offset: Int
    /// What was wrong.
    public let reason: String
    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

/// Parses one JSON document from UTF-8 bytes, rejecting trailing garbage and duplicate keys.
///
/// - Parameters:
///   - keepingDuplicateKeys: when true, an object may repeat a key and every occurrence is kept,
///     in file order, so that the caller can reject it with its own error (the safetensors reader
///     reports a repeated tensor name as such). By default a repeated key is a syntax error.
///   - maximumDepth: how many arrays and objects may nest inside one another (the outermost
///     counts as 1); deeper input is a syntax error rather than a stack overflow.
public func parseJSON(
    _ bytes: [UInt8], keepingDuplicateKeys: Bool = false, maximumDepth: Int = 512
) throws(JSONSyntaxError) -> JSONValue {
    var parser = JSONParser(bytes: bytes, keepingDuplicateKeys: keepingDuplicateKeys, maximumDepth: maximumDepth)
    parser.skipWhitespace()
    let value = try parser.parseValue(depth: 0)
    parser.skipWhitespace()
    if parser.position != bytes.count { throw parser.error("unexpected data after the document") }
    return value
}

struct JSONParser {
    let bytes: [UInt8]
    var position = 0
    let keepingDuplicateKeys: Bool
    // Deep nesting could otherwise overflow the stack; tokenizer.json is never deeper than ~6.
    let maximumDepth: Int

    init(bytes: [UInt8], keepingDuplicateKeys: Bool = false, maximumDepth: Int = 512) {
        self.bytes = bytes
        self.keepingDuplicateKeys = keepingDuplicateKeys
        self.maximumDepth = maximumDepth
    }

    func error(_ reason: String) -> JSONSyntaxError { JSONSyntaxError(offset: position, reason: reason) }

    mutating func skipWhitespace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    /// Parses the value at `position`; `depth` counts the arrays and objects around it.
    mutating func parseValue(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard position < bytes.count else { throw error("unexpected end of input") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected character '\(Unicode.Scalar(bytes[position]))'")
        }
    }

    mutating func expectLiteral(_ literal: String) throws(JSONSyntaxError) {
        for byte in literal.utf8 {
            guard position < bytes.count, bytes[position] == byte else { throw error("expected '\(literal)'") }
            position += 1
        }
    }

    func checkNesting(depth: Int) throws(JSONSyntaxError) {
        guard depth < maximumDepth else { throw error("nesting deeper than \(maximumDepth) levels") }
    }

    mutating func parseObject(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        try checkNesting(depth: depth)
        position += 1
        var pairs: [(String, JSONValue)] = []
        // Keys compare by bytes: Swift's String == is canonical equivalence, which would call
        // U+0300 and U+0340 (both combining grave) the same key.
        var seen = Set<ByteKey>()
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") { position += 1; return .object(pairs) }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let keyOffset = position
            let key = try parseString()
            guard keepingDuplicateKeys || seen.insert(ByteKey(key)).inserted else {
                throw JSONSyntaxError(offset: keyOffset, reason: "duplicate key \(Excerpt.quote(key))")
            }
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw error("expected ':'") }
            position += 1
            skipWhitespace()
            pairs.append((key, try parseValue(depth: depth + 1)))
            skipWhitespace()
            guard position < bytes.count else { throw error("unterminated object") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            if bytes[position] == UInt8(ascii: "}") { position += 1; return .object(pairs) }
            throw error("expected ',' or '}'")
        }
    }

    mutating func parseArray(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        try checkNesting(depth: depth)
        position += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") { position += 1; return .array(items) }
        while true {
            skipWhitespace()
            items.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            guard position < bytes.count else { throw error("unterminated array") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            if bytes[position] == UInt8(ascii: "]") { position += 1; return .array(items) }
            throw error("expected ',' or ']'")
        }
    }

    mutating func parseNumber() throws(JSONSyntaxError) -> JSONValue {
        let start = position
        func digits(_ parser: inout JSONParser) -> Int {
            let first = parser.position
            while parser.position < parser.bytes.count,
                  (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(parser.bytes[parser.position]) { parser.position += 1 }
            return parser.position - first
        }
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        let integerDigits = digits(&self)
        guard integerDigits > 0 else { throw error("expected digits") }
        if integerDigits > 1, bytes[position - integerDigits] == UInt8(ascii: "0") {
            throw JSONSyntaxError(offset: start, reason: "leading zero in a number")
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard digits(&self) > 0 else { throw error("expected digits after '.'") }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard digits(&self) > 0 else { throw error("expected digits in the exponent") }
        }
        return .number(String(decoding: bytes[start..<position], as: UTF8.self))
    }

    mutating func parseHex4() throws(JSONSyntaxError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("invalid hex digit in \\u escape")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    /// The offset of the first quote, backslash or control byte at or after `start` (or the end).
    func endOfPlainRun(from start: Int) -> Int {
        bytes.withUnsafeBufferPointer { buffer in
            var index = start
            while index < buffer.count {
                let byte = buffer[index]
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { break }
                index += 1
            }
            return index
        }
    }

    mutating func parseString() throws(JSONSyntaxError) -> String {
        position += 1  // opening quote
        // Most strings have no escape: they become a String straight from the input's bytes, with
        // no intermediate buffer (a vocabulary file is ~100k such strings).
        let start = position
        let plainEnd = endOfPlainRun(from: start)
        if plainEnd < bytes.count, bytes[plainEnd] == UInt8(ascii: "\"") {
            position = plainEnd + 1
            guard let string = String(validating: bytes[start ..< plainEnd], as: UTF8.self) else {
                throw error("string is not valid UTF-8")
            }
            return string
        }
        var output: [UInt8] = []
        while true {
            // Copy each run of plain bytes at once: a vocabulary file is mostly such runs, and a
            // hostile one may hold a single string of many megabytes.
            let runStart = position
            position = endOfPlainRun(from: runStart)
            output.append(contentsOf: bytes[runStart ..< position])
            guard position < bytes.count else { throw error("unterminated string") }
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") { position += 1; break }
            if byte < 0x20 { throw error("unescaped control character in a string") }
            position += 1
            guard position < bytes.count else { throw error("unterminated escape") }
            let escape = bytes[position]
            position += 1
            switch escape {
            case UInt8(ascii: "\""): output.append(0x22)
            case UInt8(ascii: "\\"): output.append(0x5C)
            case UInt8(ascii: "/"): output.append(0x2F)
            case UInt8(ascii: "b"): output.append(0x08)
            case UInt8(ascii: "f"): output.append(0x0C)
            case UInt8(ascii: "n"): output.append(0x0A)
            case UInt8(ascii: "r"): output.append(0x0D)
            case UInt8(ascii: "t"): output.append(0x09)
            case UInt8(ascii: "u"):
                var code = try parseHex4()
                if (0xD800..<0xDC00).contains(code) {
                    // A high surrogate must be followed by an escaped low surrogate.
                    guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                          bytes[position + 1] == UInt8(ascii: "u") else { throw error("unpaired surrogate in \\u escape") }
                    position += 2
                    let low = try parseHex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate in \\u escape") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(code) {
                    throw error("unpaired surrogate in \\u escape")
                }
                output.append(contentsOf: Array(String(Unicode.Scalar(code)!).utf8))
            default: throw error("invalid escape '\\\(Unicode.Scalar(escape))'")
            }
        }
        // Input that is not valid UTF-8 must not become U+FFFD silently.
        guard let string = String(validating: output, as: UTF8.self) else { throw error("string is not valid UTF-8") }
        return string
    }
}

/// An object key compared and hashed by its UTF-8 bytes in one pass each (memcmp, one hasher call),
/// so a key of many megabytes costs what copying it costs.
private struct ByteKey: Hashable {
    /// Native (parsed) strings store contiguous UTF-8, so no bytes are copied to compare or hash.
    var key: String
    init(_ key: String) { self.key = key }

    static func == (left: ByteKey, right: ByteKey) -> Bool {
        var a = left.key, b = right.key
        return a.utf8.count == b.utf8.count && a.withUTF8 { x in
            b.withUTF8 { y in x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 }
        }
    }

    func hash(into hasher: inout Hasher) {
        var copy = key
        copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
