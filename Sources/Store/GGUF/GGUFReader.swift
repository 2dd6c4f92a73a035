// Reading GGUF files defensively: every length, count and offset is checked against the bytes
// that remain before anything is allocated or read, so a truncated, corrupted or hostile file
// gives a GGUFError naming the field and its position — never a crash or a huge allocation.

import Foundation
import Tokenizers

/// A parsed GGUF file: its metadata in file order, its tensor infos, and the bytes behind them.
public struct GGUFFile: Sendable {
    /// The file path (or `<memory>`), for messages.
    public let source: String
    /// The format version (2 or 3; both use 64-bit counts).
    public let version: UInt32
    /// Metadata in file order.
    public let metadata: [(key: String, value: GGUFValue)]
    /// Tensor infos in file order.
    public let tensors: [GGUFTensorInfo]
    /// The data alignment (`general.alignment`, 32 by default).
    public let alignment: Int
    /// Offset of the data section from the start of the file.
    public let dataOffset: Int

    private let bytes: Data
    private let metadataIndex: [String: Int]
    private let tensorIndex: [String: Int]

    /// The magic number: "GGUF" in file order.
    public static let magic: [UInt8] = Array("GGUF".utf8)
    /// The default alignment of tensor data.
    public static let defaultAlignment = 32
    /// Deepest nesting of arrays accepted (the spec allows arrays of arrays).
    static let maximumArrayDepth = 3

