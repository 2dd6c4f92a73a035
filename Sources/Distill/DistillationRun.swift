// `alambique distill`: a student trained from a logit file alone (tokens, targets and teacher
// logits all come from the file; the teacher is never loaded), with validation on a second file
// exported from the validation split. The run directory, checkpoints, metrics and exact resume
// are those of `TrainingRun`.

import Foundation
import Models
import Store
import Tokenizers

public struct DistillationJob {
    /// The training logit file (or shard set) and the validation one.
    public var logits: URL
    public var validationLogits: URL
    /// The student's architecture; its vocabulary must be the file's.
    public var student: GPTConfig
    public var recipe: TrainingRecipe
    public var settings: DistillationSettings
    /// The student's tokenizer; nil: the teacher's, stored in the file.
    public var tokenizer: (any Tokenizer)?
    /// The run directory; nil: `checkpoints/<default name>`.
    public var directory: URL?
    public var corpus: String
    /// Start from this checkpoint's weights instead of a fresh initialisation (fine-tuning).
    public var initialCheckpoint: URL?
    /// Role in the model name; nil: `distilled` (or `baseline` for α = 0).
    public var roleOverride: String?
    /// Final sparsity, for the name's `-s<percent>` suffix (pruning fine-tunes).
    public var sparsity: Double?

    public init(logits: URL, validationLogits: URL, student: GPTConfig, recipe: TrainingRecipe,
                settings: DistillationSettings, tokenizer: (any Tokenizer)? = nil, directory: URL? = nil,
                corpus: String = "shakespeare") {
        self.logits = logits
        self.validationLogits = validationLogits
        self.student = student
        self.recipe = recipe
        self.settings = settings
        self.tokenizer = tokenizer
        self.directory = directory
        self.corpus = corpus
    }

    /// The validation file that goes with a training file by the default naming (`-train-` → `-val-`).
    public static func companionValidationFile(for logits: URL) -> URL? {
        let name = logits.lastPathComponent
        guard name.contains("-train-") else { return nil }
        return logits.deletingLastPathComponent().appendingPathComponent(name.replacingOccurrences(of: "-train-", with: "-val-"))
    }

    /// `distilled` or, for α = 0, `baseline` (the hard-label student on the same data).
    public var role: String { roleOverride ?? (settings.alpha == 0 ? "baseline" : "distilled") }

    /// The model name (`shakespeare-distilled-0.45M-ctx128-char-F32`) and the default run directory name,
    /// which adds the knobs and the seed so that a sweep's runs never collide.
    public func names(tokenizer: any Tokenizer) -> (model: String, directory: String) {
        let label = tokenizer.kind == .bytePairEncoding ? "bpe-\(tokenizer.vocabularySize)" : tokenizer.kind.rawValue
        let model = CheckpointInfo.modelName(corpus: corpus, role: role, parameters: student.parameterCount,
                                             context: student.contextLength, tokenizer: label, format: "F32", sparsity: sparsity)
        var directory = model
        if settings.alpha > 0 {
            directory += "-T\(Self.number(settings.temperature))-a\(Self.number(settings.alpha))"
            if settings.divergence != .forwardKL { directory += "-\(settings.divergence.rawValue)" }
            if !settings.t2Scaling { directory += "-noT2" }
        }
        return (model, directory + "-seed\(recipe.seed)")
    }

    /// Opens the files, checks them against the student and each other, and runs (or resumes).
    /// - Throws: `LogitsFileError` (tokenizer, vocabulary or context mismatch; incomplete file; files
    ///   of different teachers), `ModelError` from training (a NaN loss names the step and the last checkpoint).
    public func run(resume: Bool, overwrite: Bool, stopAfter: Int? = nil, prepare: ((Trainer) throws -> Void)? = nil,
                    progress: (String) -> Void) throws -> RunSummary {
        try settings.validate()
        let reader = try LogitsReader(url: logits)
        let validationReader = try LogitsReader(url: validationLogits)
        defer { try? reader.close(); try? validationReader.close() }
        let tokenizer = try self.tokenizer
            ?? loadTokenizer(jsonBytes: [UInt8](reader.tokenizerJSON()), fileName: "\(reader.urls[0].lastPathComponent):/tokenizer_json")
        for file in [reader, validationReader] {
            try file.validate(tokenizerSHA256: tokenizer.fingerprint(), vocabularySize: student.vocabularySize,
                              context: student.contextLength)
        }
        guard validationReader.attributes.teacherSHA256 == reader.attributes.teacherSHA256 else {
            throw LogitsFileError(path: validationLogits.path, "was exported by another teacher (\(validationReader.attributes.teacher), sha256 \(validationReader.attributes.teacherSHA256.prefix(12))…) than \(logits.lastPathComponent) (\(reader.attributes.teacher), \(reader.attributes.teacherSHA256.prefix(12))…)")
        }
        let sampler = try LogitsBatchSampler(reader: reader, batchSize: recipe.batchSize, context: student.contextLength,
                                             seed: recipe.seed, includeTeacher: settings.alpha > 0)
        let validation = try LogitsBatchSampler(reader: validationReader, batchSize: recipe.batchSize,
                                                context: student.contextLength, seed: recipe.seed)
            .sequentialBatches(maximumBatches: recipe.validationBatches)
        let objective = try DistillationObjective(sampler: sampler, validation: validation, settings: settings)
        let names = names(tokenizer: tokenizer)
        let identity = DistillationIdentity(settings: settings, teacherSHA256: reader.attributes.teacherSHA256,
                                            logitsFile: reader.urls[0].lastPathComponent, sequences: reader.sequenceCount)
        let run = TrainingRun(directory: directory ?? URL(fileURLWithPath: "checkpoints/\(names.directory)"),
                              config: student, recipe: recipe, tokenizer: tokenizer,
                              info: CheckpointInfo(name: names.model, role: role, corpus: corpus, sparsity: sparsity,
                                                   teacher: reader.attributes.teacher),
                              distillation: identity, initialCheckpoint: initialCheckpoint)
        progress("\(names.model): \(student.parameterCount) parameters; \(reader.sequenceCount) training sequences of \(reader.context) (\(reader.attributes.mode)) from \(reader.attributes.teacher); "
                 + (settings.alpha == 0 ? "hard labels only (baseline)"
                    : "α \(Self.number(settings.alpha)), T \(Self.number(settings.temperature)), \(settings.divergence.rawValue)\(settings.t2Scaling ? " × T²" : "")")
                 + " → \(run.directory.path)")
        return try run.run(objective: objective, resume: resume, overwrite: overwrite, stopAfter: stopAfter, prepare: prepare,
                           progress: progress)
    }

    /// 2, 0.5, 0.25: no trailing zeros.
    static func number(_ value: Float) -> String {
        // Int(value) traps beyond Int's range (a temperature of 1e30 passes validation); %g keeps those short.
        value == value.rounded() && abs(value) < 1e6 ? String(Int(value)) : String(format: "%g", Double(value))
    }
}
