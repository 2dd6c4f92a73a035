// The masks of a pruned model kept beside its tensors, for fine-tuning with fixed or growing
// sparsity: recompute from the current weights, zero the weights, keep AdamW from bringing
// pruned weights back.
//
// Why moments too: AdamW's update is m̂/(√v̂ + ε) plus decay. Zeroing a weight after the step
// leaves its moments, and the next step moves it again from them. With `maskGradients()` before
// `step()` and `apply(to:)` after, a pruned weight has g = m = v = 0 and w = 0, so the update
// −lr·(λ·0 + 0/(0 + ε)) is exactly 0.

import Models

/// Prunable tensors with one mask each (1 = kept).
public struct MaskSet: @unchecked Sendable {
    /// The masked tensors with their names, in the module walk's order.
    public let tensors: [(name: String, tensor: Tensor)]
    /// One mask per tensor, same order.
    public private(set) var masks: [PruningMask]

    /// Masks that keep everything, over `tensors`.
    public init(tensors: [(name: String, tensor: Tensor)]) {
        self.tensors = tensors
        self.masks = tensors.map { PruningMask.keepingAll(name: $0.name, shape: $0.tensor.shape) }
    }

    /// Given masks over `tensors`.
    /// - Throws: `CompressionError` when the counts, names or shapes disagree.
    public init(tensors: [(name: String, tensor: Tensor)], masks: [PruningMask]) throws {
        guard tensors.count == masks.count else {
            throw CompressionError("MaskSet: \(tensors.count) tensors but \(masks.count) masks")
        }
        for (t, m) in zip(tensors, masks) where t.name != m.name || t.tensor.shape != m.shape {
            throw CompressionError("MaskSet: mask \(m.name) \(m.shape) does not match tensor \(t.name) \(t.tensor.shape)")
        }
        self.tensors = tensors
        self.masks = masks
    }

    /// Masks that keep everything, over the prunable tensors of `model`.
    public init(model: Module, options: PrunableTensorOptions = .default) {
        self.init(tensors: PrunableTensors.select(in: model, options: options))
    }

    /// The mask of the tensor called `name`, if masked.
    public func mask(named name: String) -> PruningMask? { masks.first { $0.name == name } }

    /// Fraction pruned over all masked elements.
    public var sparsity: Double {
        let total = masks.reduce(0) { $0 + $1.count }
        return total == 0 ? 0 : Double(masks.reduce(0) { $0 + $1.prunedCount }) / Double(total)
    }

    /// Recomputes the masks by magnitude from the current weights (already pruned weights are
    /// zero, so they stay pruned as sparsity grows). Does not change the weights.
    /// - Throws: `CompressionError` for a sparsity outside [0, 1).
    public mutating func recompute(sparsity: Double, scope: PruningScope) throws {
        masks = try MagnitudePruning.masks(for: tensors, sparsity: sparsity, scope: scope)
    }

    /// Replaces the masks (e.g. N:M or structured ones computed elsewhere).
    /// - Throws: `CompressionError` when the names or shapes disagree with the tensors.
    public mutating func replace(with masks: [PruningMask]) throws {
        self = try MaskSet(tensors: tensors, masks: masks)
    }

    /// Zeroes the pruned weights.
    public func applyToWeights() {
        for (t, m) in zip(tensors, masks) { m.apply(to: t.tensor.data) }
    }

    /// Zeroes the gradients of pruned weights (call after `backward()`, before the optimizer step).
    public func maskGradients() {
        for (t, m) in zip(tensors, masks) {
            if let g = t.tensor.grad { m.apply(to: g.data) }
        }
    }

    /// Zeroes the pruned entries of the moment tensors that belong to masked parameters:
    /// `firstMoments[k]` and `secondMoments[k]` are those of `parameters[k]` (AdamW's order).
    /// Parameters are matched by identity; unmasked ones are left alone.
    /// - Throws: `CompressionError` when the lists differ in length or a moment's shape is not its parameter's.
    public func applyToMoments(parameters: [Tensor], firstMoments: [Tensor], secondMoments: [Tensor]) throws {
        guard parameters.count == firstMoments.count, parameters.count == secondMoments.count else {
            throw CompressionError("MaskSet: \(parameters.count) parameters but \(firstMoments.count) first and \(secondMoments.count) second moments")
        }
        var maskByTensor: [ObjectIdentifier: Int] = [:]
        for (k, t) in tensors.enumerated() { maskByTensor[ObjectIdentifier(t.tensor)] = k }
        for (k, p) in parameters.enumerated() {
            guard let index = maskByTensor[ObjectIdentifier(p)] else { continue }
            for moment in [firstMoments[k], secondMoments[k]] {
                guard moment.shape == p.shape else {
                    throw CompressionError("MaskSet: moment of \(tensors[index].name) has shape \(moment.shape), the parameter \(p.shape)")
                }
                masks[index].apply(to: moment.data)
            }
        }
    }

    /// Zeroes the pruned weights and their AdamW moments (call after `optimizer.step()`).
    /// - Throws: `CompressionError` when the optimizer's moments do not match its parameters.
    public func apply(to optimizer: AdamW) throws {
        applyToWeights()
        try applyToMoments(parameters: optimizer.groups.flatMap(\.parameters),
                           firstMoments: optimizer.firstMoments, secondMoments: optimizer.secondMoments)
    }
}
