import Foundation
import Testing
@testable import Distill
import Models
import Store

/// Fine-tuning a checkpoint saved by transformers (the `train --init-from` path): weights, shape and
/// tokenizer from the checkpoint, then a few steps at fine-tuning's learning rate.
@Suite struct FineTuningTests {
    @Test func aRunStartsFromTheCheckpointsWeightsAndResumes() throws {
        let source = HuggingFaceCheckpointTests.tiny
        let start = try loadGPT(from: source)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alambique-finetune-\(UUID().uuidString)")
        var recipe = TrainingRecipe()
        recipe.steps = 4
        recipe.evalEvery = 2
        recipe.checkpointEvery = 2
        recipe.batchSize = 2
        recipe.validationBatches = 1
        recipe.warmupSteps = 1
        recipe.learningRate = 1e-4
        recipe.minimumLearningRate = 1e-5
        let text = String(repeating: "The quick brown fox jumps over the lazy dog. Hello world! ", count: 40)
        let tokens = try start.tokenizer.encode(text)
        let info = CheckpointInfo(name: "tiny-finetuned", role: "finetuned", corpus: "test")
        func run() -> TrainingRun {
            TrainingRun(directory: directory, config: start.config, recipe: recipe, tokenizer: start.tokenizer, info: info,
                        initialCheckpoint: source)
        }
        _ = try run().run(train: tokens, validation: Array(tokens.prefix(200)), resume: false, overwrite: false,
                          stopAfter: 2) { _ in }
        _ = try run().run(train: tokens, validation: Array(tokens.prefix(200)), resume: true, overwrite: false) { _ in }
        let tuned = try loadGPT(from: directory)
        #expect(tuned.info.name == "tiny-finetuned")
        #expect(tuned.tokenizer.fingerprint() == start.tokenizer.fingerprint())
        // Four Adam steps at ≤ 1e-4 move a weight by at most ~4e-4; a fresh initialisation (std 0.02) by far more.
        let before = start.model.transformer.wte.weight.toArray(), after = tuned.model.transformer.wte.weight.toArray()
        let moved = zip(before, after).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
        #expect(moved > 0)
        #expect(moved < 1e-3)
    }
}
