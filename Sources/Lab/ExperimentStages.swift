// The typed reading of an experiment's stage settings: each choice is checked once, against the values the
// code accepts (Divergence, PruningScope, QuantizationScheme …), and the runner uses the same accessors, so a
// setting the runner would refuse after an hour of training is refused when the file is read.

import Compress
import Distill
import Foundation
import Tokenizers
import Models
import Store

/// The element types a logit file can store.
public enum LogitsDType: String, CaseIterable, Sendable {
    case f16, f32

    var elementType: HDF5ElementType { self == .f16 ? .float16 : .float32 }
}

/// How a prune stage removes weights.
public enum PruningMethod: String, CaseIterable, Sendable {
    case unstructured, nm, structured
}

extension Experiment.Logits {
    /// The element type (float16 when not given).
    public func elementType() throws -> HDF5ElementType {
        try Experiment.choice(dtype, LogitsDType.self, "logits.dtype")?.elementType ?? .float16
    }
}

extension Experiment.Student {
    /// The divergence (the settings' default when not given).
    public func divergence() throws -> Divergence? {
        try Experiment.choice(loss, Divergence.self, "students.\(name).loss")
    }

    func validate(at path: [PathStep], _ fail: Experiment.Failure) throws {
        try Experiment.check(preset, in: GPTConfig.presetNames, path + ["preset"], fail)
        try Experiment.check(loss, in: Divergence.allCases.map(\.rawValue), path + ["loss"], fail)
        try Experiment.atLeastOne(["steps": steps, "eval_every": evalEvery], under: path, fail)
        try Experiment.check(temperature, in: 0 ... 1000, open: true, path + ["temperature"], fail)
        try Experiment.check(alpha, in: 0 ... 1, path + ["alpha"], fail)
    }
}

extension Experiment.Prune {
    /// The method (unstructured when not given).
    public func pruningMethod() throws -> PruningMethod {
        try Experiment.choice(method, PruningMethod.self, "prune.\(name).method") ?? .unstructured
    }

    /// The scope of unstructured pruning (per layer when not given).
    public func pruningScope() throws -> PruningScope {
        try Experiment.choice(scope, PruningScope.self, "prune.\(name).scope") ?? .layer
    }

    func validate(at path: [PathStep], _ fail: Experiment.Failure) throws {
        try Experiment.check(method, in: PruningMethod.allCases.map(\.rawValue), path + ["method"], fail)
        try Experiment.check(scope, in: PruningScope.allCases.map(\.rawValue), path + ["scope"], fail)
        // Keeping nothing leaves no model; pruning nothing is allowed (a control).
        if let sparsity, !(sparsity >= 0 && sparsity < 1) {
            throw fail(path + ["sparsity"], "\(PathStep.label(path + ["sparsity"])) is \(sparsity); expected a fraction in [0, 1)")
        }
        if let gradual {
            try Experiment.atLeastOne(["steps": gradual.steps, "every": gradual.every,
                                       "finetune_steps": gradual.finetuneSteps], under: path + ["gradual"], fail)
            try Experiment.check(gradual.learningRate, in: 0 ... 1, open: true, path + ["gradual", "learning_rate"], fail)
            if gradual.steps > 0, gradual.every > 0, gradual.steps.multipliedReportingOverflow(by: gradual.every).overflow {
                throw fail(path + ["gradual"], "\(PathStep.label(path + ["gradual"])): steps × every overflows")
            }
        }
    }
}

extension Experiment.Quantize {
    /// The scheme, parsed as `alambique quantize --scheme` parses it.
    public func quantizationScheme() throws -> QuantizationScheme {
        do { return try QuantizationScheme(parsing: scheme) } catch {
            throw LabError("quantize.\(name).scheme: \(error)")
        }
    }

    /// The granularity of int8 schemes, when given.
    public func quantizationGranularity() throws -> QuantizationGranularity? {
        do { return try granularity.map { try QuantizationGranularity(parsing: $0) } } catch {
            throw LabError("quantize.\(name).granularity: \(error)")
        }
    }

    func validate(at path: [PathStep], _ fail: Experiment.Failure) throws {
        do { _ = try quantizationScheme() } catch { throw fail(path + ["scheme"], String(describing: error)) }
        do { _ = try quantizationGranularity() } catch { throw fail(path + ["granularity"], String(describing: error)) }
    }
}

extension Experiment {
    /// `raw` read as one of `T`'s cases, or an error listing them.
    static func choice<T: RawRepresentable & CaseIterable>(_ raw: String?, _ type: T.Type, _ field: String) throws -> T?
    where T.RawValue == String {
        guard let raw else { return nil }
        guard let value = T(rawValue: raw) else {
            throw LabError("\(field): \(Excerpt.quote(raw)) is not one of "
                + T.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return value
    }
}
