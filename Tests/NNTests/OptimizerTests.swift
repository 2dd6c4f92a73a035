import Foundation
import Testing
@testable import NN

@Suite("Optimizers and schedules") struct OptimizerTests {
    /// Two AdamW steps on w = [1, −2] with gradients [0.5, −1] then [0.1, 0.2]; lr 0.1, β = (0.9, 0.99),
    /// ε = 1e-8, decay 0.1. By hand: step 1 has m̂ = g, v̂ = g², so w ← w − lr·(λw + sign g) = [0.89, −1.88].
    /// Step 2 (first element): m = 0.9·0.05 + 0.1·0.1 = 0.055, m̂ = 0.055/0.19; v = 0.99·0.0025 + 0.01·0.01
    /// = 0.002575, v̂ = 0.002575/0.0199; w ← 0.89 − 0.1·(0.089 + m̂/√v̂) = 0.800627594.
    @Test("AdamW matches two hand-computed steps")
    func adamW() throws {
        let w = try Tensor(shape: [2], values: [1, -2], requiresGrad: true)
        let optimizer = try AdamW(groups: [ParameterGroup(parameters: [w], weightDecay: 0.1)],
                                  learningRate: 0.1, beta1: 0.9, beta2: 0.99, epsilon: 1e-8)
        w.grad = try Tensor(shape: [2], values: [0.5, -1])
        optimizer.step()
        #expect(maxDifference(w.toArray(), [0.890000002, -1.880000001]) < 1e-6, "\(w.toArray())")
        w.grad = try Tensor(shape: [2], values: [0.1, 0.2])
        optimizer.step()
        #expect(maxDifference(w.toArray(), [0.8006275938060011, -1.8099902859856516]) < 1e-6, "\(w.toArray())")
        #expect(optimizer.stepCount == 2)
    }

    @Test("AdamW leaves a parameter without a gradient untouched, and a group without decay undecayed")
    func adamWSkips() throws {
        let a = try Tensor(shape: [1], values: [3], requiresGrad: true)
        let b = try Tensor(shape: [1], values: [3], requiresGrad: true)
        let optimizer = try AdamW(groups: [ParameterGroup(parameters: [a], weightDecay: 0.5),
                                           ParameterGroup(parameters: [b], weightDecay: 0)], learningRate: 0.1)
        b.grad = try Tensor(shape: [1], values: [0])
        optimizer.step()
        #expect(a.toArray() == [3])
        #expect(b.toArray() == [3])  // zero gradient, no decay: unchanged
    }

    /// The vectorised, threaded step against the scalar formula, element for element (exact:
    /// the same float operations in the same order), over sizes that put vector bodies, scalar
    /// tails and the threads' split points in the middle of tensors.
    @Test("AdamW over many parameters equals the scalar formula exactly")
    func adamWVectorised() throws {
        var rng = RNG(seed: 11)
        let sizes = [37, 8, 40_001, 1, 70_003]
        let parameters = try sizes.map { n in
            try Tensor(shape: [n], values: (0..<n).map { _ in Float(rng.nextNormal()) }, requiresGrad: true)
        }
        let initial = parameters.map { $0.toArray() }
        let groups = [ParameterGroup(parameters: Array(parameters[0..<3]), weightDecay: 0.1),
                      ParameterGroup(parameters: Array(parameters[3...]), weightDecay: 0)]
        let optimizer = try AdamW(groups: groups, learningRate: 1e-2, beta1: 0.9, beta2: 0.99, epsilon: 1e-8)
        var gradients: [[[Float]]] = []
        for _ in 0..<3 {
            let step = sizes.map { n in (0..<n).map { _ in Float(rng.nextNormal()) } }
            gradients.append(step)
            for (p, g) in zip(parameters, step) { p.grad = try Tensor(shape: p.shape, values: g) }
            optimizer.step()
        }
        for (k, n) in sizes.enumerated() {
            let decay: Float = k < 3 ? 0.1 : 0
            var w = initial[k], m = [Float](repeating: 0, count: n), v = m
            for (t, step) in gradients.enumerated() {
                let c1 = 1 - Foundation.pow(Float(0.9), Float(t + 1)), c2 = 1 - Foundation.pow(Float(0.99), Float(t + 1))
                let g = step[k]
                for i in 0..<n {
                    m[i] = 0.9 * m[i] + (1 - 0.9) * g[i]
                    v[i] = 0.99 * v[i] + (1 - 0.99) * g[i] * g[i]
                    let mHat = m[i] / c1, vHat = v[i] / c2
                    w[i] -= 1e-2 * (decay * w[i] + mHat / (vHat.squareRoot() + 1e-8))
                }
            }
            #expect(parameters[k].toArray() == w, "parameter \(k) (\(n) elements)")
        }
    }

