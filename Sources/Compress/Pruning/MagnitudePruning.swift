// Unstructured magnitude pruning: drop the weights of smallest |w|, either per tensor ("layer"
// scope: each tensor reaches the target) or with one threshold over all prunable tensors
// ("global" scope: the total reaches the target, tensors differ).
//
// The pruned count is round(sparsity · elements) (per tensor, or over all of them). Selection is
// exact and deterministic: a radix select over |w|'s bit pattern (non-negative floats order as
// their bits) finds the threshold τ in three passes, O(n), no sort; every |w| < τ is pruned,
// then ties at τ in order — tensor order (the module walk's), then row-major index — until the
// count is reached. NaN weights sort above +∞ and are kept.

import Models

/// Where a magnitude threshold applies.
public enum PruningScope: String, Sendable, CaseIterable, Codable {
    /// Each tensor to the target sparsity, with its own threshold.
    case layer
    /// One threshold over all prunable tensors together.
    case global
}

/// Magnitude pruning, unstructured.
public enum MagnitudePruning {
    /// Checks that `sparsity` is in [0, 1).
    /// - Throws: `CompressionError` naming the value.
    public static func validate(sparsity: Double) throws {
        guard sparsity >= 0, sparsity < 1 else {
            throw CompressionError("sparsity must be in [0, 1), got \(sparsity)")
        }
    }

    /// How many of `elements` weights a sparsity prunes: round(sparsity · elements), half away from zero.
    public static func prunedCount(elements: Int, sparsity: Double) -> Int {
        min(elements, Int((sparsity * Double(elements)).rounded()))
    }

    /// Masks (1 = kept) that prune the smallest-magnitude weights of `tensors` to `sparsity`.
    /// The tensors are not changed.
    /// - Throws: `CompressionError` for a sparsity outside [0, 1).
    public static func masks(for tensors: [(name: String, tensor: Tensor)], sparsity: Double,
                             scope: PruningScope) throws -> [PruningMask] {
        try validate(sparsity: sparsity)
        switch scope {
        case .layer:
            return tensors.map { selectSmallest([$0], prune: prunedCount(elements: $0.tensor.count, sparsity: sparsity))[0] }
        case .global:
            let total = tensors.reduce(0) { $0 + $1.tensor.count }
            return selectSmallest(tensors, prune: prunedCount(elements: total, sparsity: sparsity))
        }
    }

    /// Prunes the prunable tensors of `model` (see `PrunableTensors`) to `sparsity`: computes the
    /// masks, zeroes the pruned weights, and returns the masks with their tensors.
    /// - Throws: `CompressionError` for a sparsity outside [0, 1).
    @discardableResult
    public static func prune(_ model: Module, sparsity: Double, scope: PruningScope,
                             options: PrunableTensorOptions = .default) throws -> MaskSet {
        var set = MaskSet(tensors: PrunableTensors.select(in: model, options: options))
        try set.recompute(sparsity: sparsity, scope: scope)
        set.applyToWeights()
        return set
    }

    /// Masks pruning exactly `k` elements of smallest |w| over all `tensors` together.
    static func selectSmallest(_ tensors: [(name: String, tensor: Tensor)], prune k: Int) -> [PruningMask] {
        var masks = tensors.map { PruningMask.keepingAll(name: $0.name, shape: $0.tensor.shape) }
        guard k > 0 else { return masks }
        @inline(__always) func key(_ x: Float) -> UInt32 { abs(x).bitPattern }

        // Pass 1: histogram of the high 16 bits; find the bucket holding the k-th smallest key.
        var histogram = [Int](repeating: 0, count: 1 << 16)
        for (_, t) in tensors {
            for i in 0..<t.count { histogram[Int(key(t.data[i]) >> 16)] += 1 }
        }
        var below = 0, high = 0
        while below + histogram[high] < k { below += histogram[high]; high += 1 }

        // Pass 2: within that bucket, the low 16 bits.
        histogram = [Int](repeating: 0, count: 1 << 16)
        for (_, t) in tensors {
            for i in 0..<t.count {
                let kv = key(t.data[i])
                if Int(kv >> 16) == high { histogram[Int(kv & 0xFFFF)] += 1 }
            }
        }
        var low = 0
        while below + histogram[low] < k { below += histogram[low]; low += 1 }
        let threshold = UInt32(high) << 16 | UInt32(low)
        var ties = k - below  // elements equal to the threshold still to prune, in order

        // Pass 3: the masks.
        for (m, (_, t)) in tensors.enumerated() {
            for i in 0..<t.count {
                let kv = key(t.data[i])
                if kv < threshold {
                    masks[m].prune(i)
                } else if kv == threshold, ties > 0 {
                    masks[m].prune(i)
                    ties -= 1
                }
            }
        }
        return masks
    }
}
