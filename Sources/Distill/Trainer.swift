// The training loop, flat (nanoGPT's train.py): evaluate, set the LR from a pure function,
// sample a batch, forward, backward, clip, step. Teacher training uses it as is; distillation
// swaps the loss (issue 5).

import Foundation
import Models
import Store

/// The recipe of DESIGN.md §5 as defaults; every field can be overridden (flags or YAML).
public struct TrainingRecipe: Codable, Equatable, Sendable {
    public var steps = 1500
    public var evalEvery = 250
    /// Save a resumable checkpoint every this many steps (and always at the end); 0 = only at the end.
    public var checkpointEvery = 250
    public var batchSize = 16
    public var learningRate: Float = 1e-3
    public var minimumLearningRate: Float = 1e-4
    public var warmupSteps = 100
    public var weightDecay: Float = 0.1
    public var beta1: Float = 0.9
    public var beta2: Float = 0.99
    public var epsilon: Float = 1e-8
    public var gradientClip: Float = 1.0
    public var seed: UInt64 = 1
    /// Validation batches of `batchSize` consecutive windows (50 × 16 × 128 = 102,400 tokens).
    public var validationBatches = 50

    public init() {}

    enum CodingKeys: String, CodingKey {
        case steps, evalEvery = "eval_every", checkpointEvery = "checkpoint_every", batchSize = "batch_size"
        case learningRate = "learning_rate", minimumLearningRate = "min_learning_rate", warmupSteps = "warmup_steps"
        case weightDecay = "weight_decay", beta1, beta2, epsilon, gradientClip = "grad_clip", seed
        case validationBatches = "validation_batches"
    }

    /// Checks every field, naming the one that is out of range.
    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws { if !ok { throw ModelError("recipe: \(message)") } }
        try check(steps >= 1, "steps must be at least 1, got \(steps)")
        try check(evalEvery >= 1, "eval_every must be at least 1, got \(evalEvery)")
        try check(checkpointEvery >= 0, "checkpoint_every must be 0 (end only) or positive, got \(checkpointEvery)")
        try check(batchSize >= 1, "batch_size must be at least 1, got \(batchSize)")
        try check(learningRate > 0 && minimumLearningRate >= 0 && minimumLearningRate <= learningRate,
                  "need 0 ≤ min_learning_rate ≤ learning_rate and learning_rate > 0, got \(minimumLearningRate), \(learningRate)")
        try check(warmupSteps >= 0, "warmup_steps must be ≥ 0, got \(warmupSteps)")
        try check(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "betas must be in [0, 1), got \(beta1), \(beta2)")
        try check(gradientClip > 0, "grad_clip must be positive, got \(gradientClip)")
        try check(validationBatches >= 1, "validation_batches must be at least 1, got \(validationBatches)")
    }

    /// The learning rate at `step` (linear warmup, cosine to the minimum at `steps`).
    public func learningRate(at step: Int) -> Float {
        warmupCosineLearningRate(step: step, warmupSteps: warmupSteps, totalSteps: steps,
                                 maximum: learningRate, minimum: minimumLearningRate)
    }
}

/// One line of metrics.jsonl (DESIGN.md §6).
public struct MetricsRecord: Codable, Equatable, Sendable {
    public var step: Int
    public var lr: Float
    public var train_loss: Float?
    public var tokens_per_s: Double?
    public var elapsed_s: Double
    public var val_loss: Float?
    /// KL(teacher ‖ model) at T = 1 on the validation logits (distillation runs).
    public var val_kl: Float?
    /// Fraction of validation positions where the model's top token is the teacher's (distillation runs).
    public var val_agreement: Float?
}

/// Validation metrics: cross-entropy on the true next tokens, and against a teacher when there is one.
public struct Evaluation: Sendable, Equatable {
    public var loss: Float
    public var kl: Float?
    public var agreement: Float?

    public init(loss: Float, kl: Float? = nil, agreement: Float? = nil) {
        self.loss = loss
        self.kl = kl
        self.agreement = agreement
    }
}

/// What a run optimises and how it is evaluated: next-token prediction on a token stream
/// (`NextTokenObjective`) or distillation from stored teacher logits (`DistillationObjective`).
public protocol TrainingObjective: AnyObject {
    /// Windows per batch (B) and positions per window (T).
    var batchSize: Int { get }
    var context: Int { get }
    /// Training step `step`'s batch; objectives that sample with `rng` advance it.
    func trainingBatch(step: Int, rng: inout RNG) throws -> TrainingBatch
    /// Metrics on the fixed validation data (called with no gradient recording, dropout off).
    func evaluate(model: GPT) throws -> Evaluation
}

