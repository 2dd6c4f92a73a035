import Foundation
import Testing
@testable import Distill
import Models
import Store
import Tokenizers

@Suite("Training runs on disk") struct TrainingRunTests {
    static func run(in directory: URL) -> TrainingRun {
        var recipe = TrainingRecipe()
        recipe.steps = 2
        recipe.batchSize = 2
        recipe.validationBatches = 1
        let config = GPTConfig(vocabularySize: 256, contextLength: 8, layers: 1, heads: 1, embeddingSize: 8)
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
