// GGUF, the file format of llama.cpp and ollama (version 3): a header (magic "GGUF", version,
// tensor count, metadata count), typed key/value metadata, tensor infos (name, dimensions in
// ggml order — innermost first —, ggml type, offset), padding to the alignment (32 unless
// `general.alignment` says otherwise), then the tensor data, each tensor aligned.
// Spec: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md. All integers little-endian.

import Foundation
import Tokenizers

/// The type tag of a metadata value (`gguf_type`).
public enum GGUFValueType: UInt32, Sendable, CaseIterable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// Bytes of one value of a fixed-size type; nil for string and array.
    var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64: 8
        case .string, .array: nil
        }
    }

    /// The smallest number of bytes one value can take (a string: its 8-byte length).
    var minimumSize: Int { fixedSize ?? (self == .string ? 8 : 12) }
}

/// A metadata value. Arrays keep their element type (an empty array still has one).
public enum GGUFValue: Equatable, Sendable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case float32(Float), bool(Bool), string(String), uint64(UInt64), int64(Int64), float64(Double)
    case array(GGUFValueType, [GGUFValue])

    public var type: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .float32: .float32
        case .bool: .bool
        case .string: .string
        case .uint64: .uint64
        case .int64: .int64
        case .float64: .float64
        case .array: .array
        }
    }

    /// An array of strings.
    public static func strings(_ values: [String]) -> GGUFValue { .array(.string, values.map { .string($0) }) }
    /// An array of int32.
    public static func int32s(_ values: [Int32]) -> GGUFValue { .array(.int32, values.map { .int32($0) }) }

    /// The value as an integer when it is one of the integer types (and fits in Int).
    public var integer: Int? {
        switch self {
        case .uint8(let v): Int(v)
        case .int8(let v): Int(v)
        case .uint16(let v): Int(v)
        case .int16(let v): Int(v)
        case .uint32(let v): Int(v)
        case .int32(let v): Int(v)
        case .uint64(let v): v <= UInt64(Int.max) ? Int(v) : nil
        case .int64(let v): Int(v)
        default: nil
        }
    }

    /// The value as a Float when it is float32 or float64.
    public var float: Float? {
        switch self {
        case .float32(let v): v
        case .float64(let v): Float(v)
        default: nil
        }
    }

    public var string: String? {
        if case .string(let v) = self { return v }
        return nil
    }

    public var bool: Bool? {
        if case .bool(let v) = self { return v }
        return nil
    }

    /// The elements of an array value.
    public var elements: [GGUFValue]? {
        if case .array(_, let values) = self { return values }
        return nil
    }

    /// A short description for messages: the type and, for scalars and short strings, the value.
    public var summary: String {
        switch self {
        case .string(let v): v.utf8.count <= 40 ? "string \(Excerpt.quote(v))" : "string of \(v.utf8.count) bytes"
        case .array(let t, let values): "array of \(values.count) \(t)"
        case .float32(let v): "float32 \(v)"
        case .float64(let v): "float64 \(v)"
        case .bool(let v): "bool \(v)"
        default: "\(type) \(integer.map(String.init) ?? "?")"
        }
    }
}

/// The ggml tensor types this lab reads and writes (`ggml_type`), with their block layouts.
/// Other ggml types (K-quants, IQ, BF16, …) are named in errors but not decoded.
public enum GGMLType: UInt32, Sendable, CaseIterable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q8_0 = 8

    /// ggml's name (`F32`, `Q8_0`, …), as llama.cpp prints it.
    public var name: String {
        switch self {
        case .f32: "F32"
        case .f16: "F16"
        case .q4_0: "Q4_0"
        case .q4_1: "Q4_1"
        case .q8_0: "Q8_0"
        }
    }

    /// Elements per block (1 for float types, 32 for the quantized ones).
    public var blockSize: Int { self == .f32 || self == .f16 ? 1 : 32 }

    /// Bytes per block: 4, 2, 18 (fp16 d + 16 nibble bytes), 20 (d, m, 16), 34 (d + 32 int8).
    public var bytesPerBlock: Int {
        switch self {
        case .f32: 4
        case .f16: 2
        case .q4_0: 18
        case .q4_1: 20
        case .q8_0: 34
        }
    }

    /// The name of a ggml type id, including the types this lab does not decode (for messages).
    public static func describe(_ id: UInt32) -> String {
        if let known = GGMLType(rawValue: id) { return known.name }
        let others: [UInt32: String] = [
            6: "Q5_0", 7: "Q5_1", 9: "Q8_1", 10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K",
            16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S",
            23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64", 29: "IQ1_M", 30: "BF16",
        ]
        return others[id].map { "\($0) (type \(id))" } ?? "unknown type \(id)"
    }
}

/// One tensor of a GGUF file: dimensions in ggml order (`dimensions[0]` is the innermost,
/// contiguous one — the reverse of numpy/safetensors order).
public struct GGUFTensorInfo: Equatable, Sendable {
    public let name: String
    public let dimensions: [Int]
    public let type: GGMLType
    /// Offset of the data from the start of the data section (a multiple of the alignment).
    public let offset: Int

    public init(name: String, dimensions: [Int], type: GGMLType, offset: Int) {
        self.name = name
        self.dimensions = dimensions
        self.type = type
        self.offset = offset
    }

    /// Number of elements.
    public var elementCount: Int { dimensions.reduce(1, *) }

    /// Bytes of data: rows of `dimensions[0] / blockSize` blocks.
    public var byteCount: Int { elementCount / type.blockSize * type.bytesPerBlock }

    /// Dimensions in row-major (safetensors/numpy) order, outermost first.
    public var rowMajorShape: [Int] { dimensions.reversed() }
}

/// A GGUF file that could not be read or written: which file, where, what was found and what
/// was expected.
public struct GGUFError: Error, CustomStringConvertible, LocalizedError, Equatable {
    /// The file path, or `<memory>`.
    public let source: String
    /// What is wrong.
    public let detail: String

    public init(source: String, _ detail: String) {
        self.source = source
        self.detail = detail
    }

    public var description: String { "\(source): \(detail)" }
    public var errorDescription: String? { description }
}
