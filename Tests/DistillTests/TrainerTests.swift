import Testing
@testable import Distill
import Models
import Store

/// A learnable stream: a repeating pattern with a little variety, so the loss can fall.
func patternTokens(count: Int, vocabulary: Int, seed: UInt64) -> [Int32] {
    var rng = RNG(seed: seed)
    return (0..<count).map { i in Int32((i % 7 == 0 ? rng.nextInt(below: vocabulary) : i * 3) % vocabulary) }
}

func tinyTrainer(steps: Int, seed: UInt64 = 1) throws -> Trainer {
    let config = GPTConfig(vocabularySize: 13, contextLength: 16, layers: 1, heads: 2, embeddingSize: 16)
    var recipe = TrainingRecipe()
    recipe.steps = steps
    recipe.evalEvery = 5
    recipe.checkpointEvery = 0
    recipe.batchSize = 4
    recipe.warmupSteps = 3
    recipe.validationBatches = 2
    recipe.seed = seed
    recipe.learningRate = 1e-2
    recipe.minimumLearningRate = 1e-3
    let model = try GPT(config: config, seed: seed)
    return try Trainer(model: model, recipe: recipe,
                       train: TokenWindows(tokens: patternTokens(count: 2000, vocabulary: 13, seed: 1), context: 16, name: "train"),
                       validation: TokenWindows(tokens: patternTokens(count: 600, vocabulary: 13, seed: 2), context: 16, name: "val"))
}

@Suite("Trainer") struct TrainerTests {
    @Test("the validation loss falls; metrics have every step and every evaluation")
    func learns() throws {
        let trainer = try tinyTrainer(steps: 40)
        var records: [MetricsRecord] = []
        var checkpoints = 0
        try trainer.run(record: { records.append($0) }, checkpoint: { _ in checkpoints += 1 }, progress: { _ in })
        let validation = records.compactMap(\.val_loss)
        #expect(validation.count == 9)  // steps 0, 5, …, 40
        #expect(validation.last! < validation.first! - 0.5, "\(validation)")
        #expect(records.filter { $0.train_loss != nil }.map(\.step) == Array(0..<40))
        #expect(checkpoints == 1 && trainer.step == 40)
    }

    @Test("the same seed gives the same losses; another seed does not")
    func deterministic() throws {
        func losses(seed: UInt64) throws -> [Float] {
            let trainer = try tinyTrainer(steps: 6, seed: seed)
            return try (0..<6).map { _ in try trainer.trainStep() }
        }
        #expect(try losses(seed: 1) == losses(seed: 1))
        #expect(try losses(seed: 1) != losses(seed: 2))
    }

    @Test("warmup then cosine: the recipe's LR function; invalid recipes name the field")
    func recipe() throws {
        var recipe = TrainingRecipe()
        #expect(abs(recipe.learningRate(at: 0) - 1e-5) < 1e-10)
        #expect(abs(recipe.learningRate(at: 1500) - 1e-4) < 1e-9)
        recipe.batchSize = 0
        let error = #expect(throws: ModelError.self) { try recipe.validate() }
        #expect(error?.message.contains("batch_size") == true)
    }

    @Test("validation windows are consecutive from 0 and targets are shifted by one")
    func windows() throws {
        let windows = try TokenWindows(tokens: (0..<100).map { Int32($0) }, context: 4, name: "t")
        let batches = try windows.validationBatches(batchSize: 2, maximumBatches: 3)
        #expect(batches.count == 3)
        #expect(batches[1].inputs.values == [8, 9, 10, 11, 12, 13, 14, 15])
        #expect(batches[1].targets.values == [9, 10, 11, 12, 13, 14, 15, 16])
        #expect(throws: DataError.self) { try TokenWindows(tokens: [1, 2, 3], context: 4, name: "tiny") }
    }
}
