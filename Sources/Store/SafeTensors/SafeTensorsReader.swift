import Foundation
import Tokenizers

/// The contents of a safetensors file: its entries (in data order) and its `__metadata__`.
public struct SafeTensorsFile: Sendable {
    /// The path it was read from, or `<memory>`.
    public let source: String
    /// The string-to-string `__metadata__` map (empty when absent).
    public let metadata: [String: String]
    /// The tensors in the order their bytes appear in the file.
    public let entries: [SafeTensorsEntry]
    private let indexByName: [String: Int]

    init(source: String, metadata: [String: String], entries: [SafeTensorsEntry]) {
        self.source = source
        self.metadata = metadata
        self.entries = entries
        self.indexByName = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.name, $0) })
    }

    /// All tensor names, sorted.
    public var names: [String] { indexByName.keys.sorted() }

    /// The entry called `name`, or nil.
    public subscript(name: String) -> SafeTensorsEntry? {
        indexByName[name].map { entries[$0] }
    }

    /// The entry called `name`.
    /// - Throws: `SafeTensorsError` of kind `.missingTensor` naming the file and the tensor.
    public func entry(named name: String) throws -> SafeTensorsEntry {
        guard let entry = self[name] else {
            throw SafeTensorsError(.missingTensor, source: source, tensor: name,
                                   "not in the file (it has \(entries.count) tensors)")
        }
        return entry
    }

    /// The tensor `name` widened to `Float` (F32, F16 or BF16); errors name this file.
    public func floats(named name: String) throws -> [Float] {
        try namingSource { try entry(named: name).floats() }
    }

    /// The tensor `name` as `Element`, which must be its exact element type; errors name this file.
    public func values<Element: SafeTensorsElement>(named name: String, as type: Element.Type = Element.self) throws -> [Element] {
        try namingSource { try entry(named: name).values(as: type) }
    }

    private func namingSource<Result>(_ body: () throws -> Result) throws -> Result {
        do {
            return try body()
        } catch let error as SafeTensorsError {
            throw SafeTensorsError(error.kind, source: source, tensor: error.tensor, error.detail)
        }
    }
}

/// Reading and writing the safetensors format (DESIGN.md §6): a u64 little-endian header length N,
/// N bytes of JSON, then the tensor bytes. The reader is strict in the way of the reference
/// implementation: the tensors' byte ranges must cover the data section exactly, with no overlap,
/// no hole and nothing after the last tensor.
public enum SafeTensors {
    /// The largest header accepted, as in the reference implementation (guards against a hostile length).
    public static let maximumHeaderLength = 100_000_000
    /// How deeply arrays and objects may nest in a header; a valid one nests 3 deep.
    static let maximumHeaderDepth = 64

