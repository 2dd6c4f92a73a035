import Foundation

/// The element types of the safetensors format, spelled in the header as their raw values
/// (`"F32"`, `"I8"`, …), with the byte size of one element. The cases are in the reference
/// implementation's order (its `Dtype` enum), which its writer uses to lay tensors out.
public enum SafeTensorsDataType: String, Sendable, CaseIterable, Codable {
    case bool = "BOOL"
    case uint8 = "U8"
    case int8 = "I8"
    case int16 = "I16"
    case uint16 = "U16"
    case float16 = "F16"
    case bfloat16 = "BF16"
    case int32 = "I32"
    case uint32 = "U32"
    case float32 = "F32"
    case float64 = "F64"
    case int64 = "I64"
    case uint64 = "U64"

    /// The position in the reference `Dtype` enum (roughly increasing alignment).
    var referenceRank: Int { Self.allCases.firstIndex(of: self)! }

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .bool, .uint8, .int8: 1
        case .int16, .uint16, .float16, .bfloat16: 2
        case .int32, .uint32, .float32: 4
        case .float64, .int64, .uint64: 8
        }
    }
}

/// A Swift scalar stored in safetensors with a fixed element type; its in-memory bytes on a
/// little-endian machine are exactly the file's bytes.
public protocol SafeTensorsElement: BitwiseCopyable {
    /// The element type this Swift type reads from and writes to.
    static var safeTensorsDataType: SafeTensorsDataType { get }
}

extension Float: SafeTensorsElement { public static var safeTensorsDataType: SafeTensorsDataType { .float32 } }
extension Double: SafeTensorsElement { public static var safeTensorsDataType: SafeTensorsDataType { .float64 } }
extension Float16: SafeTensorsElement { public static var safeTensorsDataType: SafeTensorsDataType { .float16 } }
extension Int8: SafeTensorsElement { public static var safeTensorsDataType: SafeTensorsDataType { .int8 } }
extension UInt8: SafeTensorsElement { public static var safeTensorsDataType: SafeTensorsDataType { .uint8 } }
extension Int16: SafeTensorsElement { public static var safeTensorsDataType: SafeTensorsDataType { .int16 } }
extension UInt16: SafeTensorsElement { public static var safeTensorsDataType: SafeTensorsDataType { .uint16 } }
extension Int32: SafeTensorsElement { public static var safeTensorsDataType: SafeTensorsDataType { .int32 } }
extension UInt32: SafeTensorsElement { public static var safeTensorsDataType: SafeTensorsDataType { .uint32 } }
extension Int64: SafeTensorsElement { public static var safeTensorsDataType: SafeTensorsDataType { .int64 } }
extension UInt64: SafeTensorsElement { public static var safeTensorsDataType: SafeTensorsDataType { .uint64 } }

// The format is little-endian; copying memory as-is is only right on a little-endian host.
#if _endian(big)
#error("Store reads and writes little-endian files by copying memory; big-endian hosts are not supported.")
#endif