    /// Reads and checks `url` (memory-mapped).
    /// - Throws: `GGUFError` naming the file and the field that is wrong.
    public init(contentsOf url: URL) throws {
        if let problem = FileErrorReason.notARegularFile(url) {
            throw GGUFError(source: url.path, "cannot read the file (\(problem))")
        }
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw GGUFError(source: url.path, "cannot read the file (\(FileErrorReason.describe(error)))")
        }
        try self.init(data: data, source: url.path)
    }

    /// Parses GGUF bytes; `source` names them in errors.
    public init(data: Data, source: String = "<memory>") throws {
        let data = data.startIndex == 0 ? data : Data(data)  // offsets below are from 0
        var reader = ByteReader(data: data, source: source)
        let magic = try reader.bytes(4, "magic")
        guard magic == Self.magic else {
            throw GGUFError(source: source, "not a GGUF file: the first bytes are \(magic.map { String(format: "%02x", $0) }.joined(separator: " ")), expected 47 47 55 46 (\"GGUF\")")
        }
        version = try reader.scalar(UInt32.self, "version")
        guard version == 2 || version == 3 else {
            throw GGUFError(source: source, "GGUF version \(version); this reader handles versions 2 and 3")
        }
        let tensorCount = try reader.count(minimumElementSize: 32, "tensor_count")
        let metadataCount = try reader.count(minimumElementSize: 13, "metadata_kv_count")

        var metadata: [(key: String, value: GGUFValue)] = []
        var metadataIndex: [String: Int] = [:]
        metadata.reserveCapacity(metadataCount)
        for index in 0..<metadataCount {
            let key = try reader.string("key of metadata entry \(index)")
            guard metadataIndex[key] == nil else {
                throw GGUFError(source: source, "metadata key \(Excerpt.quote(key)) appears twice (entry \(index))")
            }
            let rawType = try reader.scalar(UInt32.self, "type of \(Excerpt.quote(key))")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw GGUFError(source: source, "metadata \(Excerpt.quote(key)) has value type \(rawType) at byte \(reader.offset - 4); expected 0–12")
            }
            let value = try reader.value(of: type, "\(Excerpt.quote(key))", depth: 0)
            metadataIndex[key] = metadata.count
            metadata.append((key, value))
        }

        var alignment = Self.defaultAlignment
        if let index = metadataIndex["general.alignment"] {
            guard case .uint32(let value) = metadata[index].value, value > 0, value & (value - 1) == 0 else {
                throw GGUFError(source: source, "general.alignment is \(metadata[index].value.summary); expected a uint32 power of two")
            }
            alignment = Int(value)
        }

        var infos: [(name: String, dimensions: [Int], type: GGMLType, offset: Int)] = []
        var tensorIndex: [String: Int] = [:]
        infos.reserveCapacity(tensorCount)
        for index in 0..<tensorCount {
            let name = try reader.string("name of tensor \(index)")
            guard tensorIndex[name] == nil else {
                throw GGUFError(source: source, "tensor \(Excerpt.quote(name)) appears twice (tensor \(index))")
            }
            let dimensionCount = try reader.scalar(UInt32.self, "n_dims of \(Excerpt.quote(name))")
            guard (1...4).contains(dimensionCount) else {
                throw GGUFError(source: source, "tensor \(Excerpt.quote(name)) has \(dimensionCount) dimensions; expected 1 to 4")
            }
            var dimensions: [Int] = []
            var elements = 1
            for d in 0..<Int(dimensionCount) {
                let size = try reader.scalar(UInt64.self, "dimension \(d) of \(Excerpt.quote(name))")
                guard size >= 1, size <= UInt64(Int32.max) else {
                    throw GGUFError(source: source, "tensor \(Excerpt.quote(name)) has dimension \(d) = \(size); expected 1 to 2³¹ − 1")
                }
                let (product, overflow) = elements.multipliedReportingOverflow(by: Int(size))
                guard !overflow, product <= data.count * 2 else {  // ≥ 4 bits per element in any type
                    throw GGUFError(source: source, "tensor \(Excerpt.quote(name)) has dimensions \(dimensions + [Int(size)]), more elements than a \(data.count)-byte file can hold")
                }
                elements = product
                dimensions.append(Int(size))
            }
            let rawType = try reader.scalar(UInt32.self, "type of \(Excerpt.quote(name))")
            guard let type = GGMLType(rawValue: rawType) else {
                throw GGUFError(source: source, "tensor \(Excerpt.quote(name)) is \(GGMLType.describe(rawType)); this reader decodes F32, F16, Q8_0, Q4_0 and Q4_1")
            }
            guard dimensions[0] % type.blockSize == 0 else {
                throw GGUFError(source: source, "tensor \(Excerpt.quote(name)) is \(type.name) with a row of \(dimensions[0]) elements, not a multiple of the block size \(type.blockSize)")
            }
            let offset = try reader.scalar(UInt64.self, "offset of \(Excerpt.quote(name))")
            guard offset <= UInt64(data.count), Int(offset) % alignment == 0 else {
                throw GGUFError(source: source, "tensor \(Excerpt.quote(name)) has data offset \(offset); expected a multiple of \(alignment) within the file")
            }
            tensorIndex[name] = infos.count
            infos.append((name, dimensions, type, Int(offset)))
        }

        let dataOffset = (reader.offset + alignment - 1) / alignment * alignment
        let dataSize = data.count - dataOffset
        var tensors: [GGUFTensorInfo] = []
        tensors.reserveCapacity(infos.count)
        for info in infos {
            let tensor = GGUFTensorInfo(name: info.name, dimensions: info.dimensions, type: info.type, offset: info.offset)
            guard dataSize >= 0, tensor.offset + tensor.byteCount <= dataSize else {
                throw GGUFError(source: source, "tensor \(Excerpt.quote(tensor.name)) (\(tensor.type.name) \(tensor.dimensions), \(tensor.byteCount) bytes at data offset \(tensor.offset)) ends past the end of the file (\(max(dataSize, 0)) data bytes): truncated file?")
            }
            tensors.append(tensor)
        }
        let sorted = tensors.sorted { $0.offset < $1.offset }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.offset + a.byteCount > b.offset {
            throw GGUFError(source: source, "tensors \(Excerpt.quote(a.name)) and \(Excerpt.quote(b.name)) overlap in the data section")
        }

        self.source = source
        self.metadata = metadata
        self.tensors = tensors
        self.alignment = alignment
        self.dataOffset = dataOffset
        self.bytes = data
        self.metadataIndex = metadataIndex
        self.tensorIndex = tensorIndex
    }

    /// The value of metadata `key`, if present.
    public subscript(key: String) -> GGUFValue? {
        metadataIndex[key].map { metadata[$0].value }
    }

    /// The tensor info named `name`, if present.
    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The raw bytes of `tensor` (ggml layout).
    public func data(of tensor: GGUFTensorInfo) -> Data {
        let start = dataOffset + tensor.offset
        return bytes.subdata(in: start ..< start + tensor.byteCount)
    }

    /// The elements of an F32 or F16 tensor as Float32, in ggml order (innermost dimension
    /// fastest, which is row-major order of `rowMajorShape`).
    public func floats(of tensor: GGUFTensorInfo) throws -> [Float] {
        let start = dataOffset + tensor.offset, count = tensor.elementCount
        switch tensor.type {
        case .f32:
            return bytes.withUnsafeBytes { raw in
                (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: start + 4 * $0, as: UInt32.self))) }
            }
        case .f16:
            return bytes.withUnsafeBytes { raw in
                (0..<count).map { Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: start + 2 * $0, as: UInt16.self)))) }
            }
        case .q4_0, .q4_1, .q8_0:
            throw GGUFError(source: source, "tensor \(Excerpt.quote(tensor.name)) is \(tensor.type.name); read its blocks with data(of:) instead")
        }
    }

    /// A required metadata value, checked by `convert` (which returns nil for a wrong type).
    public func required<T>(_ key: String, _ expected: String, _ convert: (GGUFValue) -> T?) throws -> T {
        guard let value = self[key] else {
            throw GGUFError(source: source, "no metadata key \(Excerpt.quote(key)) (expected \(expected))")
        }
        guard let converted = convert(value) else {
            throw GGUFError(source: source, "metadata \(Excerpt.quote(key)) is \(value.summary); expected \(expected)")
        }
        return converted
    }
}

