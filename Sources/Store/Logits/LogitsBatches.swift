// Shuffled training batches from a logit file without loading it whole. Each epoch permutes the
// file's blocks (one chunk of sequences each), groups consecutive blocks of that permutation into
// pools of a few hundred sequences, and shuffles the sequences inside each pool; batch s takes the
// next B sequences of that order. The order is a pure function of (seed, step), so a resumed run
// sees exactly the batches of an uninterrupted one with nothing else to save, and only the pools in
// use are in memory. Legend: B batch, T student context (≤ the file's), K top-k, V vocabulary.

import Foundation
import NN

/// One batch for distillation: inputs and next-token targets, and the teacher's rows (B·T of them).
public struct DistillationBatch {
    public let inputs: IndexTensor   // (B, T)
    public let targets: IndexTensor  // (B, T)
    /// nil when the sampler was made without the teacher (the hard-label baseline).
    public let teacher: DistillationTeacher?

    /// Windows `range` of the batch, with their teacher rows.
    public func rows(_ range: Range<Int>) throws -> DistillationBatch {
        let t = inputs.shape.count == 2 ? inputs.shape[1] : 1
        return DistillationBatch(inputs: try inputs.rows(range), targets: try targets.rows(range),
                                 teacher: try teacher?.rows((range.lowerBound * t) ..< (range.upperBound * t)))
    }
}

public final class LogitsBatchSampler {
    public let reader: LogitsReader
    public let batchSize: Int
    /// Positions per student window (the first `context` of each stored sequence).
    public let context: Int
    public let seed: UInt64
    public let includeTeacher: Bool
    /// Batches per pass over the file (the last partial batch of an epoch is skipped).
    public let batchesPerEpoch: Int

    private let blockSize: Int
    private let blockCount: Int
    private let blocksPerPool: Int
    private var plan: (epoch: Int, blocks: [Int], poolStarts: [Int])?
    private var pools: [Int: Pool] = [:]

    /// - Throws: `LogitsFileError` when the file holds fewer sequences than one batch or the context is too long.
    public init(reader: LogitsReader, batchSize: Int, context: Int, seed: UInt64, includeTeacher: Bool = true,
                poolSequences: Int = 256) throws {
        guard batchSize >= 1, reader.sequenceCount >= batchSize else {
            throw LogitsFileError(path: reader.urls[0].path, "holds \(reader.sequenceCount) sequences, fewer than one batch of \(batchSize)")
        }
        guard context >= 1, context <= reader.context else {
            throw LogitsFileError(path: reader.urls[0].path, "context \(context) must be in 1…\(reader.context) (the file's)")
        }
        self.reader = reader
        self.batchSize = batchSize
        self.context = context
        self.seed = seed
        self.includeTeacher = includeTeacher
        batchesPerEpoch = reader.sequenceCount / batchSize
        blockSize = max(1, reader.blockSequences)
        blockCount = (reader.sequenceCount + blockSize - 1) / blockSize
        blocksPerPool = max(1, min(blockCount, (max(poolSequences, batchSize) + blockSize - 1) / blockSize))
    }

    /// The training batch of optimizer step `step`.
    public func batch(step: Int) throws -> DistillationBatch {
        let epoch = step / batchesPerEpoch
        let first = (step % batchesPerEpoch) * batchSize
        let plan = epochPlan(epoch)
        var picks: [(pool: Pool, index: Int)] = []
        for position in first ..< first + batchSize {
            // The pool holding this position of the epoch's order.
            var low = 0, high = plan.poolStarts.count - 1
            while low < high {
                let middle = (low + high + 1) / 2
                if plan.poolStarts[middle] <= position { low = middle } else { high = middle - 1 }
            }
            let pool = try loadPool(low, plan: plan)
            picks.append((pool, pool.order[position - plan.poolStarts[low]]))
        }
        // Keep only the pools this batch used (a batch can straddle two).
        let used = Set(picks.map { ObjectIdentifier($0.pool) })
        pools = pools.filter { used.contains(ObjectIdentifier($0.value)) }
        return try assemble(picks.map { ($0.pool.data, $0.index) })
    }

    /// The first `maximumBatches` batches of sequences in file order (validation).
    public func sequentialBatches(maximumBatches: Int) throws -> [DistillationBatch] {
        let count = min(maximumBatches, reader.sequenceCount / batchSize)
        guard count >= 1 else {
            throw LogitsFileError(path: reader.urls[0].path, "holds \(reader.sequenceCount) sequences, fewer than one batch of \(batchSize)")
        }
        let data = try PoolData(reader: reader, ranges: [0 ..< count * batchSize], includeTeacher: includeTeacher)
        return try (0 ..< count).map { b in try assemble((b * batchSize ..< (b + 1) * batchSize).map { (data, $0) }) }
    }

    // MARK: - Epoch order

