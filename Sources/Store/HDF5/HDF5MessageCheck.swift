// The messages that describe data: dataspace, datatype, layout and attribute. Each is decoded as
// libhdf5 decodes it, and the sizes it implies (elements × element size) are checked against the
// bytes that are really there, which libhdf5 1.10 does not do.

/// A dataspace: its dimensions (empty for a scalar) and element count (0 for a null space).
struct HDF5Space {
    var dimensions: [Int]
    var count: Int
}

/// A datatype: its size in the file per element, and whether it is a variable-length string
/// (16 bytes per element: u32 length, then the global heap object's collection address and index).
struct HDF5Type {
    var size: Int
    var isVariableLengthString: Bool
}

/// Where a dataset's elements are.
enum HDF5Layout {
    case compact(bytes: Int)
    case contiguous(address: Int?, bytes: Int)
    /// Chunk dimensions (the dataset's rank, then the element size) and the chunk B-tree's address.
    case chunked(dimensions: [Int], btree: Int?)
}

extension HDF5Walk {
    static let maxRank = 32
    static let maxElements = 1 << 50

    /// Dataspace message versions 1 and 2.
    func dataspace(_ c: inout HDF5Cursor) throws -> HDF5Space {
        let version = try c.u8()
        try c.expect(version, in: [1, 2], "the dataspace version")
        let rank = try c.u8()
        guard rank <= Self.maxRank else {
            throw HDF5Problem(c.position - 1, "rank \(rank), expected ≤ \(Self.maxRank)")
        }
        let flags = try c.u8()
        guard flags & ~1 == 0 else {
            throw HDF5Problem(c.position - 1, "dataspace flags \(flags) (permutations are not read)")
        }
        var isNull = false
        if version == 1 {
            _ = try c.skip(5)
        } else {
            let kind = try c.u8()
            try c.expect(kind, in: [0, 1, 2], "the dataspace type")
            guard (kind == 1) == (rank > 0) else {
                throw HDF5Problem(c.position - 1, "dataspace type \(kind) with rank \(rank)")
            }
            isNull = kind == 2
        }
        let dimensions = try (0 ..< rank).map { _ in try c.u64() }
        var count = isNull ? 0 : 1
        for (axis, size) in dimensions.enumerated() {
            guard size <= UInt64(Self.maxElements) else {
                throw HDF5Problem(c.position, "dimension \(axis) is \(size)")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: Int(size))
            guard !overflow, product <= Self.maxElements else {
                throw HDF5Problem(c.position, "the dataspace \(dimensions) has more than 2^50 elements")
            }
            count = product
        }
        if flags & 1 == 1 {
            for (axis, size) in dimensions.enumerated() {
                let maximum = try c.u64()
                guard maximum == .max || maximum >= size else {
                    throw HDF5Problem(c.position - 8, "maximum dimension \(axis) is \(maximum), below its size \(size)")
                }
            }
        }
        return HDF5Space(dimensions: dimensions.map { Int($0) }, count: count)
    }

    /// Datatype message: fixed-point, IEEE floating point, string and variable-length string only.
    func datatype(_ c: inout HDF5Cursor, depth: Int) throws -> HDF5Type {
        let at = c.position
        let classAndVersion = try c.u8()
        let (typeClass, version) = (classAndVersion & 0x0F, classAndVersion >> 4)
        try c.expect(version, in: [1, 2, 3], "the datatype version", at: at)
        let (b0, b1, b2) = (try c.u8(), try c.u8(), try c.u8())
        let bits = b0 | b1 << 8 | b2 << 16
        let size = try c.u32()
        switch typeClass {
        case 0:  // fixed-point: u16 bit offset, u16 precision
            try c.expect(size, in: [1, 2, 4, 8], "the integer size", at: at + 4)
            let (offset, precision) = (try c.u16(), try c.u16())
            guard bits & ~0x0F == 0, offset == 0, precision == 8 * size else {
                throw HDF5Problem(at, "an integer type with padding bits is not read")
            }
            return HDF5Type(size: size, isVariableLengthString: false)
        case 1:  // floating point: bit offset, precision, exponent location and size, mantissa location and size, bias
            let layouts: [Int: [Int]] = [2: [0, 16, 10, 5, 0, 10, 15], 4: [0, 32, 23, 8, 0, 23, 127],
                                         8: [0, 64, 52, 11, 0, 52, 1023]]
            let found = [try c.u16(), try c.u16(), try c.u8(), try c.u8(), try c.u8(), try c.u8(), try c.u32()]
            guard let expected = layouts[size], found == expected, bits & ~0x01 == (8 * size - 1) << 8 | 0x20 else {
                throw HDF5Problem(at, "a floating-point type that is not IEEE binary16, binary32 or binary64")
            }
            return HDF5Type(size: size, isVariableLengthString: false)
        case 3:  // fixed-length string
            guard (1 ... 1 << 20).contains(size), bits & 0x0F <= 2, bits >> 4 <= 1 else {
                throw HDF5Problem(at, "a string type of \(size) bytes, padding \(bits & 0x0F), character set "
                    + "\(bits >> 4)")
            }
            return HDF5Type(size: size, isVariableLengthString: false)
        case 9:  // variable length: its base type follows
            guard depth == 0, bits & 0x0F == 1, (bits >> 4) & 0x0F <= 2, bits >> 8 <= 1, size == 16 else {
                throw HDF5Problem(at, "a variable-length type other than a string is not read")
            }
            let base = try datatype(&c, depth: 1)
            guard base.size == 1 else {
                throw HDF5Problem(at, "a variable-length string of \(base.size)-byte characters")
            }
            return HDF5Type(size: size, isVariableLengthString: true)
        default:
            throw HDF5Problem(at, "datatype class \(typeClass) (compound, enum, array, reference, …) is not read")
        }
    }

