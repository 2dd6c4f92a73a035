// `alambique bench core`: the autodiff core against the ceilings it can be held to — the
// matmul op against calling cblas_sgemm directly, the elementwise kernels against a plain
// memory copy of the same size.

import Foundation
import NN

/// Results in the field names of DESIGN.md §6 ("bench core"); fields may be added, never renamed.
public struct CoreBenchmarkResult: Codable, Sendable {
    public struct MatmulRow: Codable, Sendable {
        public var m: Int, k: Int, n: Int
        public var op_gflops: Double
        public var blas_gflops: Double
        public var ratio: Double
    }
    public struct ElementwiseRow: Codable, Sendable {
        public var op: String
        public var pass: String          // "forward" | "backward"
        public var gbps: Double
        public var bytes: Int             // bytes the kernel must read and write, per call
        public var copy_ratio: Double     // gbps / copy_gbps
    }
    public var matmul: [MatmulRow]
    public var elementwise: [ElementwiseRow]
    public var copy_gbps: Double
    public var threads: Int
    public var elements: Int
}

public struct CoreBenchmark {
    /// (m, k, n) of the issue: square, the GPT-2 teacher's qkv / fc / proj shapes at B·T = 2048, one row.
    public static let matmulShapes = [(512, 512, 512), (2048, 256, 768), (2048, 256, 1024), (2048, 1024, 256), (1, 256, 768)]

    public var elements: Int
    public var runs: Int
    public var minimumSeconds: Double

    public init(elements: Int = 4 << 20, runs: Int = 5, minimumSeconds: Double = 0.1) {
        self.elements = elements
        self.runs = runs
        self.minimumSeconds = minimumSeconds
    }

    /// Runs everything; `progress` gets one line per measurement (for stderr).
    public func run(progress: (String) -> Void = { _ in }) throws -> CoreBenchmarkResult {
        var rng = RNG(seed: 1)
        func random(_ shape: [Int], requiresGrad: Bool = false) throws -> Tensor {
            let t = try Tensor.zeros(shape, requiresGrad: requiresGrad)
            for i in 0..<t.count { t.data[i] = rng.nextFloat() * 2 - 1 }
            return t
        }
        func time(_ body: () throws -> Void) rethrows -> Double {
            try medianSecondsPerCall(runs: runs, minimumSeconds: minimumSeconds, body)
        }

        var matmul: [CoreBenchmarkResult.MatmulRow] = []
        for (m, k, n) in CoreBenchmark.matmulShapes {
            let a = try random([m, k]), b = try random([k, n]), c = try Tensor.zeros([m, n])
            let flops = 2.0 * Double(m) * Double(k) * Double(n)
            let (op, blas) = try pairedMedianSecondsPerCall(runs: runs, minimumSeconds: minimumSeconds,
                                                            settle: Threads.count > 1 ? 0.3 : 0, {
                _ = try noGrad { try a.matmul(b) }
            }, {
                withBLASThreads(Threads.count) { directSgemm(m: m, n: n, k: k, a.data, b.data, c.data) }
            })
            let row = CoreBenchmarkResult.MatmulRow(m: m, k: k, n: n, op_gflops: flops / op / 1e9,
                                                    blas_gflops: flops / blas / 1e9, ratio: blas / op)
            progress(String(format: "matmul %4d×%4d×%4d  op %6.1f GFLOPS  sgemm %6.1f GFLOPS  (%.0f%%)",
                            m, k, n, row.op_gflops, row.blas_gflops, 100 * row.ratio))
            matmul.append(row)
        }

        let n = elements
        let floatBytes = MemoryLayout<Float>.stride
        let source = try random([n]), destination = try Tensor.zeros([n])
        let copySeconds = time { destination.data.update(from: source.data, count: n) }
        let copyGBps = Double(2 * n * floatBytes) / copySeconds / 1e9
        progress(String(format: "copy %d floats  %.1f GB/s", n, copyGBps))

        // Rows of 256 for the row-wise ops: one GPT activation width.
        let width = 256
        var elementwise: [CoreBenchmarkResult.ElementwiseRow] = []
        func measure(_ name: String, inputs: [Tensor], forwardBytes: Int, backwardBytes: Int,
                     _ f: () throws -> Tensor) throws {
            let forward = try time { _ = try noGrad { try f() } }
            let output = try f()
            let gradient = try random(output.shape)
            let backward = try time { try output.runBackwardKernel(gradient: gradient) }
            for (pass, seconds, bytes) in [("forward", forward, forwardBytes), ("backward", backward, backwardBytes)] {
                let gbps = Double(bytes) / seconds / 1e9
                elementwise.append(.init(op: name, pass: pass, gbps: gbps, bytes: bytes, copy_ratio: gbps / copyGBps))
                progress(String(format: "%-10@ %-8@ %6.1f GB/s  (%.0f%% of copy)", name as NSString, pass as NSString,
                                gbps, 100 * gbps / copyGBps))
            }
            inputs.forEach { $0.zeroGrad() }
        }
        let bytes = n * floatBytes
        let a = try random([n / width, width], requiresGrad: true), b = try random([n / width, width], requiresGrad: true)
        // add: read a, b, write out | read g, read+write a.grad and b.grad
        try measure("add", inputs: [a, b], forwardBytes: 3 * bytes, backwardBytes: 5 * bytes) { try a + b }
        // gelu: read x, write y | read g, x, read+write grad
        try measure("gelu", inputs: [a], forwardBytes: 2 * bytes, backwardBytes: 4 * bytes) { a.gelu() }
        // softmax: read x, write y | read g, y, read+write grad
        try measure("softmax", inputs: [a], forwardBytes: 2 * bytes, backwardBytes: 4 * bytes) { try a.softmax() }
        // layer norm: read x, write y | read g, x, read+write dx (weight/bias gradients are tiny)
        let w = try random([width], requiresGrad: true), bias = try random([width], requiresGrad: true)
        try measure("layernorm", inputs: [a, w, bias], forwardBytes: 2 * bytes, backwardBytes: 4 * bytes) {
            try a.layerNorm(weight: w, bias: bias)
        }
        return CoreBenchmarkResult(matmul: matmul, elementwise: elementwise, copy_gbps: copyGBps,
                                   threads: Threads.count, elements: n)
    }
}
