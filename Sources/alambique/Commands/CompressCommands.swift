import ArgumentParser
import Compress
import Distill
import Foundation
import Lab
import Models
import Store


struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Quantize a checkpoint's attention and MLP matrices (int8 or ggml blocks); embeddings, norms and biases stay float32.",
        discussion: """
        Schemes: int8-sym (scale only) and int8-asym (scale + zero point), per output channel (default) or \
        per tensor; q8_0, q4_0, q4_1 — ggml's blocks of 32 weights along the input dimension, byte for byte \
        (DESIGN.md §6). Quantized matrices are stored transposed to [out, in]; evaluation and generation \
        run on them directly, never expanded back to float32 (generation quantizes the activations to \
        int8 blocks and uses integer dot products, as llama.cpp does; batched evaluation keeps them float32).

        Prints a per-tensor error report (max and mean absolute error, SNR in dB, scale range) and writes \
        it as quantization-report.csv in the output checkpoint.

        Example: alambique quantize checkpoints/shakespeare-distilled-0.42M-ctx128-char-F32-… --scheme q8_0
        """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Checkpoint directory (dense float32).") var checkpoint: String
    @Option(help: "The storage scheme.") var scheme: QuantizationScheme
    @Option(help: "int8 schemes: per output channel (default) or per tensor.") var granularity: QuantizationGranularity?
    @Option(help: "Keep these tensors in float32: comma-separated parts of names (e.g. c_attn,h.0.).") var keep = ""
    @Option(help: "Output checkpoint directory (default: checkpoints/<name with the format>).") var out: String?

    func run() throws {
        try global.apply()
        let directory = URL(fileURLWithPath: checkpoint)
        let (output, info, reports) = try CheckpointCompression.quantize(
            directory, scheme: scheme, granularity: granularity, keep: keep.split(separator: ",").map(String.init),
            output: out.map { URL(fileURLWithPath: $0) })
        print("| tensor | shape | scheme | max abs error | mean abs error | SNR dB | scale range |")
        print("|---|---|---|---:|---:|---:|---|")
        for r in reports {
            print("| \(r.name) | \(r.shape) | \(r.scheme.rawValue)/\(r.granularity.rawValue) | \(String(format: "%.2e", r.maxAbsError)) | \(String(format: "%.2e", r.meanAbsError)) | \(r.snrDB.map { String(format: "%.1f", $0) } ?? "∞") | \(String(format: "%.2e…%.2e", r.scaleMin, r.scaleMax)) |")
        }
        let before = (try? FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent("model.safetensors").path)[.size] as? Int) ?? 0
        let after = (try? FileManager.default.attributesOfItem(atPath: output.appendingPathComponent("model.safetensors").path)[.size] as? Int) ?? 0
        print(String(format: "%@ → %@: model.safetensors %.2f MB → %.2f MB (%.0f%%)", info.name, output.path,
                     Double(before) / 1e6, Double(after) / 1e6, 100 * Double(after) / Double(max(before, 1))))
    }
}

