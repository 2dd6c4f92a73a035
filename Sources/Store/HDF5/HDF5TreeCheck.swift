// Groups and chunk indexes: version-1 B-trees, symbol-table nodes and local heaps. libhdf5 reads
// every node at its full allocated size (from the superblock's K values), so that whole extent must
// be in the file, not only the entries in use.
// Legend: a B-tree node is "TREE", u8 type (0 group, 1 chunk), u8 level (0 = leaf), u16 entries in
// use, O left and O right sibling, then keys and children interleaved (key 0, child 0, …, key n).
// A group key is an L offset into the group's local heap; a chunk key is u32 stored size, u32 filter
// mask and one u64 offset per chunk dimension. A symbol-table node is "SNOD", u8 version 1, u8
// reserved, u16 symbols, then 40-byte entries. A local heap is "HEAP", u8 version 0, 3 reserved,
// L data size, L free-list head, O data address.

/// A group's local heap: where its link names are.
struct HDF5LocalHeap {
    let raw: UnsafeRawBufferPointer
    let data: Int
    let size: Int

    /// The NUL-terminated name at `offset`; a problem when it leaves the heap, is empty or holds '/'.
    func name(at offset: UInt64, entry: Int) throws -> String {
        guard offset < UInt64(size) else {
            throw HDF5Problem(entry, "a link name offset \(offset) is outside its local heap of \(size) bytes")
        }
        let start = data + Int(offset)
        guard let end = (start ..< data + size).first(where: { raw[$0] == 0 }) else {
            throw HDF5Problem(start, "a link name runs past the end of its local heap")
        }
        let name = String(decoding: UnsafeRawBufferPointer(rebasing: raw[start ..< end]), as: UTF8.self)
        guard !name.isEmpty, !name.contains("/"), end - start <= 1024 else {
            throw HDF5Problem(start, "a link name \"\(name.prefix(64))\" is empty, holds '/' or is over 1024 bytes")
        }
        return name
    }
}

/// What a chunk B-tree's keys must agree with.
struct HDF5ChunkIndex {
    /// The chunk's dimensions, the last being the element size.
    let dimensions: [Int]
    let datasetDimensions: [Int]
    /// Bytes in one unfiltered chunk.
    let bytes: Int
    let filterCount: Int
}

extension HDF5Walk {
    func localHeap(at address: Int) throws -> HDF5LocalHeap {
        try visit(address, "the local heap")
        try signature(address, "HEAP", "the local heap at byte \(address)")
        var c = try cursor(address + 4, 28, "the local heap at byte \(address)")
        try c.expect(try c.u8(), in: [0], "the version")
        _ = try c.skip(3)
        let size = try c.length()
        let freeList = try c.u64()
        guard let data = try c.address() else { throw HDF5Problem(address, "the local heap has no data address") }
        guard size <= raw.count - data else {
            throw HDF5Problem(address, "the local heap's \(size) bytes run past the file")
        }
        // The free list: blocks of (L next offset, L size) inside the data, in increasing order; 1 ends it.
        var next = freeList, previous = -1
        while next != 1, next != .max {
            guard next < UInt64(size), Int(next) > previous, Int(next) + 16 <= size else {
                throw HDF5Problem(address, "the local heap's free list points to offset \(next) of \(size)")
            }
            previous = Int(next)
            var block = try cursor(data + previous, 16, "a local heap free block")
            next = try block.u64()
            let blockSize = try block.u64()
            guard blockSize >= 16, blockSize <= UInt64(size - previous) else {
                throw HDF5Problem(data + previous, "a local heap free block of \(blockSize) bytes at offset "
                    + "\(previous)")
            }
        }
        return HDF5LocalHeap(raw: raw, data: data, size: size)
    }

    /// A B-tree node's header: the level and the entries in use, after checking the whole node fits.
    func nodeHeader(at address: Int, type: Int, keySize: Int, k: Int) throws -> (level: Int, entries: Int, body: Int) {
        try visit(address, "the B-tree node")
        let what = "the B-tree node at byte \(address)"
        try signature(address, "TREE", what)
        _ = try cursor(address, 24 + (2 * k + 1) * keySize + 2 * k * 8, what)
        var c = try cursor(address + 4, 20, what)
        try c.expect(try c.u8(), in: [type], "the node type (0 group, 1 chunk)")
        let level = try c.u8()
        let entries = try c.u16()
        guard entries <= 2 * k else {
            throw HDF5Problem(address, "\(what) uses \(entries) entries, at most \(2 * k) fit")
        }
        _ = try c.address()
        _ = try c.address()
        return (level, entries, address + 24)
    }