/// A training batch as the trainer sees it: its windows (rows) and the loss of any run of them,
/// so the trainer can split the batch over data-parallel shards (NN/Training/DataParallel.swift).
public struct TrainingBatch {
    /// Windows in the batch.
    public let rows: Int
    /// The mean loss of windows `range` on `model` — the trained model or a replica that shares its
    /// weights. Called from several threads at once: it must only read the batch.
    public let loss: (_ model: GPT, _ range: Range<Int>) throws -> Tensor

    public init(rows: Int, loss: @escaping (_ model: GPT, _ range: Range<Int>) throws -> Tensor) {
        self.rows = rows
        self.loss = loss
    }
}

/// Next-token cross-entropy on windows at random offsets of a token stream (DESIGN.md §5).
public final class NextTokenObjective: TrainingObjective {
    public let train: TokenWindows
    public let validation: [TokenBatch]
    public let batchSize: Int
    public var context: Int { train.context }

    public init(train: TokenWindows, validation: TokenWindows, batchSize: Int, validationBatches: Int) throws {
        guard train.context == validation.context else {
            throw ModelError("trainer: training windows of \(train.context) and validation windows of \(validation.context) differ")
        }
        self.train = train
        self.batchSize = batchSize
        self.validation = try validation.validationBatches(batchSize: batchSize, maximumBatches: validationBatches)
    }

    public func trainingBatch(step: Int, rng: inout RNG) throws -> TrainingBatch {
        let batch = try train.randomBatch(batchSize: batchSize, rng: &rng)
        return TrainingBatch(rows: batchSize) { model, range in
            let windows = try batch.rows(range)
            return try model.loss(windows.inputs, targets: windows.targets)
        }
    }

    public func evaluate(model: GPT) throws -> Evaluation {
        var total: Double = 0
        for batch in validation {
            total += Double(try model.loss(batch.inputs, targets: batch.targets).item())
        }
        return Evaluation(loss: Float(total / Double(validation.count)))
    }
}

/// Trains a GPT on an objective. Holds everything a resumed run must restore:
/// the model, the optimizer moments, the data-order RNG and the step.
public final class Trainer {
    public let model: GPT
    public let recipe: TrainingRecipe
    public let optimizer: AdamW
    public let objective: any TrainingObjective
    /// Draws the training windows; saved with a checkpoint so a resumed run sees the same data.
    public var dataRNG: RNG
    /// The next step to run (0 at the start; `recipe.steps` when done).
    public var step = 0
    /// The model's parameters, walked once (the reflective walk need not run every step).
    private let parameters: [Tensor]
    /// Splits each batch over replicas of the model, one per thread.
    private let parallel: DataParallel<GPT>
    /// Wall time spent in earlier sessions of this run (resumed runs continue the clock).
    public var elapsedBefore: Double = 0
    private var sessionStart: Date?
    /// Called when a step's loss is not finite, before the error is thrown (the run names its last checkpoint).
    public var divergenceNote: () -> String = { "" }
    /// Runs after every optimizer step (with `step` already advanced): gradual pruning applies its
    /// masks here, so pruned weights and their optimizer moments stay exactly zero.
    public var afterStep: ((Trainer) throws -> Void)?

    /// Wall time of the whole run so far, across resumed sessions.
    public var elapsedSeconds: Double {
        elapsedBefore + (sessionStart.map { Date().timeIntervalSince($0) } ?? 0)
    }

    public init(model: GPT, recipe: TrainingRecipe, objective: any TrainingObjective) throws {
        try recipe.validate()
        guard objective.context <= model.config.contextLength else {
            throw ModelError("trainer: windows of \(objective.context) tokens exceed the model's context \(model.config.contextLength)")
        }
        self.model = model
        self.recipe = recipe
        self.objective = objective
        optimizer = try AdamW(groups: model.parameterGroups(weightDecay: recipe.weightDecay), learningRate: recipe.learningRate,
                              beta1: recipe.beta1, beta2: recipe.beta2, epsilon: recipe.epsilon)
        dataRNG = RNG(seed: recipe.seed &+ 0xDA7A)
        parameters = model.parameters()
        parallel = try DataParallel(model: model) { try GPT(config: model.config, seed: 0) }
    }

    /// Next-token training on token windows (teacher training, and students from scratch on text).
    public convenience init(model: GPT, recipe: TrainingRecipe, train: TokenWindows, validation: TokenWindows) throws {
        guard train.context == model.config.contextLength, validation.context == model.config.contextLength else {
            throw ModelError("trainer: windows of \(train.context) tokens do not match the model's context \(model.config.contextLength)")
        }
        try self.init(model: model, recipe: recipe, objective: NextTokenObjective(
            train: train, validation: validation, batchSize: recipe.batchSize, validationBatches: recipe.validationBatches))
    }

