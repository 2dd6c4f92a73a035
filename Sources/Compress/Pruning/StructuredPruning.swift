// Structured pruning: whole attention heads and whole MLP neurons, ranked per layer by L2 norm.
//
// Design (GPT-2 constrains it). GPT-2 has one n_head for every layer and head size n_embd/n_head,
// and our GPTConfig (DESIGN §4) fixes the MLP width at 4·n_embd (it rejects any other n_inner).
// So no smaller config can describe a pruned model, and HF could not load per-layer widths anyway.
// Therefore:
//   • Heads are removed by a structured mask, in place: head h's q, k and v columns of c_attn
//     (weight and bias) and its rows of attn.c_proj are zeroed. With its c_proj rows zero the head
//     contributes exactly nothing (what it attends to no longer matters), so the model keeps its
//     HF-loadable shape and the logits are those of a model without the head.
//   • MLP neurons are removed by the same kind of mask (c_fc column and bias, mlp.c_proj row:
//     GELU(0) = 0, so the neuron is gone) — and, for inference, `compactedCopy(of:plan:)` builds
//     a NEW smaller dense GPT whose MLP Linears are physically narrower (kept neurons only): real
//     memory and speed savings, the same logits. That copy is for in-memory use (evaluation,
//     generation, benchmarks); it cannot be saved as a GPT-2 checkpoint (no n_inner).
//   Heads cannot be compacted the same way: attention derives the head size from n_embd/n_head.
//
// Scores: head h of a layer — ‖(q, k, v columns of c_attn.weight, rows of attn.c_proj.weight)‖₂;
// neuron j — ‖(column j of c_fc.weight, row j of mlp.c_proj.weight)‖₂ (biases are not scored).
// Each layer keeps max(1, round(fraction · count)) of the highest scores; ties keep the lower index.

import Models

/// Which heads and neurons each layer keeps.
public struct StructuredPruningPlan: Sendable, Equatable, Codable {
    /// Per layer, the kept head indices, ascending.
    public var keptHeads: [[Int]]
    /// Per layer, the kept MLP neuron indices (columns of c_fc), ascending.
    public var keptNeurons: [[Int]]
    /// Heads per layer before pruning.
    public var heads: Int
    /// MLP neurons per layer before pruning (4·C).
    public var neurons: Int

    /// Effective head count per layer.
    public var effectiveHeads: [Int] { keptHeads.map(\.count) }
    /// Effective MLP width per layer.
    public var effectiveNeurons: [Int] { keptNeurons.map(\.count) }
}

/// Head and neuron pruning of a GPT.
public enum StructuredPruning {
    /// Per layer, the L2 norm of each head's q/k/v columns in c_attn and its rows in attn.c_proj.
    /// - Throws: `CompressionError` when a layer's weights are packed.
    public static func headScores(_ model: GPT) throws -> [[Float]] {
        let (c, heads) = (model.config.embeddingSize, model.config.heads)
        let d = c / heads
        return try model.transformer.h.enumerated().map { layer, block in
            let qkv = try dense(block.attn.qkv, "transformer.h.\(layer).attn.c_attn"),
                proj = try dense(block.attn.projection, "transformer.h.\(layer).attn.c_proj")
            return (0..<heads).map { h in
                var s: Float = 0
                for i in 0..<c {
                    for part in 0..<3 {
                        for e in 0..<d { let w = qkv.data[i * 3 * c + part * c + h * d + e]; s += w * w }
                    }
                }
                for r in (h * d)..<((h + 1) * d) { for j in 0..<c { let w = proj.data[r * c + j]; s += w * w } }
                return s.squareRoot()
            }
        }
    }

