// The checkpoint-level record of which tensors are quantized and how: the `__metadata__` value
// under "alambique.quantization" (DESIGN.md §6), a JSON object from tensor name to its scheme,
// granularity and [out, in] shape — what `QuantizedMatrix(name:scheme:granularity:rows:columns:file:)`
// needs to read each one back.

import Foundation
import Store

/// How one tensor of a checkpoint is quantized.
public struct QuantizedTensorInfo: Codable, Sendable, Equatable {
    /// The scheme.
    public var scheme: QuantizationScheme
    /// The granularity.
    public var granularity: QuantizationGranularity
    /// `[rows, columns]` = `[out, in]`.
    public var shape: [Int]

    /// A record for `matrix`.
    public init(_ matrix: QuantizedMatrix) {
        self.init(scheme: matrix.scheme, granularity: matrix.granularity, shape: [matrix.rows, matrix.columns])
    }

    /// A record from its fields.
    public init(scheme: QuantizationScheme, granularity: QuantizationGranularity, shape: [Int]) {
        self.scheme = scheme
        self.granularity = granularity
        self.shape = shape
    }
}

/// Encoding and decoding of the `__metadata__` entry `QuantizedMatrix.metadataKey`.
public enum QuantizationMetadata {
    /// The JSON text (keys sorted) for a map from tensor name to how it is quantized.
    public static func encode(_ tensors: [String: QuantizedTensorInfo]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding strings, enums and integers cannot fail.
        return String(decoding: try! encoder.encode(tensors), as: UTF8.self)
    }

    /// The map recorded in `metadata` (a safetensors `__metadata__`); empty when the key is absent.
    /// - Throws: `CompressionError` when the value is not valid JSON of that shape, or names an
    ///   unknown scheme or granularity, or a shape that is not two positive dimensions.
    public static func decode(_ metadata: [String: String]) throws -> [String: QuantizedTensorInfo] {
        guard let text = metadata[QuantizedMatrix.metadataKey] else { return [:] }
        let tensors: [String: QuantizedTensorInfo]
        do {
            tensors = try JSONDecoder().decode([String: QuantizedTensorInfo].self, from: Data(text.utf8))
        } catch {
            throw CompressionError("__metadata__ \"\(QuantizedMatrix.metadataKey)\" is not a map of {scheme, granularity, shape}: \(error)")
        }
        for (name, info) in tensors where info.shape.count != 2 || info.shape.contains(where: { $0 <= 0 }) {
            throw CompressionError("__metadata__ \"\(QuantizedMatrix.metadataKey)\": tensor \"\(name)\" has shape \(info.shape); expected [out, in], both positive")
        }
        return tensors
    }

    /// Reads every quantized tensor listed in `file`'s metadata, by name.
    /// - Throws: `CompressionError` as `decode` and as `QuantizedMatrix(name:…file:)`.
    public static func loadAll(from file: SafeTensorsFile) throws -> [String: QuantizedMatrix] {
        var matrices: [String: QuantizedMatrix] = [:]
        for (name, info) in try decode(file.metadata) {
            matrices[name] = try QuantizedMatrix(name: name, scheme: info.scheme, granularity: info.granularity,
                                                 rows: info.shape[0], columns: info.shape[1], file: file)
        }
        return matrices
    }
}