    /// Data layout message version 3 (libhdf5's default; 1 and 2 predate 1.6, 4 comes from libver 'latest').
    func layout(_ c: inout HDF5Cursor) throws -> HDF5Layout {
        try c.expect(try c.u8(), in: [3], "the layout version")
        switch try c.u8() {
        case 0:
            let bytes = try c.u16()
            _ = try c.skip(bytes)
            return .compact(bytes: bytes)
        case 1:
            return .contiguous(address: try c.address(), bytes: try c.length())
        case 2:
            let dimensionality = try c.u8()
            guard (2 ... Self.maxRank + 1).contains(dimensionality) else {
                throw HDF5Problem(c.position - 1, "chunk dimensionality \(dimensionality), expected "
                    + "2…\(Self.maxRank + 1)")
            }
            let btree = try c.address()
            let dimensions = try (0 ..< dimensionality).map { _ in try c.u32() }
            guard !dimensions.contains(0) else { throw HDF5Problem(c.position, "a chunk dimension of 0") }
            return .chunked(dimensions: dimensions, btree: btree)
        case let kind:
            throw HDF5Problem(c.position - 1, "layout class \(kind), expected 0 (compact), 1 (contiguous) or 2 "
                + "(chunked)")
        }
    }

    /// Attribute message versions 1–3: name, datatype, dataspace and data, each inside the message.
    func attribute(_ c: inout HDF5Cursor) throws {
        let version = try c.u8()
        try c.expect(version, in: [1, 2, 3], "the attribute version")
        let flags = try c.u8()
        guard version == 1 || flags == 0 else { throw HDF5Problem(c.position - 1, "a shared attribute type or space") }
        let nameSize = try c.u16(), typeSize = try c.u16(), spaceSize = try c.u16()
        if version == 3 { try c.expect(try c.u8(), in: [0, 1], "the name's character set") }
        func padded(_ n: Int) -> Int { version == 1 ? (n + 7) / 8 * 8 : n }
        let name = try c.skip(padded(nameSize))
        guard nameSize >= 2, c.raw[name + nameSize - 1] == 0 else {
            throw HDF5Problem(name, "an attribute name of \(nameSize) bytes without its terminating NUL")
        }
        var typeCursor = try cursor(try c.skip(padded(typeSize)), typeSize, "the attribute's datatype")
        let type = try datatype(&typeCursor, depth: 0)
        var spaceCursor = try cursor(try c.skip(padded(spaceSize)), spaceSize, "the attribute's dataspace")
        let space = try dataspace(&spaceCursor)
        let (bytes, overflow) = space.count.multipliedReportingOverflow(by: type.size)
        guard !overflow, bytes <= c.remaining else {
            throw HDF5Problem(c.position, "the attribute's \(space.count) elements of \(type.size) bytes do not fit "
                                  + "the \(c.remaining) bytes left in its message")
        }
        guard type.isVariableLengthString else { return }
        for _ in 0 ..< space.count {
            let at = c.position
            let length = try c.u32()
            let collection = try c.address()
            let index = try c.u32()
            try heapObject(collection: collection, index: index, length: length, reference: at)
        }
    }

    /// A dataset's layout against its dataspace and type, and its chunks.
    func dataset(at address: Int, space: HDF5Space, type: HDF5Type, layout: HDF5Layout,
                 summary: HDF5ObjectSummary) throws {
        guard !type.isVariableLengthString else {
            throw HDF5Problem(address, "a variable-length string dataset is not read")
        }
        if let fill = summary.fillSize, fill != 0, fill != type.size {
            throw HDF5Problem(address, "the fill value has \(fill) bytes, but an element has \(type.size)")
        }
        let bytes = space.count * type.size
        switch layout {
        case .compact(let stored), .contiguous(_, let stored):
            guard stored == bytes else {
                throw HDF5Problem(address, "the dataset's storage holds \(stored) bytes, but its \(space.count) "
                    + "elements "
                                      + "of \(type.size) bytes need \(bytes)")
            }
            guard summary.filters == nil else { throw HDF5Problem(address, "filters on a dataset that is not chunked") }
            if case .contiguous(let start?, _) = layout, stored > raw.count - start {
                throw HDF5Problem(start, "the dataset's \(stored) bytes run past the end of the file")
            }
        case .chunked(let dimensions, let btree):
            guard dimensions.count == space.dimensions.count + 1, dimensions.last == type.size else {
                throw HDF5Problem(address, "chunk dimensions \(dimensions) do not match the dataspace "
                                      + "\(space.dimensions) and the element size \(type.size)")
            }
            let chunkBytes = dimensions.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? .max : $0 * $1 }
            guard chunkBytes <= Int(UInt32.max) else {
                throw HDF5Problem(address, "a chunk of \(chunkBytes) bytes (limit 4 GiB)")
            }
            guard let btree else { return }
            let chunks = HDF5ChunkIndex(dimensions: dimensions, datasetDimensions: space.dimensions, bytes: chunkBytes,
                                        filterCount: summary.filters?.count ?? 0)
            try chunkNode(at: btree, level: nil, index: chunks, depth: 0)
        }
    }
}
