import ArgumentParser
import Distill
import Foundation
import Models
import Store
import Tokenizers

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a GPT-2 model (a teacher, or a student from scratch) on the Shakespeare corpus.",
        discussion: """
        The recipe of DESIGN.md §5 by default: batch 16 × context 128, AdamW β = (0.9, 0.99), weight decay 0.1 \
        on matrices, LR 1e-3 with 100 warmup steps and cosine decay to 1e-4, gradient clipping at 1.0. \
        Evaluates on 800 fixed validation windows every --eval-every steps, saves a resumable checkpoint every \
        --checkpoint-every steps (atomically), and appends the curve to <out>/metrics.jsonl.

        Example: alambique train --preset teacher-small --tokenizer char --steps 1500 --eval-every 250 --seed 1
        """)

    @OptionGroup var global: GlobalOptions
    @Option(help: "Model size: \(GPTConfig.presetNames.joined(separator: ", ")).") var preset = "teacher-small"
    @Option(help: "char, byte, bpe-N (trained on the training split and cached) or a tokenizer.json path.") var tokenizer = "char"
    @Option(help: "Role in the model name (default: from the preset: teacher or student).") var role: String?
    @Option(help: "Output checkpoint directory (default: checkpoints/<model name>).") var out: String?
    @Option(help: "Data directory (the corpus is fetched there when missing).") var data = "data"
    @Flag(help: "Continue the run saved in --out from its last checkpoint (same settings).") var resume = false
    @Flag(help: "Start over even if --out already holds a checkpoint.") var force = false

    @Option(help: "Optimizer steps.") var steps = 1500
    @Option(help: "Evaluate every N steps.") var evalEvery = 250
    @Option(help: "Save a resumable checkpoint every N steps (0: only at the end).") var checkpointEvery = 250
    @Option(help: "Windows per batch.") var batchSize = 16
    @Option(help: "Peak learning rate.") var lr: Float = 1e-3
    @Option(help: "Final learning rate of the cosine decay.") var minLr: Float = 1e-4
    @Option(help: "Linear warmup steps.") var warmup = 100
    @Option(help: "AdamW weight decay on matrices.") var weightDecay: Float = 0.1
    @Option(help: "Clip gradients to this global norm.") var gradClip: Float = 1.0
    @Option(help: "Dropout probability (0: none).") var dropout: Float = 0
    @Option(help: "Seed for initialisation, data order and dropout.") var seed: UInt64 = 1

    func validate() throws {
        guard GPTConfig.presetNames.contains(preset) else {
            throw ValidationError("--preset must be one of \(GPTConfig.presetNames.joined(separator: ", ")), got \(preset)")
        }
        guard !(resume && force) else { throw ValidationError("--resume and --force contradict each other") }
        try recipe.validate()
    }

    var recipe: TrainingRecipe {
        var r = TrainingRecipe()
        r.steps = steps; r.evalEvery = evalEvery; r.checkpointEvery = checkpointEvery; r.batchSize = batchSize
        r.learningRate = lr; r.minimumLearningRate = minLr; r.warmupSteps = warmup; r.weightDecay = weightDecay
        r.gradientClip = gradClip; r.seed = seed
        return r
    }

    func run() throws {
        try global.apply()
        let corpus = try CorpusTokenization.loadCorpus(data: data)
        let tokenizer = try CorpusTokenization.build(self.tokenizer, corpus: corpus, data: data) { printError($0) }
        printError("tokenizing the corpus (\(tokenizer.kind.rawValue), \(tokenizer.vocabularySize) tokens)…")
        let train = try tokenizer.encode(corpus.train), validation = try tokenizer.encode(corpus.validation)
        var config = try GPTConfig.preset(preset, vocabularySize: tokenizer.vocabularySize)
        config.dropout = dropout
        try config.validate()
        let role = self.role ?? (preset.hasPrefix("teacher") ? "teacher" : preset.hasPrefix("student") ? "student" : "model")
        let tokenizerLabel = self.tokenizer.hasSuffix(".json") ? tokenizer.kind.rawValue : self.tokenizer
        let name = CheckpointInfo.modelName(corpus: "shakespeare", role: role, parameters: config.parameterCount,
                                            context: config.contextLength, tokenizer: tokenizerLabel, format: "F32")
        let directory = URL(fileURLWithPath: out ?? "checkpoints/\(name)")
        print("\(name): \(config.parameterCount) parameters; \(train.count) training and \(validation.count) validation tokens → \(directory.path)")
        let run = TrainingRun(directory: directory, config: config, recipe: recipe, tokenizer: tokenizer,
                              info: CheckpointInfo(name: name, role: role, corpus: "shakespeare"))
        let summary = try run.run(train: train, validation: validation, resume: resume, overwrite: force) { printError($0) }
        print(String(format: "done: %d steps, validation loss %.4f, %@ in all; checkpoint %@",
                     summary.steps, summary.finalValidationLoss ?? .nan, formatDuration(summary.elapsedSeconds),
                     summary.directory.path))
    }
}
