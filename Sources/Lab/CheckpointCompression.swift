// Compressing a checkpoint into a new one: the steps `alambique quantize`, `alambique prune` and the
// experiment runner share (load without packing, compress, rename by the format, save).

import Compress
import Distill
import Foundation
import Models
import Store

public enum CheckpointCompression {
    /// How a one-shot pruning chooses what to remove.
    public enum PruningMethod: Sendable {
        case unstructured(sparsity: Double, scope: PruningScope)
        case nOfM(n: Int, m: Int)
        case structured(keepHeads: Double, keepNeurons: Double)
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
        case .structured(let keepHeads, let keepNeurons):
            masks = try StructuredPruning.prune(loaded.model, keepHeads: keepHeads, keepNeurons: keepNeurons).masks
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
