import Foundation
import Testing
import Models
import Store
import Tokenizers
@testable import Compress

@Suite("Pruning: structured (heads, neurons)", .serialized) struct PruningStructuredTests {
    @Test("heads and neurons ranked by L2 norm, a fraction kept per layer, ties by index")
    func ranking() throws {
        let model = try PruningFixtures.model()
        // Make head 1 of layer 0 dominant, and neuron 5 of layer 1.
        let attn = model.transformer.h[0].attn
        for r in 8..<16 { for j in 0..<16 { attn.projection.weight.data[r * 16 + j] *= 50 } }
        let mlp = model.transformer.h[1].mlp
        for i in 0..<16 { mlp.expand.weight.data[i * 64 + 5] *= 50 }
        let plan = try StructuredPruning.plan(model, keepHeads: 0.5, keepNeurons: 0.25)
        #expect(plan.keptHeads[0] == [1])
        #expect(plan.heads == [2, 2] && plan.neurons == 64)
        #expect(plan.effectiveHeads == [1, 1] && plan.effectiveNeurons == [16, 16])
        #expect(plan.keptNeurons[1].contains(5))
        let scores = try StructuredPruning.neuronScores(model)[0]
        let keptMin = plan.keptNeurons[0].map { scores[$0] }.min()!
        let prunedMax = (0..<64).filter { !plan.keptNeurons[0].contains($0) }.map { scores[$0] }.max()!
        #expect(keptMin >= prunedMax)
        #expect(StructuredPruning.top([1, 3, 3, 2], fraction: 0.5) == [1, 2])
        #expect(throws: CompressionError.self) { try StructuredPruning.plan(model, keepHeads: 0) }
        #expect(throws: CompressionError.self) { try StructuredPruning.plan(model, keepNeurons: 1.5) }
        // A plan that does not fit: uneven MLP widths (n_inner is one width), a head out of range.
        var uneven = plan
        uneven.keptNeurons[1].removeLast()
        let error = #expect(throws: CompressionError.self) { try StructuredPruning.compact(model, plan: uneven) }
        #expect(error?.message.contains("n_inner") == true)
        var outOfRange = plan
        outOfRange.keptHeads[1] = [2]
        #expect(throws: CompressionError.self) { try StructuredPruning.compact(model, plan: outOfRange) }
    }

    @Test("the compact model gives the logits of the zeroed full-size model (heads only, neurons only, both)",
          arguments: [(0.5, 1.0), (1.0, 0.25), (0.5, 0.25)])
    func compactEqualsZeroed(keepHeads: Double, keepNeurons: Double) throws {
        let model = try PruningFixtures.model(heads: 4)
        model.eval()
        let original = try PruningFixtures.logits(model)
        let (plan, small) = try StructuredPruning.prune(model, keepHeads: keepHeads, keepNeurons: keepNeurons)
        #expect(try PruningFixtures.logits(model) == original)  // the source is unchanged
        let c = 16, d = 4, kept = plan.effectiveHeads, m = plan.effectiveNeurons[0]
        #expect(small.config.mlpWidth == m && small.config.innerSize == (keepNeurons < 1 ? m : nil))
        #expect((0..<2).map { small.config.headCount(inLayer: $0) } == kept)
        for (layer, block) in small.transformer.h.enumerated() {
            #expect(block.attn.qkv.weight.shape == [c, 3 * kept[layer] * d])
            #expect(block.attn.projection.weight.shape == [kept[layer] * d, c])
            #expect(block.mlp.expand.weight.shape == [c, m] && block.mlp.projection.weight.shape == [m, c])
            let removed = (0..<4).filter { !plan.keptHeads[layer].contains($0) }
            #expect((small.config.prunedHeads[layer] ?? []) == removed)
        }
        #expect(small.parameterCount == small.config.parameterCount && small.parameterCount < model.parameterCount)
        try PruningFixtures.zeroRemoved(model, plan: plan)
        let zeroed = try PruningFixtures.logits(model)
        #expect(PruningFixtures.maxDifference(zeroed, original) > 1e-4)  // something was removed
        #expect(PruningFixtures.maxDifference(try PruningFixtures.logits(small), zeroed) <= 1e-5)
    }

    @Test("pruning a pruned model: pruned_heads keeps original indices; the result equals zeroing both rounds")
    func prunedTwice() throws {
        let model = try PruningFixtures.model(heads: 4)
        model.eval()
        let (first, once) = try StructuredPruning.prune(model, keepHeads: 0.75, keepNeurons: 0.5)
        let (second, twice) = try StructuredPruning.prune(once, keepHeads: 0.5, keepNeurons: 0.5)
        #expect(second.heads == [3, 3] && twice.config.mlpWidth == 16)
        // Zero the full model by the union of both rounds, in original indices.
        var union = first
        for layer in 0..<2 {
            union.keptHeads[layer] = second.keptHeads[layer].map { first.keptHeads[layer][$0] }
            union.keptNeurons[layer] = second.keptNeurons[layer].map { first.keptNeurons[layer][$0] }
            let removed = (0..<4).filter { !union.keptHeads[layer].contains($0) }
            #expect(twice.config.prunedHeads[layer] == removed)
        }
        try PruningFixtures.zeroRemoved(model, plan: union)
        #expect(PruningFixtures.maxDifference(try PruningFixtures.logits(twice), try PruningFixtures.logits(model)) <= 1e-5)
    }

    @Test("a compact checkpoint: config.json has n_inner and pruned_heads, it loads back exactly; wrong shapes are named")
    func roundTrip() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("alambique-structured-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: url) }
        let model = try PruningFixtures.model(heads: 4)
        model.eval()
        let (_, small) = try StructuredPruning.prune(model, keepHeads: 0.5, keepNeurons: 0.25)
        let info = try CompressedCheckpoint.save(model: small, tokenizer: CharTokenizer(corpus: "abcdefghijklmnop"), info: CheckpointInfo(name: "s", role: "pruned", corpus: "test"), to: url)
        #expect(info.parameterCount == small.parameterCount)
        let weightBytes = try FileManager.default.attributesOfItem(atPath: url.appendingPathComponent("model.safetensors").path)[.size] as! Int
        #expect(weightBytes < small.parameterCount * 4 + 4096)  // dense float32 of the small shapes only
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url.appendingPathComponent("config.json"))) as! [String: Any]
        #expect(json["n_inner"] as? Int == 16)
        #expect((json["pruned_heads"] as? [String: [Int]])?.keys.sorted() == ["0", "1"])
        for loaded in [try CompressedCheckpoint.load(from: url).model,
                       try Checkpoint.load(from: url, parameterShapes: \.parameterShapes) { (config: GPTConfig) in try GPT(config: config, seed: 0) }.model] {
            #expect(loaded.config == small.config)
            loaded.eval()
            #expect(try PruningFixtures.logits(loaded) == PruningFixtures.logits(small))
        }
        // A config that no longer says layer 1's heads were pruned: layer 1's c_attn is too narrow for it.
        var edited = json
        edited["pruned_heads"] = ["0": (json["pruned_heads"] as! [String: [Int]])["0"]!]
        try JSONSerialization.data(withJSONObject: edited).write(to: url.appendingPathComponent("config.json"))
        // A dense checkpoint loads through the strict dense loader, which names the tensor and both shapes.
        let error = #expect(throws: LoadError.self) { try CompressedCheckpoint.load(from: url) }
        #expect(error?.parameter == "transformer.h.1.attn.c_attn.weight")
        #expect(error?.detail.contains("expected shape [16, 48], found [16, 24]") == true)
    }

    @Test("a compact model trains: the gradient through narrower attention and MLP passes a finite-difference check")
    func compactGradient() throws {
        let model = try PruningFixtures.model(heads: 4)
        let (_, small) = try StructuredPruning.prune(model, keepHeads: 0.5, keepNeurons: 0.25)
        let ids = try IndexTensor(shape: [1, 8], values: [1, 5, 3, 15, 0, 9, 2, 7])
        let block = small.transformer.h[1]
        let inputs = [block.attn.qkv.weight, block.attn.projection.weight, block.mlp.expand.bias!]
        let result = try gradientCheck(inputs, step: 1e-2) { try small(ids) }
        #expect(result.maxError < 2e-2, "\(result)")
    }

    /// Writes a head- and neuron-pruned checkpoint of a perturbed model and its logits for
    /// `scripts/check_hf_checkpoint.py` (as CheckpointInteropTests does for dense ones); only with
    /// ALAMBIQUE_INTEROP_DIR set (`make interop`).
    @Test("export structurally pruned checkpoints and their logits for Hugging Face",
          .enabled(if: ProcessInfo.processInfo.environment["ALAMBIQUE_INTEROP_DIR"] != nil),
          arguments: [(2, 4, 32), (4, 4, 256)])
    func interopExport(layers: Int, heads: Int, embeddingSize: Int) throws {
        let output = URL(fileURLWithPath: ProcessInfo.processInfo.environment["ALAMBIQUE_INTEROP_DIR"]!)
        let text = "to be, or not to be: that is the question."
        let tokenizer = CharTokenizer(corpus: text)
        let config = GPTConfig(vocabularySize: tokenizer.vocabularySize, contextLength: 32, layers: layers, heads: heads,
                               embeddingSize: embeddingSize)
        let model = try GPT(config: config, seed: 3)
        var rng = RNG(seed: 4)
        for (_, tensor) in model.namedParameters() {
            for i in 0..<tensor.count { tensor.data[i] += 0.1 * Float(rng.nextNormal()) }
        }
        let (_, small) = try StructuredPruning.prune(model, keepHeads: 0.5, keepNeurons: 0.375)
        let name = CheckpointInfo.modelName(corpus: "interop", role: "pruned", parameters: small.parameterCount,
                                            context: 32, tokenizer: tokenizer.kind.rawValue, format: "F32-heads50-mlp38")
        let directory = output.appendingPathComponent(name)
        try CompressedCheckpoint.save(model: small, tokenizer: tokenizer, info: CheckpointInfo(name: name, role: "pruned", corpus: "interop"), to: directory)
        let ids = try tokenizer.encode(String(text.prefix(32)))
        let logits = try noGrad { try small(IndexTensor(shape: [2, 16], values: ids)) }
        struct Expected: Encodable { let text: String, ids: [[Int32]], shape: [Int], logits: [Float] }
        let expected = Expected(text: String(text.prefix(32)), ids: [Array(ids[0..<16]), Array(ids[16..<32])],
                                shape: logits.shape, logits: logits.toArray())
        try JSONEncoder().encode(expected).write(to: output.appendingPathComponent("\(name).logits.json"))
    }
}
