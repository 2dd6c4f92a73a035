import CHDF5
import Foundation

/// The element types the wrapper stores (little-endian on disk).
public enum HDF5ElementType: String, Sendable, Equatable, CustomStringConvertible {
    case int32
    case uint16
    case uint8
    case float32
    /// IEEE half precision; h5py reads it as `float16`.
    case float16

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .int32, .float32: 4
        case .uint16, .float16: 2
        case .uint8: 1
        }
    }

    public var description: String { rawValue }

    /// The on-disk type. A float16 type is made fresh; the caller closes it (the others are library constants).
    func makeFileType() throws -> hid_t {
        switch self {
        case .int32: return h5t_std_i32le()
        case .uint16: return h5t_std_u16le()
        case .uint8: return h5t_std_u8le()
        case .float32: return h5t_ieee_f32le()
        case .float16: return h5t_make_f16le()
        }
    }

    /// Recognizes a dataset's on-disk type.
    init?(fileType: hid_t) {
        let size = H5Tget_size(fileType)
        switch H5Tget_class(fileType) {
        case H5T_INTEGER where size == 4 && H5Tget_sign(fileType) == H5T_SGN_2: self = .int32
        case H5T_INTEGER where size == 2 && H5Tget_sign(fileType) == H5T_SGN_NONE: self = .uint16
        case H5T_INTEGER where size == 1 && H5Tget_sign(fileType) == H5T_SGN_NONE: self = .uint8
        case H5T_FLOAT where size == 4: self = .float32
        case H5T_FLOAT where size == 2: self = .float16
        default: return nil
        }
    }
}

/// A Swift scalar that can be written to and read from a dataset of the same element type.
/// `Float` also writes to and reads from float16 datasets, converted in Swift (libhdf5's own
/// float32→float16 conversion is wrong for some values: FACTS.md).
public protocol HDF5Element: BitwiseCopyable {
    /// The element type whose bytes this Swift type shares.
    static var hdf5ElementType: HDF5ElementType { get }
}

extension Int32: HDF5Element { public static var hdf5ElementType: HDF5ElementType { .int32 } }
extension UInt16: HDF5Element { public static var hdf5ElementType: HDF5ElementType { .uint16 } }
extension UInt8: HDF5Element { public static var hdf5ElementType: HDF5ElementType { .uint8 } }
extension Float: HDF5Element { public static var hdf5ElementType: HDF5ElementType { .float32 } }
extension Float16: HDF5Element { public static var hdf5ElementType: HDF5ElementType { .float16 } }

/// Byte shuffle and gzip for chunked datasets.
public struct HDF5Compression: Sendable, Equatable {
    /// Reorder bytes by significance before gzip (helps floats and small integers compress).
    public var shuffle: Bool
    /// gzip (deflate) level 0–9, or nil for none.
    public var gzipLevel: Int?

    /// Filters for a chunked dataset: `shuffle` before gzip at `gzipLevel` (nil: no gzip).
    public init(shuffle: Bool, gzipLevel: Int?) {
        self.shuffle = shuffle
        self.gzipLevel = gzipLevel
    }

    /// No filters.
    public static let none = HDF5Compression(shuffle: false, gzipLevel: nil)
    /// Shuffle then gzip at `level` (4 by default: FACTS.md measured ~100 MB/s for ~10× on structured data).
    public static func shuffleGzip(level: Int = 4) -> HDF5Compression { HDF5Compression(shuffle: true, gzipLevel: level) }

    var isEnabled: Bool { shuffle || gzipLevel != nil }
}

/// A dataset read and written in whole rows (ranges of its first dimension).
public final class HDF5Dataset: HDF5Object {
    /// The element type on disk.
    public let elementType: HDF5ElementType

    init(identifier: hid_t, elementType: HDF5ElementType, parent: HDF5Object, filePath: String, path: String) {
        self.elementType = elementType
        super.init(identifier: identifier, kind: .dataset, parent: parent, filePath: filePath, path: path)
    }

    /// The current dimensions.
    public func shape() throws -> [Int] { try extent().current }

    /// The maximum dimensions; nil marks an unlimited one.
    public func maximumShape() throws -> [Int?] {
        try extent().maximum.map { $0 == h5s_unlimited() ? nil : Int(exactly: $0) }
    }

    /// The number of rows (the first dimension).
    public func rowCount() throws -> Int {
        guard let rows = try shape().first else { throw failure("read shape", "a scalar dataset has no rows") }
        return rows
    }

    /// Grows or shrinks the first dimension (the dataset must have been created extendable to grow past its size).
    public func setRowCount(_ rows: Int) throws {
        let operation = "set row count to \(rows)"
        try requireOpen(operation)
        var dimensions = try extent().current.map { hsize_t($0) }
        guard rows >= 0 else { throw failure(operation, "row count must not be negative") }
        dimensions[0] = hsize_t(rows)
        try check(H5Dset_extent(identifier, dimensions), operation)
    }

