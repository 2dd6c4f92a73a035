// GPT-2, exactly (so checkpoints load in Hugging Face as GPT2LMHeadModel): learned position
// embeddings, pre-LN blocks, fused qkv, GELU (tanh), MLP width 4C, final ln_f, output head tied
// to wte, biases everywhere. Parameter names come from the module walk and are HF's:
// transformer.h.0.attn.c_attn.weight (Conv1D layout (in, out)), …
//
// Structurally pruned models use Hugging Face's two config mechanisms: `n_inner` (the MLP width M,
// the same in every layer) and `pruned_heads` (per layer, the original indices of removed heads).
// A layer keeping H' of H heads has an attention width A = H'·D (D = C/H, unchanged): c_attn is
// (C, 3A) laid out [q | k | v] with the kept heads in their original order, attn.c_proj is (A, C) —
// what transformers' `prune_heads` makes of a GPT-2 layer.
//
// Legend: B batch, T time, C channels (n_embd), V vocabulary, H heads, D head size, A attention
// width of a layer (H'·D, = C unpruned), M MLP width (n_inner, 4C by default).

import Foundation
@_exported import NN

/// The model's shape, with Hugging Face's config.json keys.
public struct GPTConfig: Codable, Equatable, Sendable {
    public var vocabularySize: Int
    public var contextLength: Int
    public var layers: Int
    public var heads: Int
    public var embeddingSize: Int
    public var layerNormEpsilon: Float = 1e-5
    /// Dropout on embeddings, attention output and MLP output (HF's embd/resid_pdrop); 0 by default.
    public var dropout: Float = 0
    /// The MLP width of every layer (HF's `n_inner`); nil means GPT-2's 4·n_embd.
    public var innerSize: Int?
    /// Heads removed by structured pruning (HF's `pruned_heads`): layer → the removed heads' original
    /// indices, ascending. A layer absent here keeps all `heads`.
    public var prunedHeads: [Int: [Int]] = [:]

    public init(vocabularySize: Int, contextLength: Int, layers: Int, heads: Int, embeddingSize: Int,
                layerNormEpsilon: Float = 1e-5, dropout: Float = 0, innerSize: Int? = nil, prunedHeads: [Int: [Int]] = [:]) {
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        self.layers = layers
        self.heads = heads
        self.embeddingSize = embeddingSize
        self.layerNormEpsilon = layerNormEpsilon
        self.dropout = dropout
        self.innerSize = innerSize
        self.prunedHeads = Self.normalized(prunedHeads)
    }

    /// The MLP width M of every layer: `innerSize`, or 4·n_embd.
    public var mlpWidth: Int { innerSize ?? 4 * embeddingSize }
    /// The head size D = n_embd / n_head (pruning removes heads, never shrinks them).
    public var headSize: Int { embeddingSize / heads }
    /// The original indices of the heads layer `layer` keeps, ascending.
    public func keptHeads(inLayer layer: Int) -> [Int] {
        let removed = Set(prunedHeads[layer] ?? [])
        return (0..<heads).filter { !removed.contains($0) }
    }
    /// How many heads layer `layer` keeps.
    public func headCount(inLayer layer: Int) -> Int { heads - (prunedHeads[layer]?.count ?? 0) }
    /// Layer `layer`'s attention width A = kept heads · D (the q, k and v widths; c_proj's input).
    public func attentionWidth(inLayer layer: Int) -> Int { headCount(inLayer: layer) * headSize }

    /// Sorted lists, empty ones dropped (HF treats the lists as sets).
    static func normalized(_ pruned: [Int: [Int]]) -> [Int: [Int]] {
        pruned.filter { !$0.value.isEmpty }.mapValues { $0.sorted() }
    }

    /// The lab's presets (DESIGN.md §4); the vocabulary size comes from the tokenizer.
    public static func preset(_ name: String, vocabularySize: Int) throws -> GPTConfig {
        switch name {
        case "teacher-small":
            return GPTConfig(vocabularySize: vocabularySize, contextLength: 128, layers: 4, heads: 4, embeddingSize: 256)
        case "student-tiny":
            return GPTConfig(vocabularySize: vocabularySize, contextLength: 128, layers: 2, heads: 4, embeddingSize: 128)
        case "bench-medium":
            return GPTConfig(vocabularySize: vocabularySize, contextLength: 256, layers: 8, heads: 8, embeddingSize: 512)
        default:
            throw ModelError("unknown preset \"\(name)\"; expected one of: \(presetNames.joined(separator: ", "))")
        }
    }
    public static let presetNames = ["teacher-small", "student-tiny", "bench-medium"]

