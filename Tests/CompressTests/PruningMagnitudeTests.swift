import Testing
import Models
@testable import Compress

@Suite("Pruning: prunable tensors, magnitude, N:M") struct PruningMagnitudeTests {
    @Test("prunable tensors come from the module walk: attention and MLP matrices by default")
    func prunable() throws {
        let model = try PruningFixtures.model()
        let names = PrunableTensors.select(in: model).map(\.name)
        #expect(names.count == 2 * 4)
        #expect(names.first == "transformer.h.0.attn.c_attn.weight")
        #expect(names.allSatisfy { ($0.contains(".attn.") || $0.contains(".mlp.")) && $0.hasSuffix(".weight") })
        let all = PrunableTensors.select(in: model, options: .init(includeEmbeddings: true, includeNorms: true)).map(\.name)
        #expect(all.contains("transformer.wte.weight") && all.contains("transformer.wpe.weight"))
        #expect(all.contains("transformer.ln_f.weight") && all.contains("transformer.h.1.ln_2.weight"))
        #expect(!all.contains { $0.hasSuffix(".bias") })
        #expect(all.count == 8 + 2 + 5)
    }

    @Test("layer scope: every tensor pruned to exactly round(s·n); the smallest magnitudes go")
    func layerScope() throws {
        let model = try PruningFixtures.model()
        let set = try MagnitudePruning.prune(model, sparsity: 0.7, scope: .layer)
        for ((name, t), mask) in zip(set.tensors, set.masks) {
            let expected = Int((0.7 * Double(t.count)).rounded())
            #expect(mask.prunedCount == expected, "\(name)")
            #expect(PruningFixtures.zeros(t) == expected, "\(name)")
        }
        #expect(abs(set.sparsity - 0.7) < 0.01)
    }

    @Test("the kept weights are the largest: kept |w| ≥ pruned |w|, ties by index")
    func largestKept() throws {
        let t = try Tensor(shape: [2, 4], values: [0.5, -0.1, 0.3, -0.3, 0.1, 0.9, -0.05, 0.3])
        let masks = try MagnitudePruning.masks(for: [("w", t)], sparsity: 0.5, scope: .layer)
        // |w| sorted: 0.05(6) 0.1(1) 0.1(4) 0.3(2) 0.3(3) 0.3(7) 0.5 0.9: prune 4 = 6, 1, 4, then 2 (first 0.3).
        #expect(masks[0].kept == [1, 0, 0, 1, 0, 1, 0, 1])
        #expect(t.data[1] == -0.1)  // masks(for:) does not touch the weights
    }

    @Test("global scope: one threshold, the total reaches the target exactly, tensors differ")
    func globalScope() throws {
        let model = try PruningFixtures.model()
        // Make one tensor large in magnitude so a global threshold spares it.
        let big = PrunableTensors.select(in: model)[1].tensor
        for i in 0..<big.count { big.data[i] *= 100 }
        let before = PrunableTensors.select(in: model).map { $0.tensor.toArray() }
        let set = try MagnitudePruning.prune(model, sparsity: 0.6, scope: .global)
        let total = set.masks.reduce(0) { $0 + $1.count }
        #expect(set.masks.reduce(0) { $0 + $1.prunedCount } == Int((0.6 * Double(total)).rounded()))
        #expect(set.masks[1].sparsity < 0.05 && set.masks.map(\.sparsity).max()! > 0.6)
        // One threshold: the largest pruned |w| ≤ the smallest kept |w| across all tensors.
        var maxPruned: Float = 0, minKept: Float = .infinity
        for (values, mask) in zip(before, set.masks) {
            for i in values.indices {
                if mask[i] { minKept = min(minKept, abs(values[i])) } else { maxPruned = max(maxPruned, abs(values[i])) }
            }
        }
        #expect(maxPruned <= minKept)
    }

    @Test("sparsity outside [0, 1) is an error naming the value", arguments: [1.0, -0.1, 1.5])
    func badSparsity(_ s: Double) throws {
        let model = try PruningFixtures.model()
        let error = #expect(throws: CompressionError.self) { try MagnitudePruning.prune(model, sparsity: s, scope: .layer) }
        #expect(error?.message.contains("\(s)") == true)
        #expect(PrunableTensors.sparsity(of: PrunableTensors.select(in: model).map(\.tensor)) == 0)
    }

    @Test("sparsity 0 keeps everything")
    func zeroSparsity() throws {
        let model = try PruningFixtures.model()
        let set = try MagnitudePruning.prune(model, sparsity: 0, scope: .global)
        #expect(set.sparsity == 0)
    }

    @Test("2:4 keeps exactly the 2 largest of every 4 consecutive inputs in each column")
    func twoFour() throws {
        let model = try PruningFixtures.model()
        let before = PrunableTensors.select(in: model).map { $0.tensor.toArray() }
        let set = try SemiStructuredPruning.prune(model)
        for ((name, t), (mask, values)) in zip(set.tensors, zip(set.masks, before)) {
            #expect(SemiStructuredPruning.follows(mask, n: 2, m: 4), "\(name)")
            #expect(mask.sparsity == 0.5)
            let (rows, columns) = (t.shape[0], t.shape[1])
            for i0 in stride(from: 0, to: rows, by: 4) {
                for j in 0..<columns {
                    let group = (0..<4).map { (i0 + $0) * columns + j }
                    let kept = group.filter { mask[$0] }.map { abs(values[$0]) }
                    let pruned = group.filter { !mask[$0] }.map { abs(values[$0]) }
                    #expect(kept.min()! >= pruned.max()!)
                    for g in group where !mask[g] { #expect(t.data[g] == 0) }
                }
            }
        }
        // A group along the first axis: a hand-made (4, 2) weight.
        let w = try Tensor(shape: [4, 2], values: [1, -8, -4, 7, 3, 6, 2, 5])
        let mask = try SemiStructuredPruning.mask(name: "w", tensor: w, n: 2, m: 4)
        #expect(mask.kept == [0, 1, 1, 1, 1, 0, 0, 0])
        // 1:4 and ties: the lower row wins.
        let tie = try Tensor(shape: [4, 1], values: [2, -2, 2, 1])
        #expect(try SemiStructuredPruning.mask(name: "t", tensor: tie, n: 1, m: 4).kept == [1, 0, 0, 0])
    }

    @Test("N:M on an input dimension that is not a multiple of M names the tensor and its shape")
    func badDimension() throws {
        let w = try Tensor.zeros([6, 3])
        let error = #expect(throws: CompressionError.self) {
            try SemiStructuredPruning.mask(name: "transformer.h.0.mlp.c_fc.weight", tensor: w, n: 2, m: 4)
        }
        #expect(error?.message.contains("transformer.h.0.mlp.c_fc.weight") == true)
        #expect(error?.message.contains("[6, 3]") == true)
        #expect(throws: CompressionError.self) { try SemiStructuredPruning.mask(name: "w", tensor: w, n: 4, m: 4) }
        // A model whose C is not a multiple of M: nothing is changed.
        let model = try PruningFixtures.model()
        #expect(throws: CompressionError.self) { try SemiStructuredPruning.prune(model, n: 2, m: 32) }
        #expect(PrunableTensors.sparsity(of: PrunableTensors.select(in: model).map(\.tensor)) == 0)
    }
}