struct Prune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prune a checkpoint by magnitude: unstructured, N:M, or whole heads and neurons; one shot or gradually with distillation.",
        discussion: """
        --method unstructured (default): the smallest |w| of the attention and MLP matrices, per tensor \
        (--scope layer) or under one global threshold (--scope global). --method nm: in every group of M \
        consecutive weights along the input dimension keep the N largest (2:4 by default). --method \
        structured: whole attention heads and MLP neurons ranked by L2 norm (--keep-heads, --keep-neurons \
        are the fractions kept per layer, the same neuron count in every layer) are removed: the output is a \
        smaller dense model whose config.json says n_inner (the MLP width) and pruned_heads (per layer, the \
        removed heads), Hugging Face's keys, so every command and transformers' GPT2LMHeadModel load it.

        --schedule gradual fine-tunes the model from a teacher's logit file while sparsity rises from --from \
        to --to along Zhu & Gupta's cubic schedule, with a pruning event every --every steps over --steps \
        events (then the rest of --finetune-steps at the final sparsity). Masks apply to weights and AdamW \
        moments after every step. The fine-tuning run is resumable (<out>-finetune).

        Unstructured and N:M outputs store pruned tensors as a bitmask + the kept values (DESIGN.md §6): the file shrinks with \
        sparsity. Loading packs layers of ≥ 85% sparsity as CSR for batch-1 inference (below that the dense kernel is faster).

        Examples:
          alambique prune checkpoints/<student> --sparsity 0.5
          alambique prune checkpoints/<student> --method nm --n 2 --m 4
          alambique prune checkpoints/<student> --method structured --keep-heads 0.5 --keep-neurons 0.5
          alambique prune checkpoints/<student> --schedule gradual --from 0 --to 0.9 --steps 10 --every 50 \\
              --finetune-steps 600 --logits logits/<teacher>-train-top32-f16.h5
        """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Checkpoint directory (dense float32).") var checkpoint: String
    @Option(help: "What is removed.") var method = PruningMethod.unstructured
    @Option(help: "Fraction of weights to remove, in [0, 1) (unstructured, one shot).") var sparsity: Double?
    @Option(help: "One threshold per tensor (layer) or over all of them (global).") var scope = PruningScope.layer
    @Option(help: "N of N:M.") var n = 2
    @Option(help: "M of N:M.") var m = 4
    @Option(help: "Structured: fraction of heads kept per layer.") var keepHeads: Double = 1
    @Option(help: "Structured: fraction of MLP neurons kept per layer.") var keepNeurons: Double = 1
    @Flag(help: "Also prune the embeddings (wte, wpe).") var includeEmbeddings = false
    @Option(help: "At once, or gradually while fine-tuning by distillation.") var schedule = PruningSchedule.oneshot
    @Option(help: "Gradual: initial sparsity.") var from: Double = 0
    @Option(help: "Gradual: final sparsity.") var to: Double = 0.9
    @Option(help: "Gradual: pruning events (n).") var steps = 10
    @Option(help: "Gradual: steps between events (Δt).") var every = 50
    @Option(help: "Gradual: the first pruning step (t0).") var start = 0
    @Option(help: "Gradual: fine-tuning steps in all (default: start + steps·every + 100).") var finetuneSteps: Int?
    @Option(help: "Gradual: the teacher's training logit file.") var logits: String?
    @Option(help: "Gradual: the validation logit file (default: -val- for -train-).") var valLogits: String?
    @Option(help: "Gradual: distillation temperature.") var temperature: Float = 2
    @Option(help: "Gradual: weight of the divergence.") var alpha: Float = 0.5
    @Option(help: "Gradual: peak learning rate of the fine-tuning.") var lr: Float = 3e-4
    @Option(help: "Gradual: seed.") var seed: UInt64 = 1
    @Flag(help: "Gradual: continue an interrupted fine-tuning.") var resume = false
    @Option(help: "Output checkpoint directory (default: checkpoints/<name>-s<percent>, -2of4, or for structured the new size and -heads<%>-mlp<%>).") var out: String?

    func validate() throws {
        if let sparsity, !(0 ..< 1).contains(sparsity) { throw ValidationError("--sparsity must be in [0, 1), got \(sparsity)") }
        if method == .unstructured, schedule == .oneshot, sparsity == nil {
            throw ValidationError("--sparsity is needed for one-shot unstructured pruning (e.g. --sparsity 0.5)")
        }
        if schedule == .gradual {
            guard (0 ..< 1).contains(to), (0 ... to).contains(from) else {
                throw ValidationError("--from and --to must satisfy 0 ≤ from ≤ to < 1, got \(from) and \(to)")
            }
            guard (1 ... 1_000_000).contains(steps), (1 ... 1_000_000).contains(every), (0 ... 1_000_000_000).contains(start) else {
                throw ValidationError("--steps and --every must be in 1…10⁶ and --start in 0…10⁹, got \(steps), \(every), \(start)")
            }
            if let finetuneSteps, finetuneSteps < 1 { throw ValidationError("--finetune-steps must be ≥ 1, got \(finetuneSteps)") }
            guard temperature > 0, temperature.isFinite, (0 ... 1).contains(alpha), lr > 0, lr.isFinite else {
                throw ValidationError("--temperature and --lr must be finite and > 0, --alpha in [0, 1]; got \(temperature), \(lr), \(alpha)")
            }
            guard method == .unstructured else { throw ValidationError("--schedule gradual prunes unstructured (by magnitude)") }
            guard logits != nil else { throw ValidationError("--schedule gradual fine-tunes by distillation: give --logits <teacher>-train-….h5") }
        }
    }

    func run() throws {
        try global.apply()
        let directory = URL(fileURLWithPath: checkpoint)
        let options = PrunableTensorOptions(includeEmbeddings: includeEmbeddings)
        if schedule == .gradual { return try runGradual(directory, options: options) }
        let method: CheckpointCompression.PruningMethod
        switch self.method {
        case .structured: return try runStructured(directory)
        case .nm: method = .nOfM(n: n, m: m)
        case .unstructured: method = .unstructured(sparsity: sparsity ?? 0, scope: scope)
        }
        let (output, _, masks) = try CheckpointCompression.prune(directory, method: method, options: options,
                                                                 output: out.map { URL(fileURLWithPath: $0) })
        printSummary(masks, from: directory, to: output)
    }

    private func runStructured(_ directory: URL) throws {
        let result = try CheckpointCompression.pruneStructured(directory, keepHeads: keepHeads, keepNeurons: keepNeurons,
                                                               output: out.map { URL(fileURLWithPath: $0) })
        let config = result.config
        print("| layer | heads kept | removed (original indices) | MLP neurons kept |")
        print("|---:|---|---|---:|")
        for layer in 0..<config.layers {
            print("| \(layer) | \(config.headCount(inLayer: layer)) of \(config.heads) | \(config.prunedHeads[layer] ?? []) | \(config.mlpWidth) of \(result.plan.neurons) |")
        }
        let before = fileSize(directory.appendingPathComponent("model.safetensors"))
        let after = fileSize(result.output.appendingPathComponent("model.safetensors"))
        print(String(format: "parameters %d → %d (%.0f%%); model.safetensors %.2f MB → %.2f MB (%.0f%%) → %@",
                     result.parametersBefore, result.parametersAfter, 100 * Double(result.parametersAfter) / Double(max(result.parametersBefore, 1)),
                     Double(before) / 1e6, Double(after) / 1e6, 100 * Double(after) / Double(max(before, 1)), result.output.path))
    }

    private func fileSize(_ url: URL) -> Int { (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0 }

    private func runGradual(_ directory: URL, options: PrunableTensorOptions) throws {
        let dense = try CompressedCheckpoint.load(from: directory, packSparse: false)
        let logitsURL = URL(fileURLWithPath: logits!)
        guard let validation = valLogits.map({ URL(fileURLWithPath: $0) }) ?? DistillationJob.companionValidationFile(for: logitsURL) else {
            throw ValidationError("give --val-logits (no -train- in \(logitsURL.lastPathComponent) to derive it from)")
        }
        let plan = GradualPruningSchedule(initialSparsity: from, finalSparsity: to, start: start, events: steps, interval: every)
        let recipe = CheckpointCompression.fineTuningRecipe(steps: finetuneSteps ?? (start + steps * every + 100),
                                                            learningRate: lr, seed: seed)
        var settings = DistillationSettings()
        settings.temperature = temperature
        settings.alpha = alpha
        let name = CompressedCheckpoint.renamed(dense.info.name, from: dense.info.format, to: "F32-s\(Int((to * 100).rounded()))")
        let output = URL(fileURLWithPath: out ?? "checkpoints/\(name)")
        var fineTuning = DistillationJob(logits: logitsURL, validationLogits: validation, student: dense.config, recipe: recipe,
                                         settings: settings, directory: URL(fileURLWithPath: output.path + "-finetune"))
        fineTuning.initialCheckpoint = directory
        let job = GradualPruningJob(fineTuning: fineTuning, schedule: plan, scope: scope, options: options)
        let result = try job.run(output: output, resume: resume, overwrite: !resume) { printError($0) }
        print(String(format: "pruned to %.1f%% over %d fine-tuning steps (validation loss %.4f): %@ (fine-tuning run in %@)",
                     100 * result.sparsity, result.summary.steps, result.summary.finalValidationLoss ?? .nan, output.path,
                     result.summary.directory.path))
    }

    private func printSummary(_ masks: MaskSet, from input: URL, to output: URL) {
        print("| tensor | shape | sparsity |")
        print("|---|---|---:|")
        for mask in masks.masks { print("| \(mask.name) | \(mask.shape) | \(String(format: "%.1f%%", 100 * mask.sparsity)) |") }
        let before = (try? FileManager.default.attributesOfItem(atPath: input.appendingPathComponent("model.safetensors").path)[.size] as? Int) ?? 0
        let after = (try? FileManager.default.attributesOfItem(atPath: output.appendingPathComponent("model.safetensors").path)[.size] as? Int) ?? 0
        print(String(format: "sparsity of the pruned tensors %.1f%%; model.safetensors %.2f MB → %.2f MB (%.0f%%) → %@",
                     100 * masks.sparsity, Double(before) / 1e6, Double(after) / 1e6, 100 * Double(after) / Double(max(before, 1)), output.path))
    }
}
