// libhdf5 (1.10) trusts the object sizes inside a global heap collection, where variable-length
// strings — a logit file's string attributes — are stored: a free-space entry of length 0 makes it
// loop forever, and an object longer than its collection is copied from the bytes beyond it. So a
// file is screened before libhdf5 opens it: every collection ("GCOL", version 1) is walked the way
// libhdf5 walks it and must tile its own extent. The scan reads the file once (memory-mapped).
// Legend: a collection is a 16-byte header (signature, version, 3 reserved, u64 size) then objects,
// each a 16-byte header (u16 index, u16 references, 4 reserved, u64 size) and its data padded to 8.

import Foundation

enum HDF5GlobalHeapCheck {
    static let signature: [UInt8] = Array("GCOL".utf8) + [1]
    static let headerSize = 16

    /// Throws `LogitsFileError` naming the collection's offset when one would hang or overrun libhdf5.
    /// A file that cannot be mapped is left for libhdf5 to report.
    static func check(_ url: URL) throws {
        guard let data = try? Data(contentsOf: url, options: .alwaysMapped) else { return }
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            guard let base = raw.baseAddress, raw.count >= headerSize else { return }
            var offset = 0
            while offset + headerSize <= raw.count,
                  let found = memchr(base + offset, Int32(signature[0]), raw.count - offset - headerSize + 1) {
                let start = base.distance(to: UnsafeRawPointer(found))
                offset = start + 1
                guard signature.indices.allSatisfy({ raw[start + $0] == signature[$0] }) else { continue }
                if let problem = problem(in: raw, collectionAt: start) {
                    throw LogitsFileError(path: url.path, "the HDF5 global heap at byte \(start) (where string "
                                              + "attributes are stored) is corrupted: \(problem)")
                }
            }
        }
    }

    /// What is wrong with the collection at `start`, or nil when its objects tile it.
    static func problem(in raw: UnsafeRawBufferPointer, collectionAt start: Int) -> String? {
        func u64(_ at: Int) -> UInt64 { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
        let size = u64(start + 8)
        guard size >= UInt64(headerSize), size <= UInt64(raw.count - start) else {
            return "its size \(size) is outside \(headerSize)…\(raw.count - start), the bytes left in the file"
        }
        let end = start + Int(size)
        var position = start + headerSize
        while position < end {
            // Too few bytes left for an object header: libhdf5 takes them as free space.
            guard position + headerSize <= end else { return nil }
            let index = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: position, as: UInt16.self))
            let objectSize = u64(position + 8)
            let left = UInt64(end - position)
            // An object takes its header plus its data rounded up to 8; free space (index 0) its size.
            let aligned = objectSize > UInt64.max - 32 ? UInt64.max : UInt64(headerSize) + (objectSize + 7) / 8 * 8
            let need = index == 0 ? objectSize : aligned
            guard need > 0 else { return "a free-space entry at byte \(position) has length 0" }
            guard need <= left else {
                return "object \(index) at byte \(position) needs \(need) bytes, but only \(left) remain in the heap"
            }
            position += Int(need)
        }
        return nil
    }
}
