// Structured pruning: whole attention heads and whole MLP neurons, ranked per layer by L2 norm,
// removed physically — the result is a smaller dense GPT with an updated config, saved and loaded
// like any other model (and by Hugging Face, through the same two config keys):
//   • MLP neurons: the config's `n_inner` (HF's MLP width) becomes the kept count. HF has one width
//     for all layers, so every layer keeps the same number of neurons (its own highest-scoring ones):
//     c_fc (C, M) keeps their columns and bias entries, mlp.c_proj (M, C) their rows.
//   • Heads: the config's `pruned_heads` (HF's: layer → removed original head indices) grows by the
//     removed heads; the head size D = n_embd / n_head stays. A layer keeping H' heads has c_attn
//     (C, 3·H'·D) — the kept heads' q columns, then their k columns, then their v columns, in original
//     order (as HF's prune_heads slices it) — and attn.c_proj (H'·D, C) with the kept heads' rows.
// The compact model computes exactly what the full-size model computes with the removed heads' and
// neurons' weights zeroed (a zero c_proj row silences a head whatever it attends to; GELU(0) = 0).
// Pruning an already pruned model works: scores and plans are over the heads a layer still has, and
// `compact` maps them back to original indices for `pruned_heads`.
//
// Scores: head h of a layer — ‖(q, k, v columns of c_attn.weight, rows of attn.c_proj.weight)‖₂;
// neuron j — ‖(column j of c_fc.weight, row j of mlp.c_proj.weight)‖₂ (biases are not scored).
// Each layer keeps max(1, round(fraction · count)) of the highest scores; ties keep the lower index.

import Models