    /// Per layer, the L2 norm of each neuron's c_fc column and mlp.c_proj row.
    /// - Throws: `CompressionError` when a layer's weights are packed.
    public static func neuronScores(_ model: GPT) throws -> [[Float]] {
        try model.transformer.h.enumerated().map { layer, block in
            let fc = try dense(block.mlp.expand, "transformer.h.\(layer).mlp.c_fc"),
                proj = try dense(block.mlp.projection, "transformer.h.\(layer).mlp.c_proj")
            let (c, n) = (fc.shape[0], fc.shape[1])
            var scores = [Float](repeating: 0, count: n)
            for i in 0..<c { for j in 0..<n { let w = fc.data[i * n + j]; scores[j] += w * w } }
            for j in 0..<n { for o in 0..<proj.shape[1] { let w = proj.data[j * proj.shape[1] + o]; scores[j] += w * w } }
            return scores.map { $0.squareRoot() }
        }
    }

    /// The plan keeping, in every layer, the `keepHeads` and `keepNeurons` fractions of highest score.
    /// - Throws: `CompressionError` for a fraction outside (0, 1], or packed weights.
    public static func plan(_ model: GPT, keepHeads: Double = 1, keepNeurons: Double = 1) throws -> StructuredPruningPlan {
        for (label, f) in [("keep-heads", keepHeads), ("keep-neurons", keepNeurons)] where !(f > 0 && f <= 1) {
            throw CompressionError("structured pruning: \(label) must be in (0, 1], got \(f)")
        }
        return StructuredPruningPlan(keptHeads: try headScores(model).map { top($0, fraction: keepHeads) },
                                     keptNeurons: try neuronScores(model).map { top($0, fraction: keepNeurons) },
                                     heads: model.config.heads, neurons: 4 * model.config.embeddingSize)
    }

    /// The structured masks of `plan` (c_attn weight and bias, attn.c_proj weight, c_fc weight and
    /// bias, mlp.c_proj weight of every layer) with their tensors. Nothing is changed.
    /// - Throws: `CompressionError` when the plan does not fit the model or weights are packed.
    public static func maskSet(_ model: GPT, plan: StructuredPruningPlan) throws -> MaskSet {
        let (c, heads) = (model.config.embeddingSize, model.config.heads)
        let d = c / heads, n = 4 * c
        guard plan.keptHeads.count == model.config.layers, plan.keptNeurons.count == model.config.layers,
              plan.heads == heads, plan.neurons == n,
              plan.keptHeads.allSatisfy({ $0.allSatisfy { (0..<heads).contains($0) } }),
              plan.keptNeurons.allSatisfy({ $0.allSatisfy { (0..<n).contains($0) } }) else {
            throw CompressionError("structured pruning: the plan (\(plan.keptHeads.count) layers, \(plan.heads) heads, \(plan.neurons) neurons) does not fit a model of \(model.config.layers) layers, \(heads) heads, \(n) neurons")
        }
        var tensors: [(name: String, tensor: Tensor)] = [], masks: [PruningMask] = []
        func add(_ name: String, _ t: Tensor, removed: (Int) -> Bool) {
            tensors.append((name, t))
            masks.append(PruningMask(unchecked: name, shape: t.shape, kept: (0..<t.count).map { removed($0) ? 0 : 1 }))
        }
        for (layer, block) in model.transformer.h.enumerated() {
            let prefix = "transformer.h.\(layer)"
            let headKept = Set(plan.keptHeads[layer]), neuronKept = Set(plan.keptNeurons[layer])
            let qkv = try dense(block.attn.qkv, prefix + ".attn.c_attn"), proj = try dense(block.attn.projection, prefix + ".attn.c_proj")
            let fc = try dense(block.mlp.expand, prefix + ".mlp.c_fc"), down = try dense(block.mlp.projection, prefix + ".mlp.c_proj")
            // c_attn column k belongs to head (k mod C)/D; attn.c_proj row r to head r/D.
            add(prefix + ".attn.c_attn.weight", qkv) { !headKept.contains(($0 % (3 * c)) % c / d) }
            if let b = block.attn.qkv.bias { add(prefix + ".attn.c_attn.bias", b) { !headKept.contains($0 % c / d) } }
            add(prefix + ".attn.c_proj.weight", proj) { !headKept.contains($0 / c / d) }
            add(prefix + ".mlp.c_fc.weight", fc) { !neuronKept.contains($0 % n) }
            if let b = block.mlp.expand.bias { add(prefix + ".mlp.c_fc.bias", b) { !neuronKept.contains($0) } }
            add(prefix + ".mlp.c_proj.weight", down) { !neuronKept.contains($0 / c) }
        }
        return try MaskSet(tensors: tensors, masks: masks)
    }