    private func epochPlan(_ epoch: Int) -> (epoch: Int, blocks: [Int], poolStarts: [Int]) {
        if let plan, plan.epoch == epoch { return plan }
        var rng = RNG(seed: seed &+ 0x51_7C_C1_B7_27_22_0A_95 &* UInt64(epoch + 1))
        var blocks = Array(0 ..< blockCount)
        for i in stride(from: blocks.count - 1, to: 0, by: -1) { blocks.swapAt(i, rng.nextInt(below: i + 1)) }
        var poolStarts: [Int] = []
        var start = 0
        for poolFirst in stride(from: 0, to: blockCount, by: blocksPerPool) {
            poolStarts.append(start)
            for block in blocks[poolFirst ..< min(blockCount, poolFirst + blocksPerPool)] { start += sequences(inBlock: block).count }
        }
        let made = (epoch, blocks, poolStarts)
        plan = made
        pools = [:]
        return made
    }

    private func sequences(inBlock block: Int) -> Range<Int> {
        block * blockSize ..< min(reader.sequenceCount, (block + 1) * blockSize)
    }

    private func loadPool(_ index: Int, plan: (epoch: Int, blocks: [Int], poolStarts: [Int])) throws -> Pool {
        if let pool = pools[index] { return pool }
        let blocks = plan.blocks[index * blocksPerPool ..< min(blockCount, (index + 1) * blocksPerPool)]
        let data = try PoolData(reader: reader, ranges: blocks.map { sequences(inBlock: $0) }, includeTeacher: includeTeacher)
        var order = Array(0 ..< data.count)
        var rng = RNG(seed: seed ^ (UInt64(plan.epoch) << 32) ^ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.nextInt(below: i + 1)) }
        let pool = Pool(data: data, order: order)
        pools[index] = pool
        return pool
    }

    // MARK: - Batches

    /// Stacks the chosen sequences' first T positions into a batch.
    private func assemble(_ picks: [(data: PoolData, index: Int)]) throws -> DistillationBatch {
        let t = context, stored = reader.context
        let perPosition = reader.attributes.mode.storedTopK == 0 ? reader.vocabularySize : reader.attributes.mode.storedTopK
        let b = picks.count
        var inputs = [Int32](repeating: 0, count: b * t), targets = [Int32](repeating: 0, count: b * t)
        for (row, pick) in picks.enumerated() {
            let tokens = pick.index * (stored + 1)
            for column in 0 ..< t {
                inputs[row * t + column] = pick.data.tokens[tokens + column]
                targets[row * t + column] = pick.data.tokens[tokens + column + 1]
            }
        }
        var teacher: DistillationTeacher?
        if includeTeacher {
            var logits = [Float](repeating: 0, count: b * t * perPosition)
            var indices = reader.attributes.mode.storedTopK > 0 ? [Int32](repeating: 0, count: b * t * perPosition) : []
            var lse = reader.attributes.mode.storedTopK > 0 ? [Float](repeating: 0, count: b * t) : []
            for (row, pick) in picks.enumerated() {
                let source = pick.index * stored * perPosition, target = row * t * perPosition
                for i in 0 ..< t * perPosition { logits[target + i] = pick.data.logits[source + i] }
                if !indices.isEmpty {
                    for i in 0 ..< t * perPosition { indices[target + i] = pick.data.indices[source + i] }
                    for i in 0 ..< t { lse[row * t + i] = pick.data.logSumExp[pick.index * stored + i] }
                }
            }
            if indices.isEmpty {
                teacher = .logits(try Tensor(shape: [b * t, perPosition], values: logits))
            } else {
                teacher = .topK(indices: try IndexTensor(shape: [b * t, perPosition], values: indices),
                                logits: try Tensor(shape: [b * t, perPosition], values: logits),
                                logSumExp: try Tensor(shape: [b * t], values: lse))
            }
        }
        return DistillationBatch(inputs: try IndexTensor(shape: [b, t], values: inputs),
                                 targets: try IndexTensor(shape: [b, t], values: targets), teacher: teacher)
    }
}

/// Sequences read from the file, in the order of the ranges given.
private final class PoolData {
    let tokens: [Int32]
    let logits: [Float]
    let indices: [Int32]
    let logSumExp: [Float]
    let count: Int

    init(reader: LogitsReader, ranges: [Range<Int>], includeTeacher: Bool) throws {
        var tokens: [Int32] = [], logits: [Float] = [], indices: [Int32] = [], logSumExp: [Float] = []
        for range in ranges {
            let raw = try reader.readRaw(range, includeTeacher: includeTeacher)
            tokens += raw.tokens
            logits += raw.logits
            indices += raw.indices
            logSumExp += raw.logSumExp
        }
        self.tokens = tokens
        self.logits = logits
        self.indices = indices
        self.logSumExp = logSumExp
        count = ranges.reduce(0) { $0 + $1.count }
    }
}

private final class Pool {
    let data: PoolData
    /// The shuffled order of the pool's sequences.
    let order: [Int]

    init(data: PoolData, order: [Int]) {
        self.data = data
        self.order = order
    }
}