    /// Checks the sizes fit together; every model is built from a validated config.
    public func validate() throws {
        for (name, value) in [("vocab_size", vocabularySize), ("n_positions", contextLength), ("n_layer", layers),
                              ("n_head", heads), ("n_embd", embeddingSize)] where value < 1 {
            throw ModelError("config: \(name) must be at least 1, got \(value)")
        }
        for (name, value, limit) in [("vocab_size", vocabularySize, 1 << 24), ("n_positions", contextLength, 1 << 16),
                                     ("n_layer", layers, 1024), ("n_head", heads, 1024), ("n_embd", embeddingSize, 1 << 16)] where value > limit {
            throw ModelError("config: \(name) is \(value), above this lab's limit of \(limit)")
        }
        guard embeddingSize % heads == 0 else {
            throw ModelError("config: n_embd (\(embeddingSize)) must be divisible by n_head (\(heads))")
        }
        if let innerSize {
            guard innerSize >= 1 else { throw ModelError("config: n_inner must be at least 1 (or null for 4·n_embd), got \(innerSize)") }
            guard innerSize <= 1 << 18 else { throw ModelError("config: n_inner is \(innerSize), above this lab's limit of \(1 << 18)") }
        }
        for layer in prunedHeads.keys.sorted() {
            let removed = prunedHeads[layer]!
            guard (0..<layers).contains(layer) else {
                throw ModelError("config: pruned_heads names layer \(layer), outside the model's layers 0..<\(layers) (n_layer)")
            }
            if let head = removed.first(where: { !(0..<heads).contains($0) }) {
                throw ModelError("config: pruned_heads[\"\(layer)\"] names head \(head), outside 0..<\(heads) (n_head)")
            }
            if let twice = zip(removed, removed.dropFirst()).first(where: { $0.0 == $0.1 }) {
                throw ModelError("config: pruned_heads[\"\(layer)\"] lists head \(twice.0) twice")
            }
            guard removed.count < heads else {
                throw ModelError("config: pruned_heads[\"\(layer)\"] removes all \(heads) heads of layer \(layer); a layer must keep at least one")
            }
        }
        // Sizes within the per-field limits can still multiply out beyond memory; say so here
        // rather than fail inside an allocation.
        guard parameterCount <= 2_000_000_000 else {
            throw ModelError("config: \(parameterCount) parameters (\(parameterCount / 250_000_000) GB of Float32) is beyond this lab's limit of 2·10⁹")
        }
        guard layerNormEpsilon > 0, dropout >= 0, dropout < 1 else {
            throw ModelError("config: layer_norm_epsilon must be > 0 and dropout in [0, 1); got \(layerNormEpsilon), \(dropout)")
        }
    }

    enum CodingKeys: String, CodingKey {
        case vocabularySize = "vocab_size", contextLength = "n_positions", layers = "n_layer", heads = "n_head"
        case embeddingSize = "n_embd", layerNormEpsilon = "layer_norm_epsilon", dropout = "resid_pdrop"
        case modelType = "model_type", architectures, contextAlias = "n_ctx", activation = "activation_function"
        case inner = "n_inner", embeddingDropout = "embd_pdrop", attentionDropout = "attn_pdrop"
        case tie = "tie_word_embeddings", scaleAttention = "scale_attn_weights", initializerRange = "initializer_range"
        case bos = "bos_token_id", eos = "eos_token_id", prunedHeads = "pruned_heads"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let type = try c.decodeIfPresent(String.self, forKey: .modelType), type != "gpt2" {
            throw ModelError("config.json: model_type is \(Self.quoted(type)), expected \"gpt2\"")
        }
        try Self.refuseUnsupportedKeys(decoder)
        vocabularySize = try c.decode(Int.self, forKey: .vocabularySize)
        contextLength = try c.decode(Int.self, forKey: .contextLength)
        layers = try c.decode(Int.self, forKey: .layers)
        heads = try c.decode(Int.self, forKey: .heads)
        embeddingSize = try c.decode(Int.self, forKey: .embeddingSize)
        layerNormEpsilon = try c.decodeIfPresent(Float.self, forKey: .layerNormEpsilon) ?? 1e-5
        dropout = try c.decodeIfPresent(Float.self, forKey: .dropout) ?? 0
        innerSize = try c.decodeIfPresent(Int.self, forKey: .inner)
        // JSON object keys are strings: {"0": [1, 3]} (HF converts them back to ints the same way).
        var pruned: [Int: [Int]] = [:]
        for (key, removed) in try c.decodeIfPresent([String: [Int]].self, forKey: .prunedHeads) ?? [:] {
            guard let layer = Int(key) else {
                throw ModelError("config.json: pruned_heads key \(Self.quoted(key)) is not a layer index (expected e.g. {\"0\": [1, 3]})")
            }
            pruned[layer] = removed
        }
        prunedHeads = Self.normalized(pruned)
        try validate()
    }

