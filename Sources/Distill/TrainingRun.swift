// A training run on disk: the checkpoint directory it writes every N steps (weights, optimizer
// state, RNG states and the metrics curve in one atomic replacement), and resuming from it.

import Foundation
import Models
import Store
import Tokenizers

/// Everything that defines a run; its hash guards `--resume` against changed settings.
public struct RunSettings: Codable, Equatable, Sendable {
    public var config: GPTConfig
    public var recipe: TrainingRecipe
    public var tokenizerSHA256: String
    /// Distillation runs: the knobs and the training file's identity (absent for next-token runs,
    /// so their hash is unchanged).
    public var distillation: DistillationIdentity?
    /// The checkpoint the weights start from (fine-tuning, e.g. gradual pruning); nil: fresh initialisation.
    public var initialCheckpoint: String?

    public var hash: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return sha256Hex((try? encoder.encode(self)).map { [UInt8]($0) } ?? [])
    }
}

/// What a distillation run learns from, for the resume check.
public struct DistillationIdentity: Codable, Equatable, Sendable {
    public var settings: DistillationSettings
    public var teacherSHA256: String
    public var logitsFile: String
    public var sequences: Int

    public init(settings: DistillationSettings, teacherSHA256: String, logitsFile: String, sequences: Int) {
        self.settings = settings
        self.teacherSHA256 = teacherSHA256
        self.logitsFile = logitsFile
        self.sequences = sequences
    }
}

/// What a finished run reports.
public struct RunSummary: Sendable {
    public var directory: URL
    public var finalValidationLoss: Float?
    public var steps: Int
    public var elapsedSeconds: Double
    public var resumedFrom: Int?
}

public struct TrainingRun {
    public var directory: URL
    public var settings: RunSettings
    public var tokenizer: any Tokenizer
    public var info: CheckpointInfo

    public static let metricsFileName = "metrics.jsonl"
    /// Everything a run directory may hold; `--force` refuses to replace anything else.
    static let checkpointFileNames: Set = [Checkpoint.configFileName, Checkpoint.modelFileName, Checkpoint.tokenizerFileName,
                                           Checkpoint.trainerStateFileName, Checkpoint.trainerMomentsFileName, metricsFileName]

    public init(directory: URL, config: GPTConfig, recipe: TrainingRecipe, tokenizer: any Tokenizer, info: CheckpointInfo,
                distillation: DistillationIdentity? = nil, initialCheckpoint: URL? = nil) {
        self.directory = directory
        self.settings = RunSettings(config: config, recipe: recipe, tokenizerSHA256: tokenizer.fingerprint(),
                                    distillation: distillation, initialCheckpoint: initialCheckpoint?.path)
        self.tokenizer = tokenizer
        self.info = info
    }

    /// Trains from scratch, or continues the run saved in `directory` when `resume` is set.
    /// Starting fresh over an existing checkpoint is refused unless `overwrite` is set.
    public func run(train: [Int32], validation: [Int32], resume: Bool, overwrite: Bool, stopAfter: Int? = nil,
                    progress: (String) -> Void) throws -> RunSummary {
        try run(train: TokenSequence(train), validation: TokenSequence(validation), resume: resume, overwrite: overwrite,
                stopAfter: stopAfter, progress: progress)
    }

    /// The same over token streams in memory or mapped from the corpus cache.
    public func run(train: TokenSequence, validation: TokenSequence, resume: Bool, overwrite: Bool, stopAfter: Int? = nil,
                    progress: (String) -> Void) throws -> RunSummary {
        let context = settings.config.contextLength
        let objective = try NextTokenObjective(
            train: TokenWindows(sequence: train, context: context, name: "training split"),
            validation: TokenWindows(sequence: validation, context: context, name: "validation split"),
            batchSize: settings.recipe.batchSize, validationBatches: settings.recipe.validationBatches)
        return try run(objective: objective, resume: resume, overwrite: overwrite, stopAfter: stopAfter, progress: progress)
    }

