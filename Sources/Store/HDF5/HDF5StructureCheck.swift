// libhdf5 1.10 trusts lengths, counts and indices inside a file's metadata: an attribute message
// longer than its object header, a compact dataset smaller than its dataspace, a global-heap index
// past its collection or a sequence length past its object make it read out of bounds, allocate
// without limit or convert for minutes. So every existing file is walked here before libhdf5 opens
// it, the way libhdf5 will walk it, and anything it would trust is checked first.
//
// The walk reads the subset of HDF5 that libhdf5's defaults write (and so h5py's, libver
// "earliest"): superblock 0 or 1, version-1 object headers, symbol-table groups, compact, contiguous
// and chunked (B-tree v1) layouts, the deflate, shuffle and Fletcher-32 filters, integer, IEEE float,
// string and variable-length string types, and compact attributes. Anything else is refused with
// its name before libhdf5 sees it; a logit file never needs it.
// Legend: O = a file address, L = a length, both 8 bytes (the only sizes read); "undefined" is
// all ones. The file is memory-mapped and read once; no structure is visited twice.

import Foundation

/// Walks an HDF5 file's metadata and throws `HDF5Error` naming the first structure libhdf5 could not
/// safely read, with its byte offset.
struct HDF5StructureCheck {
    static let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
    static let operation = "check the file's structure"

    /// Throws when libhdf5 could not read `url` safely. A file that cannot be mapped is left for
    /// libhdf5 to report.
    static func check(_ url: URL) throws {
        guard let data = try? Data(contentsOf: url, options: .alwaysMapped) else { return }
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let walk = HDF5Walk(raw: raw)
            do {
                try walk.run()
            } catch let problem as HDF5Problem {
                let detail = raw.count >= 8 && !raw.starts(with: signature)
                    ? "not an HDF5 file (no HDF5 signature at byte 0)" : "byte \(problem.offset): \(problem.detail)"
                throw HDF5Error(file: url.path, object: walk.objectPath, operation: operation, detail: detail)
            }
        }
    }
}

/// One structure that libhdf5 must not be given, and where it starts.
struct HDF5Problem: Error {
    let offset: Int
    let detail: String
    init(_ offset: Int, _ detail: String) {
        self.offset = offset
        self.detail = detail
    }
}

/// A bounded read position inside one structure: reading past `end` is a problem naming `what`.
struct HDF5Cursor {
    let raw: UnsafeRawBufferPointer
    var position: Int
    let end: Int
    let what: String

    init(_ raw: UnsafeRawBufferPointer, from start: Int, count: Int, _ what: String) throws {
        guard start >= 0, count >= 0, start <= raw.count, count <= raw.count - start else {
            throw HDF5Problem(start, "\(what) needs \(count) bytes, but the file ends at byte \(raw.count)")
        }
        self.raw = raw
        position = start
        end = start + count
        self.what = what
    }

    var remaining: Int { end - position }

    mutating func skip(_ count: Int) throws -> Int {
        guard count >= 0, count <= remaining else {
            throw HDF5Problem(position, "\(what) is too short: \(count) more bytes needed, \(max(0, remaining)) left")
        }
        defer { position += count }
        return position
    }

    private mutating func load<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let at = try skip(MemoryLayout<T>.size)
        return T(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: T.self))
    }

    mutating func u8() throws -> Int { Int(try load(UInt8.self)) }
    mutating func u16() throws -> Int { Int(try load(UInt16.self)) }
    mutating func u32() throws -> Int { Int(try load(UInt32.self)) }
    mutating func u64() throws -> UInt64 { try load(UInt64.self) }

    /// A length that must fit the file.
    mutating func length() throws -> Int {
        let at = position
        let value = try u64()
        guard value <= UInt64(raw.count) else {
            throw HDF5Problem(at, "\(what): a length of \(value) bytes is longer than the file")
        }
        return Int(value)
    }

    /// An address: nil when undefined, else inside the file.
    mutating func address() throws -> Int? {
        let at = position
        let value = try u64()
        if value == .max { return nil }
        guard value < UInt64(raw.count) else {
            throw HDF5Problem(at, "\(what): address \(value) is past the end of the file (\(raw.count) bytes)")
        }
        return Int(value)
    }

    /// Throws unless `found` is among `allowed`, naming the field.
    func expect(_ found: Int, in allowed: [Int], _ field: String, at: Int? = nil) throws {
        guard allowed.contains(found) else {
            let list = allowed.map(String.init).joined(separator: " or ")
            throw HDF5Problem(at ?? position, "\(what): \(field) is \(found), expected \(list)")
        }
    }
}

