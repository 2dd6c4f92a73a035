import Foundation
import Testing
@testable import Distill
import Models
import Store
import Tokenizers

/// A tiny teacher checkpoint and its logit files (train and val), made once per test in `directory`.
private struct TinyDistillationSetup {
    let directory: URL
    let teacher: URL
    let train: URL
    let validation: URL
    let vocabularySize: Int

    init(mode: LogitsMode = .topK(4)) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("alambique-distill-\(UUID().uuidString)")
        teacher = try TeacherLogitsTests.teacher(in: directory)
        let loaded = try loadGPT(from: teacher)
        vocabularySize = loaded.config.vocabularySize
        let text = String(repeating: "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n", count: 12)
        let tokens = try loaded.tokenizer.encode(text)
        train = directory.appendingPathComponent("t-train-top4-f16.h5")
        validation = directory.appendingPathComponent("t-val-top4-f16.h5")
        let settings = LogitsExportSettings(context: 16, stride: 5, mode: mode, layout: LogitsLayout(blockSequences: 8))
        _ = try TeacherLogits.export(teacher: loaded, directory: teacher, tokens: tokens, split: "train", settings: settings, to: train)
        _ = try TeacherLogits.export(teacher: loaded, directory: teacher, tokens: Array(tokens.prefix(300)), split: "val",
                                     settings: settings, to: validation)
    }

    func job(alpha: Float = 0.5, steps: Int = 4, seed: UInt64 = 1, context: Int = 16, run: String = "run") -> DistillationJob {
        var recipe = TrainingRecipe()
        recipe.steps = steps
        recipe.evalEvery = 2
        recipe.checkpointEvery = 2
        recipe.batchSize = 4
        recipe.validationBatches = 2
        recipe.warmupSteps = 1
        recipe.seed = seed
        var settings = DistillationSettings()
        settings.alpha = alpha
        let student = GPTConfig(vocabularySize: vocabularySize, contextLength: context, layers: 1, heads: 1, embeddingSize: 8)
        return DistillationJob(logits: train, validationLogits: validation, student: student, recipe: recipe, settings: settings,
                               directory: directory.appendingPathComponent(run), corpus: "test")
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}

@Suite("Distillation", .serialized) struct DistillationTests {
    @Test("the sampler's order is a pure function of (seed, step) and covers every sequence once per epoch")
    func samplerOrder() throws {
        let setup = try TinyDistillationSetup()
        defer { setup.remove() }
        let reader = try LogitsReader(url: setup.train)
        defer { try? reader.close() }
        let a = try LogitsBatchSampler(reader: reader, batchSize: 4, context: 16, seed: 9, poolSequences: 8)
        let b = try LogitsBatchSampler(reader: reader, batchSize: 4, context: 16, seed: 9, poolSequences: 8)
        #expect(reader.sequenceCount >= 40)
        // Rows are identified by their tokens; a fresh sampler asked for step 3 first gives the same batch.
        #expect(try a.batch(step: 3).inputs == b.batch(step: 3).inputs)
        var seen: [[Int32]] = []
        for step in 0 ..< a.batchesPerEpoch {
            let batch = try a.batch(step: step)
            for row in 0 ..< 4 { seen.append(Array(batch.inputs.values[row * 16 ..< row * 16 + 16])) }
        }
        let all = try reader.read(0 ..< reader.sequenceCount)
        let fileRows = (0 ..< reader.sequenceCount).map { Array(all.tokens.values[$0 * 17 ..< $0 * 17 + 16]) }
        #expect(seen.count == a.batchesPerEpoch * 4)
        #expect(seen.allSatisfy { fileRows.contains($0) })
        // No sequence twice in an epoch: each row is seen at most as often as the file holds it.
        var available: [String: Int] = [:]
        for row in fileRows { available["\(row)", default: 0] += 1 }
        for row in seen { available["\(row)", default: 0] -= 1 }
        #expect(available.values.allSatisfy { $0 >= 0 })
        #expect(seen.count >= reader.sequenceCount - 3)  // all but the last partial batch
        // Another seed, another order.
        let c = try LogitsBatchSampler(reader: reader, batchSize: 4, context: 16, seed: 10, poolSequences: 8)
        #expect(try (0 ..< 3).map { try c.batch(step: $0).inputs } != (0 ..< 3).map { try a.batch(step: $0).inputs })
    }

