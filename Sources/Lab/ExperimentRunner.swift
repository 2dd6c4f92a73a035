// `alambique run experiments/<name>.yaml`: the stages of an experiment in order — teacher, logit
// export, students, pruning, quantization — each in its own folder under runs/<name>/, then the
// comparison into reports/<name>/ and notebooks-export/<name>.ipynb. A stage finished with the same
// settings hash (runs/<name>/.stages/) is skipped; an interrupted training stage resumes from its
// last checkpoint; a stage whose settings (or whose input's weights) changed is redone.

import Compress
import Distill
import Evaluate
import Foundation
import Models
import Store
import Tokenizers

public struct ExperimentRunner {
    public var experiment: Experiment
    /// runs/<name>, reports/<name>, notebooks-export/<name>.ipynb are made under this folder.
    public var root: URL
    public var data: String

    public init(experiment: Experiment, root: URL = URL(fileURLWithPath: "."), data: String = "data") {
        self.experiment = experiment
        self.root = root
        self.data = data
    }

    public var runDirectory: URL { root.appendingPathComponent("runs/\(experiment.name)") }
    public var reportDirectory: URL { root.appendingPathComponent("reports/\(experiment.name)") }
    public var notebook: URL { root.appendingPathComponent("notebooks-export/\(experiment.name).ipynb") }

