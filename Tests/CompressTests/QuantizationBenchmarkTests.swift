import Foundation
import Testing
import Compress

/// The kernel benchmark, off by default (it takes seconds and wants a release build):
/// `ALAMBIQUE_QUANT_BENCH=1 swift test -c release -Xswiftc -target-cpu -Xswiftc haswell
///  -Xswiftc -enable-testing --filter QuantizationBenchmark`.
@Suite("Quantized kernel benchmark") struct QuantizationBenchmarkTests {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["ALAMBIQUE_QUANT_BENCH"] != nil))
    func benchMediumShapes() {
        let results = QuantizedKernelBenchmark.run()
        print(QuantizedKernelBenchmark.table(results))
        #expect(results.count == QuantizedKernelBenchmark.benchMediumShapes.count * 2 * (1 + QuantizationScheme.allCases.count))
    }
}
