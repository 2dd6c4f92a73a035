// Optimizers update parameters in place from their gradients. AdamW is the training default
// (DESIGN.md §5): decoupled weight decay, bias correction, one decay rate per parameter group.

import Foundation

/// Parameters that share a weight-decay rate.
public struct ParameterGroup {
    public var parameters: [Tensor]
    public var weightDecay: Float
    public init(parameters: [Tensor], weightDecay: Float) {
        self.parameters = parameters
        self.weightDecay = weightDecay
    }
}

extension Module {
    /// Two groups derived from the module walk: matrices (rank ≥ 2) decay at `weightDecay`;
    /// vectors (biases, norm weights) do not.
    public func parameterGroups(weightDecay: Float) -> [ParameterGroup] {
        let all = parameters()
        return [ParameterGroup(parameters: all.filter { $0.rank >= 2 }, weightDecay: weightDecay),
                ParameterGroup(parameters: all.filter { $0.rank < 2 }, weightDecay: 0)]
    }
}

/// AdamW (Loshchilov & Hutter): m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
/// θ ← θ − lr·(λθ + m̂/(√v̂ + ε)) with m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ).
public final class AdamW {
    public var groups: [ParameterGroup]
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float
    /// Steps taken so far (t in the bias correction).
    public private(set) var stepCount: Int = 0
    /// First and second moments, one pair per parameter (flattened group order).
    public private(set) var firstMoments: [Tensor]
    public private(set) var secondMoments: [Tensor]

    public init(groups: [ParameterGroup], learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8) throws {
        self.groups = groups
        self.learningRate = learningRate
        self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon
        let all = groups.flatMap(\.parameters)
        firstMoments = try all.map { try Tensor.zeros($0.shape) }
        secondMoments = try all.map { try Tensor.zeros($0.shape) }
    }

    /// One update of every parameter that has a gradient.
    public func step() {
        stepCount += 1
        let correction1 = 1 - Foundation.pow(beta1, Float(stepCount))
        let correction2 = 1 - Foundation.pow(beta2, Float(stepCount))
        var index = 0
        for group in groups {
            for p in group.parameters {
                defer { index += 1 }
                guard let g = p.grad else { continue }
                let (m, v) = (firstMoments[index].data, secondMoments[index].data)
                let (w, gd) = (p.data, g.data)
                let (lr, decay, b1, b2, eps) = (learningRate, group.weightDecay, beta1, beta2, epsilon)
                for i in 0..<p.count {
                    m[i] = b1 * m[i] + (1 - b1) * gd[i]
                    v[i] = b2 * v[i] + (1 - b2) * gd[i] * gd[i]
                    let mHat = m[i] / correction1, vHat = v[i] / correction2
                    w[i] -= lr * (decay * w[i] + mHat / (vHat.squareRoot() + eps))
                }
            }
        }
    }

    /// Restores the step count and moments saved from an optimizer over the same parameters.
    public func restore(stepCount: Int, firstMoments: [[Float]], secondMoments: [[Float]]) throws {
        guard firstMoments.count == self.firstMoments.count, secondMoments.count == self.secondMoments.count else {
            throw TensorError("AdamW.restore: saved state has \(firstMoments.count) moments, the optimizer has \(self.firstMoments.count) parameters")
        }
        for (k, (m, v)) in zip(firstMoments, secondMoments).enumerated() {
            guard m.count == self.firstMoments[k].count, v.count == self.secondMoments[k].count else {
                throw TensorError("AdamW.restore: moment \(k) has \(m.count) values, parameter has \(self.firstMoments[k].count)")
            }
            self.firstMoments[k].data.update(from: m, count: m.count)
            self.secondMoments[k].data.update(from: v, count: v.count)
        }
        self.stepCount = stepCount
    }
}

/// Stochastic gradient descent with (heavy-ball) momentum and L2 weight decay:
/// b ← μb + (g + λθ), θ ← θ − lr·b.
public final class SGD {
    public var groups: [ParameterGroup]
    public var learningRate: Float
    public let momentum: Float
    private var buffers: [Tensor]

    public init(groups: [ParameterGroup], learningRate: Float, momentum: Float = 0) throws {
        self.groups = groups
        self.learningRate = learningRate
        self.momentum = momentum
        buffers = try groups.flatMap(\.parameters).map { try Tensor.zeros($0.shape) }
    }

    public func step() {
        var index = 0
        for group in groups {
            for p in group.parameters {
                defer { index += 1 }
                guard let g = p.grad else { continue }
                let (b, w, gd) = (buffers[index].data, p.data, g.data)
                for i in 0..<p.count {
                    b[i] = momentum * b[i] + gd[i] + group.weightDecay * w[i]
                    w[i] -= learningRate * b[i]
                }
            }
        }
    }
}

/// Scales all gradients so their global L2 norm is at most `maxNorm`; returns the norm before
/// clipping (as PyTorch's clip_grad_norm_).
@discardableResult
public func clipGradientNorm(_ parameters: [Tensor], maxNorm: Float) -> Float {
    var sumSquares: Double = 0
    for p in parameters {
        guard let g = p.grad else { continue }
        var s: Float = 0
        for i in 0..<g.count { s += g.data[i] * g.data[i] }
        sumSquares += Double(s)
    }
    let norm = Float(sumSquares.squareRoot())
    let scale = maxNorm / (norm + 1e-6)
    if scale < 1 {
        for p in parameters {
            guard let g = p.grad else { continue }
            for i in 0..<g.count { g.data[i] *= scale }
        }
    }
    return norm
}
