// Object headers (version 1) and the messages libhdf5 decodes from them. A header is a 16-byte prefix
// (version 1, reserved, u16 message count, u32 reference count, u32 size of the first chunk, padding)
// and chunks of messages, each a u16 type, u16 size, u8 flags, 3 reserved bytes and its data padded
// to 8; continuation messages (O address, L length) chain further chunks.

/// What one object's header says: a group (symbol table) or a dataset (space, type, layout).
struct HDF5ObjectSummary {
    var symbolTable: (btree: Int?, heap: Int?)?
    var space: HDF5Space?
    var type: HDF5Type?
    var layout: HDF5Layout?
    var filters: [Int]?
    var fillSize: Int?
}

extension HDF5Walk {
    enum MessageType: Int {
        case null = 0x00, dataspace = 0x01, datatype = 0x03, fillValueOld = 0x04, fillValue = 0x05
        case layout = 0x08, filterPipeline = 0x0B, attribute = 0x0C, comment = 0x0D
        case modificationTimeOld = 0x0E, continuation = 0x10, symbolTable = 0x11, modificationTime = 0x12
    }

    /// Checks the object at `address` and, for a group, everything below it.
    func object(at address: Int, cachedGroup: (btree: Int?, heap: Int?)?, depth: Int) throws {
        guard depth <= Self.maxDepth else { throw HDF5Problem(address, "groups nested deeper than \(Self.maxDepth)") }
        try visit(address, "the object header")
        var summary = HDF5ObjectSummary()
        for (type, start, size) in try messages(ofHeaderAt: address) {
            var c = try cursor(start, size, "the \(type) message at byte \(start)")
            try message(type, &c, into: &summary)
        }
        if let table = summary.symbolTable {
            guard summary.space == nil, summary.type == nil, summary.layout == nil else {
                throw HDF5Problem(address, "the object header is both a group and a dataset")
            }
            if let cached = cachedGroup, cached.btree != table.btree || cached.heap != table.heap {
                throw HDF5Problem(address, "the group's cached B-tree and heap addresses differ from its symbol "
                    + "table's")
            }
            guard let btree = table.btree, let heap = table.heap else {
                throw HDF5Problem(address, "the group's symbol table has an undefined B-tree or heap address")
            }
            try group(btree: btree, heap: try localHeap(at: heap), depth: depth)
        } else if let space = summary.space, let type = summary.type, let layout = summary.layout {
            try dataset(at: address, space: space, type: type, layout: layout, summary: summary)
        } else {
            throw HDF5Problem(address, "the object is neither a group (symbol table) nor a dataset (dataspace, "
                                  + "datatype and layout); named datatypes and new-style groups are not read")
        }
    }

    /// The messages of the header at `address`, as (type, data start, data size), continuations followed.
    func messages(ofHeaderAt address: Int) throws -> [(MessageType, Int, Int)] {
        var prefix = try cursor(address, 16, "the object header at byte \(address)")
        try prefix.expect(try prefix.u8(), in: [1], "the version (version 2, \"OHDR\", comes from libver 'latest')")
        _ = try prefix.skip(1)
        let declared = try prefix.u16()
        _ = try prefix.u32()
        var chunks = [(address + 16, try prefix.u32())]
        var found: [(MessageType, Int, Int)] = []
        var count = 0
        while let (start, size) = chunks.popLast() {
            var c = try cursor(start, size, "the object header chunk at byte \(start)")
            while c.remaining > 0 {
                let at = c.position
                let rawType = try c.u16(), length = try c.u16(), flags = try c.u8()
                _ = try c.skip(3)
                count += 1
                guard count <= declared, count <= 4096 else {
                    throw HDF5Problem(at, "the object header at byte \(address) holds more than the \(declared) "
                        + "messages it declares")
                }
                guard length % 8 == 0 else {
                    throw HDF5Problem(at, "a message size of \(length) is not a multiple of 8")
                }
                guard let type = MessageType(rawValue: rawType) else {
                    throw HDF5Problem(at, "message type \(rawType) is not read (only types a libhdf5 default file "
                        + "holds are)")
                }
                guard flags & 0x02 == 0 else { throw HDF5Problem(at + 4, "a shared \(type) message is not read") }
                let data = try c.skip(length)
                if type == .continuation {
                    var next = try cursor(data, length, "the continuation message at byte \(data)")
                    guard let target = try next.address() else {
                        throw HDF5Problem(data, "a continuation to an undefined address")
                    }
                    let targetSize = try next.length()
                    try visit(target, "the object header chunk")
                    chunks.append((target, targetSize))
                }
                found.append((type, data, length))
            }
        }
        guard count == declared else {
            throw HDF5Problem(address, "the object header declares \(declared) messages but holds \(count)")
        }
        return found
    }

