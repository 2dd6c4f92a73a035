// A ggml-block matrix to and from its raw bytes (rows of `columns / 32` blocks, ggml's layout),
// for formats that store the blocks themselves (GGUF).

import Foundation

extension QuantizedMatrix {
    /// The stored bytes: ggml blocks row after row, or the int8 quants row-major.
    public var rawBytes: Data { Data(bytes: data, count: rows * rowBytes) }

    /// A ggml-block matrix (`q8_0`, `q4_0`, `q4_1`) from `rows` rows of `columns / 32` blocks.
    /// - Throws: `CompressionError` naming `name` for an int8 scheme, columns not a multiple of
    ///   32, a byte count that does not match the shape, or a block whose fp16 d (or Q4_1 m) is
    ///   NaN or infinite (naming the row and block): such a block would make every product NaN.
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
        do {
            try checkBlockHeaders(data, rows: rows, columns: columns, scheme: scheme, name: name)
        } catch {
            data.deallocate()
            throw error
        }
        return QuantizedMatrix(scheme: scheme, granularity: .block, rows: rows, columns: columns,
                               data: data, scales: [], zeroPoints: [])
    }
}

extension QuantizedMatrix {
    /// Throws unless every block's fp16 d (and Q4_1's m) in `data` (`rows` rows of ggml blocks) is
    /// finite: one NaN or infinite scale turns every product through the block into NaN.
    static func checkBlockHeaders(_ data: UnsafeRawPointer, rows: Int, columns: Int, scheme: QuantizationScheme,
                                  name: String) throws {
        let rowBytes = Self.rowBytes(scheme: scheme, columns: columns)
        for r in 0..<rows {
            guard let bad = BlockCodec.firstNonFiniteHeader(data + r * rowBytes, columns: columns, scheme: scheme) else { continue }
            let start = bad.block * QuantizationScheme.blockSize
            throw CompressionError("\(name): the \(scheme.formatLabel) block of row \(r), columns \(start)..<\(start + QuantizationScheme.blockSize) "
                                   + "(block \(r * columns / QuantizationScheme.blockSize + bad.block) of the tensor) has "
                                   + "\(bad.field == "m" ? "minimum m" : "scale d") = \(bad.value); stored scales must be finite")
        }
    }
}