    /// A group's B-tree: every key names a link in the heap, every leaf child is a symbol-table node.
    func group(btree: Int, heap: HDF5LocalHeap, depth: Int) throws {
        try groupNode(at: btree, level: nil, heap: heap, depth: depth, nodeDepth: 0)
    }

    private func groupNode(at address: Int, level expected: Int?, heap: HDF5LocalHeap, depth: Int,
                           nodeDepth: Int) throws {
        let (level, entries, body) = try nodeHeader(at: address, type: 0, keySize: 8, k: groupK)
        guard expected == nil || level == expected, nodeDepth <= Self.maxDepth else {
            throw HDF5Problem(address, "a group B-tree node at level \(level), expected "
                + "\(expected.map(String.init) ?? "any")")
        }
        var c = try cursor(body, (2 * entries + 1) * 8, "the B-tree node at byte \(address)")
        for entry in 0 ... entries {
            let keyAt = c.position
            let key = try c.u64()
            // Key 0 may be the heap's empty name; only the names libhdf5 compares must be inside the heap.
            guard key < UInt64(heap.size) else {
                throw HDF5Problem(keyAt, "a group B-tree key \(key) is outside its local heap of \(heap.size) bytes")
            }
            guard entry < entries else { break }
            guard let child = try c.address() else { throw HDF5Problem(c.position - 8, "an undefined B-tree child") }
            if level == 0 {
                try symbolNode(at: child, heap: heap, depth: depth)
            } else {
                try groupNode(at: child, level: level - 1, heap: heap, depth: depth, nodeDepth: nodeDepth + 1)
            }
        }
    }

    private func symbolNode(at address: Int, heap: HDF5LocalHeap, depth: Int) throws {
        try visit(address, "the symbol table node")
        let what = "the symbol table node at byte \(address)"
        try signature(address, "SNOD", what)
        _ = try cursor(address, 8 + 2 * leafK * 40, what)
        var c = try cursor(address + 4, 4, what)
        try c.expect(try c.u8(), in: [1], "the version")
        _ = try c.skip(1)
        let symbols = try c.u16()
        guard symbols <= 2 * leafK else {
            throw HDF5Problem(address, "\(what) holds \(symbols) symbols, at most \(2 * leafK) fit")
        }
        var entries = try cursor(address + 8, symbols * 40, what)
        let parent = objectPath
        for _ in 0 ..< symbols {
            let entry = try symbolTableEntry(&entries, names: heap)
            objectPath = (parent == "/" ? "/" : parent + "/") + (entry.name ?? "")
            try object(at: entry.header, cachedGroup: entry.cachedGroup, depth: depth + 1)
            objectPath = parent
        }
    }

    /// A chunk B-tree: every key is a chunk of the dataset at a multiple of the chunk size, and every
    /// chunk's stored bytes are in the file (exactly one chunk's bytes when no filter applies).
    func chunkNode(at address: Int, level expected: Int?, index: HDF5ChunkIndex, depth: Int) throws {
        let rank = index.dimensions.count
        let (level, entries, body) = try nodeHeader(at: address, type: 1, keySize: 8 + 8 * rank, k: chunkK)
        guard expected == nil || level == expected, depth <= Self.maxDepth else {
            throw HDF5Problem(address, "a chunk B-tree node at level \(level), expected "
                + "\(expected.map(String.init) ?? "any")")
        }
        var c = try cursor(body, entries * (16 + 8 * rank), "the B-tree node at byte \(address)")
        for _ in 0 ..< entries {
            let keyAt = c.position
            let stored = try c.u32()
            let mask = try c.u32()
            let offsets = try (0 ..< rank).map { _ in try c.u64() }
            guard let child = try c.address() else { throw HDF5Problem(c.position - 8, "an undefined B-tree child") }
            if level > 0 {
                try chunkNode(at: child, level: level - 1, index: index, depth: depth + 1)
                continue
            }
            for (axis, offset) in offsets.enumerated() {
                let bound = axis < rank - 1 ? index.datasetDimensions[axis] : 1
                guard offset < UInt64(bound), offset % UInt64(index.dimensions[axis]) == 0 || axis == rank - 1 else {
                    throw HDF5Problem(keyAt, "a chunk at offset \(offsets) is outside the dataset "
                        + "\(index.datasetDimensions) "
                                          + "or not on a chunk boundary \(index.dimensions.dropLast())")
                }
            }
            guard mask >> index.filterCount == 0, stored > 0,
                  index.filterCount > 0 || stored == index.bytes, stored <= raw.count - child else {
                throw HDF5Problem(keyAt, "a chunk of \(stored) stored bytes (filter mask \(mask)) at byte \(child); "
                                      + "a chunk holds \(index.bytes) bytes and the file has \(raw.count)")
            }
            try visit(child, "the chunk")
        }
    }
}
