// The stand-in for `make demo` until the teacher pipeline lands: a two-layer MLP learns to
// separate two interleaved spirals, with the autodiff core, cross-entropy and AdamW.

import Foundation
import NN

public struct SpiralsDemo {
    public var steps: Int
    public var seed: UInt64
    public init(steps: Int = 600, seed: UInt64 = 1) {
        self.steps = steps
        self.seed = seed
    }

    public struct Report: Sendable {
        public var losses: [Float]
        public var accuracy: Float
    }

    /// Trains and reports the loss every `every` steps through `log`.
    public func run(every: Int = 50, log: (String) -> Void) throws -> Report {
        var rng = RNG(seed: seed)
        // 512 points: two spirals of 256, with a little noise.
        var points: [Float] = [], labels: [Int32] = []
        for label in 0..<2 {
            for i in 0..<256 {
                let r = Double(i) / 256 * 4, angle = Double(i) / 256 * 3 * Double.pi + Double(label) * Double.pi
                points += [Float(r * cos(angle) + 0.05 * rng.nextNormal()), Float(r * sin(angle) + 0.05 * rng.nextNormal())]
                labels.append(Int32(label))
            }
        }
        let x = try Tensor(shape: [512, 2], values: points)
        let y = try IndexTensor(shape: [512], values: labels)
        let hidden = try Linear(inFeatures: 2, outFeatures: 64, std: 1, rng: &rng)
        let output = try Linear(inFeatures: 64, outFeatures: 2, std: 0.1, rng: &rng)
        let parameters = hidden.parameters() + output.parameters()
        let optimizer = try AdamW(groups: [ParameterGroup(parameters: parameters, weightDecay: 0)], learningRate: 0.02)
        var losses: [Float] = []
        for step in 0...steps {
            let logits = try output(hidden(x).tanh())
            let loss = try logits.crossEntropy(targets: y)
            losses.append(try loss.item())
            if step % every == 0 { log(String(format: "step %4d  loss %.4f", step, losses.last!)) }
            if step == steps { break }
            parameters.forEach { $0.zeroGrad() }
            try loss.backward()
            clipGradientNorm(parameters, maxNorm: 1)
            optimizer.learningRate = warmupCosineLearningRate(step: step, warmupSteps: 20, totalSteps: steps,
                                                              maximum: 0.02, minimum: 0.002)
            optimizer.step()
        }
        let logits = try noGrad { try output(hidden(x).tanh()) }
        var correct = 0
        for i in 0..<512 where (logits.data[2 * i + 1] > logits.data[2 * i]) == (labels[i] == 1) { correct += 1 }
        return Report(losses: losses, accuracy: Float(correct) / 512)
    }
}
