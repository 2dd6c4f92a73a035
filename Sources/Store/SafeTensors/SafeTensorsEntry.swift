import Foundation

/// One named tensor of a safetensors file: element type, shape and raw little-endian row-major bytes.
/// Independent of any Tensor type; models convert to and from it.
public struct SafeTensorsEntry: Sendable, Equatable {
    /// The tensor's name, e.g. `transformer.h.0.attn.c_attn.weight`.
    public var name: String
    /// The element type.
    public var dataType: SafeTensorsDataType
    /// The dimensions, outermost first; `[]` is a scalar.
    public var shape: [Int]
    /// The raw bytes: element count × `dataType.byteSize` of them. A slice of the file when read.
    public var bytes: Data

    /// An entry over raw bytes; the writer checks that the byte count matches the shape.
    public init(name: String, dataType: SafeTensorsDataType, shape: [Int], bytes: Data) {
        self.name = name
        self.dataType = dataType
        self.shape = shape
        self.bytes = bytes
    }

    /// An entry holding `values` with the element type of `Element` (e.g. `[Float]` → F32).
    public init<Element: SafeTensorsElement>(name: String, shape: [Int], values: [Element]) {
        let bytes = values.withUnsafeBytes { Data($0) }
        self.init(name: name, dataType: Element.safeTensorsDataType, shape: shape, bytes: bytes)
    }

    /// An F16 entry from single-precision values, rounded to nearest even in Swift.
    public static func float16(name: String, shape: [Int], converting values: [Float]) -> SafeTensorsEntry {
        SafeTensorsEntry(name: name, shape: shape, values: values.map { Float16($0) })
    }

    /// The number of elements the shape describes (1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }

    /// The elements as `Element`, which must be exactly the stored element type.
    /// - Throws: `SafeTensorsError` of kind `.dataTypeMismatch` or `.sizeMismatch`.
    public func values<Element: SafeTensorsElement>(as type: Element.Type = Element.self) throws -> [Element] {
        guard dataType == Element.safeTensorsDataType else {
            throw SafeTensorsError(.dataTypeMismatch, source: "<memory>", tensor: name,
                                   "stored as \(dataType.rawValue), requested \(Element.safeTensorsDataType.rawValue)")
        }
        return try copyElements()
    }

    /// The elements widened to `Float`: F32 as is, F16 and BF16 converted exactly.
    /// - Throws: `SafeTensorsError` of kind `.dataTypeMismatch` for any other element type.
    public func floats() throws -> [Float] {
        switch dataType {
        case .float32:
            return try copyElements()
        case .float16:
            let halves: [Float16] = try copyElements()
            return halves.map { Float($0) }
        case .bfloat16:
            // bfloat16 is the upper half of a float32's bit pattern.
            let patterns: [UInt16] = try copyElements()
            return patterns.map { Float(bitPattern: UInt32($0) << 16) }
        default:
            throw SafeTensorsError(.dataTypeMismatch, source: "<memory>", tensor: name,
                                   "stored as \(dataType.rawValue), requested a floating-point type (F32, F16 or BF16)")
        }
    }

    private func copyElements<Element: BitwiseCopyable>() throws -> [Element] {
        let count = elementCount
        guard count >= 0, bytes.count == count * MemoryLayout<Element>.stride else {
            throw SafeTensorsError(.sizeMismatch, source: "<memory>", tensor: name,
                                   "shape \(shape) needs \(count * MemoryLayout<Element>.stride) bytes, found \(bytes.count)")
        }
        return [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
            // Copy byte-wise: a slice of a mapped file need not be aligned for Element.
            bytes.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: source)
            }
            initialized = count
        }
    }
}
