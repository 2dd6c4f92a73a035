// What compression did to a checkpoint, for `alambique inspect`: per-tensor sparsity of the tensors
// stored sparse, and per quantized matrix its scheme and the stored error report. Everything comes
// from config.json and model.safetensors' header (a sparse tensor's kept count is its values entry's
// length), so inspecting never builds a model or reads a weight.

import Foundation
import Models
import Store

public enum CompressionSummary {
    /// Tables of sparsity (tensors stored as mask + values) and quantization (quantized matrices), or
    /// nil for a checkpoint stored dense.
    /// - Throws: `SafeTensorsError` for a malformed header, `CompressionError` for malformed metadata.
    public static func describe(_ directory: URL) throws -> String? {
        // Compressed checkpoints are ours and never sharded.
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent(Checkpoint.modelFileName).path) else {
            return nil
        }
        let header = try SafeTensors.readHeader(contentsOf: directory.appendingPathComponent(Checkpoint.modelFileName))
        let tensors = header.tensorsByName
        // The config gives the dense shapes of sparse tensors; without it their sizes come from the masks.
        let config = try? Checkpoint.readConfig(GPTConfig.self, from: directory)
        let shapes = Dictionary(config?.parameterShapes.map { ($0.name, $0.shape) } ?? [], uniquingKeysWith: { a, _ in a })
        var lines: [String] = []
        var removed = 0
        let sparseNames = try sparseTensorNames(header).sorted()
        let sparse = sparseNames.compactMap { name -> String? in
            guard let kept = tensors[SparseTensorStorage.valuesName(name)]?.elementCount,
                  let mask = tensors[SparseTensorStorage.maskName(name)] else { return nil }
            let shape = shapes[name]
            let count = shape.map { $0.reduce(1, *) } ?? 8 * mask.elementCount
            removed += max(0, count - kept)
            let shown = shape.map { "\($0)" } ?? "≤ \(count) elements"
            let sparsity = String(format: "%.1f%%", 100 * Double(count - kept) / Double(max(count, 1)))
            return "| \(name) | \(shown) | \(sparsity) |"
        }
        if !sparse.isEmpty {
            lines += ["sparsity per tensor:", "| tensor | shape | sparsity |", "|---|---|---:|"] + sparse
            if let parameters = config?.parameterCount {
                let nonzero = parameters - removed
                let format = "non-zero parameters: %d of %d (%.1f%% sparse overall; dense tensors counted whole)"
                lines.append(String(format: format, nonzero, parameters, 100 * Double(removed) / Double(max(parameters, 1))))
            }
        }
        let packed = try QuantizationMetadata.decode(header.metadata).sorted { $0.key < $1.key }.map { name, info in
            let bytes = QuantizedMatrix.entryNames(name: name, scheme: info.scheme)
                .reduce(0) { $0 + (tensors[$1]?.dataOffsets.count ?? 0) }
            return "| \(name) | \(info.shape) (out, in) | \(info.scheme.rawValue) / \(info.granularity.rawValue) | \(bytes) |"
        }
        if !packed.isEmpty {
            if !lines.isEmpty { lines.append("") }
            lines += ["quantized matrices:", "| tensor | shape | scheme / granularity | bytes |", "|---|---|---|---:|"] + packed
            let report = directory.appendingPathComponent("quantization-report.csv")
            if let csv = try? String(contentsOf: report, encoding: .utf8) {
                lines += ["", "error report (\(report.lastPathComponent)):"] + csv.split(separator: "\n").map { "  " + $0 }
            }
        }
        return lines.isEmpty ? nil : lines.joined(separator: "\n")
    }

    private static func sparseTensorNames(_ header: SafeTensorsHeader) throws -> [String] {
        guard let text = header.metadata[CompressedCheckpoint.sparseKey] else { return [] }
        guard let names = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String] else {
            throw CompressionError("\(header.source): metadata \(CompressedCheckpoint.sparseKey) is not a JSON array of tensor names")
        }
        return names
    }
}
