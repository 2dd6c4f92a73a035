// Gradual magnitude pruning (Zhu & Gupta 2017, "To prune, or not to prune"): sparsity rises from
// s_i to s_f over n pruning events Δt steps apart, starting at step t0, fast first and slowly at
// the end: s_t = s_f + (s_i − s_f)·(1 − (t − t0)/(n·Δt))³.

/// The cubic sparsity schedule of gradual pruning.
public struct GradualPruningSchedule: Sendable, Equatable, Codable {
    /// Sparsity at and before `start` (s_i).
    public var initialSparsity: Double
    /// Sparsity from `start + events·interval` on (s_f).
    public var finalSparsity: Double
    /// The first pruning step (t0).
    public var start: Int
    /// Number of pruning intervals (n).
    public var events: Int
    /// Steps between pruning events (Δt).
    public var interval: Int

    /// A schedule; see `validate()` for the constraints.
    public init(initialSparsity: Double = 0, finalSparsity: Double, start: Int, events: Int, interval: Int) {
        self.initialSparsity = initialSparsity
        self.finalSparsity = finalSparsity
        self.start = start
        self.events = events
        self.interval = interval
    }

    /// Checks both sparsities are in [0, 1), start ≥ 0, events ≥ 1 and interval ≥ 1.
    /// - Throws: `CompressionError` naming the field and value.
    public func validate() throws {
        try MagnitudePruning.validate(sparsity: initialSparsity)
        try MagnitudePruning.validate(sparsity: finalSparsity)
        guard start >= 0 else { throw CompressionError("gradual pruning: start must be ≥ 0, got \(start)") }
        guard events >= 1 else { throw CompressionError("gradual pruning: steps (pruning events) must be ≥ 1, got \(events)") }
        guard interval >= 1 else { throw CompressionError("gradual pruning: every (Δt) must be ≥ 1, got \(interval)") }
    }

    /// The target sparsity at step `t`.
    public func sparsity(at t: Int) -> Double {
        Self.sparsity(step: t, initial: initialSparsity, final: finalSparsity, start: start, steps: events, every: interval)
    }

    /// Whether masks are recomputed at step `t`: t = t0 + k·Δt for k = 0…n.
    public func isPruningStep(_ t: Int) -> Bool {
        t >= start && (t - start) % max(interval, 1) == 0 && (t - start) / max(interval, 1) <= events
    }

    /// s_f + (s_i − s_f)·(1 − (t' − t0)/(n·Δt))³, where t' is the last pruning event at or before
    /// t (t' = t0 + ⌊(t − t0)/Δt⌋·Δt), so the value is constant between events; s_i before t0 and
    /// s_f from t0 + n·Δt on. `steps` (n) and `every` (Δt) below 1 are treated as 1.
    public static func sparsity(step t: Int, initial s_i: Double, final s_f: Double, start t0: Int,
                                steps n: Int, every Δt: Int) -> Double {
        let n = max(n, 1), Δt = max(Δt, 1)
        guard t >= t0 + Δt else { return s_i }             // before and at the first event
        let event = (t - t0) / Δt
        guard event < n else { return s_f }               // exact ends (no rounding drift)
        let progress = Double(event * Δt) / Double(n * Δt)
        let remaining = 1 - progress
        return s_f + (s_i - s_f) * remaining * remaining * remaining
    }
}
