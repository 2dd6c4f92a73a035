import ArgumentParser
import Distill
import Foundation
import Lab
import Models
import Store
import Tokenizers

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a GPT-2 model (a teacher, or a student from scratch) on a corpus (Shakespeare by default).",
        discussion: """
        The recipe of DESIGN.md §5 by default: batch 16 × context 128, AdamW β = (0.9, 0.99), weight decay 0.1 \
        on matrices, LR 1e-3 with 100 warmup steps and cosine decay to 1e-4, gradient clipping at 1.0. \
        Evaluates on 800 fixed validation windows every --eval-every steps, saves a resumable checkpoint every \
        --checkpoint-every steps (atomically), and appends the curve to <out>/metrics.jsonl.

        The corpus (--data) is tokenized once and cached under <data-dir>/cache/; training reads the cached ids \
        memory-mapped, so a corpus larger than memory works.

        A YAML file (--config) can set the model, the tokenizer and any recipe field (snake_case, e.g. \
        learning_rate); flags given on the command line override it.

        Fine-tuning (--init-from <checkpoint>): the model's shape, weights and tokenizer come from the \
        checkpoint — ours, or a GPT-2 folder saved by Hugging Face transformers (config.json, \
        model.safetensors or shards, tokenizer.json) — and the learning rate defaults to \
        \(Train.fineTuningLearningRate) peak, \(Train.fineTuningMinimumLearningRate) final (a tenth of training \
        from scratch, so the pretrained weights are adjusted rather than overwritten). --resume continues a \
        fine-tuning run like any other.

        Examples:
          alambique train --preset teacher-small --tokenizer char --steps 1500 --eval-every 250 --seed 1
          alambique train --init-from checkpoints/my-gpt2 --steps 300 --out checkpoints/my-gpt2-shakespeare
        """)

    /// Fine-tuning's default peak and final learning rates (from scratch: 1e-3 and 1e-4).
    static let fineTuningLearningRate: Float = 1e-4
    static let fineTuningMinimumLearningRate: Float = 1e-5

    @OptionGroup var global: GlobalOptions
    @Option(help: "A YAML training config (model, tokenizer, training: recipe fields); flags override it.") var config: String?
    @Option(help: "Model size: \(GPTConfig.presetNames.joined(separator: ", ")) (default teacher-small).") var preset: String?
    @Option(help: "char, byte, bpe-N (trained on the training split and cached) or a tokenizer.json path (default char).") var tokenizer: String?
    @Option(help: ArgumentHelp("Fine-tune this checkpoint (ours or a transformers GPT-2 folder): its shape, weights "
                               + "and tokenizer; learning rate default \(fineTuningLearningRate) → \(fineTuningMinimumLearningRate).",
                               valueName: "checkpoint"))
    var initFrom: String?
    @Option(help: "Role in the model name (default: from the preset: teacher or student).") var role: String?
    @Option(help: "Output checkpoint directory (default: checkpoints/<model name>).") var out: String?
    @OptionGroup var corpus: CorpusFlags
    @Flag(help: "Continue the run saved in --out from its last checkpoint (same settings).") var resume = false
    @Flag(help: "Start over even if --out already holds a checkpoint.") var force = false
    @Option(help: "End this session after step N with a checkpoint (continue later with --resume).") var stopAfter: Int?

    @OptionGroup var recipeFlags: RecipeFlags
    @Option(help: "Dropout probability (default 0).") var dropout: Float?

    func validate() throws {
        if let preset, !GPTConfig.presetNames.contains(preset) {
            throw ValidationError("--preset must be one of \(GPTConfig.presetNames.joined(separator: ", ")), got \(preset)")
        }
        guard !(resume && force) else { throw ValidationError("--resume and --force contradict each other") }
        if initFrom != nil, let clash = [("--preset", preset), ("--tokenizer", tokenizer), ("--config", config)]
            .first(where: { $0.1 != nil }) {
            throw ValidationError("--init-from takes the model and tokenizer from the checkpoint; drop \(clash.0)")
        }
    }


    func run() throws {
        try global.apply()
        let file = try config.map { try TrainingConfigFile(contentsOf: URL(fileURLWithPath: $0)) }
        var recipe = recipeFlags.recipe(from: file?.recipe)
        if initFrom != nil {
            if recipeFlags.lr == nil { recipe.learningRate = Train.fineTuningLearningRate }
            if recipeFlags.minLr == nil { recipe.minimumLearningRate = min(Train.fineTuningMinimumLearningRate, recipe.learningRate) }
        }
        try recipe.validate()
        if let initFrom { return try fineTune(from: URL(fileURLWithPath: initFrom), recipe: recipe) }
        let preset = self.preset ?? file?.preset ?? "teacher-small"
        let tokenizerSpec = self.tokenizer ?? file?.tokenizer ?? "char"
        let selection = corpus.selection
        let tokenizer = try CorpusTokenization.build(tokenizerSpec, selection: selection) { printError($0) }
        let tokens = try CorpusTokenization.tokenize(selection, tokenizer: tokenizer) { printError($0) }
        let (train, validation) = (tokens.train, tokens.validation)
        var config = try file?.modelConfig(preset: preset, vocabularySize: tokenizer.vocabularySize, source: self.config ?? "config")
            ?? GPTConfig.preset(preset, vocabularySize: tokenizer.vocabularySize)
        if let dropout { config.dropout = dropout }
        try config.validate()
        let role = self.role ?? file?.role ?? (preset.hasPrefix("teacher") ? "teacher" : preset.hasPrefix("student") ? "student" : "model")
        let tokenizerLabel = tokenizerSpec.hasSuffix(".json") ? tokenizer.kind.rawValue : tokenizerSpec
        let name = CheckpointInfo.modelName(corpus: selection.name, role: role, parameters: config.parameterCount,
                                            context: config.contextLength, tokenizer: tokenizerLabel, format: "F32")
        try PathComponent.validate(name, field: self.role != nil ? "--role" : "\(self.config ?? "config"): role")
        let directory = URL(fileURLWithPath: out ?? "checkpoints/\(name)")
        print("\(name): \(config.parameterCount) parameters; \(train.count) training and \(validation.count) validation tokens → \(directory.path)")
        let run = TrainingRun(directory: directory, config: config, recipe: recipe, tokenizer: tokenizer,
                              info: CheckpointInfo(name: name, role: role, corpus: selection.name))
        let summary = try run.run(train: train, validation: validation, resume: resume, overwrite: force, stopAfter: stopAfter) { printError($0) }
        print(String(format: "done: %d steps, validation loss %.4f, %@ in all; checkpoint %@",
                     summary.steps, summary.finalValidationLoss ?? .nan, formatDuration(summary.elapsedSeconds),
                     summary.directory.path))
    }
}

