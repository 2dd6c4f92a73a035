// What compression did to a checkpoint, for `alambique inspect`: per-tensor sparsity of the float
// tensors that have zeros, and per quantized matrix its scheme and the stored error report.

import Foundation
import Models
import Store

public enum CompressionSummary {
    /// Tables of sparsity (tensors with any zero) and quantization (packed layers), or nil for a dense model without zeros.
    public static func describe(_ directory: URL) throws -> String? {
        let loaded = try CompressedCheckpoint.load(from: directory, packSparse: false)
        var lines: [String] = []
        let sparse = loaded.model.namedParameters().filter { $0.tensor.count > 0 }.compactMap { name, tensor -> String? in
            var zeros = 0
            for i in 0 ..< tensor.count where tensor.data[i] == 0 { zeros += 1 }
            guard zeros > 0, tensor.rank == 2 else { return nil }
            return "| \(name) | \(tensor.shape) | \(String(format: "%.1f%%", 100 * Double(zeros) / Double(tensor.count))) |"
        }
        if !sparse.isEmpty {
            lines += ["sparsity per tensor:", "| tensor | shape | sparsity |", "|---|---|---:|"] + sparse
            lines.append(String(format: "non-zero parameters: %d of %d (%.1f%% sparse overall)", loaded.nonzeroParameters,
                                loaded.parameters, 100 * (1 - Double(loaded.nonzeroParameters) / Double(max(loaded.parameters, 1)))))
        }
        let packed = CompressedCheckpoint.linearLayers(of: loaded.model).compactMap { name, linear -> String? in
            guard let matrix = linear.packed as? QuantizedMatrix else { return nil }
            return "| \(name) | [\(matrix.rows), \(matrix.columns)] (out, in) | \(matrix.scheme.rawValue) / \(matrix.granularity.rawValue) | \(matrix.storedBytes) |"
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
}
