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

    /// One update of every parameter that has a gradient: one pass over all of them, split
    /// evenly across the threads (every element is independent, so the result does not depend
    /// on the split), 8 lanes at a time.
    public func step() {
        stepCount += 1
        let correction1 = 1 - Foundation.pow(beta1, Float(stepCount))
        let correction2 = 1 - Foundation.pow(beta2, Float(stepCount))
        var spans: [AdamWSpan] = []
        var index = 0
        for group in groups {
            for p in group.parameters {
                defer { index += 1 }
                guard let g = p.grad else { continue }
                spans.append(AdamWSpan(weight: p.data, gradient: g.data, first: firstMoments[index].data,
                                       second: secondMoments[index].data, count: p.count, decay: group.weightDecay))
            }
        }
        let constants = AdamWConstants(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                                       correction1: correction1, correction2: correction2)
        forEachSpanPiece(spans, minimumPerThread: 1 << 15) { span, range in
            adamWUpdate(span, range, constants)
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
/// clipping (as PyTorch's clip_grad_norm_). Each tensor's sum of squares is taken 8 lanes at a
/// time on one thread, in a fixed order, so the norm does not depend on the thread count.
@discardableResult
public func clipGradientNorm(_ parameters: [Tensor], maxNorm: Float) -> Float {
    var sumSquares: Double = 0
    for p in parameters {
        guard let g = p.grad else { continue }
        sumSquares += Double(sumOfSquares(g.data, g.count))
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

/// Σ x[i]² with four 8-lane accumulators (a plain Float loop cannot be vectorised).
private func sumOfSquares(_ x: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
    typealias V = SIMD8<Float>
    var a0 = V.zero, a1 = V.zero, a2 = V.zero, a3 = V.zero
    let raw = UnsafeRawPointer(x)
    var i = 0
    while i + 32 <= n {
        let v0 = raw.loadUnaligned(fromByteOffset: 4 * i, as: V.self)
        let v1 = raw.loadUnaligned(fromByteOffset: 4 * (i + 8), as: V.self)
        let v2 = raw.loadUnaligned(fromByteOffset: 4 * (i + 16), as: V.self)
        let v3 = raw.loadUnaligned(fromByteOffset: 4 * (i + 24), as: V.self)
        a0 += v0 * v0; a1 += v1 * v1; a2 += v2 * v2; a3 += v3 * v3
        i += 32
    }
    var s = ((a0 + a1) + (a2 + a3)).sum()
    while i < n { s += x[i] * x[i]; i += 1 }
    return s
}

// AdamW's kernel: the same float operations, in the same order, as the scalar formula in the
// class comment, so vector lanes and the scalar tail give identical values.

struct AdamWSpan: @unchecked Sendable {
    let weight: UnsafeMutablePointer<Float>, gradient: UnsafeMutablePointer<Float>
    let first: UnsafeMutablePointer<Float>, second: UnsafeMutablePointer<Float>
    let count: Int
    let decay: Float
}

struct AdamWConstants {
    let learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, correction1: Float, correction2: Float
}

@inline(__always)
private func adamWUpdate(_ s: AdamWSpan, _ range: Range<Int>, _ k: AdamWConstants) {
    typealias V = SIMD8<Float>
    let (lr, decay, b1, b2, eps) = (k.learningRate, s.decay, k.beta1, k.beta2, k.epsilon)
    let (c1, c2) = (k.correction1, k.correction2)
    let (m, v, w, g) = (s.first, s.second, s.weight, s.gradient)
    @inline(__always) func load(_ p: UnsafeMutablePointer<Float>, _ i: Int) -> V {
        UnsafeRawPointer(p + i).loadUnaligned(as: V.self)
    }
    @inline(__always) func store(_ x: V, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: x, as: V.self)
    }
    var i = range.lowerBound
    while i + 8 <= range.upperBound {
        let gv = load(g, i)
        let mv = V(repeating: b1) * load(m, i) + V(repeating: 1 - b1) * gv
        let vv = V(repeating: b2) * load(v, i) + V(repeating: 1 - b2) * gv * gv
        store(mv, m, i)
        store(vv, v, i)
        let mHat = mv / V(repeating: c1), vHat = vv / V(repeating: c2)
        let wv = load(w, i)
        store(wv - V(repeating: lr) * (V(repeating: decay) * wv + mHat / (vHat.squareRoot() + V(repeating: eps))), w, i)
        i += 8
    }
    while i < range.upperBound {
        m[i] = b1 * m[i] + (1 - b1) * g[i]
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
        let mHat = m[i] / c1, vHat = v[i] / c2
        w[i] -= lr * (decay * w[i] + mHat / (vHat.squareRoot() + eps))
        i += 1
    }
}

/// Runs `body(span, range)` over the pieces of `spans` that fall into each thread's share of
/// their total length (contiguous shares, split at the same places for the same spans).
private func forEachSpanPiece(_ spans: [AdamWSpan], minimumPerThread: Int,
                              _ body: @escaping (AdamWSpan, Range<Int>) -> Void) {
    var starts: [Int] = []
    var total = 0
    for s in spans { starts.append(total); total += s.count }
    let chunks = max(1, min(Threads.count, total / max(1, minimumPerThread)))
    spans.withUnsafeBufferPointer { spanBuffer in
        starts.withUnsafeBufferPointer { startBuffer in
            let (sp, st) = (Unchecked(spanBuffer), Unchecked(startBuffer))
            parallelForRanges(chunks, minimumPerThread: 1) { _, chunkRange in
                for chunk in chunkRange {
                    // Elements [lower, upper) of the concatenation; chunk edges aligned to 8.
                    let lower = chunk == 0 ? 0 : (total * chunk / chunks) / 8 * 8
                    let upper = chunk == chunks - 1 ? total : (total * (chunk + 1) / chunks) / 8 * 8
                    for (k, span) in sp.value.enumerated() {
                        let start = st.value[k]
                        let a = max(lower, start), b = min(upper, start + span.count)
                        if a < b { body(span, (a - start)..<(b - start)) }
                    }
                }
            }
        }
    }
}

/// A value handed to worker threads as-is (buffers whose ranges the workers split).
struct Unchecked<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