extension Train {
    /// `--init-from`: the checkpoint's config (with --dropout if given), weights and tokenizer, trained
    /// on the corpus with the recipe (whose learning rates default lower), resumable as any run.
    func fineTune(from source: URL, recipe: TrainingRecipe) throws {
        var config = try Checkpoint.readConfig(GPTConfig.self, from: source)
        if let dropout { config.dropout = dropout }
        try config.validate()
        let tokenizer = try Checkpoint.loadTokenizer(from: source)
        try Checkpoint.validateTokenizer(tokenizer, vocabularySize: config.vocabularySize, path: source.path)
        let sourceInfo = try Checkpoint.readInfo(from: source)
        try Checkpoint.validateTokenizerFingerprint(tokenizer, info: sourceInfo, directory: source)
        let selection = corpus.selection
        printError("tokenizing the corpus with \(source.lastPathComponent)'s tokenizer (\(tokenizer.vocabularySize) tokens)…")
        let tokens = try CorpusTokenization.tokenize(selection, tokenizer: tokenizer) { printError($0) }
        let (train, validation) = (tokens.train, tokens.validation)
        let role = self.role ?? "finetuned"
        let name = CheckpointInfo.modelName(corpus: selection.name, role: role, parameters: config.parameterCount,
                                            context: config.contextLength, tokenizer: tokenizer.kind.rawValue, format: "F32")
        try PathComponent.validate(name, field: "--role")
        let directory = URL(fileURLWithPath: out ?? "checkpoints/\(name)")
        let defaulted = recipeFlags.lr == nil ? " (the fine-tuning default)" : ""
        print("\(name): fine-tuning \(sourceInfo.name) (\(config.parameterCount) parameters) at learning rate "
              + "\(recipe.learningRate) → \(recipe.minimumLearningRate)\(defaulted); "
              + "\(train.count) training and \(validation.count) validation tokens → \(directory.path)")
        let info = CheckpointInfo(name: name, role: role, corpus: selection.name)
        let run = TrainingRun(directory: directory, config: config, recipe: recipe, tokenizer: tokenizer, info: info,
                              initialCheckpoint: source)
        let summary = try run.run(train: train, validation: validation, resume: resume, overwrite: force,
                                  stopAfter: stopAfter) { printError($0) }
        print(String(format: "done: %d steps, validation loss %.4f, %@ in all; checkpoint %@",
                     summary.steps, summary.finalValidationLoss ?? .nan, formatDuration(summary.elapsedSeconds),
                     summary.directory.path))
    }
}

/// The training recipe's flags, shared by `train` and `distill`; each overrides the config file.
struct RecipeFlags: ParsableArguments {
    @Option(help: "Optimizer steps (default 1500).") var steps: Int?
    @Option(help: "Evaluate every N steps (default 250).") var evalEvery: Int?
    @Option(help: "Save a resumable checkpoint every N steps; 0: only at the end (default 250).") var checkpointEvery: Int?
    @Option(help: "Windows per batch (default 16).") var batchSize: Int?
    @Option(help: "Peak learning rate (default 1e-3).") var lr: Float?
    @Option(help: "Final learning rate of the cosine decay (default 1e-4).") var minLr: Float?
    @Option(help: "Linear warmup steps (default 100).") var warmup: Int?
    @Option(help: "AdamW weight decay on matrices (default 0.1).") var weightDecay: Float?
    @Option(help: "Clip gradients to this global norm (default 1.0).") var gradClip: Float?
    @Option(help: "Seed for initialisation, data order and dropout (default 1).") var seed: UInt64?

    /// Defaults, then the config file's recipe, then the flags given.
    func recipe(from file: TrainingRecipe?) -> TrainingRecipe {
        var r = file ?? TrainingRecipe()
        if let steps { r.steps = steps }
        if let evalEvery { r.evalEvery = evalEvery }
        if let checkpointEvery { r.checkpointEvery = checkpointEvery }
        if let batchSize { r.batchSize = batchSize }
        if let lr { r.learningRate = lr }
        if let minLr { r.minimumLearningRate = minLr }
        if let warmup { r.warmupSteps = warmup }
        if let weightDecay { r.weightDecay = weightDecay }
        if let gradClip { r.gradientClip = gradClip }
        if let seed { r.seed = seed }
        return r
    }
}
