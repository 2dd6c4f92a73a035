// Variable-length strings (a logit file's string attributes) live in global heap collections.
// libhdf5 1.10 trusts the collection: an object index past those it holds is read out of bounds, a
// free-space entry of length 0 makes it loop forever, an object longer than its collection is
// copied from the bytes beyond it, and a string length longer than its object is converted element
// by element for minutes. So each collection a string refers to is walked the way libhdf5 walks it
// (its objects must tile it), and each reference must name an object that holds its length.
// Legend: a collection is "GCOL", u8 version 1, 3 reserved, L size, then objects, each u16 index,
// u16 references, 4 reserved, L size and its data padded to 8; index 0 is the free space.

extension HDF5Walk {
    static let collectionHeaderSize = 16

    /// Checks one string's reference (u32 length, O collection, u32 object index) read at `reference`.
    func heapObject(collection: Int?, index: Int, length: Int, reference: Int) throws {
        guard let collection, collection != 0 else {
            guard length == 0 else { throw HDF5Problem(reference, "a string of \(length) bytes with no heap address") }
            return
        }
        let objects = try collectionObjects(at: collection)
        guard index > 0, let size = objects[index] else {
            throw HDF5Problem(reference, "a string refers to object \(index) of the global heap at byte \(collection), "
                                  + "which holds objects \(objects.keys.filter { $0 > 0 }.sorted().prefix(8))")
        }
        guard length <= size else {
            throw HDF5Problem(reference, "a string of \(length) bytes refers to a global heap object of \(size)")
        }
    }

    /// The objects' sizes by index in the collection at `start`, checked to tile it.
    func collectionObjects(at start: Int) throws -> [Int: Int] {
        if let known = collections[start] { return known }
        let what = "the global heap at byte \(start) (where string attributes are stored)"
        try signature(start, "GCOL", what)
        var header = try cursor(start + 4, 12, what)
        try header.expect(try header.u8(), in: [1], "the version")
        _ = try header.skip(3)
        let size = try header.u64()
        let headerSize = Self.collectionHeaderSize
        guard size >= UInt64(headerSize), size <= UInt64(raw.count - start) else {
            throw HDF5Problem(start, "\(what) is corrupted: its size \(size) is outside "
                + "\(headerSize)…\(raw.count - start), "
                                  + "the bytes left in the file")
        }
        let end = start + Int(size)
        var objects: [Int: Int] = [:]
        var position = start + headerSize
        // Fewer bytes left than an object header: libhdf5 takes them as free space.
        while position + headerSize <= end {
            var c = try cursor(position, headerSize, what)
            let index = try c.u16()
            _ = try c.skip(6)
            let objectSize = try c.u64()
            let left = UInt64(end - position)
            // An object takes its header plus its data rounded up to 8; free space (index 0) its size.
            let aligned = objectSize > UInt64.max - 32 ? UInt64.max : UInt64(headerSize) + (objectSize + 7) / 8 * 8
            let need = index == 0 ? objectSize : aligned
            guard need > 0 else {
                throw HDF5Problem(position, "\(what) is corrupted: a free-space entry at byte \(position) has length 0")
            }
            guard need <= left else {
                throw HDF5Problem(position, "\(what) is corrupted: object \(index) at byte \(position) needs "
                    + "\(need) bytes, "
                                      + "but only \(left) remain in the heap")
            }
            guard index == 0 || objects.updateValue(Int(objectSize), forKey: index) == nil else {
                throw HDF5Problem(position, "\(what) is corrupted: object \(index) appears twice")
            }
            position += Int(need)
        }
        collections[start] = objects
        return objects
    }
}
