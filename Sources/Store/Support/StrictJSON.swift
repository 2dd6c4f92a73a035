import Foundation

/// A JSON value with object members kept in file order and duplicate keys kept (not merged), so a
/// caller can reject duplicates — Foundation's `JSONSerialization` silently keeps one of them.
/// Numbers keep their text so large integers lose nothing.
enum StrictJSON: Equatable {
    struct Member: Equatable {
        var key: String
        var value: StrictJSON
    }

    case object([Member])
    case array([StrictJSON])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    /// A short name of the value's kind, for error messages ("found an array").
    var kindName: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }

    /// The value as an integer if it is a number written without fraction or exponent.
    var integerValue: Int? {
        guard case .number(let text) = self else { return nil }
        return Int(text)
    }
}

/// Where and why the JSON text is malformed.
struct StrictJSONError: Error {
    /// Byte offset into the parsed text.
    let offset: Int
    let message: String
}

/// A small recursive-descent parser for RFC 8259 JSON (whitespace allowed around the value).
struct StrictJSONParser {
    private let bytes: [UInt8]
    private var position = 0
    private var depth = 0
    private static let maximumDepth = 64

    /// Parses `bytes` as one JSON value, allowing surrounding whitespace.
    static func parse<Bytes: Collection<UInt8>>(_ bytes: Bytes) throws(StrictJSONError) -> StrictJSON {
        var parser = StrictJSONParser(bytes: Array(bytes))
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        if parser.position != parser.bytes.count {
            throw parser.failure("unexpected \(parser.describeCurrent()) after the end of the JSON value")
        }
        return value
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private func failure(_ message: String) -> StrictJSONError {
        StrictJSONError(offset: position, message: message)
    }

    private func describeCurrent() -> String {
        guard position < bytes.count else { return "end of text" }
        let byte = bytes[position]
        return (0x20 ..< 0x7f).contains(byte) ? "'\(Character(UnicodeScalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
    }

    private mutating func skipWhitespace() {
        while position < bytes.count, [0x20, 0x0a, 0x0d, 0x09].contains(bytes[position]) { position += 1 }
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws(StrictJSONError) {
        guard position < bytes.count, bytes[position] == byte else {
            throw failure("expected \(what), found \(describeCurrent())")
        }
        position += 1
    }

    private mutating func parseValue() throws(StrictJSONError) -> StrictJSON {
        guard position < bytes.count else { throw failure("expected a value, found end of text") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "-"), UInt8(ascii: "0") ... UInt8(ascii: "9"): return try parseNumber()
        case UInt8(ascii: "t"): try parseLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try parseLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try parseLiteral("null"); return .null
        default: throw failure("expected a value, found \(describeCurrent())")
        }
    }

    private mutating func parseLiteral(_ literal: String) throws(StrictJSONError) {
        let expected = Array(literal.utf8)
        guard bytes.count - position >= expected.count,
              Array(bytes[position ..< position + expected.count]) == expected
        else { throw failure("expected '\(literal)'") }
        position += expected.count
    }

    private mutating func enterNested() throws(StrictJSONError) {
        depth += 1
        if depth > Self.maximumDepth { throw failure("nesting deeper than \(Self.maximumDepth) levels") }
    }

    private mutating func parseObject() throws(StrictJSONError) -> StrictJSON {
        try enterNested()
        defer { depth -= 1 }
        position += 1  // '{'
        var members: [StrictJSON.Member] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                throw failure("expected a quoted object key, found \(describeCurrent())")
            }
            let key = try parseString()
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "':' after object key")
            skipWhitespace()
            members.append(.init(key: key, value: try parseValue()))
            skipWhitespace()
            guard position < bytes.count else { throw failure("unterminated object") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            try expect(UInt8(ascii: "}"), "',' or '}' in object")
            return .object(members)
        }
    }

    private mutating func parseArray() throws(StrictJSONError) -> StrictJSON {
        try enterNested()
        defer { depth -= 1 }
        position += 1  // '['
        var elements: [StrictJSON] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            guard position < bytes.count else { throw failure("unterminated array") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            try expect(UInt8(ascii: "]"), "',' or ']' in array")
            return .array(elements)
        }
    }

    private mutating func parseNumber() throws(StrictJSONError) -> StrictJSON {
        let start = position
        func digits(_ parser: inout StrictJSONParser) -> Int {
            let begin = parser.position
            while parser.position < parser.bytes.count,
                  (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains(parser.bytes[parser.position]) {
                parser.position += 1
            }
            return parser.position - begin
        }
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        if position < bytes.count, bytes[position] == UInt8(ascii: "0") {
            position += 1
        } else if digits(&self) == 0 {
            throw failure("expected digits in number")
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            if digits(&self) == 0 { throw failure("expected digits after decimal point") }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            if digits(&self) == 0 { throw failure("expected digits in exponent") }
        }
        return .number(String(decoding: bytes[start ..< position], as: UTF8.self))
    }

    private mutating func parseString() throws(StrictJSONError) -> String {
        let start = position
        position += 1  // opening quote
        var utf8: [UInt8] = []
        while true {
            guard position < bytes.count else {
                position = start
                throw failure("unterminated string")
            }
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let string = String(validating: utf8, as: UTF8.self) else {
                    position = start
                    throw failure("string is not valid UTF-8")
                }
                return string
            case UInt8(ascii: "\\"):
                try parseEscape(into: &utf8)
            case 0x00 ..< 0x20:
                position -= 1
                throw failure("unescaped control character in string")
            default:
                utf8.append(byte)
            }
        }
    }

    private mutating func parseEscape(into utf8: inout [UInt8]) throws(StrictJSONError) {
        guard position < bytes.count else { throw failure("unterminated escape") }
        let byte = bytes[position]
        position += 1
        let simple: [UInt8: UInt8] = [
            UInt8(ascii: "\""): 0x22, UInt8(ascii: "\\"): 0x5c, UInt8(ascii: "/"): 0x2f, UInt8(ascii: "b"): 0x08,
            UInt8(ascii: "f"): 0x0c, UInt8(ascii: "n"): 0x0a, UInt8(ascii: "r"): 0x0d, UInt8(ascii: "t"): 0x09,
        ]
        if let replacement = simple[byte] {
            utf8.append(replacement)
            return
        }
        guard byte == UInt8(ascii: "u") else { throw failure("invalid escape '\\\(Character(UnicodeScalar(byte)))'") }
        var code = try parseHex4()
        if (0xd800 ..< 0xdc00).contains(code) {
            // A high surrogate must be followed by an escaped low surrogate.
            guard bytes.count - position >= 6, bytes[position] == UInt8(ascii: "\\"),
                  bytes[position + 1] == UInt8(ascii: "u") else { throw failure("unpaired surrogate in \\u escape") }
            position += 2
            let low = try parseHex4()
            guard (0xdc00 ..< 0xe000).contains(low) else { throw failure("unpaired surrogate in \\u escape") }
            code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00)
        } else if (0xdc00 ..< 0xe000).contains(code) {
            throw failure("unpaired surrogate in \\u escape")
        }
        guard let scalar = UnicodeScalar(code) else { throw failure("invalid \\u escape") }
        utf8.append(contentsOf: Array(String(Character(scalar)).utf8))
    }

    private mutating func parseHex4() throws(StrictJSONError) -> UInt32 {
        guard bytes.count - position >= 4,
              bytes[position ..< position + 4].allSatisfy({ Character(UnicodeScalar($0)).isHexDigit }),
              let value = UInt32(String(decoding: bytes[position ..< position + 4], as: UTF8.self), radix: 16)
        else { throw failure("expected 4 hexadecimal digits after \\u") }
        position += 4
        return value
    }
}