/// Which heads and neurons each layer keeps.
public struct StructuredPruningPlan: Sendable, Equatable, Codable {
    /// Per layer, the kept heads as positions among the heads the layer has now, ascending.
    public var keptHeads: [[Int]]
    /// Per layer, the kept MLP neuron indices (columns of c_fc), ascending; as many in every layer.
    public var keptNeurons: [[Int]]
    /// Heads per layer before pruning.
    public var heads: [Int]
    /// MLP neurons per layer before pruning (n_inner, 4·C by default).
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
        let (c, d) = (model.config.embeddingSize, model.config.headSize)
        return try model.transformer.h.enumerated().map { layer, block in
            let qkv = try dense(block.attn.qkv, "transformer.h.\(layer).attn.c_attn"),
                proj = try dense(block.attn.projection, "transformer.h.\(layer).attn.c_proj")
            let heads = block.attn.heads, a = heads * d
            return (0..<heads).map { h in
                var s: Float = 0
                for i in 0..<c {
                    for part in 0..<3 {
                        for e in 0..<d { let w = qkv.data[i * 3 * a + part * a + h * d + e]; s += w * w }
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

    /// The plan keeping, in every layer, the `keepHeads` and `keepNeurons` fractions of highest score
    /// (the same neuron count in every layer, since all layers have the same MLP width).
    /// - Throws: `CompressionError` for a fraction outside (0, 1], or packed weights.
    public static func plan(_ model: GPT, keepHeads: Double = 1, keepNeurons: Double = 1) throws -> StructuredPruningPlan {
        for (label, f) in [("keep-heads", keepHeads), ("keep-neurons", keepNeurons)] where !(f > 0 && f <= 1) {
            throw CompressionError("structured pruning: \(label) must be in (0, 1], got \(f)")
        }
        return StructuredPruningPlan(keptHeads: try headScores(model).map { top($0, fraction: keepHeads) },
                                     keptNeurons: try neuronScores(model).map { top($0, fraction: keepNeurons) },
                                     heads: model.transformer.h.map(\.attn.heads), neurons: model.config.mlpWidth)
    }

    /// Throws unless `plan` fits `model`: one entry per layer, head and neuron indices in range,
    /// ascending without repeats, at least one of each kept, the same neuron count in every layer.
    public static func validate(_ plan: StructuredPruningPlan, for model: GPT) throws {
        let heads = model.transformer.h.map(\.attn.heads), n = model.config.mlpWidth
        guard plan.keptHeads.count == heads.count, plan.keptNeurons.count == heads.count, plan.heads == heads,
              plan.neurons == n else {
            throw CompressionError("structured pruning: the plan (\(plan.keptHeads.count) layers, heads \(plan.heads), \(plan.neurons) neurons) does not fit a model of \(heads.count) layers, heads \(heads), \(n) neurons")
        }
        func increasing(_ list: [Int], below limit: Int) -> Bool {
            !list.isEmpty && list.allSatisfy { (0..<limit).contains($0) } && zip(list, list.dropFirst()).allSatisfy { $0 < $1 }
        }
        for layer in 0..<heads.count {
            guard increasing(plan.keptHeads[layer], below: heads[layer]) else {
                throw CompressionError("structured pruning: layer \(layer) keeps heads \(plan.keptHeads[layer]); expected 1…\(heads[layer]) ascending indices below \(heads[layer])")
            }
            guard increasing(plan.keptNeurons[layer], below: n) else {
                throw CompressionError("structured pruning: layer \(layer) keeps \(plan.keptNeurons[layer].count) neurons; expected 1…\(n) ascending indices below \(n)")
            }
        }
        if let uneven = plan.keptNeurons.first(where: { $0.count != plan.keptNeurons[0].count }) {
            throw CompressionError("structured pruning: layers keep \(plan.keptNeurons[0].count) and \(uneven.count) neurons; n_inner is one width for all layers")
        }
    }

    /// The config of `model` compacted by `plan`: `n_inner` the kept neuron count, `pruned_heads`
    /// the heads pruned before plus those the plan removes (original indices).
    public static func compactConfig(_ model: GPT, plan: StructuredPruningPlan) throws -> GPTConfig {
        try validate(plan, for: model)
        var config = model.config
        let kept = plan.keptNeurons[0].count
        config.innerSize = config.innerSize == nil && kept == 4 * config.embeddingSize ? nil : kept
        var pruned: [Int: [Int]] = [:]
        for layer in 0..<config.layers {
            let original = config.keptHeads(inLayer: layer)  // position in the layer → original index
            let keep = Set(plan.keptHeads[layer].map { original[$0] })
            pruned[layer] = (0..<config.heads).filter { !keep.contains($0) }
        }
        config.prunedHeads = pruned.filter { !$0.value.isEmpty }
        try config.validate()
        return config
    }

    /// A new, smaller GPT holding `model`'s parameters without the heads and neurons `plan` removes
    /// (see the file's note): the logits of `model` with those weights zeroed. `model` is unchanged.
    /// - Throws: `CompressionError` when the plan does not fit or weights are packed.
    public static func compact(_ model: GPT, plan: StructuredPruningPlan) throws -> GPT {
        let config = try compactConfig(model, plan: plan)
        let small = try GPT(config: config, seed: 0)
        let (c, d, n) = (model.config.embeddingSize, model.config.headSize, model.config.mlpWidth)
        // Everything outside the four sliced matrices (and two sliced biases) is copied as is.
        var sliced = Set<String>()
        for (layer, (block, target)) in zip(model.transformer.h, small.transformer.h).enumerated() {
            let prefix = "transformer.h.\(layer)"
            let heads = plan.keptHeads[layer], neurons = plan.keptNeurons[layer]
            let a = block.attn.heads * d, a2 = heads.count * d, m = neurons.count
            let qkv = try dense(block.attn.qkv, prefix + ".attn.c_attn"), proj = try dense(block.attn.projection, prefix + ".attn.c_proj")
            let fc = try dense(block.mlp.expand, prefix + ".mlp.c_fc"), down = try dense(block.mlp.projection, prefix + ".mlp.c_proj")
            // c_attn (C, 3A) → (C, 3A'): column part·A + h·D + e → part·A' + k·D + e for the k-th kept head h.
            let columns = (0..<3).flatMap { part in heads.flatMap { h in (0..<d).map { part * a + h * d + $0 } } }
            let newQKV = target.attn.qkv.weight
            for i in 0..<c { for (k, column) in columns.enumerated() { newQKV.data[i * 3 * a2 + k] = qkv.data[i * 3 * a + column] } }
            if let b = block.attn.qkv.bias, let nb = target.attn.qkv.bias { for (k, column) in columns.enumerated() { nb.data[k] = b.data[column] } }
            // attn.c_proj (A, C) → (A', C): the kept heads' rows.
            for (k, h) in heads.enumerated() {
                (target.attn.projection.weight.data + k * d * c).update(from: proj.data + h * d * c, count: d * c)
            }
            // c_fc (C, M) → (C, M'), mlp.c_proj (M, C) → (M', C): the kept neurons' columns and rows.
            let newFC = target.mlp.expand.weight
            for i in 0..<c { for (k, j) in neurons.enumerated() { newFC.data[i * m + k] = fc.data[i * n + j] } }
            if let b = block.mlp.expand.bias, let nb = target.mlp.expand.bias { for (k, j) in neurons.enumerated() { nb.data[k] = b.data[j] } }
            for (k, j) in neurons.enumerated() {
                (target.mlp.projection.weight.data + k * c).update(from: down.data + j * c, count: c)
            }
            for name in ["attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight"] {
                sliced.insert(prefix + "." + name)
            }
        }
        let sources = Dictionary(model.namedParameters().map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        for (name, target) in small.namedParameters() where !sliced.contains(name) {
            guard let source = sources[name], source.shape == target.shape else {
                throw CompressionError("structured pruning: \(name) \(target.shape) has no counterpart of that shape in the model")
            }
            target.data.update(from: source.data, count: source.count)
        }
        if !model.isTraining { small.eval() }
        return small
    }

    /// Plans by score and compacts: the smaller model and the plan it came from. `model` is unchanged.
    /// - Throws: `CompressionError` for fractions outside (0, 1] or packed weights.
    public static func prune(_ model: GPT, keepHeads: Double = 1, keepNeurons: Double = 1) throws -> (plan: StructuredPruningPlan, model: GPT) {
        let plan = try plan(model, keepHeads: keepHeads, keepNeurons: keepNeurons)
        return (plan, try compact(model, plan: plan))
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
