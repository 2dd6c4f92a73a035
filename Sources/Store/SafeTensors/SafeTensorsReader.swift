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
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw SafeTensorsError(.unreadableFile, source: url.path, error.localizedDescription)
        }
        return try decode(data, source: url.path)
    }

    /// Parses and validates safetensors bytes. `source` names them in error messages.
    public static func decode(_ data: Data, source: String = "<memory>") throws -> SafeTensorsFile {
        let data = data.startIndex == 0 ? data : Data(data)  // index from 0 below
        func fail(_ kind: SafeTensorsError.Kind, _ tensor: String? = nil, _ detail: String) -> SafeTensorsError {
            SafeTensorsError(kind, source: source, tensor: tensor, detail)
        }
        guard data.count >= 8 else {
            throw fail(.fileTooShort, nil, "file is \(data.count) bytes, shorter than the 8-byte header length")
        }
        let headerLength = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(maximumHeaderLength) else {
            throw fail(.headerTooLarge, nil, "header length \(headerLength) exceeds the limit of \(maximumHeaderLength) bytes")
        }
        guard 8 + Int(headerLength) <= data.count else {
            throw fail(.headerLengthOutOfRange, nil,
                       "header length \(headerLength) runs past the end of the file (\(data.count) bytes, so at most \(data.count - 8))")
        }
        let dataStart = 8 + Int(headerLength)
        let json: JSONValue
        do {
            // Repeated keys are kept so that a repeated tensor name is reported as one (below).
            json = try parseJSON(Array(data[8 ..< dataStart]), keepingDuplicateKeys: true, maximumDepth: maximumHeaderDepth)
        } catch {
            throw fail(.invalidHeaderJSON, nil, "header is not valid JSON at byte \(error.offset) of the header: \(error.reason)")
        }
        guard case .object(let members) = json else {
            throw fail(.invalidHeaderJSON, nil, "header must be a JSON object, found \(json.kindName)")
        }

        var metadata: [String: String] = [:]
        var seenNames = Set<String>()
        var layouts: [(entry: SafeTensorsEntry, begin: Int, end: Int)] = []
        let dataLength = data.count - dataStart
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
                           "data_offsets [\(begin), \(end)) are outside the data section of \(dataLength) bytes")
            }
            let (elementCount, overflow) = shape.reduce((1, false)) { partial, dimension in
                let product = partial.0.multipliedReportingOverflow(by: dimension)
                return (product.partialValue, partial.1 || product.overflow)
            }
            let expectedBytes = elementCount.multipliedReportingOverflow(by: dataType.byteSize)
            guard !overflow, !expectedBytes.overflow, expectedBytes.partialValue == end - begin else {
                throw fail(.sizeMismatch, name,
                           "\(dataType.rawValue) × shape \(shape) needs \(overflow || expectedBytes.overflow ? "an overflowing number of" : String(expectedBytes.partialValue)) bytes, but data_offsets [\(begin), \(end)) span \(end - begin)")
            }
            let bytes = data[(dataStart + begin) ..< (dataStart + end)]
            layouts.append((SafeTensorsEntry(name: name, dataType: dataType, shape: shape, bytes: bytes), begin, end))
        }

        // The byte ranges, in order, must tile the data section exactly.
        layouts.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var covered = 0
        var previousName: String?
        for layout in layouts {
            if layout.begin < covered, let previousName {
                throw fail(.overlappingOffsets, layout.entry.name,
                           "data_offsets [\(layout.begin), \(layout.end)) overlap tensor \"\(previousName)\", which ends at \(covered)")
            }
            if layout.begin > covered {
                throw fail(.unindexedBytes, layout.entry.name,
                           "data_offsets begin at \(layout.begin), leaving bytes [\(covered), \(layout.begin)) of the data section unindexed (expected \(covered))")
            }
            covered = layout.end
            previousName = layout.entry.name
        }
        if covered != dataLength {
            throw fail(.unindexedBytes, nil,
                       "tensors cover \(covered) bytes of the data section, but it has \(dataLength) (bytes [\(covered), \(dataLength)) are unindexed)")
        }
        return SafeTensorsFile(source: source, metadata: metadata, entries: layouts.map(\.entry))
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
                throw fail(.invalidField, nil, "\"__metadata__\" key \"\(key)\" must be a string, found \(value.kindName)")
            }
            guard metadata.updateValue(text, forKey: key) == nil else {
                throw fail(.invalidField, nil, "\"__metadata__\" key \"\(key)\" appears more than once")
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
                throw fail(.invalidField, name, "field \"\(key)\" appears more than once")
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
            throw fail(.unknownDataType, name, "unknown dtype \"\(dtypeText)\" (expected one of \(known))")
        }
        let shape = try integers(try required("shape"), field: "shape", name: name, fail: fail)
        if let negative = shape.first(where: { $0 < 0 }) {
            throw fail(.negativeDimension, name, "shape \(shape) has negative dimension \(negative)")
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
                let shown = if case .number(let text) = element { text } else { element.kindName }
                throw fail(.invalidField, name, "field \"\(field)\" must hold integers, found \(shown)")
            }
            return integer
        }
    }
}

extension JSONValue {
    /// A short name of the value's kind, for error messages ("found an array").
    fileprivate var kindName: String {
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
