import Foundation

/// A fresh directory under the system temporary directory; the test removes it with `remove()`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("alambique-store-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// Little-endian bytes of a value.
func littleEndianBytes<Value: FixedWidthInteger>(_ value: Value) -> [UInt8] {
    withUnsafeBytes(of: value.littleEndian) { Array($0) }
}

/// The bytes of `values` as stored in memory (little-endian on every supported host).
func rawBytes<Element: BitwiseCopyable>(_ values: [Element]) -> [UInt8] {
    values.withUnsafeBytes { Array($0) }
}