    /// A config value in quotes, cut to 200 characters: config.json is input, and a message must
    /// not repeat a hostile value of megabytes. (Models does not depend on Tokenizers' Excerpt.)
    static func quoted(_ text: String) -> String {
        let shown = text.unicodeScalars.prefix(200)
        let cut = shown.count < text.unicodeScalars.prefix(201).count
        return "\"" + String(String.UnicodeScalarView(shown)) + (cut ? "…\" (\(text.utf8.count) bytes)" : "\"")
    }

    /// Writes every key a Hugging Face GPT2LMHeadModel needs.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode("gpt2", forKey: .modelType)
        try c.encode(["GPT2LMHeadModel"], forKey: .architectures)
        try c.encode(vocabularySize, forKey: .vocabularySize)
        try c.encode(contextLength, forKey: .contextLength)
        try c.encode(contextLength, forKey: .contextAlias)
        try c.encode(layers, forKey: .layers)
        try c.encode(heads, forKey: .heads)
        try c.encode(embeddingSize, forKey: .embeddingSize)
        if let innerSize { try c.encode(innerSize, forKey: .inner) } else { try c.encodeNil(forKey: .inner) }
        try c.encode(Dictionary(uniqueKeysWithValues: prunedHeads.map { (String($0.key), $0.value) }), forKey: .prunedHeads)
        try c.encode("gelu_new", forKey: .activation)
        try c.encode(layerNormEpsilon, forKey: .layerNormEpsilon)
        try c.encode(dropout, forKey: .dropout)
        try c.encode(dropout, forKey: .embeddingDropout)
        try c.encode(dropout, forKey: .attentionDropout)
        try c.encode(true, forKey: .tie)
        try c.encode(true, forKey: .scaleAttention)
        try c.encode(0.02, forKey: .initializerRange)
        // No BOS/EOS tokens in our vocabularies (HF's defaults, 50256, would be out of range).
        try c.encodeNil(forKey: .bos)
        try c.encodeNil(forKey: .eos)
    }

    /// Every parameter a model of this shape has, by its module-walk name (HF's), with its shape —
    /// what a checkpoint of it must hold, known without building (allocating) the model. The head
    /// is tied to wte and not listed twice. Linear weights are Conv1D's (in, out).
    public var parameterShapes: [(name: String, shape: [Int])] {
        let c = embeddingSize, m = mlpWidth
        var shapes: [(name: String, shape: [Int])] = [("transformer.wte.weight", [vocabularySize, c]),
                                                      ("transformer.wpe.weight", [contextLength, c])]
        for layer in 0..<max(0, layers) {
            let a = attentionWidth(inLayer: layer), prefix = "transformer.h.\(layer)."
            shapes += [(prefix + "ln_1.weight", [c]), (prefix + "ln_1.bias", [c]),
                       (prefix + "attn.c_attn.weight", [c, 3 * a]), (prefix + "attn.c_attn.bias", [3 * a]),
                       (prefix + "attn.c_proj.weight", [a, c]), (prefix + "attn.c_proj.bias", [c]),
                       (prefix + "ln_2.weight", [c]), (prefix + "ln_2.bias", [c]),
                       (prefix + "mlp.c_fc.weight", [c, m]), (prefix + "mlp.c_fc.bias", [m]),
                       (prefix + "mlp.c_proj.weight", [m, c]), (prefix + "mlp.c_proj.bias", [c])]
        }
        return shapes + [("transformer.ln_f.weight", [c]), ("transformer.ln_f.bias", [c])]
    }

    /// Parameters of a model of this shape (the head is tied to wte and not counted twice). Saturates
    /// at `Int.max` rather than trapping, so a config with absurd sizes can still be checked and refused.
    public var parameterCount: Int {
        parameterShapes.reduce(0) { total, entry in
            let count = entry.shape.reduce(1) { product, dimension in
                let (value, overflow) = product.multipliedReportingOverflow(by: Swift.max(0, dimension))
                return overflow ? Int.max : value
            }
            let (sum, overflow) = total.addingReportingOverflow(count)
            return overflow ? Int.max : sum
        }
    }
}

