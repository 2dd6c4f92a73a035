import Testing
@testable import Evaluate

@Suite("Evaluate") struct EvaluateTests {
    @Test("the demo's loss falls and the spirals are separated")
    func demo() throws {
        let report = try SpiralsDemo(steps: 300, seed: 1).run(every: 1000) { _ in }
        #expect(report.losses.last! < report.losses.first! / 4, "\(report.losses.first!) → \(report.losses.last!)")
        #expect(report.accuracy > 0.9)
    }

    @Test("the core benchmark reports every shape and kernel, with positive figures")
    func coreBenchmarkShape() throws {
        let result = try CoreBenchmark(elements: 1 << 12, runs: 1, minimumSeconds: 0.001).run()
        #expect(result.matmul.count == CoreBenchmark.matmulShapes.count)
        #expect(result.matmul.allSatisfy { $0.op_gflops > 0 && $0.blas_gflops > 0 })
        #expect(Set(result.elementwise.map(\.op)) == ["add", "gelu", "softmax", "layernorm"])
        #expect(result.elementwise.count == 8 && result.copy_gbps > 0)
    }
}
