import Foundation
import Testing
@testable import Evaluate
import Models
import Store

/// Evaluation holds a window's logits a run of positions at a time; the metrics are those of the
/// whole (B, T, V) forward.
@Suite("Evaluation a run of positions at a time") struct ChunkedEvaluationTests {
    static let tiny = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/hf-gpt2-tiny").standardizedFileURL

    /// Two batches of 3 windows of 23 positions (the fixture's context is 64).
    static func batches(vocabularySize v: Int) throws -> [TokenBatch] {
        let tokens: [Int32] = (0 ..< 200).map { Int32(($0 * 37 + $0 / 5) % v) }
        return try TokenWindows(tokens: tokens, context: 23, name: "test").validationBatches(batchSize: 3, maximumBatches: 2)
    }

    // Each run's mean cross-entropy is rounded to Float once (relative error ≤ 2⁻²⁴) before it is
    // weighted by its positions and summed in Double: two ways of cutting the rows differ by up to
    // 2·2⁻²⁴ = Float.ulpOfOne relative from that. The head's product for fewer rows may also take
    // other BLAS kernels and sum its n_embd = K products in another order, which moves a logit by at
    // most 2·γ_K·‖x‖·‖w‖ (ChunkedLogitsTests), K = 32 here: ~4·10⁻⁶·‖x‖‖w‖, and a per-position
    // loss (log-sum-exp minus a logit) by twice that. Over logits of size ~1 and a loss of ~5.7
    // nats, a relative 1e-5 covers both; ECE, a sum of the top-1 probabilities, moves as little.
    @Test("loss, accuracy and calibration do not depend on how a window's positions are cut", arguments: [1, 5, 7])
    func chunksEqualWholeWindows(positions: Int) throws {
        let model = try ModelLoading.load(Self.tiny).model
        let batches = try Self.batches(vocabularySize: model.config.vocabularySize)
        #expect(batches.count == 2 && batches[0].inputs.shape == [3, 23])
        let characters = [60, 60]
        let whole = try QualityEvaluation.evaluate(model: model, teacher: nil, batches: batches,
                                                   charactersPerBatch: characters, chunkPositions: 23)
        let chunked = try QualityEvaluation.evaluate(model: model, teacher: nil, batches: batches,
                                                     charactersPerBatch: characters, chunkPositions: positions)
        let tolerance = 1e-5
        #expect(abs(chunked.validationLoss / whole.validationLoss - 1) <= tolerance)
        #expect(abs(chunked.bitsPerCharacter / whole.bitsPerCharacter - 1) <= tolerance)
        // No two of the fixture's top logits are within the bound: the argmax does not move.
        #expect(chunked.accuracy == whole.accuracy)
        #expect(abs(chunked.expectedCalibrationError - whole.expectedCalibrationError) <= tolerance)
    }

    @Test("the loss is the mean cross-entropy of the whole batch's (B, T, V) logits")
    func lossEqualsTheUnchunkedForward() throws {
        let model = try ModelLoading.load(Self.tiny).model
        let batches = try Self.batches(vocabularySize: model.config.vocabularySize)
        let metrics = try QualityEvaluation.evaluate(model: model, teacher: nil, batches: batches, charactersPerBatch: [60, 60],
                                                     chunkPositions: 7)
        model.eval()
        var nats = 0.0, positions = 0
        for batch in batches {
            let loss = try noGrad { try model(batch.inputs).crossEntropy(targets: batch.targets) }
            nats += Double(try loss.item()) * Double(batch.targets.count)
            positions += batch.targets.count
        }
        // As above.
        #expect(abs(metrics.validationLoss / (nats / Double(positions)) - 1) <= 1e-5)
    }
}