    /// Validation metrics (no gradient, dropout off).
    public func evaluate() throws -> Evaluation {
        model.eval()
        defer { model.train() }
        return try noGrad { try objective.evaluate(model: model) }
    }

    /// One optimizer step at the current step's learning rate; returns the batch loss.
    /// - Throws: `ModelError` naming the step when the loss is NaN or infinite (nothing is updated).
    public func trainStep() throws -> Float {
        let lr = recipe.learningRate(at: step)
        optimizer.learningRate = lr
        let batch = try objective.trainingBatch(step: step, rng: &dataRNG)
        // With dropout, each shard draws its masks from a stream seeded by the model's (saved with
        // a checkpoint, so a resumed run draws the same masks).
        let model = self.model
        let reseedDropout: ((GPT, Int) -> Void)? = model.config.dropout > 0
            ? { replica, _ in replica.dropoutRNG = RNG(seed: model.dropoutRNG.next()) } : nil
        let value = try parallel.gradients(rows: batch.rows, prepare: reseedDropout, loss: batch.loss)
        guard value.isFinite else {
            throw ModelError("training diverged: loss is \(value) at step \(step)\(divergenceNote())")
        }
        clipGradientNorm(parameters, maxNorm: recipe.gradientClip)
        optimizer.step()
        step += 1
        try afterStep?(self)
        return value
    }

    /// Runs from `step` to `recipe.steps`: evaluates at 0, every `evalEvery` and at the end;
    /// calls `record` for each metrics line, `checkpoint` every `checkpointEvery` steps and at
    /// the end, and `progress` with a status line about once a second.
    /// With `stopAfter`, the session ends (with a checkpoint) once `step` reaches it; `--resume` continues.
    public func run(stopAfter: Int? = nil, record: (MetricsRecord) throws -> Void, checkpoint: (Trainer) throws -> Void,
                    progress: (String) -> Void) throws {
        sessionStart = Date()
        defer { elapsedBefore = elapsedSeconds; sessionStart = nil }
        var lastReport = Date.distantPast
        var windowStart = Date(), windowTokens = 0
        let tokensPerStep = objective.batchSize * objective.context
        while true {
            if step % recipe.evalEvery == 0 || step == recipe.steps {
                let evaluation = try evaluate()
                try record(MetricsRecord(step: step, lr: recipe.learningRate(at: min(step, recipe.steps - 1)),
                                         train_loss: nil, tokens_per_s: nil, elapsed_s: elapsedSeconds, val_loss: evaluation.loss,
                                         val_kl: evaluation.kl, val_agreement: evaluation.agreement))
                var line = String(format: "step %d/%d  val_loss %.4f", step, recipe.steps, evaluation.loss)
                if let kl = evaluation.kl { line += String(format: "  val_kl %.4f", kl) }
                if let agreement = evaluation.agreement { line += String(format: "  agreement %.1f%%", 100 * agreement) }
                progress(line)
                windowStart = Date()  // the throughput window measures training only
                windowTokens = 0
            }
            if step == recipe.steps {
                try checkpoint(self)  // the last checkpoint follows the final evaluation
                break
            }
            let lr = recipe.learningRate(at: step)
            let stepStart = Date()
            let loss = try trainStep()
            let stepSeconds = Date().timeIntervalSince(stepStart)
            windowTokens += tokensPerStep
            let now = Date()
            try record(MetricsRecord(step: step - 1, lr: lr, train_loss: loss,
                                     tokens_per_s: Double(tokensPerStep) / stepSeconds,
                                     elapsed_s: elapsedSeconds, val_loss: nil))
            if now.timeIntervalSince(lastReport) >= 1 || step == recipe.steps {
                let rate = Double(windowTokens) / now.timeIntervalSince(windowStart)
                let remaining = Double(recipe.steps - step) * Double(tokensPerStep) / rate
                progress(String(format: "step %d/%d  loss %.4f  lr %.2e  %.0f tok/s  ETA %@", step, recipe.steps, loss, lr,
                                rate, formatDuration(remaining)))
                lastReport = now
                windowStart = now
                windowTokens = 0
            }
            if let stopAfter, step >= stopAfter, step < recipe.steps {
                try checkpoint(self)
                progress("stopped after step \(step) of \(recipe.steps) as asked; continue with --resume")
                break
            }
            if recipe.checkpointEvery > 0 && step % recipe.checkpointEvery == 0 && step < recipe.steps {
                try checkpoint(self)
            }
        }
    }
}

/// "1h02m", "3m05s", "12s".
public func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    let s = Int(seconds.rounded())
    if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
    if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
    return "\(s)s"
}