    /// Trains on any objective (distillation passes its own), from scratch or resuming.
    /// The run holds an exclusive `OutputLock` on its directory from the start: a second run on
    /// the same directory fails at once, naming this one.
    /// `stopAfter`: end this session with a checkpoint once that step is done (continue with `resume`).
    /// `prepare` sees the trainer once it is set up (after a resume restored it), before the first step:
    /// gradual pruning installs its `afterStep` there.
    public func run(objective: any TrainingObjective, resume: Bool, overwrite: Bool, stopAfter: Int? = nil,
                    prepare: ((Trainer) throws -> Void)? = nil, progress: (String) -> Void) throws -> RunSummary {
        let lock = try OutputLock(for: directory, command: OutputLock.currentCommandLine)
        defer { withExtendedLifetime(lock) {} }
        // Weights that a checkpoint supplies are not drawn first (the dropout seed is the same either way).
        let loadsWeights = resume || settings.initialCheckpoint != nil
        let model = loadsWeights ? try GPT(uninitializedFor: settings.config, seed: settings.recipe.seed)
            : try GPT(config: settings.config, seed: settings.recipe.seed)
        if let initial = settings.initialCheckpoint, !resume {
            var saved = try Checkpoint.readConfig(GPTConfig.self, from: URL(fileURLWithPath: initial))
            saved.dropout = settings.config.dropout  // fine-tuning may choose its own dropout
            guard saved == settings.config else {
                throw ModelError("\(initial): its model config differs from this run's; fine-tuning starts from a checkpoint of the same shape")
            }
            try Checkpoint.loadParameters(into: model, from: URL(fileURLWithPath: initial))
        }
        let trainer = try Trainer(model: model, recipe: settings.recipe, objective: objective)
        let fileManager = FileManager.default
        let stateFile = directory.appendingPathComponent(Checkpoint.trainerStateFileName)
        var metrics: [MetricsRecord] = []
        var resumedFrom: Int?
        if resume {
            guard fileManager.fileExists(atPath: stateFile.path) else {
                let parent = directory.deletingLastPathComponent()
                let leftovers = ((try? fileManager.contentsOfDirectory(atPath: parent.path)) ?? [])
                    .filter { $0.hasPrefix(directory.lastPathComponent + ".old-") || $0.hasPrefix(directory.lastPathComponent + ".tmp-") }
                throw ModelError("--resume: \(directory.path) has no \(Checkpoint.trainerStateFileName) to resume from"
                                 + (leftovers.isEmpty ? "" : "; an interrupted save left \(leftovers.sorted().joined(separator: ", ")) in \(parent.path) — rename the complete one back to resume"))
            }
            let saved = try Checkpoint.readConfig(GPTConfig.self, from: directory)
            guard saved == settings.config else {
                throw ModelError("--resume: the model config in \(directory.path) differs from this run's")
            }
            try Checkpoint.loadParameters(into: model, from: directory)
            let state = try Checkpoint.loadTrainerState(from: directory, optimizer: trainer.optimizer, module: model)
            guard state.settingsHash == settings.hash else {
                throw ModelError("--resume: the settings saved in \(stateFile.path) (recipe, tokenizer, config) differ from this run's; resume with the same flags")
            }
            trainer.step = state.step
            trainer.dataRNG = state.dataOrderRNG
            if let dropout = state.dropoutRNG { model.dropoutRNG = dropout }
            trainer.elapsedBefore = state.elapsedSeconds
            // The curve up to the checkpoint; later lines belong to the interrupted session.
            metrics = try readMetrics().filter { $0.step < state.step }
            resumedFrom = state.step
            progress("resuming \(directory.lastPathComponent) at step \(state.step)/\(settings.recipe.steps)")
        } else if fileManager.fileExists(atPath: directory.path) {
            guard overwrite else {
                throw ModelError("\(directory.path) already exists; use --resume to continue it or --force to start over")
            }
            // --force replaces a checkpoint, never an unrelated folder (e.g. --out checkpoints).
            let names = try fileManager.contentsOfDirectory(atPath: directory.path)
            if let foreign = names.sorted().first(where: { !Self.checkpointFileNames.contains($0) }) {
                throw ModelError("--force: \(directory.path) holds \(foreign), which is not part of a checkpoint; choose another --out")
            }
        }
        try prepare?(trainer)
        try fileManager.createDirectory(at: directory, withIntermediateDirectories: true)
        try writeMetrics(metrics)  // the live file, truncated to the checkpoint on resume

        let metricsURL = directory.appendingPathComponent(Self.metricsFileName)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        var lastValidation: Float?
        var bestValidation = metrics.compactMap(\.val_loss).min()
        var lastCheckpoint: Int? = resumedFrom
        trainer.divergenceNote = {
            lastCheckpoint.map { "; the last good checkpoint is step \($0) in \(directory.path) (resume from it with a lower learning rate, or check the data)" }
                ?? "; no checkpoint was saved yet"
        }
        try trainer.run(stopAfter: stopAfter, record: { record in
            metrics.append(record)
            if let v = record.val_loss {
                lastValidation = v
                bestValidation = min(bestValidation ?? v, v)
            }
            // Opened per line: the checkpoint replaces the directory (and this file) under us.
            try Self.appendLine(encoder.encode(record) + Data("\n".utf8), to: metricsURL)
        }, checkpoint: { trainer in
            let state = TrainerState(step: trainer.step, dataOrderRNG: trainer.dataRNG, dropoutRNG: model.dropoutRNG,
                                     settingsHash: settings.hash, bestValidationLoss: bestValidation.map(Double.init),
                                     elapsedSeconds: trainer.elapsedSeconds)
            try Checkpoint.save(module: model, config: settings.config, tokenizer: tokenizer, info: info,
                                trainer: TrainerCheckpoint(state: state, optimizer: trainer.optimizer),
                                extraFiles: [Self.metricsFileName: metricsData(metrics)], to: directory)
            lastCheckpoint = trainer.step
        }, progress: progress)
        return RunSummary(directory: directory, finalValidationLoss: lastValidation, steps: trainer.step,
                          elapsedSeconds: trainer.elapsedBefore, resumedFrom: resumedFrom)
    }