    /// Reads and validates the file at `url`; the file is memory-mapped when the system allows, and
    /// entries' bytes are slices of it.
    /// - Throws: `SafeTensorsError` naming the file, the tensor or field, and found versus expected.
    public static func read(contentsOf url: URL) throws -> SafeTensorsFile {
        // A directory or a FIFO would fail or block inside Foundation without saying why.
        try requireRegularFile(url)
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw SafeTensorsError(.unreadableFile, source: url.path, "cannot read the file (\(FileErrorReason.describe(error)))")
        }
        return try decode(data, source: url.path)
    }

    /// Parses and validates safetensors bytes. `source` names them in error messages.
    public static func decode(_ data: Data, source: String = "<memory>") throws -> SafeTensorsFile {
        let data = data.startIndex == 0 ? data : Data(data)  // index from 0 below
        let headerLength = try checkedHeaderLength(prefix: data.prefix(8), fileLength: data.count, source: source)
        let dataStart = 8 + headerLength
        let header = try parseHeader(Array(data[8 ..< dataStart]), dataStart: dataStart, fileLength: data.count,
                                     source: source)
        let entries = header.tensors.map { tensor in
            SafeTensorsEntry(name: tensor.name, dataType: tensor.dataType, shape: tensor.shape,
                             bytes: data[(dataStart + tensor.dataOffsets.lowerBound) ..< (dataStart + tensor.dataOffsets.upperBound)])
        }
        return SafeTensorsFile(source: source, metadata: header.metadata, entries: entries)
    }

    /// The header length stored in the first 8 bytes, checked against the limit and the file's length.
    static func checkedHeaderLength(prefix: Data, fileLength: Int, source: String) throws -> Int {
        guard prefix.count >= 8 else {
            throw SafeTensorsError(.fileTooShort, source: source,
                                   "file is \(fileLength) bytes, shorter than the 8-byte header length")
        }
        let headerLength = prefix.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(maximumHeaderLength) else {
            throw SafeTensorsError(.headerTooLarge, source: source,
                                   "header length \(headerLength) exceeds the limit of \(maximumHeaderLength) bytes")
        }
        guard 8 + Int(headerLength) <= fileLength else {
            throw SafeTensorsError(.headerLengthOutOfRange, source: source,
                                   "header length \(headerLength) runs past the end of the file (\(fileLength) bytes, so at most \(fileLength - 8))")
        }
        return Int(headerLength)
    }

    /// Parses and validates the JSON header; the tensors' byte ranges must tile the data section,
    /// which runs from `dataStart` to `fileLength`.
    static func parseHeader(_ headerBytes: [UInt8], dataStart: Int, fileLength: Int,
                            source: String) throws -> SafeTensorsHeader {
        func fail(_ kind: SafeTensorsError.Kind, _ tensor: String? = nil, _ detail: String) -> SafeTensorsError {
            SafeTensorsError(kind, source: source, tensor: tensor.map { Excerpt.clip($0) }, detail)
        }
        let json: JSONValue
        do {
            // Repeated keys are kept so that a repeated tensor name is reported as one (below).
            json = try parseJSON(headerBytes, keepingDuplicateKeys: true, maximumDepth: maximumHeaderDepth)
        } catch {
            throw fail(.invalidHeaderJSON, nil, "header is not valid JSON at byte \(error.offset) of the header: \(error.reason)")
        }
        guard case .object(let members) = json else {
            throw fail(.invalidHeaderJSON, nil, "header must be a JSON object, found \(json.kindName)")
        }

        var metadata: [String: String] = [:]
        var seenNames = Set<String>()
        var tensors: [SafeTensorsTensorInfo] = []
        let dataLength = fileLength - dataStart
        for (name, value) in members {
            guard seenNames.insert(name).inserted else {
                throw fail(.duplicateName, name, "appears more than once in the header")
            }
            if name == "__metadata__" {
                metadata = try decodeMetadata(value, fail: fail)
                continue
            }
            let (dataType, shape, begin, end) = try decodeInfo(name, value, fail: fail)
            guard begin <= end, end <= dataLength else {
                throw fail(.offsetsOutOfRange, name,
                           "data_offsets [\(begin), \(end)) are outside the data section of \(dataLength) bytes (the file is \(fileLength) bytes, the data starts at byte \(dataStart))")
            }
            let (elementCount, overflow) = shape.reduce((1, false)) { partial, dimension in
                let product = partial.0.multipliedReportingOverflow(by: dimension)
                return (product.partialValue, partial.1 || product.overflow)
            }
            let expectedBytes = elementCount.multipliedReportingOverflow(by: dataType.byteSize)
            guard !overflow, !expectedBytes.overflow, expectedBytes.partialValue == end - begin else {
                throw fail(.sizeMismatch, name,
                           "\(dataType.rawValue) × shape \(shapeText(shape)) needs \(overflow || expectedBytes.overflow ? "an overflowing number of" : String(expectedBytes.partialValue)) bytes, but data_offsets [\(begin), \(end)) span \(end - begin)")
            }
            tensors.append(SafeTensorsTensorInfo(name: name, dataType: dataType, shape: shape, dataOffsets: begin ..< end))
        }

        // The byte ranges, in order, must tile the data section exactly.
        tensors.sort { ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound) }
        var covered = 0
        var previousName: String?
        for tensor in tensors {
            let (begin, end) = (tensor.dataOffsets.lowerBound, tensor.dataOffsets.upperBound)
            if begin < covered, let previousName {
                throw fail(.overlappingOffsets, tensor.name,
                           "data_offsets [\(begin), \(end)) overlap tensor \(Excerpt.quote(previousName)), which ends at \(covered)")
            }
            if begin > covered {
                throw fail(.unindexedBytes, tensor.name,
                           "data_offsets begin at \(begin), leaving bytes [\(covered), \(begin)) of the data section unindexed (expected \(covered))")
            }
            covered = end
            previousName = tensor.name
        }
        if covered != dataLength {
            throw fail(.unindexedBytes, nil,
                       "tensors cover \(covered) bytes of the data section, but it has \(dataLength) (bytes [\(covered), \(dataLength)) are unindexed)")
        }
        return SafeTensorsHeader(source: source, metadata: metadata, tensors: tensors, dataStart: dataStart,
                                 fileLength: fileLength)
    }

    private static func decodeMetadata(
        _ value: JSONValue, fail: (SafeTensorsError.Kind, String?, String) -> SafeTensorsError
    ) throws -> [String: String] {
        guard case .object(let pairs) = value else {
            throw fail(.invalidField, nil, "\"__metadata__\" must be an object of strings, found \(value.kindName)")
        }
        var metadata: [String: String] = [:]
        for (key, value) in pairs {
            guard case .string(let text) = value else {
                throw fail(.invalidField, nil, "\"__metadata__\" key \(Excerpt.quote(key)) must be a string, found \(value.kindName)")
            }
            guard metadata.updateValue(text, forKey: key) == nil else {
                throw fail(.invalidField, nil, "\"__metadata__\" key \(Excerpt.quote(key)) appears more than once")
            }
        }
        return metadata
    }

    private static func decodeInfo(
        _ name: String, _ value: JSONValue, fail: (SafeTensorsError.Kind, String?, String) -> SafeTensorsError
    ) throws -> (SafeTensorsDataType, [Int], Int, Int) {
        guard case .object(let fields) = value else {
            throw fail(.invalidField, name, "must be an object with dtype, shape and data_offsets, found \(value.kindName)")
        }
        var byKey: [String: JSONValue] = [:]
        for (key, value) in fields {
            guard byKey.updateValue(value, forKey: key) == nil else {
                throw fail(.invalidField, name, "field \(Excerpt.quote(key)) appears more than once")
            }
        }
        func required(_ key: String) throws -> JSONValue {
            guard let value = byKey[key] else { throw fail(.invalidField, name, "missing field \"\(key)\"") }
            return value
        }
        guard case .string(let dtypeText) = try required("dtype") else {
            throw fail(.invalidField, name, "field \"dtype\" must be a string, found \(byKey["dtype"]!.kindName)")
        }
        guard let dataType = SafeTensorsDataType(rawValue: dtypeText) else {
            let known = SafeTensorsDataType.allCases.map(\.rawValue).joined(separator: ", ")
            throw fail(.unknownDataType, name, "unknown dtype \(Excerpt.quote(dtypeText)) (expected one of \(known))")
        }
        let shape = try integers(try required("shape"), field: "shape", name: name, fail: fail)
        if let negative = shape.first(where: { $0 < 0 }) {
            throw fail(.negativeDimension, name, "shape \(shapeText(shape)) has negative dimension \(negative)")
        }
        let offsets = try integers(try required("data_offsets"), field: "data_offsets", name: name, fail: fail)
        guard offsets.count == 2 else {
            throw fail(.invalidField, name, "field \"data_offsets\" must have 2 integers [begin, end), found \(offsets.count)")
        }
        guard offsets[0] >= 0, offsets[1] >= 0 else {
            throw fail(.offsetsOutOfRange, name, "data_offsets \(offsets) are negative")
        }
        return (dataType, shape, offsets[0], offsets[1])
    }

    private static func integers(
        _ value: JSONValue, field: String, name: String,
        fail: (SafeTensorsError.Kind, String?, String) -> SafeTensorsError
    ) throws -> [Int] {
        guard case .array(let elements) = value else {
            throw fail(.invalidField, name, "field \"\(field)\" must be an array of integers, found \(value.kindName)")
        }
        return try elements.map { element in
            guard let integer = element.integerValue else {
                let shown = if case .number(let text) = element { Excerpt.clip(text) } else { element.kindName }
                throw fail(.invalidField, name, "field \"\(field)\" must hold integers, found \(shown)")
            }
            return integer
        }
    }
}

/// A shape for a message: every dimension of an ordinary one, the first 16 of an absurdly long one.
func shapeText(_ shape: [Int]) -> String {
    guard shape.count > 16 else { return "\(shape)" }
    return "[" + shape.prefix(16).map(String.init).joined(separator: ", ") + ", … (\(shape.count) dimensions)]"
}

extension JSONValue {
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
}
