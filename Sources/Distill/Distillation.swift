// Distillation from stored teacher logits (Hinton et al.): the student learns from the logit file
// alone. Loss = α · s(T) · D(p_teacher^T ‖ q_student^T) + (1 − α) · CE(student, next token), with
// s(T) = T² by default. α = 0 is the hard-label baseline on the same data order.
// Legend: B batch, T context, V vocabulary.

import Foundation
import Models
import Store

/// The distillation knobs (flags, YAML and the resume hash share them).
public struct DistillationSettings: Codable, Equatable, Sendable {
    /// Softmax temperature of both distributions in the divergence.
    public var temperature: Float = 2
    /// Weight of the divergence; 1 − α goes to the hard-label cross-entropy. 0: the baseline.
    public var alpha: Float = 0.5
    public var divergence: Divergence = .forwardKL
    /// Multiply the divergence by T² (Hinton), so its gradients keep their size as T changes.
    public var t2Scaling = true

    public init() {}

    enum CodingKeys: String, CodingKey {
        case temperature, alpha, divergence = "loss", t2Scaling = "t2_scaling"
    }

    /// The factor on the divergence: α · T² (or α without T² scaling).
    public var divergenceWeight: Float { alpha * (t2Scaling ? temperature * temperature : 1) }

    public func validate() throws {
        guard temperature > 0, temperature.isFinite else { throw ModelError("distillation: temperature must be > 0, got \(temperature)") }
        guard alpha >= 0, alpha <= 1 else { throw ModelError("distillation: alpha must be in [0, 1], got \(alpha)") }
    }
}

/// Distillation from a logit file: training batches from `LogitsBatchSampler`, validation on a
/// fixed set of sequences of the validation logit file.
public final class DistillationObjective: TrainingObjective {
    public let sampler: LogitsBatchSampler
    public let validation: [DistillationBatch]
    public let settings: DistillationSettings
    public var batchSize: Int { sampler.batchSize }
    public var context: Int { sampler.context }

    public init(sampler: LogitsBatchSampler, validation: [DistillationBatch], settings: DistillationSettings) throws {
        try settings.validate()
        guard validation.allSatisfy({ $0.teacher != nil }) else {
            throw ModelError("distillation: validation batches need the teacher's logits")
        }
        self.sampler = sampler
        self.validation = validation
        self.settings = settings
    }

    public func trainingBatch(step: Int, rng: inout RNG) throws -> TrainingBatch {
        let batch = try sampler.batch(step: step)
        let settings = self.settings
        return TrainingBatch(rows: batch.inputs.shape[0]) { model, range in
            try Self.loss(model: model, batch: batch.rows(range), settings: settings)
        }
    }

    /// α · s(T) · D(teacher ‖ student) + (1 − α) · CE on one batch (or some of its windows).
    static func loss(model: GPT, batch: DistillationBatch, settings: DistillationSettings) throws -> Tensor {
        let logits = try model(batch.inputs)                                      // (B, T, V)
        let crossEntropy = try logits.crossEntropy(targets: batch.targets)
        guard settings.alpha > 0 else { return crossEntropy }
        guard let teacher = batch.teacher else { throw ModelError("distillation: the sampler was made without the teacher") }
        let v = model.config.vocabularySize
        let divergence = try logits.reshaped([batch.inputs.count, v])             // (B·T, V)
            .distillationDivergence(teacher: teacher, temperature: settings.temperature, divergence: settings.divergence)
        if settings.alpha == 1 { return divergence * settings.divergenceWeight }
        return try divergence * settings.divergenceWeight + crossEntropy * (1 - settings.alpha)
    }

    /// Cross-entropy on the true next tokens, forward KL(teacher ‖ student) at T = 1, and top-1 agreement.
    public func evaluate(model: GPT) throws -> Evaluation {
        var loss: Double = 0, kl: Double = 0, agreeing = 0, positions = 0
        let v = model.config.vocabularySize
        for batch in validation {
            let logits = try model(batch.inputs)                                  // (B, T, V)
            loss += Double(try logits.crossEntropy(targets: batch.targets).item())
            guard let teacher = batch.teacher else { continue }
            let rows = batch.inputs.count
            kl += Double(try logits.reshaped([rows, v]).distillationDivergence(teacher: teacher, temperature: 1,
                                                                               divergence: .forwardKL).item())
            for row in 0 ..< rows {
                let studentTop = InferenceKernels.argmax(logits.data + row * v, count: v)
                let teacherTop: Int
                switch teacher {
                case .logits(let t): teacherTop = InferenceKernels.argmax(t.data + row * v, count: v)
                case .topK(let indices, _, _): teacherTop = Int(indices.values[row * indices.shape[1]])
                }
                if studentTop == teacherTop { agreeing += 1 }
            }
            positions += rows
        }
        let batches = Double(max(validation.count, 1))
        return Evaluation(loss: Float(loss / batches), kl: Float(kl / batches),
                          agreement: Float(Double(agreeing) / Double(max(positions, 1))))
    }
}