    /// Appends one metrics line; a failure (a full disk) names the file and the system's reason.
    private static func appendLine(_ line: Data, to url: URL) throws {
        let descriptor = open(url.path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw ModelError("\(url.path): cannot open to append a metrics record: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let written = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == line.count else {
            let reason = written < 0 ? String(cString: strerror(errno))
                : "only \(written) of \(line.count) bytes written"
            throw ModelError("\(url.path): cannot append a metrics record: \(reason)")
        }
    }

    private func metricsData(_ records: [MetricsRecord]) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        var data = Data()
        for record in records { data += try encoder.encode(record) + Data("\n".utf8) }
        return data
    }

    private func writeMetrics(_ records: [MetricsRecord]) throws {
        try AtomicFile.write(metricsData(records), to: directory.appendingPathComponent(Self.metricsFileName))
    }

    /// The records of metrics.jsonl (an absent file is an empty curve; a torn last line — the
    /// process died while writing it — is dropped).
    public func readMetrics() throws -> [MetricsRecord] {
        let url = directory.appendingPathComponent(Self.metricsFileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelError("\(url.path): cannot read (\(FileErrorReason.describe(error)))")
        }
        let lines = data.split(separator: UInt8(ascii: "\n"))
        var records: [MetricsRecord] = []
        for (index, line) in lines.enumerated() {
            do { records.append(try JSONDecoder().decode(MetricsRecord.self, from: Data(line))) } catch {
                if index == lines.count - 1 && data.last != UInt8(ascii: "\n") { break }
                throw ModelError("\(url.path) line \(index + 1): not a metrics record (\(error))")
            }
        }
        return records
    }
}
