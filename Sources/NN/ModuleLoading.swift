// Strict loading of parameter values into a module (mlx-swift-lm's Load.swift habit): the names
// come from the module walk, and an unknown name, a missing name, a wrong shape or a value that
// is not finite (NaN, ±∞) is an error that names the parameter, the source and what was found.
// No silent repair, no partial load.

import Foundation

/// The values of one parameter: its shape and its elements in row-major order.
public struct ParameterValues: Sendable, Equatable {
    /// The dimensions, outermost first.
    public var shape: [Int]
    /// The elements, row-major; `shape.reduce(1, *)` of them.
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        self.shape = shape
        self.values = values
    }
}

/// Why parameter values could not be loaded into a module: which source, which parameter,
/// and what was found against what was expected.
public struct LoadError: Error, CustomStringConvertible, LocalizedError, Equatable {
    /// The class of problem, for callers that branch on it.
    public enum Kind: String, Sendable, Equatable {
        /// The source has a name the module does not.
        case unknownParameter
        /// The module has a parameter the source lacks.
        case missingParameter
        /// The shapes differ (e.g. a config that does not match the weights).
        case shapeMismatch
        /// The shape matches but the number of values does not.
        case valueCountMismatch
        /// A value is NaN or infinite (e.g. saved by a training run that diverged).
        case nonFiniteValue
    }

    /// The class of problem.
    public let kind: Kind
    /// Where the values came from (a file path, or a label such as `<memory>`).
    public let source: String
    /// The parameter's dotted name.
    public let parameter: String
    /// What was found versus what was expected.
    public let detail: String

    public init(_ kind: Kind, source: String, parameter: String, _ detail: String) {
        self.kind = kind
        self.source = source
        self.parameter = parameter
        self.detail = detail
    }

    public var description: String { "\(source): parameter \"\(parameter)\": \(detail)" }
    public var errorDescription: String? { description }
}

extension Module {
    /// A copy of every parameter's values under its dotted name, in `namedParameters()` order
    /// (a tied tensor appears once, under its first name).
    public func parameterSnapshot() -> [(name: String, values: ParameterValues)] {
        namedParameters().map { ($0.name, ParameterValues(shape: $0.tensor.shape, values: $0.tensor.toArray())) }
    }

    /// Copies `parameters` into this module's parameter tensors, in place (so optimizers and
    /// tied names keep pointing at the same tensors).
    ///
    /// Strict: every name must be a parameter of the module, every parameter must be given, every
    /// shape must match exactly, and every value must be finite (one NaN weight would otherwise
    /// turn every logit into NaN far from its cause). Everything is checked before anything is
    /// copied, so a failed load leaves the module as it was.
    /// - Parameter source: names the origin (e.g. the file path) in error messages.
    /// - Throws: `LoadError` naming the source, the parameter, and expected versus found shape,
    ///   or (`.nonFiniteValue`) the index and value of the parameter's first NaN or infinity.
    public func loadParameters(_ parameters: [String: ParameterValues], source: String) throws {
        let named = namedParameters()
        let known = Set(named.map(\.name))
        // Sorted so the same bad input always reports the same name first.
        if let unknown = parameters.keys.filter({ !known.contains($0) }).sorted().first {
            let extra = parameters.keys.filter { !known.contains($0) }.count
            throw LoadError(.unknownParameter, source: source, parameter: unknown,
                            "is not a parameter of \(type(of: self))"
                                + (extra > 1 ? " (\(extra) unknown names in all)" : "")
                                + "; expected names like \"\(named.first?.name ?? "")\"")
        }
        for (name, tensor) in named {
            guard let given = parameters[name] else {
                let missing = named.filter { parameters[$0.name] == nil }.count
                throw LoadError(.missingParameter, source: source, parameter: name,
                                "is missing (expected shape \(tensor.shape))"
                                    + (missing > 1 ? "; \(missing) parameters are missing in all" : ""))
            }
            guard given.shape == tensor.shape else {
                throw LoadError(.shapeMismatch, source: source, parameter: name,
                                "expected shape \(tensor.shape), found \(given.shape)")
            }
            guard given.values.count == tensor.count else {
                throw LoadError(.valueCountMismatch, source: source, parameter: name,
                                "shape \(tensor.shape) holds \(tensor.count) values, found \(given.values.count)")
            }
            if let bad = given.values.withUnsafeBufferPointer(ParameterValues.firstNonFiniteIndex) {
                throw LoadError(.nonFiniteValue, source: source, parameter: name,
                                "value \(ParameterValues.elementIndex(bad, shape: tensor.shape)) is \(given.values[bad]); weights must be finite "
                                    + "(a training run that diverged can save NaN)")
            }
        }
        for (name, tensor) in named where tensor.count > 0 {
            parameters[name]!.values.withUnsafeBufferPointer { tensor.data.update(from: $0.baseAddress!, count: tensor.count) }
        }
    }
}

