import Foundation
import Testing
@testable import Distill
import Models
import Store
import Tokenizers

@Suite("Training runs on disk") struct TrainingRunTests {
    static func run(in directory: URL, steps: Int = 2, batchSize: Int = 2, dropout: Float = 0) -> TrainingRun {
        var recipe = TrainingRecipe()
        recipe.steps = steps
        recipe.batchSize = batchSize
        recipe.validationBatches = 1
        recipe.evalEvery = 3
        recipe.checkpointEvery = 0
        var config = GPTConfig(vocabularySize: 256, contextLength: 8, layers: 1, heads: 1, embeddingSize: 8)
        config.dropout = dropout
        return TrainingRun(directory: directory, config: config, recipe: recipe, tokenizer: ByteTokenizer(),
                           info: CheckpointInfo(name: "t", role: "teacher", corpus: "test"))
    }

    @Test("--force refuses to replace a folder that is not a checkpoint, and nothing in it is touched")
    func forceRefusesForeignFolder() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alambique-force-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("keep me".utf8).write(to: directory.appendingPathComponent("notes.txt"))
        let tokens = (0..<200).map { Int32($0 % 256) }
        let error = #expect(throws: ModelError.self) {
            try Self.run(in: directory).run(train: tokens, validation: tokens, resume: false, overwrite: true) { _ in }
        }
        #expect(error?.message.contains("notes.txt") == true)
        #expect(try String(contentsOf: directory.appendingPathComponent("notes.txt"), encoding: .utf8) == "keep me")
    }

    @Test("with dropout and the batch split over shards, a run stopped and resumed takes the uninterrupted run's steps bit for bit")
    func resumeWithDropout() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("alambique-dropout-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: base) }
        let tokens: [Int32] = (0..<600).map { (i: Int) -> Int32 in Int32((i * 7 + i / 5) % 256) }
        func losses(_ run: TrainingRun) throws -> [String] {
            try run.readMetrics().map { (record: MetricsRecord) -> String in
                let train: UInt32 = record.train_loss?.bitPattern ?? 0
                let validation: UInt32 = record.val_loss?.bitPattern ?? 0
                return "\(record.step) \(train) \(validation)"
            }
        }
        let straight = Self.run(in: base.appendingPathComponent("straight"), steps: 6, batchSize: 4, dropout: 0.2)
        _ = try straight.run(train: tokens, validation: tokens, resume: false, overwrite: false) { _ in }
        let split = Self.run(in: base.appendingPathComponent("split"), steps: 6, batchSize: 4, dropout: 0.2)
        _ = try split.run(train: tokens, validation: tokens, resume: false, overwrite: false, stopAfter: 3) { _ in }
        _ = try split.run(train: tokens, validation: tokens, resume: true, overwrite: false) { _ in }
        let expected = try losses(straight)
        #expect(expected.count == 6 + 3)  // six steps, evaluations at 0, 3 and 6
        #expect(try losses(split) == expected)
        // Dropout is on: the same run without it takes other steps.
        let plain = Self.run(in: base.appendingPathComponent("plain"), steps: 6, batchSize: 4)
        _ = try plain.run(train: tokens, validation: tokens, resume: false, overwrite: false) { _ in }
        #expect(try losses(plain) != expected)
    }

    @Test("a run writes a loadable checkpoint whose curve ends with the final evaluation; a torn last metrics line is dropped")
    func checkpointAndMetrics() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alambique-run-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let tokens = (0..<400).map { Int32($0 % 256) }
        let run = Self.run(in: directory)
        let summary = try run.run(train: tokens, validation: tokens, resume: false, overwrite: false) { _ in }
        #expect(summary.steps == 2 && summary.finalValidationLoss != nil)
        let metrics = try run.readMetrics()
        #expect(metrics.last?.step == 2 && metrics.last?.val_loss == summary.finalValidationLoss)
        #expect(try loadGPT(from: directory).config.layers == 1)
        let url = directory.appendingPathComponent(TrainingRun.metricsFileName)
        let handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"step\": 3, \"lr\"".utf8))
        try handle.close()
        #expect(try run.readMetrics().count == metrics.count)
    }
}
