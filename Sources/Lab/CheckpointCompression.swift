// Compressing a checkpoint into a new one: the steps `alambique quantize`, `alambique prune` and the
// experiment runner share (load without packing, compress, rename by the format, save).

import Compress
import Distill
import Foundation
import Models
import Store

public enum CheckpointCompression {
    /// How a one-shot pruning chooses which weights to zero (structured pruning, which removes whole
    /// heads and neurons, is `pruneStructured`).
    public enum PruningMethod: Sendable {
        case unstructured(sparsity: Double, scope: PruningScope)
        case nOfM(n: Int, m: Int)
    }

    /// Quantizes the checkpoint at `source` into `output` (default `checkpoints/<new name>`), with
    /// `quantization-report.csv` beside it.
    public static func quantize(_ source: URL, scheme: QuantizationScheme, granularity: QuantizationGranularity? = nil,
                                keep: [String] = [], output: URL? = nil) throws -> (output: URL, info: CheckpointInfo, reports: [QuantizationReport]) {
        let loaded = try CompressedCheckpoint.load(from: source, packSparse: false)
        let reports = try ModelQuantization.quantize(loaded.model, scheme: scheme, granularity: granularity, keep: keep)
        var info = loaded.info
        info.format = scheme.formatLabel + (loaded.info.format.hasPrefix("F32-") ? String(loaded.info.format.dropFirst(3)) : "")
        info.name = CompressedCheckpoint.renamed(loaded.info.name, from: loaded.info.format, to: info.format)
        let directory = output ?? URL(fileURLWithPath: "checkpoints/\(info.name)")
        try CompressedCheckpoint.save(model: loaded.model, tokenizer: loaded.tokenizer, info: info, to: directory)
        try AtomicFile.write(Data(QuantizationReport.csv(reports).utf8), to: directory.appendingPathComponent("quantization-report.csv"))
        return (directory, info, reports)
    }

    /// Prunes the checkpoint at `source` in one shot into a sparse checkpoint at `output`
    /// (default `checkpoints/<new name>`).
    public static func prune(_ source: URL, method: PruningMethod, options: PrunableTensorOptions = .default,
                             output: URL? = nil) throws -> (output: URL, info: CheckpointInfo, masks: MaskSet) {
        let loaded = try CompressedCheckpoint.load(from: source, packSparse: false)
        let masks: MaskSet
        var label: String?
        switch method {
        case .unstructured(let sparsity, let scope):
            masks = try MagnitudePruning.prune(loaded.model, sparsity: sparsity, scope: scope, options: options)
        case .nOfM(let n, let m):
            masks = try SemiStructuredPruning.prune(loaded.model, n: n, m: m, options: options)
            label = "F32-\(n)of\(m)"
        }
        let format = label ?? "F32-s\(Int((masks.sparsity * 100).rounded()))"
        var info = loaded.info
        info.format = format
        info.sparsity = masks.sparsity
        info.role = "pruned"
        info.name = CompressedCheckpoint.renamed(loaded.info.name, from: loaded.info.format, to: format)
        let directory = output ?? URL(fileURLWithPath: "checkpoints/\(info.name)")
        try CompressedCheckpoint.save(model: loaded.model, tokenizer: loaded.tokenizer, info: info,
                                      sparse: Set(masks.tensors.map(\.name)), to: directory)
        return (directory, info, masks)
    }

    /// What `pruneStructured` did.
    public struct StructuredResult {
        public let output: URL
        public let info: CheckpointInfo
        public let plan: StructuredPruningPlan
        /// The compact model's config (`n_inner`, `pruned_heads`).
        public let config: GPTConfig
        /// Parameters before and after (the head tied to wte counted once).
        public let parametersBefore: Int, parametersAfter: Int
    }

    /// Removes whole heads and MLP neurons (ranked by L2 norm, `keepHeads` and `keepNeurons` the
    /// fractions kept per layer) from the dense checkpoint at `source` and writes the smaller dense
    /// model — config with `n_inner` and `pruned_heads` — to `output` (default `checkpoints/<new name>`:
    /// the parameter count of the name updated, format `F32-heads<kept %>-mlp<kept %>`).
    public static func pruneStructured(_ source: URL, keepHeads: Double, keepNeurons: Double,
                                       output: URL? = nil) throws -> StructuredResult {
        let loaded = try CompressedCheckpoint.load(from: source, packSparse: false)
        if let packed = CompressedCheckpoint.linearLayers(of: loaded.model).first(where: { $0.linear.packed != nil }) {
            throw CompressionError("\(packed.weightName) is quantized; structured pruning needs a float32 checkpoint")
        }
        let before = loaded.model.parameterCount
        let (plan, small) = try StructuredPruning.prune(loaded.model, keepHeads: keepHeads, keepNeurons: keepNeurons)
        let after = small.parameterCount
        // Kept shares against the unpruned GPT-2 shape (n_head per layer, 4·n_embd neurons).
        let config = small.config
        let headShare = Double((0..<config.layers).reduce(0) { $0 + config.headCount(inLayer: $1) }) / Double(config.layers * config.heads)
        let mlpShare = Double(config.mlpWidth) / Double(4 * config.embeddingSize)
        let format = "F32-heads\(Int((headShare * 100).rounded()))-mlp\(Int((mlpShare * 100).rounded()))"
        var info = loaded.info
        info.format = format
        info.sparsity = nil
        info.role = "pruned"
        var name = loaded.info.name
        let (oldLabel, newLabel) = (CheckpointInfo.parameterCountLabel(before), CheckpointInfo.parameterCountLabel(after))
        if let range = name.range(of: "-\(oldLabel)-") { name.replaceSubrange(range, with: "-\(newLabel)-") }
        info.name = CompressedCheckpoint.renamed(name, from: loaded.info.format, to: format)
        let directory = output ?? URL(fileURLWithPath: "checkpoints/\(info.name)")
        let saved = try CompressedCheckpoint.save(model: small, tokenizer: loaded.tokenizer, info: info, to: directory)
        return StructuredResult(output: directory, info: saved, plan: plan, config: config,
                                parametersBefore: before, parametersAfter: after)
    }

    /// The fine-tuning recipe of gradual pruning: `steps` steps at a peak `learningRate` (no warmup,
    /// cosine to a tenth), evaluated and checkpointed four times.
    public static func fineTuningRecipe(steps: Int, learningRate: Float, seed: UInt64 = 1) -> TrainingRecipe {
        var recipe = TrainingRecipe()
        recipe.steps = steps
        recipe.learningRate = learningRate
        recipe.minimumLearningRate = learningRate / 10
        recipe.warmupSteps = 0
        recipe.evalEvery = max(1, steps / 4)
        recipe.checkpointEvery = recipe.evalEvery
        recipe.seed = seed
        return recipe
    }
}