extension ParameterValues {
    /// The index of the first NaN or infinity in `values`, or nil when all are finite: one vectorised
    /// pass (x − x is 0 for a finite x, NaN otherwise, and a NaN survives the sum of a chunk), then a
    /// scalar search of the chunk that holds one. Runs at memory speed, so it can check every load.
    public static func firstNonFiniteIndex(_ values: UnsafeBufferPointer<Float>) -> Int? {
        guard let base = values.baseAddress else { return nil }
        let count = values.count, chunk = 4096
        var start = 0
        while start < count {
            let end = min(count, start + chunk)
            var a0 = SIMD8<Float>.zero, a1 = SIMD8<Float>.zero
            var i = start
            while i + 16 <= end {
                let v0 = UnsafeRawPointer(base + i).loadUnaligned(as: SIMD8<Float>.self)
                let v1 = UnsafeRawPointer(base + i + 8).loadUnaligned(as: SIMD8<Float>.self)
                a0 += v0 - v0
                a1 += v1 - v1
                i += 16
            }
            var tail: Float = 0
            while i < end { tail += base[i] - base[i]; i += 1 }
            if ((a0 + a1).sum() + tail).isNaN {
                for j in start..<end where !base[j].isFinite { return j }
            }
            start = end
        }
        return nil
    }

    /// The row-major flat index `index` of a tensor of `shape` as `[i, j, …]` (`[index]` for 0-D or 1-D).
    public static func elementIndex(_ index: Int, shape: [Int]) -> [Int] {
        guard shape.count > 1, shape.allSatisfy({ $0 > 0 }) else { return [index] }
        var rest = index, result = [Int](repeating: 0, count: shape.count)
        for axis in shape.indices.reversed() {
            result[axis] = rest % shape[axis]
            rest /= shape[axis]
        }
        return result
    }
}

/// A tensor a checkpoint of a module may hold that is not one of its parameters: a copy of a tied
/// parameter under another name (Hugging Face's `lm_head.weight`), or a buffer it recomputes (GPT-2's
/// attention masks). Loading accepts it, checks its shape when one is given, and reads nothing from it.
public struct CheckpointExtraTensor: Sendable, Equatable {
    /// The tensor's name in the checkpoint.
    public var name: String
    /// The shape it must have, or nil when any shape is accepted (a buffer the model does not use).
    public var shape: [Int]?
    /// What it is, for messages ("tied to transformer.wte.weight", "attention mask buffer").
    public var role: String

    public init(name: String, shape: [Int]?, role: String) {
        self.name = name
        self.shape = shape
        self.role = role
    }
}

extension Module {
    /// Sets every parameter's values with `fill` — which copies them into the tensor's storage or
    /// points the tensor at memory that holds them (`Tensor.useStorage(of:)`) — then checks that
    /// each is finite. Meant for a module just built with uninitialised storage: a failure leaves it
    /// partly filled.
    /// - Throws: what `fill` throws, or `LoadError.nonFiniteValue` naming the parameter and the index.
    public func fillParameters(source: String, _ fill: (_ name: String, _ tensor: Tensor) throws -> Void) throws {
        for (name, tensor) in namedParameters() where tensor.count > 0 {
            try fill(name, tensor)
            if let bad = ParameterValues.firstNonFiniteIndex(UnsafeBufferPointer(start: tensor.data, count: tensor.count)) {
                throw LoadError(.nonFiniteValue, source: source, parameter: name,
                                "value \(ParameterValues.elementIndex(bad, shape: tensor.shape)) is \(tensor.data[bad]); "
                                    + "weights must be finite (a training run that diverged can save NaN)")
            }
        }
    }
}