    /// Writes `values` (whole rows, row-major) starting at row `startRow`, inside the current extent.
    public func writeRows<Element: HDF5Element>(_ values: [Element], startingAt startRow: Int) throws {
        let (rowElements, rows) = try rowLayout(valueCount: values.count, "write rows from \(startRow)")
        let operation = "write rows [\(startRow), \(startRow + rows))"
        switch (Element.hdf5ElementType, elementType) {
        case (let given, let stored) where given == stored:
            try transfer(rows: startRow ..< startRow + rows, rowElements: rowElements, operation) { space, memory, type in
                try values.withUnsafeBytes { bytes in
                    try check(H5Dwrite(identifier, type, memory, space, h5p_default(), bytes.baseAddress), operation)
                }
            }
        case (.float32, .float16):
            let halves = (values as! [Float]).map { Float16($0) }
            try writeRows(halves, startingAt: startRow)
        case (.float16, .float32):
            try writeRows((values as! [Float16]).map { Float($0) }, startingAt: startRow)
        case (let given, let stored):
            throw failure(operation, "cannot write \(given) values to a \(stored) dataset")
        }
    }

    /// Extends the first dimension by the rows in `values` and writes them there.
    public func appendRows<Element: HDF5Element>(_ values: [Element]) throws {
        let start = try rowCount()
        let (_, rows) = try rowLayout(valueCount: values.count, "append rows")
        try setRowCount(start + rows)
        try writeRows(values, startingAt: start)
    }

    /// Reads rows `rows` as `Element` values, row-major.
    public func readRows<Element: HDF5Element>(_ rows: Range<Int>, as type: Element.Type = Element.self) throws -> [Element] {
        let operation = "read rows [\(rows.lowerBound), \(rows.upperBound))"
        try requireOpen(operation)
        let shape = try extent().current
        // A corrupted file can claim any shape. Deflate expands at most ~1,032×, so a dataset claiming more than
        // that over its stored bytes (plus a chunk's slack) is refused before anything is allocated for it.
        let (bytes, stored) = (try logicalBytes(), try storageBytes())
        guard bytes <= (stored > Int.max / 2048 ? Int.max : stored * 1_032 + (1 << 20)) else {
            throw failure(operation, "shape \(shape) claims \(bytes) bytes, but the file stores \(stored) for it")
        }
        let rowElements = shape.dropFirst().reduce(1, *)
        guard let rowCount = shape.first, rows.lowerBound >= 0, rows.upperBound <= rowCount else {  // before allocating
            throw failure(operation, "outside the dataset's \(shape.first ?? 0) rows (shape \(shape))")
        }
        // Nothing to read: libhdf5 is not handed an empty (nil) buffer, which a corrupted file could make it fill.
        guard !rows.isEmpty, rowElements > 0 else { return [] }
        switch (Element.hdf5ElementType, elementType) {
        case (let wanted, let stored) where wanted == stored:
            let count = rows.count * rowElements
            return try [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
                try transfer(rows: rows, rowElements: rowElements, operation) { space, memory, type in
                    try check(H5Dread(identifier, type, memory, space, h5p_default(), buffer.baseAddress), operation)
                }
                initialized = count
            }
        case (.float32, .float16):
            return try readRows(rows, as: Float16.self).map { Float($0) } as! [Element]
        case (.float16, .float32):
            return try readRows(rows, as: Float.self).map { Float16($0) } as! [Element]
        case (let wanted, let stored):
            throw failure(operation, "cannot read a \(stored) dataset as \(wanted) values")
        }
    }

    /// Reads the whole dataset, row-major.
    public func readAll<Element: HDF5Element>(as type: Element.Type = Element.self) throws -> [Element] {
        try readRows(0 ..< rowCount(), as: type)
    }

    /// The chunk dimensions, or nil for a contiguous dataset.
    public func chunkShape() throws -> [Int]? {
        let operation = "read chunk shape"
        try requireOpen(operation)
        let properties = try check(H5Dget_create_plist(identifier), operation)
        defer { H5Pclose(properties) }
        guard H5Pget_layout(properties) == H5D_CHUNKED else { return nil }
        var dimensions = [hsize_t](repeating: 0, count: 32)
        let rank = try check(H5Pget_chunk(properties, Int32(dimensions.count), &dimensions), operation)
        return dimensions.prefix(Int(rank)).map { Int($0) }
    }

