// A minimal JSON document model for tokenizer.json.
//
// Why not JSONSerialization: objects here keep their key order (so the file we write is
// byte-for-byte canonical and its SHA-256 is a stable fingerprint), duplicate keys are
// detected instead of silently dropped, and every parse error carries a byte offset.

/// A parsed JSON value whose objects keep their keys in file order.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// Numbers keep their source text so integers are never rounded through Double.
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Key–value pairs in file order (duplicate keys are rejected by the parser unless it is
    /// asked to keep them; `subscript(key:)` then returns the first).
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.number(a), .number(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// An integer JSON value.
    public static func integer(_ value: Int) -> JSONValue { .number(String(value)) }

    /// The value stored under `key` when this is an object.
    public subscript(key: String) -> JSONValue? {
        guard case let .object(pairs) = self else { return nil }
        return pairs.first(where: { $0.0 == key })?.1
    }

    /// A short description of the value's type, for error messages ("a string", "null", …).
    public var typeDescription: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return "the boolean \(value)"
        case .number(let text): return "the number \(text)"
        case .string(let text): return "the string " + Excerpt.quote(text, limit: 40)
        case .array(let items): return "an array of \(items.count) items"
        case .object(let pairs): return "an object with \(pairs.count) keys"
        }
    }

    /// The value as an exact integer, or nil when it is not an integral number.
    public var integerValue: Int? {
        guard case let .number(text) = self else { return nil }
        return Int(text)
    }
}