    func message(_ type: MessageType, _ c: inout HDF5Cursor, into summary: inout HDF5ObjectSummary) throws {
        func once<T>(_ value: T?) throws {
            guard value == nil else { throw HDF5Problem(c.position, "a second \(type) message in one object header") }
        }
        switch type {
        case .null, .continuation: break
        case .dataspace: try once(summary.space); summary.space = try dataspace(&c)
        case .datatype: try once(summary.type); summary.type = try datatype(&c, depth: 0)
        case .layout: try once(summary.layout); summary.layout = try layout(&c)
        case .filterPipeline: try once(summary.filters); summary.filters = try filterPipeline(&c)
        case .fillValueOld:
            let size = try c.u32()
            _ = try c.skip(size)
            if summary.fillSize == nil { summary.fillSize = size }
        case .fillValue: summary.fillSize = try fillValue(&c) ?? summary.fillSize
        case .attribute: try attribute(&c)
        case .comment, .modificationTimeOld:
            guard type == .modificationTimeOld || (c.position ..< c.end).contains(where: { c.raw[$0] == 0 }) else {
                throw HDF5Problem(c.position, "the comment is not NUL-terminated inside its message")
            }
        case .modificationTime:
            try c.expect(try c.u8(), in: [1], "the version")
        case .symbolTable:
            try once(summary.symbolTable)
            summary.symbolTable = (try c.address(), try c.address())
        }
    }

    /// Fill value message versions 1–3: the stored value's size, or nil when none is stored.
    func fillValue(_ c: inout HDF5Cursor) throws -> Int? {
        let version = try c.u8()
        try c.expect(version, in: [1, 2, 3], "the fill value version")
        let defined: Bool
        if version == 3 {
            let flags = try c.u8()
            guard flags & 0xC0 == 0, flags & 0x03 != 0 else {
                throw HDF5Problem(c.position - 1, "fill value flags \(flags)")
            }
            defined = flags & 0x20 != 0
        } else {
            try c.expect(try c.u8(), in: [1, 2, 3], "the space allocation time")
            try c.expect(try c.u8(), in: [0, 1, 2], "the fill value write time")
            let flag = try c.u8()
            try c.expect(flag, in: [0, 1], "the fill value defined flag")
            defined = version == 1 || flag == 1
        }
        guard defined else { return nil }
        let size = try c.u32()
        _ = try c.skip(size)
        return size
    }

    /// Filter pipeline versions 1 and 2: the filters' identifiers (deflate, shuffle, Fletcher-32 only).
    func filterPipeline(_ c: inout HDF5Cursor) throws -> [Int] {
        let version = try c.u8()
        try c.expect(version, in: [1, 2], "the filter pipeline version")
        let count = try c.u8()
        guard (1 ... 32).contains(count) else { throw HDF5Problem(c.position - 1, "\(count) filters, expected 1…32") }
        if version == 1 { _ = try c.skip(6) }
        var filters: [Int] = []
        for _ in 0 ..< count {
            let at = c.position
            let id = try c.u16()
            try c.expect(id, in: [1, 2, 3], "the filter (1 deflate, 2 shuffle, 3 Fletcher-32; others are not "
                + "read)", at: at)
            let nameLength = version == 1 ? try c.u16() : 0
            _ = try c.u16()  // flags
            let values = try c.u16()
            guard values <= 8 else { throw HDF5Problem(at, "filter \(id) has \(values) client values, expected ≤ 8") }
            _ = try c.skip(version == 1 ? (nameLength + 7) / 8 * 8 : 0)
            _ = try c.skip(4 * values + (version == 1 && values % 2 == 1 ? 4 : 0))
            filters.append(id)
        }
        return filters
    }
}
