// Writing GGUF version 3: header, metadata in the order given, tensor infos, zero padding to
// the alignment, then each tensor's bytes at an aligned offset. The whole file is built in
// memory (the lab's models are tens of MB) and written under a temporary name, then renamed.

import Foundation

/// A GGUF file being assembled.
public struct GGUFWriter {
    /// Metadata in the order it will be written (llama.cpp's writers put `general.*` first).
    public private(set) var metadata: [(key: String, value: GGUFValue)] = []
    /// Tensors in the order they will be written.
    public private(set) var tensors: [(name: String, dimensions: [Int], type: GGMLType, bytes: Data)] = []
    /// The alignment of tensor data (32, GGUF's default; not written as metadata).
    public let alignment = GGUFFile.defaultAlignment

    public init() {}

    /// Adds (or replaces) metadata `key`.
    public mutating func set(_ key: String, _ value: GGUFValue) {
        if let index = metadata.firstIndex(where: { $0.key == key }) {
            metadata[index].value = value
        } else {
            metadata.append((key, value))
        }
    }

    /// Adds a tensor; `dimensions` in ggml order (innermost first), `bytes` in ggml layout.
    /// - Throws: `GGUFError` for a repeated name, a row that is not whole blocks, or a byte
    ///   count that does not match the dimensions and type.
    public mutating func addTensor(_ name: String, dimensions: [Int], type: GGMLType, bytes: Data) throws {
        guard !tensors.contains(where: { $0.name == name }) else {
            throw GGUFError(source: "<writer>", "tensor \"\(name)\" added twice")
        }
        guard (1...4).contains(dimensions.count), dimensions.allSatisfy({ $0 >= 1 }), dimensions[0] % type.blockSize == 0 else {
            throw GGUFError(source: "<writer>", "tensor \"\(name)\": dimensions \(dimensions) do not fit \(type.name) (1–4 positive dimensions, rows of whole \(type.blockSize)-element blocks)")
        }
        let expected = GGUFTensorInfo(name: name, dimensions: dimensions, type: type, offset: 0).byteCount
        guard bytes.count == expected else {
            throw GGUFError(source: "<writer>", "tensor \"\(name)\": \(bytes.count) bytes given, \(type.name) \(dimensions) takes \(expected)")
        }
        tensors.append((name, dimensions, type, bytes))
    }

    /// Adds an F32 tensor from row-major floats; `dimensions` in ggml order.
    public mutating func addTensor(_ name: String, dimensions: [Int], floats: [Float]) throws {
        var data = Data(capacity: floats.count * 4)
        for value in floats { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        try addTensor(name, dimensions: dimensions, type: .f32, bytes: data)
    }

    /// Adds an F16 tensor from row-major floats (rounded to nearest even); `dimensions` in ggml order.
    public mutating func addTensor(_ name: String, dimensions: [Int], halves floats: [Float]) throws {
        var data = Data(capacity: floats.count * 2)
        for value in floats { withUnsafeBytes(of: Float16(value).bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        try addTensor(name, dimensions: dimensions, type: .f16, bytes: data)
    }

    /// The file's bytes.
    public func encoded() -> Data {
        var out = Data()
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) } }
        func appendString(_ text: String) {
            append(UInt64(text.utf8.count))
            out.append(contentsOf: Array(text.utf8))
        }
        func appendValue(_ value: GGUFValue) {
            switch value {
            case .uint8(let v): append(v)
            case .int8(let v): append(v)
            case .uint16(let v): append(v)
            case .int16(let v): append(v)
            case .uint32(let v): append(v)
            case .int32(let v): append(v)
            case .float32(let v): append(v.bitPattern)
            case .bool(let v): append(UInt8(v ? 1 : 0))
            case .string(let v): appendString(v)
            case .uint64(let v): append(v)
            case .int64(let v): append(v)
            case .float64(let v): append(v.bitPattern)
            case .array(let type, let values):
                append(type.rawValue)
                append(UInt64(values.count))
                for element in values { appendValue(element) }
            }
        }
        func pad() { out.append(contentsOf: repeatElement(0, count: (alignment - out.count % alignment) % alignment)) }

        out.append(contentsOf: GGUFFile.magic)
        append(UInt32(3))
        append(UInt64(tensors.count))
        append(UInt64(metadata.count))
        for (key, value) in metadata {
            appendString(key)
            append(value.type.rawValue)
            appendValue(value)
        }
        var offset = 0
        for tensor in tensors {
            appendString(tensor.name)
            append(UInt32(tensor.dimensions.count))
            for size in tensor.dimensions { append(UInt64(size)) }
            append(tensor.type.rawValue)
            append(UInt64(offset))
            offset += (tensor.bytes.count + alignment - 1) / alignment * alignment
        }
        pad()
        for tensor in tensors {
            out.append(tensor.bytes)
            pad()
        }
        return out
    }

    /// Writes the file atomically (temporary name in the same folder, then rename).
    public func write(to url: URL) throws {
        try AtomicFile.write(encoded(), to: url)
    }
}
