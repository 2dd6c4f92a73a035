// A ggml-block matrix to and from its raw bytes (rows of `columns / 32` blocks, ggml's layout),
// for formats that store the blocks themselves (GGUF).

import Foundation

extension QuantizedMatrix {
    /// The stored bytes: ggml blocks row after row, or the int8 quants row-major.
    public var rawBytes: Data { Data(bytes: data, count: rows * rowBytes) }

    /// A ggml-block matrix (`q8_0`, `q4_0`, `q4_1`) from `rows` rows of `columns / 32` blocks.
    /// - Throws: `CompressionError` naming `name` for an int8 scheme, columns not a multiple of
    ///   32, or a byte count that does not match the shape.
    public static func fromBlocks(_ bytes: Data, scheme: QuantizationScheme, rows: Int, columns: Int,
                                  name: String) throws -> QuantizedMatrix {
        guard scheme.isBlockFormat else {
            throw CompressionError("\(name): \(scheme.rawValue) is not a block format (q8_0, q4_0, q4_1)")
        }
        try validate(name: name, rows: rows, columns: columns, scheme: scheme, granularity: .block)
        let rowBytes = Self.rowBytes(scheme: scheme, columns: columns)
        guard bytes.count == rows * rowBytes else {
            throw CompressionError("\(name): \(bytes.count) bytes of \(scheme.formatLabel) blocks; a \(rows) × \(columns) matrix takes \(rows * rowBytes)")
        }
        let data = allocateData(byteCount: rows * rowBytes)
        bytes.withUnsafeBytes { data.copyMemory(from: $0.baseAddress!, byteCount: rows * rowBytes) }
        return QuantizedMatrix(scheme: scheme, granularity: .block, rows: rows, columns: columns,
                               data: data, scales: [], zeroPoints: [])
    }
}
