// N:M semi-structured sparsity (2:4 by default, as sparse tensor cores use it): in every group of
// M consecutive weights along the INPUT (reduction) dimension, keep the N of largest |w|.
//
// A Linear's weight is (in, out), so the input dimension is the first axis: a group is M
// consecutive rows i0 ..< i0 + M of one column j, elements (i0 + r)·out + j. Ties keep the lower
// row. The input size must be a multiple of M.

import Models

/// N:M magnitude pruning along the input dimension.
public enum SemiStructuredPruning {
    /// Checks 1 ≤ n < m.
    /// - Throws: `CompressionError` naming both values.
    public static func validate(n: Int, m: Int) throws {
        guard n >= 1, m > n else { throw CompressionError("N:M pruning needs 1 ≤ N < M, got \(n):\(m)") }
    }

    /// The N:M mask of a 2-D weight `tensor` stored (in, out).
    /// - Throws: `CompressionError` naming the tensor and its shape when it is not 2-D or its
    ///   input dimension (first axis) is not a multiple of `m`.
    public static func mask(name: String, tensor: Tensor, n: Int = 2, m: Int = 4) throws -> PruningMask {
        try validate(n: n, m: m)
        guard tensor.rank == 2 else {
            throw CompressionError("\(name): N:M pruning needs a 2-D (in, out) weight, got shape \(tensor.shape)")
        }
        let (rows, columns) = (tensor.shape[0], tensor.shape[1])
        guard rows % m == 0 else {
            throw CompressionError("\(name): shape \(tensor.shape): the input dimension \(rows) is not a multiple of M = \(m) for \(n):\(m) pruning")
        }
        var mask = PruningMask.keepingAll(name: name, shape: tensor.shape)
        let w = tensor.data
        for i0 in stride(from: 0, to: rows, by: m) {
            for j in 0..<columns {
                // Rank each element in its group: how many beat it (larger |w|, or equal and above it).
                for r in 0..<m {
                    let a = abs(w[(i0 + r) * columns + j])
                    var beaten = 0
                    for s in 0..<m where s != r {
                        let b = abs(w[(i0 + s) * columns + j])
                        if b > a || (b == a && s < r) { beaten += 1 }
                    }
                    if beaten >= n { mask.prune((i0 + r) * columns + j) }
                }
            }
        }
        return mask
    }

    /// Prunes every prunable tensor of `model` to N:M and returns the masks with their tensors.
    /// - Throws: `CompressionError` for the first tensor whose shape does not allow it (nothing is
    ///   changed then: every mask is computed before any weight is zeroed).
    @discardableResult
    public static func prune(_ model: Module, n: Int = 2, m: Int = 4,
                             options: PrunableTensorOptions = .default) throws -> MaskSet {
        let tensors = PrunableTensors.select(in: model, options: options)
        let masks = try tensors.map { try mask(name: $0.name, tensor: $0.tensor, n: n, m: m) }
        let set = try MaskSet(tensors: tensors, masks: masks)
        set.applyToWeights()
        return set
    }

    /// Whether `mask` (of an (in, out) weight) keeps exactly `n` of every `m` consecutive inputs in each column.
    public static func follows(_ mask: PruningMask, n: Int, m: Int) -> Bool {
        guard mask.shape.count == 2, m >= 1, mask.shape[0] % m == 0 else { return false }
        let (rows, columns) = (mask.shape[0], mask.shape[1])
        for i0 in stride(from: 0, to: rows, by: m) {
            for j in 0..<columns {
                var kept = 0
                for r in 0..<m where mask[(i0 + r) * columns + j] { kept += 1 }
                if kept != n { return false }
            }
        }
        return true
    }
}
