// Every differentiable op against central finite differences (tolerance stated per test:
// relative error max(1, |numeric|)-scaled, Float32 ops, step 1e-2, L accumulated in Double).

import Testing
@testable import Autodiff

@Suite("Gradient checks") struct GradientTests {
    @Test("matmul: every transpose combination, folded leading dims, a single row (sgemv)")
    func matmul() throws {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = try randomTensor(ta ? [4, 3] : [3, 4], seed: 1)
            let b = try randomTensor(tb ? [5, 4] : [4, 5], seed: 2)
            try expectGradient([a, b]) { try a.matmul(b, transposeA: ta, transposeB: tb) }
        }
        let x = try randomTensor([2, 3, 4], seed: 3), w = try randomTensor([4, 2], seed: 4)
        try expectGradient([x, w]) { try x.matmul(w) }
        for tb in [false, true] {
            let row = try randomTensor([1, 6], seed: 5), m = try randomTensor(tb ? [3, 6] : [6, 3], seed: 6)
            try expectGradient([row, m]) { try row.matmul(m, transposeB: tb) }
        }
    }

    @Test("batched matmul with transposes")
    func batchedMatmul() throws {
        for (ta, tb) in [(false, false), (true, true), (false, true)] {
            let a = try randomTensor(ta ? [2, 4, 3] : [2, 3, 4], seed: 7)
            let b = try randomTensor(tb ? [2, 5, 4] : [2, 4, 5], seed: 8)
            try expectGradient([a, b]) { try a.matmul(b, transposeA: ta, transposeB: tb) }
        }
    }

    @Test("linear with and without bias")
    func linear() throws {
        let x = try randomTensor([2, 3, 4], seed: 9), w = try randomTensor([4, 6], seed: 10)
        let b = try randomTensor([6], seed: 11)
        try expectGradient([x, w, b]) { try x.linear(weight: w, bias: b) }
        try expectGradient([x, w]) { try x.linear(weight: w, bias: nil) }
    }

    @Test("linear + GELU fused, with and without bias, and its input used twice")
    func linearGELU() throws {
        let x = try randomTensor([2, 3, 4], seed: 40), w = try randomTensor([4, 5], seed: 41)
        let b = try randomTensor([5], seed: 42)
        try expectGradient([x, w, b]) { try x.linearGELU(weight: w, bias: b) }
        try expectGradient([x, w]) { try x.linearGELU(weight: w, bias: nil) }
        // 70 rows cross the bias sums' row blocks (32); 9 outputs leave a scalar tail after 8 lanes.
        let tall = try randomTensor([70, 3], seed: 43), w2 = try randomTensor([3, 9], seed: 44)
        let b2 = try randomTensor([9], seed: 45)
        try expectGradient([tall, w2, b2]) { try tall.linearGELU(weight: w2, bias: b2) + tall.linear(weight: w2, bias: b2) }
    }

    @Test("add, sub, mul, div: same shape and broadcasting edge cases",
          arguments: [([3, 4], [3, 4]), ([3, 4], [4]), ([3, 4], [3, 1]), ([2, 1, 4], [3, 1]),
                      ([1], [2, 3]), ([], [2, 3]), ([2, 3, 4], [1, 3, 1]), ([5, 1], [1, 5])])
    func binary(shapes: ([Int], [Int])) throws {
        let a = try randomTensor(shapes.0, seed: 12)
        let b = try randomTensor(shapes.1, seed: 13, scale: 0.3, shift: 2)  // away from 0 for div
        try expectGradient([a, b]) { try a + b }
        try expectGradient([a, b]) { try a - b }
        try expectGradient([a, b]) { try a * b }
        try expectGradient([a, b]) { try a / b }
        try expectGradient([a, b]) { try b / a.affine(scale: 0.1, shift: 3) }
    }

    @Test("scalar ops")
    func scalarOps() throws {
        let a = try randomTensor([3, 5], seed: 14)
        try expectGradient([a]) { (a * 3 + 1) - 2 }
        try expectGradient([a]) { (1 - a) / 4 }
        try expectGradient([a]) { -a }
    }

    @Test("sum and mean over axes")
    func reductions() throws {
        let a = try randomTensor([2, 3, 4], seed: 15)
        for axes in [[0], [1], [2], [0, 2], [1, 2], [0, 1, 2], [-1]] {
            try expectGradient([a]) { try a.sum(axes: axes) }
            try expectGradient([a]) { try a.mean(axes: axes, keepDimensions: true) }
        }
        try expectGradient([a]) { try a.sum() }
    }

    @Test("reshape, permute, transpose, slice, concatenate")
    func shapeOps() throws {
        let a = try randomTensor([2, 3, 4], seed: 16), b = try randomTensor([2, 2, 4], seed: 17)
        try expectGradient([a]) { try a.reshaped([4, -1]) * a.reshaped([4, 6]) }
        try expectGradient([a]) { try a.permuted([2, 0, 1]) }
        try expectGradient([a]) { try a.transposed(0, 2) }
        try expectGradient([a]) { try a.sliced(axis: 1, 1..<3) }
        try expectGradient([a]) { try a.sliced(axis: -1, 0..<2) }
        try expectGradient([a, b]) { try Tensor.concatenate([a, b, a], axis: 1) }
        try expectGradient([a]) { try Tensor.concatenate([a, a], axis: 2) }
    }

    @Test("exp, log, sqrt, tanh, relu, gelu, pow")
    func unary() throws {
        let a = try randomTensor([4, 5], seed: 18)
        let positive = try randomTensor([4, 5], seed: 19, scale: 0.2, shift: 1.5)
        try expectGradient([a]) { a.exp() }
        try expectGradient([positive]) { positive.log() }
        try expectGradient([positive]) { positive.sqrt() }
        try expectGradient([a]) { a.tanh() }
        try expectGradient([a]) { a.gelu() }
        try expectGradient([positive]) { positive.pow(2.5) }
        // relu: keep inputs away from the kink at 0 so finite differences are valid.
        let away = try Tensor(shape: [6], values: [-2, -0.5, -0.1, 0.1, 0.7, 3], requiresGrad: true)
        try expectGradient([away]) { away.relu() }
        // Lengths that are not a multiple of 8 exercise the scalar tails.
        let odd = try randomTensor([13], seed: 20)
        try expectGradient([odd]) { odd.gelu() }
        try expectGradient([odd]) { odd.tanh() }
    }

    @Test("softmax and log-softmax, including logits of ±1e4")
    func softmax() throws {
        let a = try randomTensor([3, 7], seed: 21, scale: 2)
        try expectGradient([a]) { try a.softmax() }
        try expectGradient([a]) { try a.logSoftmax() }
        let huge = try Tensor(shape: [2, 3], values: [1e4, -1e4, 9999, -1e4, 1e4, -9999.5], requiresGrad: true)
        try expectGradient([huge], step: 0.0625) { try huge.softmax() }
        try expectGradient([huge], step: 0.0625) { try huge.logSoftmax() }
    }

    @Test("layer norm (input, weight, bias)")
    func layerNorm() throws {
        let x = try randomTensor([2, 3, 8], seed: 22), w = try randomTensor([8], seed: 23, shift: 1)
        let b = try randomTensor([8], seed: 24)
        try expectGradient([x, w, b]) { try x.layerNorm(weight: w, bias: b) }
    }

    @Test("embedding lookup with repeated indices (scatter-add)")
    func embedding() throws {
        let table = try randomTensor([5, 3], seed: 25)
        let ids = try IndexTensor(shape: [2, 3], values: [0, 4, 4, 2, 0, 4])
        try expectGradient([table]) { try table.embedding(ids) }
    }

    @Test("causal self-attention from qkv")
    func attention() throws {
        let qkv = try randomTensor([2, 5, 12], seed: 26)  // C = 4, 2 heads of 2
        try expectGradient([qkv]) { try qkv.causalSelfAttention(heads: 2) }
        let one = try randomTensor([1, 1, 6], seed: 27)    // a single position
        try expectGradient([one]) { try one.causalSelfAttention(heads: 1) }
        // Tiles of 2 over T = 5: diagonal blocks, full blocks below them and a short last tile.
        let tiled = try randomTensor([2, 5, 12], seed: 28)
        try expectGradient([tiled]) { try tiled.causalSelfAttention(heads: 2, rowTile: 2) }
        // The default tile (32) crossed twice: T = 70.
        let long = try randomTensor([1, 70, 6], seed: 29)
        try expectGradient([long]) { try long.causalSelfAttention(heads: 1) }
    }

    @Test("causal self-attention under noGrad (per-thread tile scratch) equals the recorded forward")
    func attentionWithoutRecording() throws {
        // 2 × 3 = 6 (batch, head) pairs over the threads; tiles of 4 over T = 11 and the default tile at T = 70.
        for (shape, heads, tile) in [([2, 11, 18], 3, 4), ([2, 70, 12], 2, attentionRowTile)] {
            let qkv = try randomTensor(shape, seed: 30)
            let recorded = try qkv.causalSelfAttention(heads: heads, rowTile: tile)
            let plain = try noGrad { try qkv.causalSelfAttention(heads: heads, rowTile: tile) }
            #expect(recorded.requiresGrad && !plain.requiresGrad)
            #expect(recorded.toArray() == plain.toArray(), "\(shape)")
        }
    }

    @Test("dropout with a fixed seed")
    func dropout() throws {
        let a = try randomTensor([4, 6], seed: 28)
        try expectGradient([a]) { var rng = RNG(seed: 5); return try a.dropout(0.3, rng: &rng) }
    }

    @Test("cross-entropy with ignore index, at ordinary and ±1e4 logits")
    func crossEntropy() throws {
        let logits = try randomTensor([2, 3, 5], seed: 29, scale: 2)
        let targets = try IndexTensor(shape: [2, 3], values: [1, 4, -100, 0, 2, 2])
        try expectGradient([logits]) { try logits.crossEntropy(targets: targets) }
        let huge = try Tensor(shape: [2, 3], values: [1e4, -1e4, 9999, -1e4, 1e4, -9999.5], requiresGrad: true)
        try expectGradient([huge], step: 0.0625) { try huge.crossEntropy(targets: IndexTensor(shape: [2], values: [2, 0])) }
    }

    @Test("KL divergence at temperature, teacher as logits or probabilities", arguments: [1, 2, 4] as [Float])
    func klDivergence(temperature: Float) throws {
        let student = try randomTensor([3, 6], seed: 30, scale: 2)
        let teacherLogits = try randomTensor([3, 6], seed: 31, scale: 2)
        try expectGradient([student]) { try student.klDivergence(teacher: .logits(teacherLogits), temperature: temperature) }
        let probabilities = try noGrad { try teacherLogits.softmax() }
        try expectGradient([student]) {
            try student.klDivergence(teacher: .probabilities(probabilities), temperature: temperature)
        }
    }

    @Test("a composed graph: tensor used twice, through several ops")
    func composed() throws {
        let x = try randomTensor([3, 4], seed: 32), w = try randomTensor([4, 4], seed: 33)
        try expectGradient([x, w]) {
            let h = try x.matmul(w).gelu()
            return try (h * x + h).mean(axes: [1])
        }
    }

    /// Elementwise backward kernels store into a fresh gradient and add into an existing one:
    /// each op here sees its input's gradient both ways (the input has two consumers).
    @Test("fresh and accumulated gradients: gelu, layer norm, same-shape binary ops, cross-entropy")
    func freshAndAccumulated() throws {
        let x = try randomTensor([4, 8], seed: 34), y = try randomTensor([4, 8], seed: 35)
        let w = try randomTensor([8], seed: 36, shift: 1), b = try randomTensor([8], seed: 37)
        try expectGradient([x, y, w, b]) {
            let n = try x.layerNorm(weight: w, bias: b)
            return try (x.gelu() * y + n.gelu()) - x / (y * y + 1) + n
        }
        let logits = try randomTensor([2, 3, 5], seed: 38, scale: 2)
        let targets = try IndexTensor(shape: [2, 3], values: [1, 4, -100, 0, 2, 2])
        try expectGradient([logits]) {
            try logits.crossEntropy(targets: targets) + (logits * logits).mean(axes: [0, 1, 2])
        }
        try expectGradient([logits]) {  // the accumulating path first, then the fresh one
            try (logits * logits).mean(axes: [0, 1, 2]) + logits.crossEntropy(targets: targets)
        }
    }
}