    @Test("a batch's teacher rows are the file's, cut to the student's context; the baseline sampler reads no teacher")
    func samplerRows() throws {
        let setup = try TinyDistillationSetup()
        defer { setup.remove() }
        let reader = try LogitsReader(url: setup.train)
        defer { try? reader.close() }
        let batch = try LogitsBatchSampler(reader: reader, batchSize: 2, context: 8, seed: 1).sequentialBatches(maximumBatches: 1)[0]
        let block = try reader.read(0 ..< 2)
        #expect(batch.inputs.shape == [2, 8] && batch.targets.shape == [2, 8])
        #expect(Array(batch.targets.values[0 ..< 8]) == Array(block.tokens.values[1 ... 8]))
        guard case .topK(let indices, let logits, let lse) = try #require(batch.teacher) else {
            Issue.record("expected a top-k teacher"); return
        }
        #expect(indices.shape == [16, 4] && logits.shape == [16, 4] && lse.shape == [16])
        // Row 1 of the batch is sequence 1, position 0: stored at (1 · 16 + 0) in the block.
        #expect(Array(indices.values[8 * 4 ..< 9 * 4]) == Array(try #require(block.topKIndices).values[16 * 4 ..< 17 * 4]))
        #expect(lse.data[8] == block.logSumExp!.data[16])
        let baseline = try LogitsBatchSampler(reader: reader, batchSize: 2, context: 8, seed: 1, includeTeacher: false)
        #expect(try baseline.batch(step: 0).teacher == nil)
    }

    @Test("distillation trains and evaluates against the teacher; resuming gives the uninterrupted run's losses exactly")
    func trainsAndResumes() throws {
        let setup = try TinyDistillationSetup()
        defer { setup.remove() }
        let whole = try setup.job(steps: 4, run: "whole").run(resume: false, overwrite: false) { _ in }
        let curve = try TrainingRun(directory: whole.directory, config: setup.job().student, recipe: setup.job().recipe,
                                    tokenizer: ByteTokenizer(), info: CheckpointInfo(name: "x", role: "x", corpus: "x")).readMetrics()
        let evaluations = curve.filter { $0.val_loss != nil }
        #expect(evaluations.count == 3)
        #expect(evaluations.allSatisfy { $0.val_kl != nil && $0.val_agreement != nil })
        #expect(try Checkpoint.readInfo(from: whole.directory).teacher == "test-teacher-tiny")
        #expect(try Checkpoint.readInfo(from: whole.directory).role == "distilled")

        // The same run stopped after step 2 (with a checkpoint) and resumed: the same curve, exactly.
        let split = setup.job(steps: 4, run: "split")
        _ = try split.run(resume: false, overwrite: false, stopAfter: 2) { _ in }
        #expect(try TrainerStateProbe.step(in: split.directory!) == 2)
        _ = try split.run(resume: true, overwrite: false) { _ in }
        let resumed = try TrainingRun(directory: split.directory!, config: split.student, recipe: split.recipe,
                                      tokenizer: ByteTokenizer(), info: CheckpointInfo(name: "x", role: "x", corpus: "x")).readMetrics()
        #expect(resumed.compactMap(\.train_loss) == curve.compactMap(\.train_loss))
        #expect(resumed.compactMap(\.val_loss) == curve.compactMap(\.val_loss))
        #expect(resumed.compactMap(\.val_kl) == curve.compactMap(\.val_kl))

        // The baseline (α = 0) on the same data: another curve, same validation data, role "baseline".
        let baseline = try setup.job(alpha: 0, steps: 4, run: "baseline").run(resume: false, overwrite: false) { _ in }
        #expect(try Checkpoint.readInfo(from: baseline.directory).role == "baseline")
    }

    @Test("the student is checked against the file: tokenizer, context; an incomplete file is refused")
    func errors() throws {
        let setup = try TinyDistillationSetup()
        defer { setup.remove() }
        var wrongTokenizer = setup.job()
        wrongTokenizer.tokenizer = CharTokenizer(corpus: "abcdefghijklmnopqrstuvwxyz ,.:'\nTWo")
        let tokenizerError = #expect(throws: LogitsFileError.self) { try wrongTokenizer.run(resume: false, overwrite: false) { _ in } }
        #expect(tokenizerError?.detail.contains("tokenizer differs") == true)

        let longContext = setup.job(context: 32)
        let contextError = #expect(throws: LogitsFileError.self) { try longContext.run(resume: false, overwrite: false) { _ in } }
        #expect(contextError?.detail.contains("context 32 is longer") == true)

        let file = try HDF5File(url: setup.validation, mode: .readWrite)
        try file.setAttribute("complete", .int64(0))
        try file.close()
        let incomplete = #expect(throws: LogitsFileError.self) { try setup.job().run(resume: false, overwrite: false) { _ in } }
        #expect(incomplete?.detail.contains("incomplete") == true)
    }

    @Test("a sweep runs baseline and grid per seed, tabulates mean ± std, and reads finished runs instead of repeating them")
    func sweep() throws {
        let setup = try TinyDistillationSetup()
        defer { setup.remove() }
        let sweep = DistillationSweep(base: setup.job(steps: 2), temperatures: [2], alphas: [0.5], seeds: [1, 2],
                                      directory: setup.directory.appendingPathComponent("sweep"))
        #expect(try sweep.jobs().count == 4)
        var lines: [String] = []
        let rows = try sweep.run { lines.append($0) }
        #expect(rows.map(\.label) == ["baseline (α = 0)", "T = 2, α = 0.5"])
        #expect(rows.allSatisfy { $0.seeds == [1, 2] && $0.validationLoss.count == 2 && $0.validationLoss.allSatisfy(\.isFinite) })
        let table = DistillationSweep.markdown(rows)
        #expect(table.contains("| T = 2, α = 0.5 | 2 |"))
        #expect(DistillationSweep.csv(rows).split(separator: "\n").count == 3)
        var again: [String] = []
        let reread = try sweep.run { again.append($0) }
        #expect(again.filter { $0.contains("done before") }.count == 4)
        #expect(reread.map(\.validationLoss) == rows.map(\.validationLoss))
        #expect(DistillationSweep.statistics([1, 3]).std == 2.0.squareRoot())
    }

    @Test("a NaN loss stops the run with the step and the last good checkpoint named")
    func nanLoss() throws {
        let setup = try TinyDistillationSetup()
        defer { setup.remove() }
        let job = setup.job(steps: 6, run: "nan")
        _ = try job.run(resume: false, overwrite: false, stopAfter: 2) { _ in }
        // The teacher's stored logits turn to NaN (a corrupted file): the next step's loss is NaN.
        let file = try HDF5File(url: setup.train, mode: .readWrite)
        let logits = try file.openGroup("topk").openDataset("logits")
        let count = try logits.shape().reduce(1, *)
        try logits.writeRows([Float](repeating: .nan, count: count), startingAt: 0)
        try file.close()
        let error = #expect(throws: ModelError.self) { try job.run(resume: true, overwrite: false) { _ in } }
        #expect(error?.message.contains("loss is nan at step 2") == true)
        #expect(error?.message.contains("last good checkpoint is step 2") == true)
    }
}

/// Reads the step of a run directory's trainer state.
enum TrainerStateProbe {
    static func step(in directory: URL) throws -> Int {
        let data = try Data(contentsOf: directory.appendingPathComponent("trainer_state.json"))
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["step"] as? Int ?? -1
    }
}
