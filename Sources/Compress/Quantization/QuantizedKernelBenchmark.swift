// Batch-1 matrix–vector speed of the quantized kernels against our float32 path
// (`InferenceKernels.linearRow`, W stored [in, out] as in checkpoints), at the shapes of a
// GPT-2 block. Two regimes: "streamed" cycles through `layers` distinct matrices per shape, as a
// decode step walks the layers (weights come from L3 or memory); "hot" repeats one matrix (its
// weights stay in cache as far as they fit).

import Autodiff
import Dispatch
import Foundation

/// Times `multiplyRow` of every quantization scheme and `InferenceKernels.linearRow` (float32).
public enum QuantizedKernelBenchmark {
    /// One weight matrix shape: `inputs` → `outputs`.
    public struct Shape: Sendable, Codable, Equatable {
        /// Columns of the quantized matrix (the Linear's `inFeatures`).
        public var inputs: Int
        /// Rows of the quantized matrix (the Linear's `outFeatures`).
        public var outputs: Int
        /// A shape `inputs` → `outputs`.
        public init(inputs: Int, outputs: Int) { self.inputs = inputs; self.outputs = outputs }
    }

    /// One measured (shape, format, regime).
    public struct Result: Sendable, Codable, Equatable {
        /// The matrix shape.
        public var shape: Shape
        /// `F32` or a scheme's format label (`INT8`, `INT8-ASYM`, `Q8_0`, `Q4_0`, `Q4_1`).
        public var format: String
        /// True when calls cycled through distinct matrices, false when one matrix was repeated.
        public var streamed: Bool
        /// Median seconds per call.
        public var secondsPerCall: Double
        /// 2 · inputs · outputs / secondsPerCall, in 10⁹ per second.
        public var gflops: Double
    }

    /// The matrices of one `bench-medium` block (n_embd 512, MLP 2048): c_attn 512→1536,
    /// attn.c_proj 512→512, c_fc 512→2048, mlp.c_proj 2048→512.
    public static let benchMediumShapes = [
        Shape(inputs: 512, outputs: 1536), Shape(inputs: 512, outputs: 512),
        Shape(inputs: 512, outputs: 2048), Shape(inputs: 2048, outputs: 512),
    ]

    /// Measures every shape × (F32, every scheme) × (streamed over `layers` matrices, hot):
    /// the median of `calls` timed calls after one untimed pass over the matrices. Uses the
    /// current `Threads` setting for the quantized kernels (F32 `linearRow` runs on one thread
    /// at these sizes, as it does in generation).
    public static func run(shapes: [Shape] = benchMediumShapes, layers: Int = 8, calls: Int = 200) -> [Result] {
        var results: [Result] = []
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func random() -> Float {  // uniform in [−0.1, 0.1), deterministic
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state) >> 40) / Float(1 << 23) * 0.1
        }
        for shape in shapes {
            let (n, k) = (shape.outputs, shape.inputs)
            let x = (0..<k).map { _ in random() * 10 }
            var y = [Float](repeating: 0, count: n)
            // Conv1D layout [in, out]; the quantized matrices take the transpose [out, in].
            let weights = (0..<layers).map { _ in (0..<(k * n)).map { _ in random() } }
            func time(_ format: String, _ body: (Int, UnsafeMutablePointer<Float>) -> Void) {
                for streamed in [true, false] {
                    y.withUnsafeMutableBufferPointer { out in
                        for layer in 0..<layers { body(layer, out.baseAddress!) }
                        var seconds: [Double] = []
                        for call in 0..<calls {
                            let start = DispatchTime.now().uptimeNanoseconds
                            body(streamed ? call % layers : 0, out.baseAddress!)
                            seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                        }
                        let median = seconds.sorted()[calls / 2]
                        results.append(Result(shape: shape, format: format, streamed: streamed, secondsPerCall: median,
                                              gflops: 2 * Double(k * n) / median / 1e9))
                    }
                }
            }
            x.withUnsafeBufferPointer { xs in
                time("F32") { layer, out in
                    weights[layer].withUnsafeBufferPointer { w in
                        InferenceKernels.linearRow(xs.baseAddress!, weight: w.baseAddress!, bias: nil, out: out,
                                                   inFeatures: k, outFeatures: n)
                    }
                }
                for scheme in QuantizationScheme.allCases {
                    let matrices = weights.map { w -> QuantizedMatrix in
                        var transposed = [Float](repeating: 0, count: k * n)
                        for i in 0..<k { for j in 0..<n { transposed[j * k + i] = w[i * n + j] } }
                        // The shapes are multiples of 32 and the weights finite: this cannot throw.
                        return try! QuantizedMatrix.quantize(transposed, rows: n, columns: k, scheme: scheme, name: "benchmark")
                    }
                    time(scheme.formatLabel) { layer, out in
                        matrices[layer].multiplyRow(xs.baseAddress!, into: out, accumulate: false)
                    }
                }
            }
        }
        return results
    }

    /// A Markdown table: one line per shape and regime, µs per call for each format, and the
    /// speed-up of each quantized format over F32.
    public static func table(_ results: [Result]) -> String {
        let formats = ["F32"] + QuantizationScheme.allCases.map(\.formatLabel)
        var lines = ["| shape (in→out) | regime | " + formats.map { "\($0) µs" }.joined(separator: " | ") + " | "
                     + formats.dropFirst().map { "\($0) ×" }.joined(separator: " | ") + " |"]
        lines.append("|" + String(repeating: "---|", count: 2 + 2 * formats.count - 1))
        var seen: [(Shape, Bool)] = []
        for result in results where !seen.contains(where: { $0.0 == result.shape && $0.1 == result.streamed }) {
            seen.append((result.shape, result.streamed))
        }
        for (shape, streamed) in seen {
            let row = results.filter { $0.shape == shape && $0.streamed == streamed }
            func micros(_ format: String) -> Double? { row.first { $0.format == format }.map { $0.secondsPerCall * 1e6 } }
            let base = micros("F32") ?? .nan
            let times = formats.map { micros($0).map { String(format: "%.1f", $0) } ?? "–" }
            let speedups = formats.dropFirst().map { micros($0).map { String(format: "%.2f", base / $0) } ?? "–" }
            lines.append("| \(shape.inputs)→\(shape.outputs) | \(streamed ? "streamed" : "hot") | "
                         + (times + speedups).joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
