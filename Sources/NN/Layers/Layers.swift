// The three layers a GPT is built from. Initialisation follows GPT-2: N(0, 0.02) matrices,
// zero biases, unit LayerNorm weights; callers pass their RNG so a seed fixes everything.

/// y = x · W + b with W stored (in, out), GPT-2's Conv1D layout (so HF checkpoints map 1:1).
public final class Linear: Module {
    public var weight: Tensor   // (in, out); (0, 0) once packed
    public var bias: Tensor?    // (out)
    /// The weight in a compressed form for inference (quantized, sparse); nil: the dense `weight`.
    public private(set) var packed: (any PackedMatrix)?

    public init(inFeatures: Int, outFeatures: Int, bias: Bool = true, std: Float = 0.02, rng: inout RNG) throws {
        weight = try Tensor.zeros([inFeatures, outFeatures], requiresGrad: true)
        rng.fillNormal(weight, std: std)
        self.bias = bias ? try Tensor.zeros([outFeatures], requiresGrad: true) : nil
    }

    /// A layer whose weight and bias are left unset, for a checkpoint load to fill.
    public init(uninitializedInFeatures inFeatures: Int, outFeatures: Int, bias: Bool = true) throws {
        weight = try Tensor.uninitialized([inFeatures, outFeatures], requiresGrad: true)
        self.bias = bias ? try Tensor.uninitialized([outFeatures], requiresGrad: true) : nil
    }

    public override func shareOwnParameters(of source: Module) throws {
        guard let s = source as? Linear else { throw TensorError("shareParameters: \(type(of: source)) is not a Linear") }
        if let packed = s.packed {
            throw TensorError("shareParameters: a packed (\(packed.format)) Linear is frozen and has no replica for training")
        }
        weight = s.weight.sharedLeaf()
        bias = s.bias?.sharedLeaf()
    }

    public var inFeatures: Int { packed?.columns ?? weight.shape[0] }
    public var outFeatures: Int { packed?.rows ?? weight.shape[1] }

    /// Replaces the dense weight by `matrix` (out × in) for inference; the float32 weight is released.
    /// - Throws: `TensorError` when the matrix's shape is not this layer's.
    public func pack(_ matrix: any PackedMatrix) throws {
        guard matrix.rows == outFeatures, matrix.columns == inFeatures else {
            throw TensorError("Linear.pack: a \(matrix.rows)×\(matrix.columns) (out × in) matrix does not fit a layer of \(inFeatures) → \(outFeatures)")
        }
        packed = matrix
        weight = try Tensor.zeros([0, 0])
    }

    /// (…, in) → (…, out). With a packed weight, nothing is recorded for gradients (it is frozen).
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        guard let packed else { return try x.linear(weight: weight, bias: bias) }
        guard x.rank >= 1, x.shape.last == packed.columns else {
            throw TensorError("linear (\(packed.format)): input \(x.shape) does not fit \(packed.columns) inputs")
        }
        let rows = x.count / max(packed.columns, 1)
        let out = try Tensor.zeros(Array(x.shape.dropLast()) + [packed.rows])
        packed.multiply(rows: rows, x.data, into: out.data)
        if let bias {
            for r in 0..<rows {
                let y = out.data + r * packed.rows
                for j in 0..<packed.rows { y[j] += bias.data[j] }
            }
        }
        return out
    }
}

/// A table of `count` learned vectors of size `dimensions`.
public final class Embedding: Module {
    public var weight: Tensor   // (count, dimensions)

    public init(count: Int, dimensions: Int, std: Float = 0.02, rng: inout RNG) throws {
        weight = try Tensor.zeros([count, dimensions], requiresGrad: true)
        rng.fillNormal(weight, std: std)
    }

    /// A table left unset, for a checkpoint load to fill.
    public init(uninitializedCount count: Int, dimensions: Int) throws {
        weight = try Tensor.uninitialized([count, dimensions], requiresGrad: true)
    }

    public override func shareOwnParameters(of source: Module) throws {
        guard let s = source as? Embedding else { throw TensorError("shareParameters: \(type(of: source)) is not an Embedding") }
        weight = s.weight.sharedLeaf()
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

    /// A layer norm whose scale and shift are left unset, for a checkpoint load to fill.
    public init(uninitializedDimensions dimensions: Int, epsilon: Float = 1e-5) throws {
        weight = try Tensor.uninitialized([dimensions], requiresGrad: true)
        bias = try Tensor.uninitialized([dimensions], requiresGrad: true)
        self.epsilon = epsilon
    }

    public override func shareOwnParameters(of source: Module) throws {
        guard let s = source as? LayerNorm else { throw TensorError("shareParameters: \(type(of: source)) is not a LayerNorm") }
        weight = s.weight.sharedLeaf()
        bias = s.bias.sharedLeaf()
    }

    /// (…, C) → (…, C)
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try x.layerNorm(weight: weight, bias: bias, epsilon: epsilon)
    }
}
