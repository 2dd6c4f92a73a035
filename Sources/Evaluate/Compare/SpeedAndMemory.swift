// Speed (forward tokens/s at batch 16; batch-1 generation tokens/s and per-token latency
// percentiles) and peak resident memory, measured on the model as loaded.

import Dispatch
import Foundation

#if canImport(Glibc)
/// glibc's malloc_trim (malloc.h is not in the Glibc module map).
@_silgen_name("malloc_trim") private func glibcMallocTrim(_ pad: Int) -> Int32
#endif
import Models

public struct SpeedMetrics: Codable, Sendable, Equatable {
    public var forwardTokensPerSecond: Double
    public var generateTokensPerSecond: Double
    public var latencyP50Milliseconds: Double
    public var latencyP95Milliseconds: Double
}

public enum SpeedEvaluation {
    /// Forward tokens/s on `batch` (B × T ids) — median of `runs` — and batch-1 decoding after a
    /// 16-token prompt: every token's latency over `runs` rounds of `newTokens`, greedy. At least
    /// one run is measured whatever `runs` says.
    public static func measure(model: GPT, batch: IndexTensor, newTokens: Int = 100, runs requestedRuns: Int = 3) throws -> SpeedMetrics {
        let runs = max(1, requestedRuns)
        model.eval()
        defer { model.train() }
        let forward = try medianSecondsPerCall(runs: runs, minimumSeconds: 0.3) { _ = try noGrad { try model(batch) } }
        let config = model.config
        let promptLength = min(16, config.contextLength - 1)
        let tokens = max(1, min(newTokens, config.contextLength - promptLength))
        let prompt = (0 ..< promptLength).map { Int32(($0 * 7 + 1) % config.vocabularySize) }
        let generator = model.makeGenerator()
        Threads.releaseBLASWorkers()
        var latencies: [Double] = []
        var rates: [Double] = []
        for round in 0 ... runs {  // round 0 warms up
            generator.reset()
            var logits = try generator.prefill(prompt)
            let start = DispatchTime.now().uptimeNanoseconds
            var previous = start
            for _ in 0 ..< tokens {
                let next = Int32(InferenceKernels.argmax(logits.baseAddress!, count: logits.count))
                logits = try generator.logits(forNext: next)
                let now = DispatchTime.now().uptimeNanoseconds
                if round > 0 { latencies.append(Double(now - previous) / 1e6) }
                previous = now
            }
            if round > 0 { rates.append(Double(tokens) / (Double(previous - start) / 1e9)) }
        }
        latencies.sort()
        rates.sort()
        func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(p * Double(latencies.count)))] }
        return SpeedMetrics(forwardTokensPerSecond: Double(batch.count) / forward, generateTokensPerSecond: rates[rates.count / 2],
                            latencyP50Milliseconds: percentile(0.5), latencyP95Milliseconds: percentile(0.95))
    }
}

/// The process's peak resident set ("high water mark"), which Linux lets a process reset.
public enum PeakMemory {
    /// Resets the peak to the current resident size (Linux: writes 5 to /proc/self/clear_refs); false elsewhere.
    /// Freed heap memory is first returned to the system (malloc_trim), so the baseline is what is live.
    @discardableResult
    public static func reset() -> Bool {
        #if canImport(Glibc)
        _ = glibcMallocTrim(0)
        #endif
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        return (try? handle.write(contentsOf: Data("5".utf8))) != nil
    }

    /// Peak resident memory in MB since start or the last `reset()` (VmHWM), or nil where unknown.
    public static func megabytes() -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 2, let kilobytes = Double(fields[1]) { return kilobytes / 1024 }
        }
        return nil
    }
}