    @Test("clipping: the norm of many gradients against a Double sum")
    func clippingNorm() throws {
        var rng = RNG(seed: 12)
        let parameters = try [1_000, 33, 100_000].map { n in
            let t = try Tensor.zeros([n], requiresGrad: true)
            t.grad = try Tensor(shape: [n], values: (0..<n).map { _ in Float(rng.nextNormal()) })
            return t
        }
        let exact = parameters.flatMap { $0.grad!.toArray() }.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        let norm = clipGradientNorm(parameters, maxNorm: 1e9)
        #expect(abs(Double(norm) - exact) / exact < 1e-5, "\(norm) vs \(exact)")
    }

    @Test("SGD with momentum: two steps by hand")
    func sgd() throws {
        let w = try Tensor(shape: [1], values: [1], requiresGrad: true)
        let optimizer = try SGD(groups: [ParameterGroup(parameters: [w], weightDecay: 0)], learningRate: 0.1, momentum: 0.9)
        w.grad = try Tensor(shape: [1], values: [2])
        optimizer.step()  // b = 2, w = 1 − 0.2 = 0.8
        #expect(abs(w.toArray()[0] - 0.8) < 1e-6)
        optimizer.step()  // b = 0.9·2 + 2 = 3.8, w = 0.8 − 0.38 = 0.42
        #expect(abs(w.toArray()[0] - 0.42) < 1e-6)
    }

    @Test("global-norm clipping scales all gradients together and reports the norm")
    func clipping() throws {
        let a = try Tensor(shape: [2], values: [0, 0], requiresGrad: true)
        let b = try Tensor(shape: [1], values: [0], requiresGrad: true)
        a.grad = try Tensor(shape: [2], values: [3, 0])
        b.grad = try Tensor(shape: [1], values: [4])
        let norm = clipGradientNorm([a, b], maxNorm: 1)
        #expect(abs(norm - 5) < 1e-6)
        #expect(maxDifference(a.grad!.toArray() + b.grad!.toArray(), [0.6, 0, 0.8]) < 1e-5)
        let small = clipGradientNorm([a, b], maxNorm: 10)   // already within: unchanged
        #expect(abs(small - 1) < 1e-4 && abs(b.grad!.toArray()[0] - 0.8) < 1e-5)
    }

    @Test("warmup + cosine: the reference's values at its landmarks")
    func schedule() {
        func lr(_ s: Int) -> Float {
            warmupCosineLearningRate(step: s, warmupSteps: 100, totalSteps: 1500, maximum: 1e-3, minimum: 1e-4)
        }
        #expect(abs(lr(0) - 1e-5) < 1e-9)
        #expect(abs(lr(99) - 1e-3) < 1e-9)
        #expect(abs(lr(100) - 1e-3) < 1e-9)
        #expect(abs(lr(800) - 5.5e-4) < 1e-8)   // halfway through the cosine
        #expect(abs(lr(1500) - 1e-4) < 1e-9)
        #expect(lr(400) > lr(401))
    }

    @Test("an MLP fits a small regression task: the loss falls by 100×")
    func training() throws {
        var rng = RNG(seed: 9)
        let l1 = try Linear(inFeatures: 2, outFeatures: 16, std: 0.5, rng: &rng)
        let l2 = try Linear(inFeatures: 16, outFeatures: 1, std: 0.5, rng: &rng)
        let xs = (0..<64).map { _ in [Float(rng.nextNormal()), Float(rng.nextNormal())] }
        let x = try Tensor(shape: [64, 2], values: xs.flatMap { $0 })
        let y = try Tensor(shape: [64, 1], values: xs.map { $0[0] * $0[1] + 0.5 * $0[0] })
        let optimizer = try AdamW(groups: [ParameterGroup(parameters: l1.parameters() + l2.parameters(), weightDecay: 0)],
                                  learningRate: 0.02)
        var losses: [Float] = []
        for _ in 0..<400 {
            let prediction = try l2(l1(x).tanh())
            let loss = try ((prediction - y) * (prediction - y)).mean()
            losses.append(try loss.item())
            (l1.parameters() + l2.parameters()).forEach { $0.zeroGrad() }
            try loss.backward()
            optimizer.step()
        }
        #expect(losses.last! < losses.first! / 100, "loss \(losses.first!) → \(losses.last!)")
    }
}

func maxDifference(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? .infinity }
