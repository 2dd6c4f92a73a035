// Finite-difference gradient checking: the oracle every differentiable op is tested against.

/// The outcome of `gradientCheck`: the largest disagreement between the analytic gradient
/// (from `backward()`) and central finite differences, and where it occurred.
public struct GradientCheckResult: CustomStringConvertible, Sendable {
    /// max over elements of |analytic − numeric| / max(1, |numeric|).
    public var maxError: Double
    /// The input and flat element index of the worst element, with both values there.
    public var worst: (input: Int, index: Int, analytic: Double, numeric: Double)
    /// Number of elements compared.
    public var checked: Int

    public var description: String {
        "max error \(maxError) at input \(worst.input)[\(worst.index)]: analytic \(worst.analytic), numeric \(worst.numeric) (\(checked) elements)"
    }
}

/// Compares the gradient `backward()` computes with central differences.
///
/// The scalar checked is L = Σ f(inputs) ⊙ W for fixed random weights W (so every output
/// element matters and errors cannot cancel). Numeric derivatives (L(x + h) − L(x − h)) / 2h
/// are taken with L accumulated in Double. `inputs` must require gradients.
public func gradientCheck(_ inputs: [Tensor], step: Float = 1e-2, seed: UInt64 = 7,
                          _ f: () throws -> Tensor) throws -> GradientCheckResult {
    // Analytic: backward through L = Σ y ⊙ W.
    for x in inputs { x.grad = nil }
    let y = try f()
    var rng = RNG(seed: seed)
    let weights = try Tensor(shape: y.shape, values: (0..<y.count).map { _ in Float(rng.nextNormal()) })
    let loss = try (y * weights).sum()
    try loss.backward()
    let analytic = inputs.map { $0.grad?.toArray() ?? [Float](repeating: 0, count: $0.count) }

    func weighted() throws -> Double {
        let y = try noGrad { try f() }
        var s = 0.0
        for i in 0..<y.count { s += Double(y.data[i]) * Double(weights.data[i]) }
        return s
    }
    var result = GradientCheckResult(maxError: 0, worst: (0, 0, 0, 0), checked: 0)
    for (k, x) in inputs.enumerated() {
        for i in 0..<x.count {
            let saved = x.data[i]
            x.data[i] = saved + step
            let plus = try weighted()
            x.data[i] = saved - step
            let minus = try weighted()
            x.data[i] = saved
            let numeric = (plus - minus) / (2 * Double(step))
            let a = Double(analytic[k][i])
            let error = abs(a - numeric) / max(1, abs(numeric))
            result.checked += 1
            if error > result.maxError || error.isNaN {
                result.maxError = error.isNaN ? .infinity : error
                result.worst = (k, i, a, numeric)
            }
        }
    }
    return result
}
