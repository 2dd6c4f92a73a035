// Data parallelism on one machine: a batch's rows are split into shards, one per thread, and each
// shard runs forward and backward through its own replica of the model. Replicas share the
// model's weights (the same memory) but collect their own gradients, which are then added up in
// a fixed order. Each shard runs its ops on one thread, so a step has one fork and one join
// instead of one per op, and no op waits for the other core: on 2 cores a student-tiny step ran
// 7–16% faster than with every op split in two, in alternating pairs (BENCHMARKS.md).
//
// The result depends on the shard count (sums are taken in another order), not on timing: the
// same batch, weights and shard count give the same gradient bits every time.

import Foundation

extension Module {
    /// Makes every parameter of this module a shared leaf of `source`'s parameter of the same
    /// name: the same weights, in the same memory, with a gradient of its own.
    /// - Throws: `TensorError` when the two modules differ in structure or a parameter was not
    ///   shared (a module type that holds tensors without overriding `shareOwnParameters`).
    public func shareParameters(of source: Module) throws {
        let mine = namedModules(), theirs = source.namedModules()
        guard mine.count == theirs.count else {
            throw TensorError("shareParameters: \(type(of: self)) has \(mine.count) modules, the source \(theirs.count)")
        }
        for (m, s) in zip(mine, theirs) {
            guard m.name == s.name, type(of: m.module) == type(of: s.module) else {
                throw TensorError("shareParameters: module \"\(m.name)\" (\(type(of: m.module))) does not match \"\(s.name)\" (\(type(of: s.module)))")
            }
            try m.module.shareOwnParameters(of: s.module)
        }
        let a = namedParameters(), b = source.namedParameters()
        guard a.count == b.count else {
            throw TensorError("shareParameters: \(a.count) parameters against the source's \(b.count)")
        }
        for (p, q) in zip(a, b) where p.name != q.name || !p.tensor.sharesStorage(with: q.tensor) {
            throw TensorError("shareParameters: parameter \"\(p.name)\" does not share the source's storage (\"\(q.name)\")")
        }
    }
}

/// Computes a batch's gradient with its rows split over `shards` replicas of `model`, one per
/// thread. After `gradients`, `model`'s parameters hold the gradient of the whole batch's loss
/// (as `loss.backward()` on the whole batch would leave it, up to the order of the sums), ready
/// for clipping and the optimizer step.
public final class DataParallel<Model: Module> {
    /// The model being trained; shard 0 runs on it directly.
    public let model: Model
    /// `model` first, then the replicas that share its weights.
    private let replicas: [Model]
    /// Each replica's parameters, in the order of `model.parameters()`.
    private let parameters: [[Tensor]]

    /// - Parameters:
    ///   - shards: at most this many shards per batch (default: one per thread). 1 runs the batch as one.
    ///   - makeReplica: a fresh module of `model`'s structure (its own values are discarded: its
    ///     parameters are then pointed at `model`'s).
    public init(model: Model, shards: Int = Threads.count, makeReplica: () throws -> Model) throws {
        guard shards >= 1 else { throw TensorError("DataParallel: need at least 1 shard, got \(shards)") }
        self.model = model
        var replicas = [model]
        for _ in 1 ..< shards {
            let replica = try makeReplica()
            try replica.shareParameters(of: model)
            replicas.append(replica)
        }
        self.replicas = replicas
        parameters = replicas.map { $0.parameters() }
    }

    /// The most shards a batch is split into.
    public var shardCount: Int { replicas.count }

    /// The contiguous row ranges a batch of `rows` rows is split into (fewer shards than
    /// `shardCount` when there are fewer rows).
    public func shardRanges(rows: Int) -> [Range<Int>] {
        let shards = max(1, min(replicas.count, rows))
        return (0 ..< shards).map { (rows * $0 / shards) ..< (rows * ($0 + 1) / shards) }
    }

