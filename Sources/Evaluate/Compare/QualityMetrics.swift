// Quality of a model on the fixed validation windows, recomputed from the model itself: loss,
// perplexity, bits per character, next-token accuracy, calibration (ECE), and — against a
// teacher — top-1 agreement and KL(teacher ‖ model). Legend: B batch, T context, V vocabulary.
//
// Total over any logits: a model whose logits hold NaN (finite weights can still overflow) gets
// NaN loss, perplexity, bits per character and ECE — reported, not trapped on — while accuracy
// and agreement count the argmax, in which a NaN never wins (as in greedy generation).

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
    /// Expected calibration error over 15 equal-width confidence bins (top-1 probability vs
    /// accuracy); NaN when some position's top-1 probability is undefined (a NaN logit, or a
    /// largest logit that is +∞, or −∞ for all).
    public var expectedCalibrationError: Double
    /// Fraction of positions where the model's top token is the teacher's (nil without a teacher).
    public var agreement: Double?
    /// Mean KL(teacher ‖ model) at T = 1 over positions (nil without a teacher; NaN when a logit of
    /// either is NaN, or a teacher logit is +∞).
    public var klToTeacher: Double?
}

public enum QualityEvaluation {
    /// Positions whose logits are held at once (128 × a 50k vocabulary: 26 MB).
    public static let chunkPositions = 128

    /// Evaluates `model` (and compares with `teacher`, which must share the vocabulary) on `batches`.
    /// - Parameters:
    ///   - charactersPerBatch: characters of text the targets of each batch decode to (for bits per character).
    ///   - chunkPositions: positions whose logits are held at once.
    public static func evaluate(model: GPT, teacher: GPT?, batches: [TokenBatch], charactersPerBatch: [Int],
                                chunkPositions: Int = QualityEvaluation.chunkPositions) throws -> QualityMetrics {
        guard !batches.isEmpty, batches.count == charactersPerBatch.count else {
            throw ModelError("evaluation: need at least one validation batch and a character count for each")
        }
        if let teacher, teacher.config.vocabularySize != model.config.vocabularySize {
            throw ModelError("evaluation: the teacher's vocabulary (\(teacher.config.vocabularySize)) differs from the model's (\(model.config.vocabularySize)); agreement and KL need the same tokenizer")
        }
        let v = model.config.vocabularySize
        var calibration = Calibration()
        var nats = 0.0, correct = 0, agreeing = 0, positions = 0, kl = 0.0
        model.eval()
        defer { model.train() }
        try noGrad {
            for batch in batches {
                let t = batch.inputs.shape[1]
                var teacherHidden: (window: Int, x: Tensor)?
                // A window and 128 positions at a time: (B, T, V) logits of a 50k vocabulary would be gigabytes.
                try model.forEachLogitChunk(batch.inputs, positions: chunkPositions) { window, range, logits in
                    let rows = range.count, first = window * t + range.lowerBound
                    let targets = try IndexTensor(shape: [1, rows], values: Array(batch.targets.values[first ..< first + rows]))
                    nats += Double(try logits.crossEntropy(targets: targets).item()) * Double(rows)
                    var teacherLogits: Tensor?
                    if let teacher {
                        if teacherHidden?.window != window {
                            teacher.eval()
                            teacherHidden = (window, try teacher.normedHiddenStates(batch.inputs.rows(window ..< window + 1)))
                        }
                        let tl = try teacher.headLogits(teacherHidden!.x, positions: range)        // (1, n, V)
                        teacherLogits = tl
                        kl += Double(try logits.klDivergence(teacher: .logits(tl), temperature: 1).item()) * Double(rows)
                    }
                    for row in 0 ..< rows {
                        let z = logits.data + row * v
                        let top = InferenceKernels.argmax(z, count: v)
                        let target = Int(targets.values[row])
                        if top == target { correct += 1 }
                        if let tl = teacherLogits, InferenceKernels.argmax(tl.data + row * v, count: v) == top { agreeing += 1 }
                        // Confidence: the top-1 probability, softmax around the maximum.
                        calibration.add(confidence: 1 / Calibration.partition(z, count: v, maximum: z[top]), correct: top == target)
                    }
                    positions += rows
                }
            }
        }
        let ece = calibration.error(positions: positions)
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
        let v = model.config.vocabularySize
        var calibration = Calibration()
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
                    let sum = Calibration.partition(z, count: v, maximum: maximum)
                    nats += log(sum) - Double(z[target] - maximum)
                    if top == target { correct += 1 }
                    calibration.add(confidence: 1 / sum, correct: top == target)
                    positions += 1
                }
            }
        }
        let loss = nats / Double(positions)
        return QualityMetrics(
            validationLoss: loss, perplexity: exp(loss),
            bitsPerCharacter: nats / log(2) / Double(max(charactersPerBatch.reduce(0, +), 1)),
            accuracy: Double(correct) / Double(positions), expectedCalibrationError: calibration.error(positions: positions),
            agreement: nil, klToTeacher: nil)
    }
}

/// Expected calibration error over 15 equal-width bins of top-1 probability.
struct Calibration {
    static let bins = 15
    var count = [Int](repeating: 0, count: bins), correct = [Int](repeating: 0, count: bins)
    var confidence = [Double](repeating: 0, count: bins)
    /// Set once a position's confidence was not a probability (NaN): the error is then undefined.
    var undefined = false

    /// Σ_j exp(z_j − maximum) over a row of logits, in Double; 1/it is the top-1 probability. NaN
    /// when a logit is NaN or the maximum is not finite (+∞ − +∞, or −∞ − −∞ for a row all −∞).
    static func partition(_ z: UnsafePointer<Float>, count: Int, maximum: Float) -> Double {
        var sum: Double = 0
        for j in 0 ..< count { sum += exp(Double(z[j] - maximum)) }
        return sum
    }

    /// Counts one position: its top-1 probability and whether the top token was the target.
    mutating func add(confidence value: Double, correct isCorrect: Bool) {
        guard value >= 0, value <= 1 else { undefined = true; return }  // NaN fails both
        let bin = min(Self.bins - 1, Int(value * Double(Self.bins)))
        count[bin] += 1
        confidence[bin] += value
        if isCorrect { correct[bin] += 1 }
    }

    /// Σ_bins (n_bin / positions)·|accuracy_bin − mean confidence_bin|; NaN when undefined.
    func error(positions: Int) -> Double {
        guard !undefined, positions > 0 else { return .nan }
        var ece = 0.0
        for bin in 0 ..< Self.bins where count[bin] > 0 {
            let accuracy = Double(correct[bin]) / Double(count[bin])
            ece += Double(count[bin]) / Double(positions) * abs(accuracy - confidence[bin] / Double(count[bin]))
        }
        return ece
    }
}
