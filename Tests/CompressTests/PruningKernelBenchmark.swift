import Foundation
import Testing
import Compress

/// The kernel figures: off unless ALAMBIQUE_SPARSE_BENCH=1 (run it in a release build:
/// `ALAMBIQUE_SPARSE_BENCH=1 swift test -c release -Xswiftc -target-cpu -Xswiftc haswell --filter PruningKernelBenchmark`).
@Suite("Pruning: CSR kernel benchmark", .enabled(if: ProcessInfo.processInfo.environment["ALAMBIQUE_SPARSE_BENCH"] == "1"))
struct PruningKernelBenchmark {
    @Test func benchMediumShapes() throws {
        let results = try SparseKernelBenchmark.run()
        print(SparseKernelBenchmark.table(results))
    }
}