/// The walk's state: the file's extent, what has been visited, the limits.
final class HDF5Walk {
    let raw: UnsafeRawBufferPointer
    /// The object being checked, for the error.
    var objectPath = "/"
    /// Symbol-table B-tree nodes hold up to 2·groupK entries, chunk B-tree nodes 2·chunkK,
    /// symbol-table nodes 2·leafK symbols.
    var groupK = 16, leafK = 4, chunkK = 32
    var visited: Set<Int> = []
    /// Global heap collections already checked: their objects' sizes by index.
    var collections: [Int: [Int: Int]] = [:]

    static let maxDepth = 32
    static let maxStructures = 1 << 20

    init(raw: UnsafeRawBufferPointer) { self.raw = raw }

    func cursor(_ start: Int, _ count: Int, _ what: String) throws -> HDF5Cursor {
        try HDF5Cursor(raw, from: start, count: count, what)
    }

    /// Marks a structure visited; a second visit is a loop or a shared structure, both refused.
    func visit(_ address: Int, _ what: String) throws {
        guard visited.insert(address).inserted else {
            throw HDF5Problem(address, "\(what) is reached a second time (a loop or a hard link)")
        }
        guard visited.count <= Self.maxStructures else {
            throw HDF5Problem(address, "more than \(Self.maxStructures) metadata structures")
        }
    }

    func signature(_ at: Int, _ text: String, _ what: String) throws {
        var c = try cursor(at, 4, what)
        let found = try (0 ..< 4).map { _ in UInt8(try c.u8()) }
        guard found == Array(text.utf8) else {
            let shown = found.map { (32 ..< 127).contains($0) ? String(UnicodeScalar($0)) : "." }.joined()
            throw HDF5Problem(at, "\(what): signature \"\(shown)\", expected \"\(text)\"")
        }
    }

    func run() throws {
        var c = try cursor(0, 56, "the superblock")
        guard raw.starts(with: HDF5StructureCheck.signature) else { throw HDF5Problem(0, "no HDF5 signature") }
        _ = try c.skip(8)
        let version = try c.u8()
        try c.expect(version, in: [0, 1], "the superblock version (2 and 3 come from libver 'latest')", at: 8)
        try c.expect(try c.u8(), in: [0], "the free-space version")
        try c.expect(try c.u8(), in: [0], "the root symbol table entry version")
        _ = try c.skip(1)
        try c.expect(try c.u8(), in: [0], "the shared header message version")
        try c.expect(try c.u8(), in: [8], "the size of offsets")
        try c.expect(try c.u8(), in: [8], "the size of lengths")
        _ = try c.skip(1)
        leafK = try c.u16()
        groupK = try c.u16()
        _ = try c.u32()
        if version == 1 {
            chunkK = try c.u16()
            _ = try c.skip(2)
        }
        for (k, name) in [(leafK, "group leaf node K"), (groupK, "group internal node K"), (chunkK, "chunk node K")]
        where !(1 ... 1024).contains(k) {
            throw HDF5Problem(16, "the superblock's \(name) is \(k), expected 1…1024")
        }
        var rest = try cursor(c.position, 32 + 40, "the superblock")
        guard try rest.u64() == 0 else { throw HDF5Problem(c.position, "the superblock's base address is not 0") }
        _ = try rest.u64()  // free-space address: unused by version 0 and 1 readers
        let eof = try rest.u64()
        guard eof <= UInt64(raw.count) else {
            throw HDF5Problem(rest.position - 8, "the file is truncated: the superblock says it ends at byte \(eof), "
                                  + "but it has \(raw.count) bytes")
        }
        guard try rest.address() == nil else {
            throw HDF5Problem(rest.position - 8, "the superblock names a driver information block (a family or "
                                  + "multi-file HDF5 file): only single files are read")
        }
        let root = try symbolTableEntry(&rest, names: nil)
        try object(at: root.header, cachedGroup: root.cachedGroup, depth: 0)
    }

    /// One symbol table entry: its name (nil for the root), object header and cached group addresses.
    func symbolTableEntry(_ c: inout HDF5Cursor, names: HDF5LocalHeap?)
        throws -> (name: String?, header: Int, cachedGroup: (btree: Int?, heap: Int?)?) {
        let start = c.position
        let nameOffset = try c.u64()
        let name = try names.map { try $0.name(at: nameOffset, entry: start) }
        guard let header = try c.address() else { throw HDF5Problem(start + 8, "\(c.what): no object header address") }
        let cacheType = try c.u32()
        _ = try c.skip(4)
        var scratch = try cursor(try c.skip(16), 16, c.what)
        switch cacheType {
        case 0: return (name, header, nil)
        case 1: return (name, header, (try scratch.address(), try scratch.address()))
        default:
            throw HDF5Problem(start + 16, "\(c.what): cache type \(cacheType) (a soft link) is not read; expected 0 "
                + "or 1")
        }
    }
}
