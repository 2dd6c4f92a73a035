// Quality of a model on the fixed validation windows, recomputed from the model itself: loss,
// perplexity, bits per character, next-token accuracy, calibration (ECE), and — against a
// teacher — top-1 agreement and KL(teacher ‖ model). Legend: B batch, T context, V vocabulary.

import Foundation
import Models
import Store

/// What `QualityEvaluation` measures.
public struct QualityMetrics: Codable, Sendable, Equatable {
    /// Mean next-token cross-entropy (nats per token).
    public var validationLoss: Double
    /// exp(loss).
    public var perplexity: Double
    /// Total nats / ln 2 / characters of the predicted tokens' text.
    public var bitsPerCharacter: Double
    /// Fraction of positions whose most likely token is the true next token.
    public var accuracy: Double
    /// Expected calibration error over 15 equal-width confidence bins (top-1 probability vs accuracy).
    public var expectedCalibrationError: Double
    /// Fraction of positions where the model's top token is the teacher's (nil without a teacher).
    public var agreement: Double?
    /// Mean KL(teacher ‖ model) at T = 1 over positions (nil without a teacher).
    public var klToTeacher: Double?
}

public enum QualityEvaluation {
    /// Evaluates `model` (and compares with `teacher`, which must share the vocabulary) on `batches`.
    /// - Parameter charactersPerBatch: characters of text the targets of each batch decode to (for bits per character).
    public static func evaluate(model: GPT, teacher: GPT?, batches: [TokenBatch], charactersPerBatch: [Int]) throws -> QualityMetrics {
        guard !batches.isEmpty, batches.count == charactersPerBatch.count else {
            throw ModelError("evaluation: need at least one validation batch and a character count for each")
        }
        if let teacher, teacher.config.vocabularySize != model.config.vocabularySize {
            throw ModelError("evaluation: the teacher's vocabulary (\(teacher.config.vocabularySize)) differs from the model's (\(model.config.vocabularySize)); agreement and KL need the same tokenizer")
        }
        let v = model.config.vocabularySize
        let bins = 15
        var binCount = [Int](repeating: 0, count: bins), binCorrect = [Int](repeating: 0, count: bins)
        var binConfidence = [Double](repeating: 0, count: bins)
        var nats = 0.0, correct = 0, agreeing = 0, positions = 0, kl = 0.0
        model.eval()
        defer { model.train() }
        try noGrad {
            for batch in batches {
                let logits = try model(batch.inputs)                                       // (B, T, V)
                let rows = batch.inputs.count
                nats += Double(try logits.crossEntropy(targets: batch.targets).item()) * Double(rows)
                var teacherLogits: Tensor?
                if let teacher {
                    teacher.eval()
                    let t = try teacher(batch.inputs)                                      // (B, T, V)
                    teacherLogits = t
                    kl += Double(try logits.klDivergence(teacher: .logits(t), temperature: 1).item()) * Double(rows)
                }
                for row in 0 ..< rows {
                    let z = logits.data + row * v
                    let top = InferenceKernels.argmax(z, count: v)
                    let target = Int(batch.targets.values[row])
                    if top == target { correct += 1 }
                    if let t = teacherLogits, InferenceKernels.argmax(t.data + row * v, count: v) == top { agreeing += 1 }
                    // Confidence: the top-1 probability, softmax around the maximum.
                    let maximum = z[top]
                    var sum: Double = 0
                    for j in 0 ..< v { sum += exp(Double(z[j] - maximum)) }
                    let confidence = 1 / sum
                    let bin = min(bins - 1, Int(confidence * Double(bins)))
                    binCount[bin] += 1
                    binConfidence[bin] += confidence
                    if top == target { binCorrect[bin] += 1 }
                }
                positions += rows
            }
        }
        var ece = 0.0
        for bin in 0 ..< bins where binCount[bin] > 0 {
            let accuracy = Double(binCorrect[bin]) / Double(binCount[bin])
            let confidence = binConfidence[bin] / Double(binCount[bin])
            ece += Double(binCount[bin]) / Double(positions) * abs(accuracy - confidence)
        }
        let loss = nats / Double(positions)
        let characters = charactersPerBatch.reduce(0, +)
        return QualityMetrics(
            validationLoss: loss, perplexity: exp(loss), bitsPerCharacter: nats / log(2) / Double(max(characters, 1)),
            accuracy: Double(correct) / Double(positions), expectedCalibrationError: ece,
            agreement: teacher == nil ? nil : Double(agreeing) / Double(positions),
            klToTeacher: teacher == nil ? nil : kl / Double(positions))
    }
}

extension QualityEvaluation {
    /// Loss, bits per character and accuracy as `evaluate` computes them, but one token at a time
    /// through the KV-cache generator (each window from an empty cache, every position a
    /// `logits(forNext:)` step): the batch-1 kernels generation runs, which for quantized layers
    /// quantize the activations to int8 blocks, unlike the batched forward. Calibration error is
    /// computed as in `evaluate`; no teacher comparison.
    public static func evaluateStepwise(model: GPT, batches: [TokenBatch], charactersPerBatch: [Int]) throws -> QualityMetrics {
        guard !batches.isEmpty, batches.count == charactersPerBatch.count else {
            throw ModelError("evaluation: need at least one validation batch and a character count for each")
        }
        let v = model.config.vocabularySize, bins = 15
        var binCount = [Int](repeating: 0, count: bins), binCorrect = [Int](repeating: 0, count: bins)
        var binConfidence = [Double](repeating: 0, count: bins)
        var nats = 0.0, correct = 0, positions = 0
        let generator = model.makeGenerator()
        for batch in batches {
            let windows = batch.inputs.shape[0], length = batch.inputs.count / windows
            for window in 0 ..< windows {
                generator.reset()
                for t in 0 ..< length {
                    let i = window * length + t
                    let z = try generator.logits(forNext: batch.inputs.values[i]).baseAddress!
                    let top = InferenceKernels.argmax(z, count: v), target = Int(batch.targets.values[i])
                    let maximum = z[top]
                    var sum: Double = 0
                    for j in 0 ..< v { sum += exp(Double(z[j] - maximum)) }
                    nats += log(sum) - Double(z[target] - maximum)
                    if top == target { correct += 1 }
                    let confidence = 1 / sum
                    let bin = min(bins - 1, Int(confidence * Double(bins)))
                    binCount[bin] += 1
                    binConfidence[bin] += confidence
                    if top == target { binCorrect[bin] += 1 }
                    positions += 1
                }
            }
        }
        var ece = 0.0
        for bin in 0 ..< bins where binCount[bin] > 0 {
            let accuracy = Double(binCorrect[bin]) / Double(binCount[bin])
            ece += Double(binCount[bin]) / Double(positions) * abs(accuracy - binConfidence[bin] / Double(binCount[bin]))
        }
        let loss = nats / Double(positions)
        return QualityMetrics(
            validationLoss: loss, perplexity: exp(loss),
            bitsPerCharacter: nats / log(2) / Double(max(charactersPerBatch.reduce(0, +), 1)),
            accuracy: Double(correct) / Double(positions), expectedCalibrationError: ece, agreement: nil, klToTeacher: nil)
    }
}
