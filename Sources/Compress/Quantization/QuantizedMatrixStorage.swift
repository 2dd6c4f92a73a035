// A quantized matrix as safetensors entries (DESIGN.md §6 "Quantized tensors") and back:
// int8 → `<name>.q` (I8 [out, in]), `<name>.scale` (F32 [out] or [1]), `<name>.zero_point`
// (I8, asymmetric only, same shape as the scale); ggml → `<name>.blocks` (U8 [out, in/32 · bytes
// per block]). Loading is strict: a missing entry, a wrong dtype or shape throws with the name.

import Foundation
import Store

extension QuantizedMatrix {
    /// The `__metadata__` key of a checkpoint that records each quantized tensor's scheme.
    public static let metadataKey = "alambique.quantization"

    /// The names of the entries `entries(name:)` writes for `scheme`, in that order.
    public static func entryNames(name: String, scheme: QuantizationScheme) -> [String] {
        switch scheme {
        case .int8Symmetric: ["\(name).q", "\(name).scale"]
        case .int8Asymmetric: ["\(name).q", "\(name).scale", "\(name).zero_point"]
        case .q8_0, .q4_0, .q4_1: ["\(name).blocks"]
        }
    }

    /// The safetensors entries holding this matrix under `name` (e.g. `transformer.h.0.mlp.c_fc.weight`).
    public func entries(name: String) -> [SafeTensorsEntry] {
        let bytes = Data(bytes: data, count: rows * rowBytes)
        if scheme.isBlockFormat {
            return [SafeTensorsEntry(name: "\(name).blocks", dataType: .uint8, shape: [rows, rowBytes], bytes: bytes)]
        }
        var result = [
            SafeTensorsEntry(name: "\(name).q", dataType: .int8, shape: [rows, columns], bytes: bytes),
            SafeTensorsEntry(name: "\(name).scale", shape: [scales.count], values: scales),
        ]
        if scheme == .int8Asymmetric {
            result.append(SafeTensorsEntry(name: "\(name).zero_point", shape: [zeroPoints.count], values: zeroPoints))
        }
        return result
    }

    /// Reads the matrix `name` written by `entries(name:)` from `file`.
    ///
    /// - Parameters:
    ///   - rows, columns: the expected shape `[out, in]`; every entry's shape is checked against it.
    ///   - granularity: nil picks `scheme.defaultGranularity`.
    /// - Throws: `CompressionError` naming the entry and the file when an entry is missing or has
    ///   the wrong dtype or shape, when a scale is negative or not finite (an int8 scale, or a ggml
    ///   block's fp16 d or m), or (as `quantize`) for an unsupported granularity or columns not a
    ///   multiple of 32.
    public convenience init(name: String, scheme: QuantizationScheme, granularity: QuantizationGranularity? = nil,
                            rows: Int, columns: Int, file: SafeTensorsFile) throws {
        let granularity = granularity ?? scheme.defaultGranularity
        try Self.validate(name: name, rows: rows, columns: columns, scheme: scheme, granularity: granularity)
        func entry(_ suffix: String, _ dataType: SafeTensorsDataType, _ shape: [Int]) throws -> SafeTensorsEntry {
            let entryName = "\(name).\(suffix)"
            guard let entry = file[entryName] else {
                throw CompressionError("\(file.source): quantized tensor \"\(name)\" (\(scheme.rawValue)) has no entry \"\(entryName)\"")
            }
            guard entry.dataType == dataType, entry.shape == shape, entry.bytes.count == shape.reduce(1, *) * dataType.byteSize else {
                throw CompressionError("\(file.source): entry \"\(entryName)\" is \(entry.dataType.rawValue) \(entry.shape) (\(entry.bytes.count) bytes); \(scheme.rawValue) \(granularity.rawValue) of a \(rows) × \(columns) matrix needs \(dataType.rawValue) \(shape)")
            }
            return entry
        }
        let rowBytes = Self.rowBytes(scheme: scheme, columns: columns)
        let data = Self.allocateData(byteCount: rows * rowBytes)
        var scales: [Float] = [], zeroPoints: [Int8] = []
        do {
            let quants = scheme.isBlockFormat
                ? try entry("blocks", .uint8, [rows, rowBytes])
                : try entry("q", .int8, [rows, columns])
            quants.bytes.withUnsafeBytes { data.copyMemory(from: $0.baseAddress!, byteCount: rows * rowBytes) }
            if scheme.isBlockFormat {
                try Self.checkBlockHeaders(data, rows: rows, columns: columns, scheme: scheme,
                                           name: "\(file.source): entry \"\(name).blocks\"")
            } else {
                let count = granularity == .tensor ? 1 : rows
                scales = try entry("scale", .float32, [count]).values(as: Float.self)
                if let bad = scales.firstIndex(where: { !$0.isFinite || $0 < 0 }) {
                    throw CompressionError("\(file.source): entry \"\(name).scale\" has scale \(scales[bad]) at index \(bad); scales must be finite and ≥ 0")
                }
                if scheme == .int8Asymmetric {
                    zeroPoints = try entry("zero_point", .int8, [count]).values(as: Int8.self)
                }
            }
        } catch {
            data.deallocate()
            if let error = error as? CompressionError { throw error }
            throw CompressionError("\(file.source): quantized tensor \"\(name)\": \(error)")
        }
        self.init(scheme: scheme, granularity: granularity, rows: rows, columns: columns,
                  data: data, scales: scales, zeroPoints: zeroPoints)
    }
}