/// A cursor over the file's bytes that checks every read against the end.
struct ByteReader {
    let data: Data
    let source: String
    private(set) var offset = 0

    init(data: Data, source: String) {
        self.data = data
        self.source = source
    }

    var remaining: Int { data.count - offset }

    private func truncated(_ what: String, needing count: Int) -> GGUFError {
        GGUFError(source: source, "truncated file: \(what) needs \(count) bytes at byte \(offset), only \(remaining) remain")
    }

    mutating func bytes(_ count: Int, _ what: String) throws -> [UInt8] {
        guard count <= remaining else { throw truncated(what, needing: count) }
        defer { offset += count }
        return [UInt8](data[offset ..< offset + count])
    }

    mutating func scalar<T: FixedWidthInteger>(_ type: T.Type, _ what: String) throws -> T {
        let size = MemoryLayout<T>.size
        guard size <= remaining else { throw truncated(what, needing: size) }
        defer { offset += size }
        return T(littleEndian: data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) })
    }

    /// A u64 element count, checked against what the remaining bytes could hold.
    mutating func count(minimumElementSize: Int, _ what: String) throws -> Int {
        let start = offset
        let value = try scalar(UInt64.self, what)
        guard value <= UInt64(remaining / max(minimumElementSize, 1)) else {
            throw GGUFError(source: source, "\(what) is \(value) at byte \(start), more than the \(remaining) remaining bytes can hold (truncated or corrupted file?)")
        }
        return Int(value)
    }

    mutating func string(_ what: String) throws -> String {
        let start = offset
        let length = try scalar(UInt64.self, "length of \(what)")
        guard length <= UInt64(remaining) else {
            throw GGUFError(source: source, "\(what): string length \(length) at byte \(start) runs past the end of the file (\(remaining) bytes remain)")
        }
        let raw = try bytes(Int(length), what)
        guard let text = String(validating: raw, as: UTF8.self) else {
            throw GGUFError(source: source, "\(what): the \(length)-byte string at byte \(start + 8) is not valid UTF-8")
        }
        return text
    }

    mutating func value(of type: GGUFValueType, _ what: String, depth: Int) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try scalar(UInt8.self, what))
        case .int8: return .int8(try scalar(Int8.self, what))
        case .uint16: return .uint16(try scalar(UInt16.self, what))
        case .int16: return .int16(try scalar(Int16.self, what))
        case .uint32: return .uint32(try scalar(UInt32.self, what))
        case .int32: return .int32(try scalar(Int32.self, what))
        case .float32: return .float32(Float(bitPattern: try scalar(UInt32.self, what)))
        case .uint64: return .uint64(try scalar(UInt64.self, what))
        case .int64: return .int64(try scalar(Int64.self, what))
        case .float64: return .float64(Double(bitPattern: try scalar(UInt64.self, what)))
        case .bool:
            let byte = try scalar(UInt8.self, what)
            guard byte <= 1 else { throw GGUFError(source: source, "\(what): bool byte \(byte) at byte \(offset - 1); expected 0 or 1") }
            return .bool(byte == 1)
        case .string: return .string(try string(what))
        case .array:
            guard depth < GGUFFile.maximumArrayDepth else {
                throw GGUFError(source: source, "\(what): arrays nested deeper than \(GGUFFile.maximumArrayDepth) levels")
            }
            let rawType = try scalar(UInt32.self, "element type of \(what)")
            guard let elementType = GGUFValueType(rawValue: rawType) else {
                throw GGUFError(source: source, "\(what): array element type \(rawType) at byte \(offset - 4); expected 0–12")
            }
            let count = try self.count(minimumElementSize: elementType.minimumSize, "element count of \(what)")
            var values: [GGUFValue] = []
            values.reserveCapacity(count)
            for i in 0..<count { values.append(try value(of: elementType, "\(what)[\(i)]", depth: depth + 1)) }
            return .array(elementType, values)
        }
    }
}
