// Forward values against oracles (naive loops in Double, libm, hand-computed cases), with the
// tolerance stated and the largest difference reported.

import Foundation
import Testing
@testable import Autodiff

@Suite("Forward values") struct ForwardTests {
    @Test("matmul equals the naive triple loop for every transpose, including M = 1 (sgemv) and k = 0")
    func matmulOracle() throws {
        for (m, k, n) in [(7, 5, 3), (1, 9, 4), (1, 1, 1), (33, 17, 65)] {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = try randomTensor(ta ? [k, m] : [m, k], seed: 1), b = try randomTensor(tb ? [n, k] : [k, n], seed: 2)
                let c = try a.matmul(b, transposeA: ta, transposeB: tb)
                let oracle = naiveMatmul(a.toArray(), b.toArray(), m: m, k: k, n: n, transposeA: ta, transposeB: tb)
                #expect(c.shape == [m, n])
                #expect(maxAbsDifference(c.toArray(), oracle) < 1e-4, "m \(m) k \(k) n \(n) ta \(ta) tb \(tb)")
            }
        }
        let empty = try Tensor.zeros([2, 0]).matmul(try Tensor.zeros([0, 3]))
        #expect(empty.toArray() == [0, 0, 0, 0, 0, 0])
    }

    @Test("linear equals matmul plus bias")
    func linear() throws {
        let x = try randomTensor([3, 4, 5], seed: 3), w = try randomTensor([5, 6], seed: 4), b = try randomTensor([6], seed: 5)
        let fused = try x.linear(weight: w, bias: b)
        let composed = try x.matmul(w) + b
        #expect(fused.shape == [3, 4, 6])
        #expect(maxAbsDifference(fused.toArray(), composed.toArray()) < 1e-5)
    }

    /// Large enough to be split into row bands, column bands, or to use OpenBLAS's threads: each
    /// thread copies the bias into its own part of the output before its product.
    @Test("linear's bias on every threading path", arguments: [(512, 64, 80), (64, 16, 4096), (2048, 256, 2048)])
    func linearBands(size: (rows: Int, inFeatures: Int, outFeatures: Int)) throws {
        let x = try randomTensor([size.rows, size.inFeatures], seed: 6)
        let w = try randomTensor([size.inFeatures, size.outFeatures], seed: 7), b = try randomTensor([size.outFeatures], seed: 8)
        let fused = try x.linear(weight: w, bias: b).toArray()
        let composed = try (x.matmul(w) + b).toArray()
        #expect(maxAbsDifference(fused, composed) < 1e-4)
    }

    @Test("linear + GELU fused equals linear then gelu")
    func linearGELU() throws {
        let x = try randomTensor([3, 70, 16], seed: 46), w = try randomTensor([16, 36], seed: 47)
        let b = try randomTensor([36], seed: 48)
        let fused = try x.linearGELU(weight: w, bias: b).toArray()
        let composed = try x.linear(weight: w, bias: b).gelu().toArray()
        #expect(maxAbsDifference(fused, composed) < 1e-5)
        let noBias = try x.linearGELU(weight: w, bias: nil).toArray()
        #expect(maxAbsDifference(noBias, try x.matmul(w).gelu().toArray()) < 1e-5)
        #expect(throws: TensorError.self) { try x.linearGELU(weight: w, bias: try Tensor.zeros([35])) }
    }

    @Test("causal tiles: every tile height gives the untiled attention", arguments: [1, 3, 4, 7])
    func attentionTiles(rowTile: Int) throws {
        let (b, t, heads, d) = (2, 11, 2, 3)   // T not a multiple of the tile: a short last tile
        let qkv = try randomTensor([b, t, 3 * heads * d], seed: 8)
        let untiled = try qkv.causalSelfAttention(heads: heads, rowTile: t).toArray()
        let tiled = try qkv.causalSelfAttention(heads: heads, rowTile: rowTile).toArray()
        #expect(maxAbsDifference(untiled, tiled) < 1e-6)
    }

    @Test("attention without a backward (a tile of probabilities per thread) gives the recorded forward, bit for bit",
          arguments: [1, 3, 7, 32])
    func attentionWithoutRecording(rowTile: Int) throws {
        let (b, t, heads, d) = (3, 37, 2, 4)   // 6 head-batches over the threads; a short last tile
        let qkv = try randomTensor([b, t, 3 * heads * d], seed: 9)
        qkv.requiresGrad = true
        let recorded = try qkv.causalSelfAttention(heads: heads, rowTile: rowTile)
        #expect(recorded.requiresGrad)
        let unrecorded = try noGrad { try qkv.causalSelfAttention(heads: heads, rowTile: rowTile) }
        #expect(!unrecorded.requiresGrad)
        #expect(unrecorded.toArray().map(\.bitPattern) == recorded.toArray().map(\.bitPattern))
    }

    @Test("broadcasting follows NumPy: shapes and values")
    func broadcasting() throws {
        let a = try Tensor(shape: [2, 1, 3], values: [1, 2, 3, 4, 5, 6])
        let b = try Tensor(shape: [2, 1], values: [10, 20])
        let c = try a + b
        #expect(c.shape == [2, 2, 3])
        #expect(c.toArray() == [11, 12, 13, 21, 22, 23, 14, 15, 16, 24, 25, 26])
        #expect(try (Tensor(scalar: 2) * a).toArray() == [2, 4, 6, 8, 10, 12])
    }

    @Test("exp, tanh and GELU match libm to within a few ulp over a wide range")
    func transcendental() throws {
        let values: [Float] = stride(from: -20, through: 20, by: 0.0371).map { Float($0) } + [0, 1e-7, -1e-7, 80, -80, 88, -100]
        let x = try Tensor(shape: [values.count], values: values)
        let e = x.exp().toArray(), t = x.tanh().toArray(), g = x.gelu().toArray()
        var worstExp: Float = 0, worstTanh: Float = 0, worstGelu: Float = 0
        for (i, v) in values.enumerated() {
            let exact = Foundation.exp(Double(v))
            if exact > 1e-37 && exact < 1e38 { worstExp = max(worstExp, Float(abs(Double(e[i]) - exact) / exact)) }
            worstTanh = max(worstTanh, abs(t[i] - Float(Foundation.tanh(Double(v)))))
            let dv = Double(v)
            let gelu = 0.5 * dv * (1 + Foundation.tanh(0.7978845608028654 * (dv + 0.044715 * dv * dv * dv)))
            worstGelu = max(worstGelu, Float(abs(Double(g[i]) - gelu) / max(1, abs(gelu))))
        }
        #expect(worstExp < 5e-7, "exp relative error \(worstExp)")
        #expect(worstTanh < 5e-7, "tanh absolute error \(worstTanh)")
        #expect(worstGelu < 1e-6, "gelu error \(worstGelu)")
    }

    @Test("softmax, log-softmax and cross-entropy stay exact at logits of ±1e4")
    func stableAtLargeLogits() throws {
        let x = try Tensor(shape: [2, 3], values: [1e4, -1e4, 1e4 - 1, -1e4, 1e4, -1e4])
        let p = try x.softmax().toArray()
        let e1 = Float(1 / (1 + Foundation.exp(-1.0)))
        #expect(maxAbsDifference(p, [e1, 0, 1 - e1, 0, 1, 0]) < 1e-6, "\(p)")
        let lp = try x.logSoftmax().toArray()
        #expect(abs(lp[0] - Foundation.log(e1)) < 1e-4 && lp[1] < -1.9e4 && abs(lp[4]) < 1e-6, "\(lp)")
        let ce = try x.crossEntropy(targets: IndexTensor(shape: [2], values: [0, 2])).item()
        // row 0: −log σ(1) = 0.31326; row 1: 2e4 exactly
        #expect(abs(ce - Float((0.31326168751822286 + 2e4) / 2)) < 1e-2, "\(ce)")
        #expect(p.allSatisfy { $0.isFinite } && lp.allSatisfy { $0.isFinite })
    }

    @Test("cross-entropy ignores the ignore index and averages over the rest")
    func crossEntropyIgnore() throws {
        let x = try Tensor(shape: [3, 2], values: [0, 0, 5, -5, 1, 2])
        let ce = try x.crossEntropy(targets: IndexTensor(shape: [3], values: [0, -100, 1])).item()
        let expected = (Foundation.log(2.0) + Foundation.log(1 + Foundation.exp(-1.0))) / 2
        #expect(abs(Double(ce) - expected) < 1e-6)
        let none = try x.crossEntropy(targets: IndexTensor(shape: [3], values: [-100, -100, -100])).item()
        #expect(none == 0)
    }

    /// Hand-computed: teacher logits [0, ln 3] → p = [1/4, 3/4] at T = 1; student logits [0, 0] → q = [1/2, 1/2].
    /// KL = 1/4·ln(1/2) + 3/4·ln(3/2) = 0.130812. At T = 2: p ∝ [1, √3], q uniform.
    @Test("KL at temperature equals a hand-computed value")
    func klHandComputed() throws {
        let student = try Tensor(shape: [1, 2], values: [0, 0])
        let teacher = try Tensor(shape: [1, 2], values: [0, Float(Foundation.log(3.0))])
        let kl1 = try student.klDivergence(teacher: .logits(teacher), temperature: 1).item()
        #expect(abs(Double(kl1) - (0.25 * Foundation.log(0.5) + 0.75 * Foundation.log(1.5))) < 1e-6, "\(kl1)")
        let s3 = 3.0.squareRoot(), p0 = 1 / (1 + s3), p1 = s3 / (1 + s3)
        let kl2 = try student.klDivergence(teacher: .logits(teacher), temperature: 2).item()
        #expect(abs(Double(kl2) - (p0 * Foundation.log(p0 / 0.5) + p1 * Foundation.log(p1 / 0.5))) < 1e-6, "\(kl2)")
        let fromProbabilities = try student.klDivergence(teacher: .probabilities(Tensor(shape: [1, 2], values: [0.25, 0.75])),
                                                         temperature: 2).item()
        #expect(abs(fromProbabilities - kl2) < 1e-6)
        #expect(try teacher.klDivergence(teacher: .logits(teacher), temperature: 3).item() < 1e-7)
    }

    @Test("layer norm: zero mean, unit variance, then scale and shift")
    func layerNorm() throws {
        let x = try randomTensor([4, 16], seed: 6, scale: 3, shift: 5)
        let w = try Tensor.full([16], 2), b = try Tensor.full([16], 1)
        let y = try x.layerNorm(weight: w, bias: b).toArray()
        for row in 0..<4 {
            let r = y[(row * 16)..<(row * 16 + 16)].map { ($0 - 1) / 2 }
            let mean = r.reduce(0, +) / 16, variance = r.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 16
            #expect(abs(mean) < 1e-5 && abs(variance - 1) < 1e-3, "row \(row): mean \(mean) var \(variance)")
        }
    }

    /// T = 45 crosses the causal tiles and puts rows of every length modulo 8 through the
    /// 8-lane blocks (masked last block) of the softmax.
    @Test("fused attention equals attention composed from primitive ops", arguments: [6, 45])
    func attention(t: Int) throws {
        let (b, heads, d) = (2, 2, 4)
        let c = heads * d
        let qkv = try randomTensor([b, t, 3 * c], seed: 7)
        let fused = try qkv.causalSelfAttention(heads: heads)
        func split(_ part: Int) throws -> Tensor {  // (B, H, T, D)
            try qkv.sliced(axis: 2, (part * c)..<((part + 1) * c)).reshaped([b, t, heads, d]).permuted([0, 2, 1, 3])
        }
        let (q, k, v) = (try split(0), try split(1), try split(2))
        var maskValues = [Float](repeating: 0, count: t * t)
        for i in 0..<t { for j in (i + 1)..<max(i + 1, t) { maskValues[i * t + j] = -1e9 } }
        let mask = try Tensor(shape: [t, t], values: maskValues)
        let scores = try q.matmul(k, transposeB: true) * (1 / Float(d).squareRoot()) + mask
        let composed = try scores.softmax().matmul(v).permuted([0, 2, 1, 3]).reshaped([b, t, c])
        #expect(maxAbsDifference(fused.toArray(), composed.toArray()) < 1e-5)
    }

    @Test("embedding gathers rows")
    func embedding() throws {
        let table = try Tensor(shape: [3, 2], values: [0, 1, 10, 11, 20, 21])
        let out = try table.embedding(IndexTensor(shape: [2, 2], values: [2, 0, 1, 2]))
        #expect(out.shape == [2, 2, 2] && out.toArray() == [20, 21, 0, 1, 10, 11, 20, 21])
    }

    @Test("dropout: seeded, scaled, keeps about 1 − p, identity at p = 0")
    func dropout() throws {
        let x = try Tensor.full([10_000], 1)
        var r1 = RNG(seed: 3), r2 = RNG(seed: 3)
        let a = try x.dropout(0.25, rng: &r1).toArray(), b = try x.dropout(0.25, rng: &r2).toArray()
        #expect(a == b)
        let kept = a.filter { $0 != 0 }
        #expect(kept.allSatisfy { abs($0 - 4.0 / 3) < 1e-6 })
        #expect(abs(Double(kept.count) / 10_000 - 0.75) < 0.02)
        var r3 = RNG(seed: 3)
        #expect(try x.dropout(0, rng: &r3) === x)
    }

    @Test("sum and mean over axes; concatenate and slice invert each other")
    func reductionsAndShapes() throws {
        let a = try Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        #expect(try a.sum(axes: [0]).toArray() == [5, 7, 9])
        #expect(try a.sum(axes: [1], keepDimensions: true).shape == [2, 1])
        #expect(try a.mean().item() == 3.5)
        #expect(try a.transposed(0, 1).toArray() == [1, 4, 2, 5, 3, 6])
        let joined = try Tensor.concatenate([a, a.sliced(axis: 1, 1..<3)], axis: 1)
        #expect(joined.shape == [2, 5] && joined.toArray() == [1, 2, 3, 2, 3, 4, 5, 6, 5, 6])
        #expect(try joined.sliced(axis: 1, 0..<3).toArray() == a.toArray())
        let big = try Tensor.full([300_000], 0.5)  // the threaded whole-tensor path
        #expect(try big.sum().item() == 150_000)
    }
}
