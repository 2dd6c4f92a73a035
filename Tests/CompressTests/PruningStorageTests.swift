import Foundation
import Testing
import Models
import Store
@testable import Compress

@Suite("Pruning: sparse storage and CSR") struct PruningStorageTests {
    static func prunedWeight(_ shape: [Int], sparsity: Double, seed: UInt64 = 3) throws -> Tensor {
        let t = try Tensor.zeros(shape)
        var rng = RNG(seed: seed)
        rng.fillNormal(t, std: 0.02)
        let masks = try MagnitudePruning.masks(for: [("w", t)], sparsity: sparsity, scope: .layer)
        try masks[0].apply(to: t)
        return t
    }

    @Test("mask + values round trip through a safetensors file, exactly; 90% sparse ≤ 25% of dense bytes")
    func roundTrip() throws {
        let w = try Self.prunedWeight([64, 37], sparsity: 0.9)  // 2,368 elements: not a multiple of 8
        let b = try Self.prunedWeight([13], sparsity: 0.5)
        let entries = SparseTensorStorage.encode([("layer.weight", w), ("layer.bias", b)])
        #expect(Set(entries.map(\.name)) == ["layer.weight.mask", "layer.weight.values", "layer.bias.mask", "layer.bias.values"])
        let data = try SafeTensors.encode(entries)
        let file = try SafeTensors.decode(data)
        let decoded = try SparseTensorStorage.decode(name: "layer.weight", shape: [64, 37], file: file)
        #expect(decoded.map(\.bitPattern) == w.toArray().map(\.bitPattern))
        #expect(try SparseTensorStorage.decode(name: "layer.bias", shape: [13], file: file) == b.toArray())
        let dense = try SafeTensors.encode([SafeTensorsEntry(name: "layer.weight", shape: [64, 37], values: w.toArray())])
        let sparse = try SafeTensors.encode(SparseTensorStorage.encode(name: "layer.weight", tensor: w))
        #expect(Double(sparse.count) <= 0.25 * Double(dense.count), "\(sparse.count) vs \(dense.count) bytes")
        // Bit order: element i is bit i mod 8 of byte i/8, least significant first.
        let small = SparseTensorStorage.encode(name: "s", values: [0, 2, 0, 0, 0, 0, 0, 0, 5, 0].withUnsafeBufferPointer { $0 })
        #expect(try small[0].values(as: UInt8.self) == [0b0000_0010, 0b0000_0001])
        #expect(try small[1].values(as: Float.self) == [2, 5])
        // F16 values: smaller still, decoded within half precision.
        let half = try SparseTensorStorage.decode(name: "layer.weight", shape: [64, 37],
                                                  entries: SparseTensorStorage.encode(name: "layer.weight", tensor: w, halfPrecision: true))
        #expect(PruningFixtures.maxDifference(half, w.toArray()) < 1e-4)
    }

    @Test("missing entries, count mismatches and wrong mask sizes are errors naming the tensor")
    func errors() throws {
        let w = try Self.prunedWeight([8, 4], sparsity: 0.5)
        let entries = SparseTensorStorage.encode(name: "t.weight", tensor: w)
        let noMask = #expect(throws: CompressionError.self) {
            try SparseTensorStorage.decode(name: "t.weight", shape: [8, 4], entries: [entries[1]])
        }
        #expect(noMask?.message.contains("t.weight.mask") == true)
        let noValues = #expect(throws: CompressionError.self) {
            try SparseTensorStorage.decode(name: "t.weight", shape: [8, 4], entries: [entries[0]])
        }
        #expect(noValues?.message.contains("t.weight.values") == true)
        let short = SafeTensorsEntry(name: "t.weight.values", shape: [3], values: [Float](repeating: 1, count: 3))
        let mismatch = #expect(throws: CompressionError.self) {
            try SparseTensorStorage.decode(name: "t.weight", shape: [8, 4], entries: [entries[0], short])
        }
        #expect(mismatch?.message.contains("16") == true && mismatch?.message.contains("3 values") == true)
        #expect(throws: CompressionError.self) { try SparseTensorStorage.decode(name: "t.weight", shape: [8, 8], entries: entries) }
        let file = try SafeTensors.decode(SafeTensors.encode([entries[1]]))
        #expect(throws: CompressionError.self) { try SparseTensorStorage.decode(name: "t.weight", shape: [8, 4], file: file) }
    }

    @Test("CSR products equal dense products with the zeroed matrix (1e-5), one row, batches, both thread paths")
    func csrProducts() throws {
        for (shape, sparsity) in [([64, 48], 0.9), ([37, 29], 0.5), ([256, 300], 0.75), ([16, 8], 0.0)] {
            let w = try Self.prunedWeight(shape, sparsity: sparsity, seed: UInt64(shape[0]))
            let (inputs, outputs) = (shape[0], shape[1])
            let matrix = try SparseMatrix(linearWeight: w)
            #expect(matrix.rows == outputs && matrix.columns == inputs && matrix.format == "CSR")
            #expect(matrix.nonzeroCount == (0..<w.count).filter { w.data[$0] != 0 }.count)
            #expect(matrix.denseLinearWeight() == w.toArray())
            var rng = RNG(seed: 9)
            let batch = 6
            let x = try Tensor.zeros([batch, inputs])
            rng.fillNormal(x, std: 1)
            let expected = try Tensor.zeros([batch, outputs])
            for b in 0..<batch {
                InferenceKernels.linearRow(x.data + b * inputs, weight: w.data, bias: nil, out: expected.data + b * outputs,
                                           inFeatures: inputs, outFeatures: outputs)
            }
            let y = try Tensor.zeros([outputs])
            for parallel in [false, true] {
                matrix.multiplyRow(x.data, into: y.data, accumulate: false, parallel: parallel)
                #expect(PruningFixtures.maxDifference(y.toArray(), Array(expected.toArray()[0..<outputs])) <= 1e-5)
            }
            matrix.multiplyRow(x.data, into: y.data, accumulate: true)
            #expect(PruningFixtures.maxDifference(y.toArray(), Array(expected.toArray()[0..<outputs]).map { 2 * $0 }) <= 1e-5)
            let out = try Tensor.zeros([batch, outputs])
            matrix.multiply(rows: batch, x.data, into: out.data)
            #expect(PruningFixtures.maxDifference(out.toArray(), expected.toArray()) <= 1e-5, "\(shape)")
        }
        #expect(SparseMatrix.shouldUseSparse(sparsity: 0.9) && !SparseMatrix.shouldUseSparse(sparsity: 0.1))
    }

    @Test("a GPT with CSR-packed layers gives the logits of the pruned dense GPT")
    func packedModel() throws {
        let model = try PruningFixtures.model()
        model.eval()
        try MagnitudePruning.prune(model, sparsity: 0.8, scope: .layer)
        let expected = try PruningFixtures.logits(model)
        let packed = try SparsePacking.pack(model, minimumSparsity: 0.75)
        #expect(packed.count == 8 && packed.first == "transformer.h.0.attn.c_attn.weight")
        #expect(model.transformer.h[1].mlp.projection.packed?.format == "CSR")
        #expect(try SparsePacking.pack(model).isEmpty)  // already packed
        #expect(PruningFixtures.maxDifference(try PruningFixtures.logits(model), expected) <= 1e-5)
    }
}