    /// Runs `loss` on every shard of a batch of `rows` rows and back-propagates it: afterwards
    /// `model`'s parameter gradients are those of the batch's loss, the row-weighted mean of the
    /// shards' losses (each shard's loss must be a mean over its rows, all rows counting alike).
    ///
    /// Shards run at once, one thread each; `loss` is called from several threads with
    /// different replicas and must only read shared data. When the batch is split, `prepare` runs
    /// first, on this thread, for each shard in order (per-shard state such as dropout streams).
    /// - Returns: the batch loss. When it is not finite the gradients are left as they are and
    ///   the caller should not step.
    public func gradients(rows: Int, prepare: ((_ replica: Model, _ shard: Int) -> Void)? = nil,
                          loss: (_ replica: Model, _ rows: Range<Int>) throws -> Tensor) throws -> Float {
        let ranges = shardRanges(rows: rows)
        for (shard, replica) in replicas.enumerated() {
            parameters[shard].forEach { $0.zeroGrad() }
            if shard > 0 && replica.isTraining != model.isTraining {
                if model.isTraining { replica.train() } else { replica.eval() }
            }
        }
        if ranges.count == 1 {  // one shard: the batch as it is, no weighting
            let value = try loss(model, 0 ..< rows)
            let item = try value.item()
            if item.isFinite { try value.backward() }
            return item
        }
        for shard in ranges.indices { prepare?(replicas[shard], shard) }
        let innerThreads = max(1, Threads.count / ranges.count)
        var values = [Float](repeating: 0, count: ranges.count)
        var failures = [(any Error)?](repeating: nil, count: ranges.count)
        try withoutActuallyEscaping(loss) { loss in
            let work = Unchecked(loss)
            values.withUnsafeMutableBufferPointer { valueBuffer in
                failures.withUnsafeMutableBufferPointer { failureBuffer in
                    let (pv, pf) = (Unchecked(valueBuffer), Unchecked(failureBuffer))
                    let replicas = Unchecked(self.replicas)
                    parallelForRanges(ranges.count, minimumPerThread: 1) { _, shards in
                        for shard in shards {
                            do {
                                try Threads.limited(to: innerThreads) {
                                    let range = ranges[shard]
                                    let value = try work.value(replicas.value[shard], range)
                                    let item = try value.item()
                                    pv.value[shard] = item
                                    guard item.isFinite else { return }
                                    // Mean over the batch = Σ (rows in shard / rows) · shard mean.
                                    try (value * (Float(range.count) / Float(rows))).backward()
                                }
                            } catch {
                                pf.value[shard] = error
                            }
                        }
                    }
                }
            }
            if let failure = failures.compactMap({ $0 }).first { throw failure }
        }
        var total: Float = 0
        for (shard, range) in ranges.enumerated() { total += values[shard] * (Float(range.count) / Float(rows)) }
        guard total.isFinite else { return total }
        addShardGradients(shards: ranges.count)
        return total
    }

    /// model.grad += Σ replica.grad (shards 1, 2, … in order), split over the threads by elements.
    private func addShardGradients(shards: Int) {
        let master = parameters[0]
        for (index, p) in master.enumerated() where p.grad == nil {
            // Shard 0 did not reach it (a row range that never uses it); another shard may have.
            if (1 ..< shards).contains(where: { parameters[$0][index].grad != nil }) {
                p.grad = try? Tensor.zeros(p.shape)
            }
        }
        var starts: [Int] = [], total = 0
        for p in master { starts.append(total); total += p.count }
        let all = Unchecked(parameters)
        let offsets = Unchecked(starts)
        parallelForRanges(total, minimumPerThread: 1 << 15) { _, range in
            for (index, p) in all.value[0].enumerated() {
                let start = offsets.value[index]
                let lower = max(range.lowerBound, start), upper = min(range.upperBound, start + p.count)
                guard lower < upper, let g = p.grad else { continue }
                for shard in 1 ..< shards {
                    guard let other = all.value[shard][index].grad else { continue }
                    let (d, s) = (g.data, other.data)
                    for i in (lower - start) ..< (upper - start) { d[i] += s[i] }
                }
            }
        }
    }
}
