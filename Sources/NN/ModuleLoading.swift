// Strict loading of parameter values into a module (mlx-swift-lm's Load.swift habit): the names
// come from the module walk, and an unknown name, a missing name or a wrong shape is an error
// that names the parameter, the source and both shapes. No silent repair, no partial load.

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
    /// Strict: every name must be a parameter of the module, every parameter must be given, and
    /// every shape must match exactly. Everything is checked before anything is copied, so a
    /// failed load leaves the module as it was.
    /// - Parameter source: names the origin (e.g. the file path) in error messages.
    /// - Throws: `LoadError` naming the source, the parameter, and expected versus found shape.
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
        }
        for (name, tensor) in named where tensor.count > 0 {
            parameters[name]!.values.withUnsafeBufferPointer { tensor.data.update(from: $0.baseAddress!, count: tensor.count) }
        }
    }
}
