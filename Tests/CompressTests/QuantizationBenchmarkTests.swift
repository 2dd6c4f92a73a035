import Foundation
import Testing
import Autodiff
import Compress

/// The kernel benchmark, off by default (it takes seconds and wants a release build):
/// `ALAMBIQUE_QUANT_BENCH=1 [ALAMBIQUE_QUANT_BENCH_THREADS=n] swift test -c release -Xswiftc -target-cpu -Xswiftc haswell
///  -Xswiftc -enable-testing --filter QuantizationBenchmark`.
@Suite("Quantized kernel benchmark") struct QuantizationBenchmarkTests {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["ALAMBIQUE_QUANT_BENCH"] != nil))
    func benchMediumShapes() throws {
        if let threads = ProcessInfo.processInfo.environment["ALAMBIQUE_QUANT_BENCH_THREADS"].flatMap(Int.init) {
            try Threads.configure(threads)
        }
        print("threads: \(Threads.count)")
        let results = QuantizedKernelBenchmark.run()
        print(QuantizedKernelBenchmark.table(results))
        #expect(results.count == QuantizedKernelBenchmark.benchMediumShapes.count * 2 * (1 + QuantizationScheme.allCases.count))
    }
}
