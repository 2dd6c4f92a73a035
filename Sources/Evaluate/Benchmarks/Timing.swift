// Timing for `alambique bench`: medians of repeated runs, each run long enough to be measured.

import Dispatch
import Foundation

/// Seconds per call of `body`: each of `runs` samples repeats `body` until at least
/// `minimumSeconds` have passed, and the median sample is returned (after one warm-up call).
public func medianSecondsPerCall(runs: Int = 5, minimumSeconds: Double = 0.1, _ body: () throws -> Void) rethrows -> Double {
    try body()  // warm-up: first-touch page faults, BLAS thread start-up
    var samples: [Double] = []
    for _ in 0..<max(1, runs) {
        var calls = 0
        let start = DispatchTime.now().uptimeNanoseconds
        var elapsed = 0.0
        repeat {
            try body()
            calls += 1
            elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        } while elapsed < minimumSeconds
        samples.append(elapsed / Double(calls))
    }
    return samples.sorted()[samples.count / 2]
}

/// Seconds per call of two bodies, sampled alternately (A, B, A, B, …) so that load from
/// other processes falls on both alike; the median of each is returned. `settle` seconds of
/// sleep follow each B sample — OpenBLAS's own worker threads spin for ~0.1 s after a call
/// and would otherwise take the cores from A.
public func pairedMedianSecondsPerCall(runs: Int = 5, minimumSeconds: Double = 0.1, settle: Double = 0,
                                       _ a: () throws -> Void, _ b: () throws -> Void) rethrows -> (Double, Double) {
    var samplesA: [Double] = [], samplesB: [Double] = []
    for _ in 0..<max(1, runs) {
        samplesA.append(try medianSecondsPerCall(runs: 1, minimumSeconds: minimumSeconds, a))
        samplesB.append(try medianSecondsPerCall(runs: 1, minimumSeconds: minimumSeconds, b))
        if settle > 0 { Thread.sleep(forTimeInterval: settle) }
    }
    return (samplesA.sorted()[samplesA.count / 2], samplesB.sorted()[samplesB.count / 2])
}