    /// Removes heads and neurons in place by zeroing them (see the file's note): plans by score,
    /// zeroes, and returns the plan and the masks (for fine-tuning with `MaskSet`).
    /// - Throws: `CompressionError` for fractions outside (0, 1] or packed weights.
    @discardableResult
    public static func prune(_ model: GPT, keepHeads: Double = 1, keepNeurons: Double = 1) throws -> (plan: StructuredPruningPlan, masks: MaskSet) {
        let plan = try plan(model, keepHeads: keepHeads, keepNeurons: keepNeurons)
        let set = try maskSet(model, plan: plan)
        set.applyToWeights()
        return (plan, set)
    }

    /// A new GPT with the parameters of `model` whose MLPs keep only `plan`'s neurons (c_fc
    /// (C, kept), mlp.c_proj (kept, C)): smaller and faster, the same logits as `model` pruned by
    /// `plan`. Heads stay as they are in `model` (zero them first with `prune` or `maskSet`).
    /// In-memory only: GPT-2's config has no MLP width, so it cannot be saved as a checkpoint.
    /// - Throws: `CompressionError` when the plan does not fit or weights are packed.
    public static func compactedCopy(of model: GPT, plan: StructuredPruningPlan) throws -> GPT {
        _ = try maskSet(model, plan: plan)  // validates the plan against the model
        let copy = try GPT(config: model.config, seed: 0)
        for ((name, source), (copyName, target)) in zip(model.namedParameters(), copy.namedParameters()) {
            guard name == copyName, source.shape == target.shape else {
                throw CompressionError("compactedCopy: \(name) \(source.shape) does not match \(copyName) \(target.shape)")
            }
            target.data.update(from: source.data, count: source.count)
        }
        let c = model.config.embeddingSize
        var rng = RNG(seed: 0)
        for (layer, (block, target)) in zip(model.transformer.h, copy.transformer.h).enumerated() {
            let kept = plan.keptNeurons[layer], k = kept.count, n = 4 * c
            let fc = try dense(block.mlp.expand, "transformer.h.\(layer).mlp.c_fc")
            let down = try dense(block.mlp.projection, "transformer.h.\(layer).mlp.c_proj")
            let expand = try Linear(inFeatures: c, outFeatures: k, std: 0, rng: &rng)
            let projection = try Linear(inFeatures: k, outFeatures: c, std: 0, rng: &rng)
            for i in 0..<c { for (jj, j) in kept.enumerated() { expand.weight.data[i * k + jj] = fc.data[i * n + j] } }
            if let b = block.mlp.expand.bias, let nb = expand.bias { for (jj, j) in kept.enumerated() { nb.data[jj] = b.data[j] } }
            for (jj, j) in kept.enumerated() { (projection.weight.data + jj * c).update(from: down.data + j * c, count: c) }
            if let b = block.mlp.projection.bias, let nb = projection.bias { nb.data.update(from: b.data, count: c) }
            target.mlp.expand = expand
            target.mlp.projection = projection
        }
        if !model.isTraining { copy.eval() }
        return copy
    }

    /// Indices of the max(1, round(fraction · n)) largest scores, ascending; ties keep the lower index.
    static func top(_ scores: [Float], fraction: Double) -> [Int] {
        let keep = max(1, min(scores.count, Int((fraction * Double(scores.count)).rounded())))
        let order = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        return Array(order.prefix(keep)).sorted()
    }

    private static func dense(_ linear: Linear, _ name: String) throws -> Tensor {
        guard linear.packed == nil else { throw CompressionError("\(name): weight is packed (\(linear.packed!.format)); structured pruning needs the dense weight") }
        return linear.weight
    }
}