    /// Runs every stage; returns the comparison.
    public func run(progress: @escaping (String) -> Void) throws -> Evaluate.ComparisonResult {
        let e = experiment
        // A second `run` of the same experiment would redo and delete the first one's stages under it.
        let lock = try OutputLock(for: runDirectory, command: "alambique run (experiment \(e.name))")
        defer { withExtendedLifetime(lock) {} }
        let total = 3 + e.students.count + (e.prune ?? []).count + (e.quantize ?? []).count + 1
        var index = 0
        func stage(_ name: String) { index += 1; progress("── stage \(index)/\(total): \(name)") }

        stage("data and tokenizer")
        let selection = try e.corpus?.selection(dataDirectory: data) ?? CorpusSelection(dataDirectory: data)
        let tokenizerSpec = e.tokenizer ?? "char"
        // A trained teacher's tokenizer is its students' too: their vocabulary must be the teacher's.
        let tokenizer = try e.teacher.checkpoint.map { try Checkpoint.loadTokenizer(from: URL(fileURLWithPath: $0)) }
            ?? CorpusTokenization.build(tokenizerSpec, selection: selection, progress: progress)
        // The built-in corpus adds nothing, so that runs from before `corpus:` existed keep their hashes.
        let tokenizerHash = tokenizer.fingerprint() + (e.corpus.map { "|" + Experiment.hash($0) } ?? "")

        // Teacher.
        stage("teacher")
        let teacherDirectory: URL
        if let checkpoint = e.teacher.checkpoint {
            teacherDirectory = URL(fileURLWithPath: checkpoint)
            progress("using the trained teacher \(checkpoint)")
        } else {
            teacherDirectory = runDirectory.appendingPathComponent("teacher")
            var recipe = TrainingRecipe()
            if let steps = e.teacher.steps { recipe.steps = steps }
            recipe.evalEvery = e.teacher.evalEvery ?? max(1, recipe.steps / 4)
            recipe.checkpointEvery = recipe.evalEvery
            if let seed = e.teacher.seed { recipe.seed = seed }
            let config = try GPTConfig.preset(e.teacher.preset ?? "teacher-small", vocabularySize: tokenizer.vocabularySize)
            let hash = Experiment.hash(["teacher": Experiment.hash(e.teacher), "tokenizer": tokenizerHash])
            try runIfNeeded(teacherDirectory, hash: hash, progress: progress) { resume in
                let name = CheckpointInfo.modelName(corpus: selection.name, role: "teacher", parameters: config.parameterCount,
                                                    context: config.contextLength, tokenizer: tokenizerSpec, format: "F32")
                let run = TrainingRun(directory: teacherDirectory, config: config, recipe: recipe, tokenizer: tokenizer,
                                      info: CheckpointInfo(name: name, role: "teacher", corpus: selection.name))
                let tokens = try CorpusTokenization.tokenize(selection, tokenizer: tokenizer, progress: progress)
                _ = try run.run(train: tokens.train, validation: tokens.validation, resume: resume, overwrite: !resume,
                                progress: progress)
            }
        }

        // Logits of both splits.
        stage("teacher logits")
        let logitsDirectory = runDirectory.appendingPathComponent("logits")
        let trainLogits = logitsDirectory.appendingPathComponent("teacher-train.h5")
        let valLogits = logitsDirectory.appendingPathComponent("teacher-val.h5")
        let teacherIdentity = try CheckpointWeights.sha256(of: teacherDirectory)
        var logitsInputs = ["logits": Experiment.hash(e.logits ?? Experiment.Logits()), "teacher": teacherIdentity]
        if let corpus = e.corpus { logitsInputs["corpus"] = Experiment.hash(corpus) }
        let logitsHash = Experiment.hash(logitsInputs)
        let teacherContext = try Checkpoint.readConfig(GPTConfig.self, from: teacherDirectory).contextLength
        let context = e.logits?.context ?? teacherContext
        guard context <= teacherContext else {
            throw LabError("logits.context: \(context) is longer than the teacher's context (\(teacherContext) positions)")
        }
        try runIfNeeded(logitsDirectory, hash: logitsHash, progress: progress) { _ in
            let teacher = try loadGPT(from: teacherDirectory)
            let vocabulary = teacher.config.vocabularySize
            let topK = e.logits?.topK ?? min(32, vocabulary)
            guard topK <= vocabulary else {
                throw LabError("logits.top_k: \(topK) is more than the teacher's vocabulary (\(vocabulary) tokens); "
                    + "use at most \(vocabulary), or full: true")
            }
            let mode: LogitsMode = (e.logits?.full ?? false) ? .full : .topK(topK)
            let dtype = try e.logits?.elementType() ?? .float16
            let corpus = try CorpusTokenization.tokenize(selection, tokenizer: teacher.tokenizer, progress: progress)
            for (split, tokens, url, limit) in [("train", corpus.train, trainLogits, e.logits?.trainSequences),
                                                ("val", corpus.validation, valLogits, e.logits?.valSequences)] {
                let settings = LogitsExportSettings(context: context, mode: mode, dtype: dtype, maxSequences: limit)
                let report = try TeacherLogits.export(teacher: teacher, directory: teacherDirectory, tokens: tokens,
                                                      split: split, settings: settings, to: url, progress: progress)
                progress(String(format: "%@: %d windows, %.1f MB", url.lastPathComponent, report.sequences, Double(report.bytes) / 1e6))
            }
        }

        // Students.
        var models: [String: URL] = ["teacher": teacherDirectory]
        var order = ["teacher"]
        for student in e.students {
            stage("student \(student.name)")
            let directory = runDirectory.appendingPathComponent(student.name)
            var recipe = TrainingRecipe()
            if let steps = student.steps { recipe.steps = steps }
            recipe.evalEvery = student.evalEvery ?? max(1, recipe.steps / 4)
            recipe.checkpointEvery = recipe.evalEvery
            if let seed = student.seed { recipe.seed = seed }
            var settings = DistillationSettings()
            if let t = student.temperature { settings.temperature = t }
            if let a = student.alpha { settings.alpha = a }
            if let divergence = try student.divergence() { settings.divergence = divergence }
            var config = try GPTConfig.preset(student.preset ?? "student-tiny", vocabularySize: tokenizer.vocabularySize)
            // A student learns from the stored windows, so its context is at most theirs.
            config.contextLength = min(config.contextLength, context)
            let hash = Experiment.hash(["student": Experiment.hash(student), "logits": logitsHash])
            try runIfNeeded(directory, hash: hash, progress: progress) { resume in
                var job = DistillationJob(logits: trainLogits, validationLogits: valLogits, student: config, recipe: recipe,
                                          settings: settings, directory: directory)
                job.roleOverride = student.name  // distinct model names for students of the same size (distilled-T1, -T2 …)
                _ = try job.run(resume: resume, overwrite: !resume, progress: progress)
            }
            models[student.name] = directory
            order.append(student.name)
        }

        // Pruning.
        for p in e.prune ?? [] {
            stage("prune \(p.name)")
            let source = models[p.from]!
            let directory = runDirectory.appendingPathComponent(p.name)
            let hash = Experiment.hash(["prune": Experiment.hash(p), "source": try stageHash(source)])
            try runIfNeeded(directory, hash: hash, progress: progress) { resume in
                try prune(p, source: source, to: directory, train: trainLogits, validation: valLogits, resume: resume, progress: progress)
            }
            models[p.name] = directory
            order.append(p.name)
        }

        // Quantization.
        for q in e.quantize ?? [] {
            stage("quantize \(q.name)")
            let source = models[q.from]!
            let directory = runDirectory.appendingPathComponent(q.name)
            let hash = Experiment.hash(["quantize": Experiment.hash(q), "source": try stageHash(source)])
            try runIfNeeded(directory, hash: hash, progress: progress) { _ in
                _ = try CheckpointCompression.quantize(source, scheme: try q.quantizationScheme(),
                                                       granularity: try q.quantizationGranularity(), output: directory)
            }
            models[q.name] = directory
            order.append(q.name)
        }

        // Comparison.
        stage("compare")
        var comparison = Comparison(checkpoints: order.map { models[$0]! }, load: ModelLoading.load, validationText: "",
                                    validationBatches: e.compare?.validationBatches ?? 50, prompts: Comparison.defaultPrompts,
                                    judgeTokens: e.compare?.judgeTokens ?? 64)
        comparison.validationTokens = { try CorpusTokenization.tokenize(selection, tokenizer: $0, progress: progress).validation }
        let result = try comparison.run(progress: progress)
        try writeReports(result, checkpoints: order.map { models[$0]! }, valLogits: valLogits)
        return result
    }

