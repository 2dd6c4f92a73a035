// Quantizing a model: every Linear layer (attention and MLP matrices) is replaced by its packed
// quantized form; embeddings (and the head tied to them), layer norms and biases stay float32.

import Foundation
import Models

public enum ModelQuantization {
    /// Quantizes the Linear layers of `model` whose weight name contains none of `keep`, in place,
    /// and returns each layer's error report (max/mean absolute error, SNR, scale range).
    /// - Throws: `CompressionError` naming the first tensor that cannot be quantized (e.g. an input
    ///   size that is not a multiple of 32 for a block scheme) — before any layer is changed.
    public static func quantize(_ model: GPT, scheme: QuantizationScheme, granularity: QuantizationGranularity? = nil,
                                keep: [String] = []) throws -> [QuantizationReport] {
        let layers = CompressedCheckpoint.linearLayers(of: model).filter { entry in
            entry.linear.packed == nil && !keep.contains { !$0.isEmpty && entry.weightName.contains($0) }
        }
        guard !layers.isEmpty else { throw CompressionError("quantize: no layer left to quantize (all packed already or kept by --keep)") }
        // Quantize all first, pack after: an error leaves the model untouched.
        var packed: [(Linear, QuantizedMatrix, QuantizationReport)] = []
        for (name, linear) in layers {
            let transposed = outputRows(linear.weight)  // [out, in]
            let matrix = try transposed.withUnsafeBufferPointer { buffer in
                try QuantizedMatrix.quantize(buffer.baseAddress!, rows: linear.outFeatures, columns: linear.inFeatures,
                                             scheme: scheme, granularity: granularity, name: name)
            }
            let report = transposed.withUnsafeBufferPointer { matrix.report(against: $0.baseAddress!, name: name) }
            packed.append((linear, matrix, report))
        }
        for (linear, matrix, _) in packed { try linear.pack(matrix) }
        return packed.map(\.2)
    }

    /// A Linear weight (in, out) as rows of outputs [out, in] (the layout of quantized matrices and of GGUF).
    public static func outputRows(_ weight: Tensor) -> [Float] {
        let (inputs, outputs) = (weight.shape[0], weight.shape[1])
        var result = [Float](repeating: 0, count: inputs * outputs)
        for i in 0 ..< inputs {
            for o in 0 ..< outputs { result[o * inputs + i] = weight.data[i * outputs + o] }
        }
        return result
    }
}
