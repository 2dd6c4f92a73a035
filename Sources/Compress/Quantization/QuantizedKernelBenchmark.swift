// Batch-1 matrix–vector speed of the quantized kernels against our float32 path
// (`InferenceKernels.linearRow`, W stored [in, out] as in checkpoints), at the shapes of a
// GPT-2 block. Two regimes:
// - "decode": the calls walk `layers` blocks × every shape in model order, as a decode step
//   does, so each matrix is evicted before it comes round again once the model outgrows the
//   caches (bench-medium's F32 matrices take ~100 MB; its Q4_0 ones ~14 MB);
// - "hot": one matrix repeated (its weights stay in cache as far as they fit).
//
// Measured 2026-11-27 (release, -target-cpu haswell, 1 thread; the other core busy with another
// worker's compiler; medians of 3 alternating runs), µs per call, decode / hot, before → after the
// integer kernels (CQuantKernels): 512→1536 Q8_0 80/63 → 40/27, Q4_0 92/70 → 26/16, Q4_1 96/93 →
// 36/19; 2048→512 Q8_0 94/76 → 53/33, Q4_0 114/104 → 27/22, Q4_1 119/104 → 37/26; F32 219/39 and
// 419/56 (unchanged). Summed over a bench-medium layer's four matrices (decode): F32 ~950, int8
// 196 → 145, Q8_0 306 → 158, Q4_0 360 → 99, Q4_1 376 → 132. Quantized now beats F32 in cache too
// (hot: 1.4–2.6×), not only when the weights stream from memory.

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
        /// True for the decode regime (every layer's matrices in turn), false for one matrix repeated.
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

    /// Measures F32 and every scheme on `shapes` × `layers` random matrices: per shape, the median
    /// of `rounds` decode sweeps (one call per layer and shape each) and of `rounds` hot calls, after
    /// one untimed sweep. Quantized kernels use the current `Threads` setting (F32 `linearRow`
    /// runs on one thread at these sizes, as it does in generation).
    public static func run(shapes: [Shape] = benchMediumShapes, layers: Int = 8, rounds: Int = 25) -> [Result] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func random() -> Float {  // uniform in [−0.1, 0.1), deterministic
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state) >> 40) / Float(1 << 23) * 0.1
        }
        let maxInputs = shapes.map(\.inputs).max() ?? 0, maxOutputs = shapes.map(\.outputs).max() ?? 0
        let x = (0..<maxInputs).map { _ in random() * 10 }
        var y = [Float](repeating: 0, count: maxOutputs)
        // matrices[layer][shape], Conv1D layout [in, out] (F32 path).
        let weights = (0..<layers).map { _ in shapes.map { s in (0..<(s.inputs * s.outputs)).map { _ in random() } } }
        var results: [Result] = []

        /// Times `call(layer, shape, x, y)` in both regimes and appends the medians.
        func measure(_ format: String, _ call: (Int, Int, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
            x.withUnsafeBufferPointer { xs in
                y.withUnsafeMutableBufferPointer { ys in
                    let (xp, yp) = (xs.baseAddress!, ys.baseAddress!)
                    var decode = [[Double]](repeating: [], count: shapes.count)
                    for round in 0...rounds {
                        for layer in 0..<layers {
                            for s in shapes.indices {
                                let start = DispatchTime.now().uptimeNanoseconds
                                call(layer, s, xp, yp)
                                if round > 0 { decode[s].append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
                            }
                        }
                    }
                    for s in shapes.indices {
                        var hot: [Double] = []
                        for round in 0...(rounds * layers) {
                            let start = DispatchTime.now().uptimeNanoseconds
                            call(0, s, xp, yp)
                            if round > 0 { hot.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
                        }
                        for (streamed, seconds) in [(true, decode[s]), (false, hot)] {
                            let median = seconds.sorted()[seconds.count / 2]
                            results.append(Result(shape: shapes[s], format: format, streamed: streamed, secondsPerCall: median,
                                                  gflops: 2 * Double(shapes[s].inputs * shapes[s].outputs) / median / 1e9))
                        }
                    }
                }
            }
        }

        measure("F32") { layer, s, x, y in
            weights[layer][s].withUnsafeBufferPointer { w in
                InferenceKernels.linearRow(x, weight: w.baseAddress!, bias: nil, out: y,
                                           inFeatures: shapes[s].inputs, outFeatures: shapes[s].outputs)
            }
        }
        for scheme in QuantizationScheme.allCases {
            let matrices = weights.map { layer in
                zip(shapes, layer).map { shape, w -> QuantizedMatrix in
                    let (k, n) = (shape.inputs, shape.outputs)
                    var transposed = [Float](repeating: 0, count: k * n)
                    for i in 0..<k { for j in 0..<n { transposed[j * k + i] = w[i * n + j] } }
                    // Multiples of 32 and finite weights cannot throw; other shapes fall back to int8.
                    let usable = scheme.isBlockFormat && k % 32 != 0 ? QuantizationScheme.int8Symmetric : scheme
                    return try! QuantizedMatrix.quantize(transposed, rows: n, columns: k, scheme: usable, name: "benchmark")
                }
            }
            measure(scheme.formatLabel) { layer, s, x, y in matrices[layer][s].multiplyRow(x, into: y, accumulate: false) }
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
        seen.sort { ($0.1 ? 0 : 1) < ($1.1 ? 0 : 1) }
        for (shape, streamed) in seen {
            let row = results.filter { $0.shape == shape && $0.streamed == streamed }
            func micros(_ format: String) -> Double? { row.first { $0.format == format }.map { $0.secondsPerCall * 1e6 } }
            let base = micros("F32") ?? .nan
            let times = formats.map { micros($0).map { String(format: "%.1f", $0) } ?? "–" }
            let speedups = formats.dropFirst().map { micros($0).map { String(format: "%.2f", base / $0) } ?? "–" }
            lines.append("| \(shape.inputs)→\(shape.outputs) | \(streamed ? "decode" : "hot") | "
                         + (times + speedups).joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