    // MARK: - Stages

    /// Runs `body` unless the stage of `directory` finished with `hash`. Markers live outside the stage
    /// folders (runs/<name>/.stages/<stage>.{started,done}), because a checkpoint save replaces its folder
    /// whole. `body(resume)` resumes when the stage started with the same settings and left a training
    /// state; a stage with other settings, or one with nothing to resume, starts over.
    private func runIfNeeded(_ directory: URL, hash: String, progress: (String) -> Void, _ body: (Bool) throws -> Void) throws {
        let fileManager = FileManager.default
        let markers = runDirectory.appendingPathComponent(".stages")
        let done = markers.appendingPathComponent(directory.lastPathComponent + ".done")
        let started = markers.appendingPathComponent(directory.lastPathComponent + ".started")
        if (try? String(contentsOf: done, encoding: .utf8)) == hash, fileManager.fileExists(atPath: directory.path) {
            progress("done before (same settings): \(directory.path)")
            return
        }
        let states = [directory, URL(fileURLWithPath: directory.path + "-finetune")].map { $0.appendingPathComponent(Checkpoint.trainerStateFileName) }
        let resumable = (try? String(contentsOf: started, encoding: .utf8)) == hash && states.contains { fileManager.fileExists(atPath: $0.path) }
        try? fileManager.removeItem(at: done)
        if !resumable {
            // Changed settings or nothing to resume: start over (for a fine-tune, its run folder too). Only a
            // folder this runner made goes: its stage was started (the marker is written before the stage
            // makes its folder); anything else under that name is the user's, and stays.
            for stale in [directory, URL(fileURLWithPath: directory.path + "-finetune")] where fileManager.fileExists(atPath: stale.path) {
                guard fileManager.fileExists(atPath: started.path) else {
                    throw LabError("\(stale.path) exists, but this experiment's runner did not make it (no \(started.path)); "
                        + "move it away, or delete it yourself if it is not needed")
                }
                try fileManager.removeItem(at: stale)
            }
        } else {
            progress("resuming \(directory.lastPathComponent) from its last checkpoint")
        }
        try fileManager.createDirectory(at: markers, withIntermediateDirectories: true)
        try AtomicFile.write(Data(hash.utf8), to: started)
        try body(resumable)
        try AtomicFile.write(Data(hash.utf8), to: done)
    }

    /// What a later stage depends on: the weights of the stage it starts from.
    private func stageHash(_ directory: URL) throws -> String {
        try CheckpointWeights.sha256(of: directory)
    }

    private func prune(_ p: Experiment.Prune, source: URL, to directory: URL, train: URL, validation: URL, resume: Bool,
                       progress: (String) -> Void) throws {
        let scope = try p.pruningScope()
        if let gradual = p.gradual {
            let dense = try CompressedCheckpoint.load(from: source, packSparse: false)
            let schedule = GradualPruningSchedule(initialSparsity: 0, finalSparsity: p.sparsity ?? 0.5, start: 0,
                                                  events: gradual.steps, interval: gradual.every)
            let recipe = CheckpointCompression.fineTuningRecipe(steps: gradual.finetuneSteps ?? (gradual.steps * gradual.every + 100),
                                                                learningRate: gradual.learningRate ?? 3e-4)
            var fineTuning = DistillationJob(logits: train, validationLogits: validation, student: dense.config, recipe: recipe,
                                             settings: DistillationSettings(), directory: URL(fileURLWithPath: directory.path + "-finetune"))
            fineTuning.initialCheckpoint = source
            _ = try GradualPruningJob(fineTuning: fineTuning, schedule: schedule, scope: scope)
                .run(output: directory, resume: resume, overwrite: !resume, progress: progress)
            return
        }
        let method: CheckpointCompression.PruningMethod
        switch try p.pruningMethod() {
        case .nm: method = .nOfM(n: 2, m: 4)
        case .structured:
            _ = try CheckpointCompression.pruneStructured(source, keepHeads: 1 - (p.sparsity ?? 0.5),
                                                          keepNeurons: 1 - (p.sparsity ?? 0.5), output: directory)
            return
        case .unstructured: method = .unstructured(sparsity: p.sparsity ?? 0.5, scope: scope)
        }
        _ = try CheckpointCompression.prune(source, method: method, output: directory)
    }

    private func writeReports(_ result: Evaluate.ComparisonResult, checkpoints: [URL], valLogits: URL) throws {
        try ComparisonReport.write(result, title: experiment.name, checkpoints: checkpoints, to: reportDirectory, notebook: notebook,
                                   resultsCSV: "../reports/\(experiment.name)/results.csv",
                                   logitFile: "../runs/\(experiment.name)/logits/\(valLogits.lastPathComponent)")
    }
}
