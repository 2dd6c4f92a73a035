// The three layers a GPT is built from. Initialisation follows GPT-2: N(0, 0.02) matrices,
// zero biases, unit LayerNorm weights; callers pass their RNG so a seed fixes everything.

/// y = x · W + b with W stored (in, out), GPT-2's Conv1D layout (so HF checkpoints map 1:1).
public final class Linear: Module {
    public var weight: Tensor   // (in, out)
    public var bias: Tensor?    // (out)

    public init(inFeatures: Int, outFeatures: Int, bias: Bool = true, std: Float = 0.02, rng: inout RNG) throws {
        weight = try Tensor.zeros([inFeatures, outFeatures], requiresGrad: true)
        rng.fillNormal(weight, std: std)
        self.bias = bias ? try Tensor.zeros([outFeatures], requiresGrad: true) : nil
    }

    public var inFeatures: Int { weight.shape[0] }
    public var outFeatures: Int { weight.shape[1] }

    /// (…, in) → (…, out)
    public func callAsFunction(_ x: Tensor) throws -> Tensor { try x.linear(weight: weight, bias: bias) }
}

/// A table of `count` learned vectors of size `dimensions`.
public final class Embedding: Module {
    public var weight: Tensor   // (count, dimensions)

    public init(count: Int, dimensions: Int, std: Float = 0.02, rng: inout RNG) throws {
        weight = try Tensor.zeros([count, dimensions], requiresGrad: true)
        rng.fillNormal(weight, std: std)
    }

    /// ids (…) → (…, dimensions)
    public func callAsFunction(_ ids: IndexTensor) throws -> Tensor { try weight.embedding(ids) }
}

/// Layer normalisation over the last axis with a learned scale and shift.
public final class LayerNorm: Module {
    public var weight: Tensor   // (C)
    public var bias: Tensor     // (C)
    public let epsilon: Float

    public init(dimensions: Int, epsilon: Float = 1e-5) throws {
        weight = try Tensor.full([dimensions], 1, requiresGrad: true)
        bias = try Tensor.zeros([dimensions], requiresGrad: true)
        self.epsilon = epsilon
    }

    /// (…, C) → (…, C)
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try x.layerNorm(weight: weight, bias: bias, epsilon: epsilon)
    }
}