/// A model-level error (config, shapes of inputs) with a message that names what is wrong.
public struct ModelError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

// GPT-2's initialisation when `rng` is given; storage left for a checkpoint load to fill when it is nil.
private func makeLinear(_ inputs: Int, _ outputs: Int, std: Float = 0.02, rng: inout RNG?) throws -> Linear {
    guard rng != nil else { return try Linear(uninitializedInFeatures: inputs, outFeatures: outputs) }
    return try Linear(inFeatures: inputs, outFeatures: outputs, std: std, rng: &rng!)
}

private func makeEmbedding(_ count: Int, _ dimensions: Int, rng: inout RNG?) throws -> Embedding {
    guard rng != nil else { return try Embedding(uninitializedCount: count, dimensions: dimensions) }
    return try Embedding(count: count, dimensions: dimensions, rng: &rng!)
}

private func makeLayerNorm(_ config: GPTConfig, initialized: Bool) throws -> LayerNorm {
    initialized ? try LayerNorm(dimensions: config.embeddingSize, epsilon: config.layerNormEpsilon)
        : try LayerNorm(uninitializedDimensions: config.embeddingSize, epsilon: config.layerNormEpsilon)
}

/// Causal self-attention: fused qkv projection, attention, output projection.
public final class CausalSelfAttention: Module {
    @Key("c_attn") public var qkv: Linear        // (C, 3A)
    @Key("c_proj") public var projection: Linear // (A, C)
    /// The heads this layer keeps (n_head unless pruned); each of size D = n_embd / n_head.
    public let heads: Int

    init(config: GPTConfig, layer: Int, rng: inout RNG?) throws {
        let c = config.embeddingSize, a = config.attentionWidth(inLayer: layer)
        heads = config.headCount(inLayer: layer)
        _qkv.wrappedValue = try makeLinear(c, 3 * a, rng: &rng)
        // GPT-2: residual projections scaled by 1/√(2·n_layer).
        _projection.wrappedValue = try makeLinear(a, c, std: 0.02 / Float(2 * config.layers).squareRoot(), rng: &rng)
    }
}

/// The position-wise MLP: C → M → GELU → C (M = n_inner, 4C by default).
public final class MLP: Module {
    @Key("c_fc") public var expand: Linear       // (C, M)
    @Key("c_proj") public var projection: Linear // (M, C)

    init(config: GPTConfig, rng: inout RNG?) throws {
        let c = config.embeddingSize, m = config.mlpWidth
        _expand.wrappedValue = try makeLinear(c, m, rng: &rng)
        _projection.wrappedValue = try makeLinear(m, c, std: 0.02 / Float(2 * config.layers).squareRoot(), rng: &rng)
    }

    /// (B, T, C) → (B, T, C): c_fc and GELU as one fused op (Autodiff's linearGELU).
    func callAsFunction(_ x: Tensor) throws -> Tensor {
        // A packed (quantized, sparse) c_fc runs its own kernel, then GELU.
        if expand.packed != nil { return try projection(expand(x).gelu()) }
        return try projection(x.linearGELU(weight: expand.weight, bias: expand.bias))   // (B, T, M) → (B, T, C)
    }
}

/// One pre-LN transformer block: x + attn(ln_1(x)), then x + mlp(ln_2(x)).
public final class Block: Module {
    @Key("ln_1") public var attentionNorm: LayerNorm
    public var attn: CausalSelfAttention
    @Key("ln_2") public var mlpNorm: LayerNorm
    public var mlp: MLP

    init(config: GPTConfig, layer: Int, rng: inout RNG?) throws {
        _attentionNorm.wrappedValue = try makeLayerNorm(config, initialized: rng != nil)
        attn = try CausalSelfAttention(config: config, layer: layer, rng: &rng)
        _mlpNorm.wrappedValue = try makeLayerNorm(config, initialized: rng != nil)
        mlp = try MLP(config: config, rng: &rng)
    }
}

/// The trunk: token and position embeddings, the blocks, the final layer norm.
public final class Transformer: Module {
    public var wte: Embedding      // (V, C), also the output head
    public var wpe: Embedding      // (T_max, C)
    public var h: [Block]
    @Key("ln_f") public var finalNorm: LayerNorm