    /// The filters in pipeline order, by name (`shuffle`, `gzip-4`, …).
    public func filterNames() throws -> [String] {
        let operation = "read filters"
        try requireOpen(operation)
        let properties = try check(H5Dget_create_plist(identifier), operation)
        defer { H5Pclose(properties) }
        let count = try check(H5Pget_nfilters(properties), operation)
        return try (0 ..< count).map { index in
            var flags: UInt32 = 0
            var valueCount = 8
            var values = [UInt32](repeating: 0, count: 8)
            var name = [CChar](repeating: 0, count: 64)
            var configuration: UInt32 = 0
            let filter = try check(H5Pget_filter2(properties, UInt32(index), &flags, &valueCount, &values,
                                                  name.count, &name, &configuration), operation)
            switch filter {
            case H5Z_FILTER_DEFLATE: return "gzip-\(valueCount > 0 ? values[0] : 0)"
            case H5Z_FILTER_SHUFFLE: return "shuffle"
            default: return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
        }
    }

    /// Bytes the dataset's data takes in the file (after compression).
    public func storageBytes() throws -> Int {
        try requireOpen("read storage size")
        let size = H5Dget_storage_size(identifier)
        // A corrupted file can claim any 64-bit size.
        guard let bytes = Int(exactly: size) else {
            throw failure("read storage size", "the file claims \(size) bytes")
        }
        return bytes
    }

    /// Bytes of the data as values in memory (elements × element size).
    public func logicalBytes() throws -> Int {
        let shape = try shape()
        let (bytes, overflow) = shape.reduce((elementType.byteSize, false)) { partial, dimension in
            let product = partial.0.multipliedReportingOverflow(by: dimension)
            return (product.partialValue, partial.1 || product.overflow)
        }
        guard !overflow else { throw failure("read shape", "shape \(shape) holds more bytes than an Int can count") }
        return bytes
    }

    // MARK: - Internals

    private func extent() throws -> (current: [Int], maximum: [hsize_t]) {
        try requireOpen("read shape")
        let space = try check(H5Dget_space(identifier), "read shape")
        defer { H5Sclose(space) }
        let rank = Int(try check(H5Sget_simple_extent_ndims(space), "read shape"))
        var current = [hsize_t](repeating: 0, count: rank)
        var maximum = [hsize_t](repeating: 0, count: rank)
        try check(H5Sget_simple_extent_dims(space, &current, &maximum), "read shape")
        guard let dimensions = Optional(current.compactMap { Int(exactly: $0) }), dimensions.count == rank else {
            throw failure("read shape", "the file claims dimensions \(current), beyond what an Int can count")
        }
        return (dimensions, maximum)
    }

    /// Elements per row and whole rows in `valueCount`, or a clear error.
    private func rowLayout(valueCount: Int, _ operation: String) throws -> (rowElements: Int, rows: Int) {
        let shape = try extent().current
        let rowElements = shape.dropFirst().reduce(1, *)
        guard rowElements > 0, valueCount % rowElements == 0 else {
            throw failure(operation, "\(valueCount) values are not whole rows of \(rowElements) elements (shape \(shape))")
        }
        return (rowElements, valueCount / rowElements)
    }

    /// Selects `rows` in the file, makes the matching memory dataspace and memory type, and runs `body`.
    private func transfer(rows: Range<Int>, rowElements: Int, _ operation: String,
                          _ body: (_ fileSpace: hid_t, _ memorySpace: hid_t, _ memoryType: hid_t) throws -> Void) throws {
        try requireOpen(operation)
        let shape = try extent().current
        guard rows.lowerBound >= 0, rows.upperBound <= shape[0] else {
            throw failure(operation, "outside the dataset's \(shape[0]) rows (shape \(shape); extend it first with setRowCount or appendRows)")
        }
        let fileSpace = try check(H5Dget_space(identifier), operation)
        defer { H5Sclose(fileSpace) }
        let start = [hsize_t(rows.lowerBound)] + shape.dropFirst().map { _ in hsize_t(0) }
        let count = [hsize_t(rows.count)] + shape.dropFirst().map { hsize_t($0) }
        try check(H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, start, nil, count, nil), operation)
        let memorySpace = try check(H5Screate_simple(Int32(count.count), count, nil), operation)
        defer { H5Sclose(memorySpace) }
        let memoryType: hid_t
        switch elementType {
        case .int32: memoryType = h5t_native_int32()
        case .uint16: memoryType = h5t_native_uint16()
        case .uint8: memoryType = h5t_native_uint8()
        case .float32: memoryType = h5t_native_float()
        case .float16: memoryType = h5t_make_f16le()  // little-endian host: the native half layout
        }
        defer { if elementType == .float16 { H5Tclose(memoryType) } }
        try body(fileSpace, memorySpace, memoryType)
    }
}
