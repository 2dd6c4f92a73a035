// Batch-1 timing of the CSR kernel against the dense one (`InferenceKernels.linearRow`, what
// generation uses today) on bench-medium's four matrix shapes, over a range of sparsities. The
// figures fix `SparseMatrix.crossoverSparsity` and `parallelNonzeros`; run in a release build
// with `-target-cpu haswell` (`make build`'s flags).

import Dispatch
import Models

/// Measures dense vs CSR matrix–vector products.
public enum SparseKernelBenchmark {
    /// One shape at one sparsity: microseconds per batch-1 product.
    public struct Result: Sendable, Codable, Equatable {
        /// The Linear's inputs (weight rows in (in, out) layout).
        public var inputs: Int
        /// The Linear's outputs.
        public var outputs: Int
        /// Fraction of zero weights.
        public var sparsity: Double
        /// `InferenceKernels.linearRow` on the dense (zeroed) weight.
        public var denseMicroseconds: Double
        /// `SparseMatrix.multiplyRow` as shipped (threads above `parallelNonzeros`).
        public var sparseMicroseconds: Double
        /// The CSR kernel on one thread.
        public var sparseOneThreadMicroseconds: Double
        /// The CSR kernel split over two threads.
        public var sparseTwoThreadsMicroseconds: Double
        /// dense / sparse (as shipped).
        public var speedup: Double { denseMicroseconds / sparseMicroseconds }
    }

    /// bench-medium's (in, out) Linear shapes: c_attn, attn.c_proj, c_fc, mlp.c_proj at C = 512.
    public static let benchMediumShapes: [(inputs: Int, outputs: Int)] = [(512, 1536), (512, 512), (512, 2048), (2048, 512)]

    /// Times every shape at every sparsity: each figure is the best of `rounds` rounds, a round
    /// repeating the product for at least `roundSeconds`. Many short rounds: on a shared machine
    /// the best round is the one the other processes left alone.
    public static func run(shapes: [(inputs: Int, outputs: Int)] = benchMediumShapes,
                           sparsities: [Double] = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95],
                           rounds: Int = 40, roundSeconds: Double = 0.002) throws -> [Result] {
        var results: [Result] = []
        var rng = RNG(seed: 42)
        for shape in shapes {
            let weight = try Tensor.zeros([shape.inputs, shape.outputs])
            let x = try Tensor.zeros([shape.inputs])
            rng.fillNormal(x, std: 1)
            let y = try Tensor.zeros([shape.outputs])
            for sparsity in sparsities {
                rng.fillNormal(weight, std: 0.02)
                let masks = try MagnitudePruning.masks(for: [("w", weight)], sparsity: sparsity, scope: .layer)
                try masks[0].apply(to: weight)
                let matrix = try SparseMatrix(linearWeight: weight)
                let dense = time(rounds: rounds, seconds: roundSeconds) {
                    InferenceKernels.linearRow(x.data, weight: weight.data, bias: nil, out: y.data,
                                               inFeatures: shape.inputs, outFeatures: shape.outputs)
                }
                let shipped = time(rounds: rounds, seconds: roundSeconds) { matrix.multiplyRow(x.data, into: y.data, accumulate: false) }
                let one = time(rounds: rounds, seconds: roundSeconds) {
                    matrix.multiplyRow(x.data, into: y.data, accumulate: false, parallel: false)
                }
                let two = time(rounds: rounds, seconds: roundSeconds) {
                    matrix.multiplyRow(x.data, into: y.data, accumulate: false, parallel: true)
                }
                results.append(Result(inputs: shape.inputs, outputs: shape.outputs, sparsity: sparsity,
                                      denseMicroseconds: dense, sparseMicroseconds: shipped,
                                      sparseOneThreadMicroseconds: one, sparseTwoThreadsMicroseconds: two))
            }
        }
        return results
    }

    /// A Markdown table of `results`.
    public static func table(_ results: [Result]) -> String {
        var lines = ["| in × out | sparsity | dense µs | CSR µs | CSR 1 thread µs | CSR 2 threads µs | speed-up |",
                     "|---|---|---|---|---|---|---|"]
        func f(_ v: Double) -> String { String(Int((v * 10).rounded())).withDecimal }
        for r in results {
            lines.append("| \(r.inputs)×\(r.outputs) | \(Int((r.sparsity * 100).rounded()))% | \(f(r.denseMicroseconds)) | \(f(r.sparseMicroseconds)) | \(f(r.sparseOneThreadMicroseconds)) | \(f(r.sparseTwoThreadsMicroseconds)) | \(f(r.speedup))× |")
        }
        return lines.joined(separator: "\n")
    }

    /// Best-of-`rounds` mean microseconds per call of `body`.
    static func time(rounds: Int, seconds: Double, _ body: () -> Void) -> Double {
        body()  // warm caches
        var best = Double.infinity
        for _ in 0..<max(rounds, 1) {
            var calls = 0
            let start = DispatchTime.now().uptimeNanoseconds
            var elapsed: UInt64 = 0
            repeat {
                body()
                calls += 1
                elapsed = DispatchTime.now().uptimeNanoseconds - start
            } while Double(elapsed) < seconds * 1e9
            best = min(best, Double(elapsed) / 1e3 / Double(calls))
        }
        return best
    }
}

private extension String {
    /// "123" (tenths) → "12.3".
    var withDecimal: String {
        let digits = count < 2 ? String(repeating: "0", count: 2 - count) + self : self
        return digits.dropLast() + "." + digits.suffix(1)
    }
}