    init(config: GPTConfig, rng: inout RNG?) throws {
        wte = try makeEmbedding(config.vocabularySize, config.embeddingSize, rng: &rng)
        wpe = try makeEmbedding(config.contextLength, config.embeddingSize, rng: &rng)
        h = try (0..<config.layers).map { try Block(config: config, layer: $0, rng: &rng) }
        _finalNorm.wrappedValue = try makeLayerNorm(config, initialized: rng != nil)
    }
}

/// GPT-2 with the language-model head tied to the token embedding.
public final class GPT: Module {
    public let config: GPTConfig
    public var transformer: Transformer
    /// Dropout masks are drawn from here in training mode (when config.dropout > 0).
    public var dropoutRNG: RNG

    /// A freshly initialised model (GPT-2 init: N(0, 0.02), residual projections N(0, 0.02/√(2L)),
    /// zero biases, unit LayerNorm weights), fixed by `seed`.
    public init(config: GPTConfig, seed: UInt64) throws {
        try config.validate()
        self.config = config
        var rng: RNG? = RNG(seed: seed)
        transformer = try Transformer(config: config, rng: &rng)
        dropoutRNG = RNG(seed: seed ^ 0x5EED_D80F)
    }

    /// A model whose parameters are allocated but not set, for a checkpoint load to fill
    /// (`Module.fillParameters`): no random initialisation to overwrite, and no page of a
    /// parameter is touched before its values are copied in.
    public init(uninitializedFor config: GPTConfig, seed: UInt64 = 0) throws {
        try config.validate()
        self.config = config
        var rng: RNG? = nil
        transformer = try Transformer(config: config, rng: &rng)
        dropoutRNG = RNG(seed: seed ^ 0x5EED_D80F)
    }

    public override var checkpointExtraTensors: [CheckpointExtraTensor] { config.checkpointExtraTensors }

    /// Logits for every position: ids (B, T) → (B, T, V).
    public func callAsFunction(_ ids: IndexTensor) throws -> Tensor {
        let x = try transformer.finalNorm(hiddenStates(ids))                     // (B, T, C)
        return try x.matmul(transformer.wte.weight, transposeB: true)             // (B, T, V)
    }

    /// The residual stream after the last block, before ln_f: ids (B, T) → (B, T, C).
    /// `inspectQKV` sees each layer's q|k|v projection (B, T, 3A) — generation's prefill copies
    /// the keys and values into its cache from there. With `releasingFreedMemory`, the heap's free
    /// pages go back to the kernel after each block (`Memory.releaseFreed`): for a long forward-only
    /// window, whose freed activations would otherwise stay resident.
    public func hiddenStates(_ ids: IndexTensor, releasingFreedMemory: Bool = false,
                             inspectQKV: ((_ layer: Int, _ qkv: Tensor) throws -> Void)? = nil) throws -> Tensor {
        guard ids.shape.count == 2, ids.shape[1] >= 1 else {
            throw ModelError("GPT: expected token ids of shape (B, T), got \(ids.shape)")
        }
        let t = ids.shape[1]
        guard t <= config.contextLength else {
            throw ModelError("GPT: sequence length \(t) exceeds the model's context of \(config.contextLength)")
        }
        let positions = try transformer.wpe.weight.sliced(axis: 0, 0..<t)          // (T, C)
        var x = try transformer.wte(ids) + positions                              // (B, T, C)
        x = try dropout(x)
        for (layer, block) in transformer.h.enumerated() {
            let qkv = try block.attn.qkv(block.attentionNorm(x))                  // (B, T, 3A)
            try inspectQKV?(layer, qkv)
            // (B, T, A) → (B, T, C)
            let attention = try block.attn.projection(qkv.causalSelfAttention(heads: block.attn.heads))
            x = try x + dropout(attention)                                        // (B, T, C)
            x = try x + dropout(block.mlp(block.mlpNorm(x)))                      // (B, T, C)
            if releasingFreedMemory { Memory.releaseFreed() }
        }
        return x
    }

    /// Mean next-token cross-entropy of ids (B, T) against targets (B, T).
    public func loss(_ ids: IndexTensor, targets: IndexTensor) throws -> Tensor {
        try self(ids).crossEntropy(targets: targets)
    }

    private func dropout(_ x: Tensor) throws -> Tensor {
        guard isTraining, config.dropout > 0 else { return x }
        return try x.dropout(config.dropout, rng: &dropoutRNG)
    }
}
