// Batch-1 generation with a KV cache: each new token runs one row through the blocks,
// attending over the keys and values cached for the positions before it, so a step costs
// O(C² + T·C) instead of a full forward. Every buffer is allocated once per generator; a step
// allocates nothing and calls the pointer kernels of Autodiff (InferenceKernels), so its
// logits match the batched forward's (`model(ids)`) to rounding.
//
// Context overflow: positions are learned and end at the context length T. `logits(forNext:)`
// throws when the cache is full; `generate` by default slides the window — it rebuilds the cache
// over the last T − 1 tokens (positions restart at 0) and goes on, so each token's logits are
// the full forward's over the last T tokens. `.slide(keep:)` keeps fewer tokens (rebuilds less
// often); `.error` refuses up front a request that would not fit.
//
// Structurally pruned models: layer i has its own head count H_i (attention width A_i = H_i·D) and
// the MLP width M (n_inner); the cache rows are max_i A_i wide, layer i using the first A_i.
//
// Legend: T positions, C channels, V vocabulary, H heads, D head size, A attention width, M MLP width.

import Foundation

/// Keys and values of every layer for positions 0..<count, preallocated for the whole context.
public final class KVCache {
    /// Layers, positions it can hold (T_max) and row width (the widest layer's attention width, C unpruned).
    public let layers: Int, capacity: Int, width: Int
    /// Positions filled so far.
    public internal(set) var count = 0
    private let storage: UnsafeMutablePointer<Float>  // (layers, 2, T_max, C)

    public init(layers: Int, capacity: Int, width: Int) {
        (self.layers, self.capacity, self.width) = (layers, capacity, width)
        let total = max(1, 2 * layers * capacity * width)
        storage = .allocate(capacity: total)
        storage.initialize(repeating: 0, count: total)
    }

    deinit { storage.deallocate() }

    /// Forgets every position (the buffers stay allocated).
    public func reset() { count = 0 }

    /// Layer `layer`'s keys (T_max, width).
    func keys(_ layer: Int) -> UnsafeMutablePointer<Float> { storage + 2 * layer * capacity * width }
    /// Layer `layer`'s values (T_max, width).
    func values(_ layer: Int) -> UnsafeMutablePointer<Float> { keys(layer) + capacity * width }
}

/// How the next token is chosen from the logits.
public struct SamplingOptions: Sendable, Equatable {
    /// Softmax temperature; 0 picks the argmax (greedy, the lowest index on ties).
    public var temperature: Float
    /// Keep only the k most likely tokens; 0 keeps all.
    public var topK: Int
    /// Keep the smallest set of most likely tokens whose probability reaches p (nucleus); 1 keeps all.
    public var topP: Float
    /// Seed of the portable RNG the draws come from: the same seed gives the same tokens.
    public var seed: UInt64

    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, seed: UInt64 = 0) {
        (self.temperature, self.topK, self.topP, self.seed) = (temperature, topK, topP, seed)
    }

    /// Argmax decoding.
    public static let greedy = SamplingOptions()

    /// Throws unless temperature ≥ 0 (finite), top-k ≥ 0 and top-p in (0, 1].
    public func validate() throws {
        guard temperature >= 0, temperature.isFinite else {
            throw ModelError("sampling: temperature must be finite and ≥ 0 (0 = greedy), got \(temperature)")
        }
        guard topK >= 0 else { throw ModelError("sampling: top-k must be ≥ 0 (0 = off), got \(topK)") }
        guard topP > 0, topP <= 1 else { throw ModelError("sampling: top-p must be in (0, 1] (1 = off), got \(topP)") }
    }
}

/// What `generate` does when the sequence reaches the model's context length.
public enum ContextOverflow: Sendable, Equatable {
    /// Refuse (throw before generating) a prompt plus new tokens that would not fit the context.
    case error
    /// Rebuild the cache over the last `keep` tokens (1 ≤ keep < context; nil = context − 1,
    /// which makes every token's logits the full forward's over the last `context` tokens).
    case slide(keep: Int? = nil)
}

/// Batch-1 inference over one model: a KV cache and every scratch buffer, allocated once.
/// Not thread-safe; use one generator per thread. The parameter tensors are read at `init`
/// and at every `reset()` (in-place updates are always seen; replaced tensors after a reset).
public final class Generator {
    public let model: GPT
    public let cache: KVCache
    /// The tokens in the cache, position by position.
    public private(set) var tokens: [Int32] = []

    private let c: Int, headSize: Int, mlpWidth: Int, vocabulary: Int, context: Int, epsilon: Float
    /// Heads per layer (fewer than n_head in a head-pruned layer).
    private let layerHeads: [Int]
    private var weights = Weights()
    private let scratch: UnsafeMutablePointer<Float>
    private let x, h, qkv, attention, hidden, scores, logitsBuffer, probabilities: UnsafeMutablePointer<Float>
    private let order: UnsafeMutablePointer<Int32>  // (V) candidate token ids, for top-k / top-p

    public init(model: GPT) {
        let config = model.config
        self.model = model
        (c, headSize, mlpWidth, vocabulary, context, epsilon) = (config.embeddingSize, config.headSize, config.mlpWidth,
                                                                 config.vocabularySize, config.contextLength, config.layerNormEpsilon)
        layerHeads = model.transformer.h.map(\.attn.heads)
        let width = (layerHeads.max() ?? 1) * headSize   // ≤ C
        cache = KVCache(layers: config.layers, capacity: context, width: width)
        tokens.reserveCapacity(context)
        // x, h (C); qkv (3A ≤ 3C); attention (A ≤ C); hidden (M); scores (T); logits, probabilities (V)
        let sizes = [c, c, 3 * width, width, mlpWidth, context, vocabulary, vocabulary]
        let padded = sizes.map { ($0 + 15) / 16 * 16 }  // 64-byte-aligned starts
        scratch = .allocate(capacity: padded.reduce(0, +))
        scratch.initialize(repeating: 0, count: padded.reduce(0, +))
        var offsets = [0]
        for size in padded { offsets.append(offsets.last! + size) }
        (x, h, qkv, attention) = (scratch + offsets[0], scratch + offsets[1], scratch + offsets[2], scratch + offsets[3])
        (hidden, scores, logitsBuffer, probabilities) = (scratch + offsets[4], scratch + offsets[5],
                                                         scratch + offsets[6], scratch + offsets[7])
        order = .allocate(capacity: vocabulary)
        order.initialize(repeating: 0, count: vocabulary)
        weights = Weights(model)
    }

    deinit {
        scratch.deallocate()
        order.deallocate()
    }

    /// Empties the cache (position 0 next) and re-reads the model's parameter tensors.
    public func reset() {
        cache.reset()
        tokens.removeAll(keepingCapacity: true)
        weights = Weights(model)
    }

    /// Appends `token` at the next position and returns the logits (V) for what follows it.
    /// The buffer is the generator's: valid until its next call. Throws for a token outside
    /// 0..<V or when the cache already holds the model's context length.
    public func logits(forNext token: Int32) throws -> UnsafeBufferPointer<Float> {
        try check(token)
        try checkRoom(for: 1)
        step(token)
        return head()
    }

    /// Appends `prompt` (at least one token) and returns the logits (V) after its last token,
    /// valid until the next call. Into an empty cache it runs the batched forward (matrix–matrix
    /// products) and keeps its keys and values; otherwise row by row.
    public func prefill(_ prompt: [Int32]) throws -> UnsafeBufferPointer<Float> {
        guard !prompt.isEmpty else { throw ModelError("generation: the prompt is empty; give at least one token") }
        for token in prompt { try check(token) }
        try checkRoom(for: prompt.count)
        if cache.count == 0 && prompt.count > 1 {
            try prefillBatched(prompt)
        } else {
            for token in prompt { step(token) }
        }
        return head()
    }

    /// Generates up to `maxNewTokens` tokens after `prompt` (the cache is reset first) and
    /// returns them (without the prompt). `onToken` sees each token as it is chosen; returning
    /// false stops. Throws for an empty prompt, one longer than the context, a token outside
    /// 0..<V, bad options, or (with `.error`) a request that would outgrow the context.
    public func generate(prompt: [Int32], maxNewTokens: Int, options: SamplingOptions = .greedy,
                         overflow: ContextOverflow = .slide(), onToken: (Int32) -> Bool = { _ in true }) throws -> [Int32] {
        try options.validate()
        Threads.releaseBLASWorkers()  // decoding runs on this thread; spinning BLAS workers would compete
        guard maxNewTokens >= 0 else { throw ModelError("generation: maxNewTokens must be ≥ 0, got \(maxNewTokens)") }
        guard !prompt.isEmpty else { throw ModelError("generation: the prompt is empty; give at least one token") }
        guard prompt.count <= context else {
            throw ModelError("generation: the prompt has \(prompt.count) tokens, more than the model's context of \(context)")
        }
        var keep = context - 1
        switch overflow {
        case .error:
            // The last token is sampled, never fed, so prompt + new − 1 positions are needed.
            guard prompt.count + maxNewTokens - 1 <= context else {
                throw ModelError("generation: \(prompt.count) prompt tokens + \(maxNewTokens) new tokens outgrow the context "
                                 + "of \(context); generate at most \(context - prompt.count + 1) or slide the window (.slide())")
            }
        case .slide(let requested):
            keep = requested ?? context - 1
            guard keep >= 1, keep < context else {
                throw ModelError("generation: the sliding window must keep 1..<\(context) tokens, got \(keep)")
            }
        }
        reset()
        var rng = RNG(seed: options.seed)
        var logits = try prefill(prompt)
        var output: [Int32] = []
        output.reserveCapacity(min(maxNewTokens, 4096))  // a huge request must not allocate up front
        for index in 0..<maxNewTokens {
            let next = try sample(logits, options: options, rng: &rng)
            output.append(next)
            if !onToken(next) || index == maxNewTokens - 1 { break }
            if cache.count == context {  // only reachable with .slide
                let kept = Array(tokens.suffix(keep))
                reset()
                _ = try prefill(kept)
            }
            logits = try self.logits(forNext: next)
        }
        return output
    }

    /// Picks a token from `logits` (V): argmax at temperature 0; otherwise a draw from
    /// softmax(logits / temperature) restricted to the top-k, then to the top-p nucleus.
    /// Candidates are ranked by logit, ties by lower id, so top-k = 1 is greedy.
    ///
    /// Total over any logits, as `InferenceKernels.argmax` is: a NaN logit is never drawn (it
    /// counts as −∞); when the largest logit is +∞ the first +∞ is taken, as argmax takes it (the
    /// softmax's limit puts all the probability on the +∞ logits); when every logit is −∞ or NaN,
    /// the argmax's token (the first −∞, or 0), no draw being defined from such a row.
    public func sample(_ logits: UnsafeBufferPointer<Float>, options: SamplingOptions, rng: inout RNG) throws -> Int32 {
        try options.validate()
        guard let base = logits.baseAddress, logits.count > 0, logits.count <= vocabulary else {
            throw ModelError("sampling: expected 1…\(vocabulary) logits, got \(logits.count)")
        }
        let n = logits.count
        let inverse = 1 / options.temperature
        let top = InferenceKernels.argmax(base, count: n)
        if options.temperature == 0 || !inverse.isFinite || !base[top].isFinite {
            return Int32(top)
        }
        /// A logit for ranking and the softmax: NaN as −∞ (probability 0, ranked last).
        @inline(__always) func logit(_ i: Int) -> Float { base[i].isNaN ? -.infinity : base[i] }
        var candidates = n
        let ranked = (options.topK > 0 && options.topK < n) || options.topP < 1
        if ranked {
            for i in 0..<n { order[i] = Int32(i) }
            var ranking = UnsafeMutableBufferPointer(start: order, count: n)
            ranking.sort { a, b in
                let (la, lb) = (logit(Int(a)), logit(Int(b)))
                return la > lb || (la == lb && a < b)
            }
            if options.topK > 0 { candidates = min(options.topK, n) }
            for i in 0..<candidates { probabilities[i] = logit(Int(order[i])) }
        } else {
            for i in 0..<n { probabilities[i] = logit(i) }
        }
        InferenceKernels.softmaxInPlace(probabilities, count: candidates, scale: inverse)
        var total: Float = 0
        if options.topP < 1 {  // the smallest prefix reaching top-p (at least one token)
            var kept = 0
            while kept < candidates && (kept == 0 || total < options.topP) { total += probabilities[kept]; kept += 1 }
            candidates = kept
        } else {
            total = 1
        }
        let u = rng.nextFloat() * total
        var cumulative: Float = 0
        var chosen = candidates - 1
        for i in 0..<candidates {
            cumulative += probabilities[i]
            if u < cumulative { chosen = i; break }
        }
        return ranked ? order[chosen] : Int32(chosen)
    }

    // MARK: - The step

    /// Throws unless `token` is in 0..<V.
    private func check(_ token: Int32) throws {
        guard token >= 0, Int(token) < vocabulary else {
            throw ModelError("generation: token id \(token) is outside the vocabulary 0..<\(vocabulary)")
        }
    }

    /// Throws unless `count` more positions fit in the cache.
    private func checkRoom(for count: Int) throws {
        guard cache.count + count <= context else {
            throw ModelError("generation: \(cache.count) cached + \(count) new tokens exceed the context of \(context); "
                             + "reset() or slide the window")
        }
    }

    /// Runs one token through the blocks at the next position, appending its keys and values.
    private func step(_ token: Int32) {
        typealias Kernels = InferenceKernels
        let t = cache.count, d = headSize, m = mlpWidth, stride = cache.width
        Kernels.sum(weights.tokenEmbedding + Int(token) * c, weights.positionEmbedding + t * c, out: x, count: c) // (C)
        for (layer, w) in weights.blocks.enumerated() {
            let heads = layerHeads[layer], a = heads * d
            // x += attn(ln_1(x))
            Kernels.layerNormRow(x, weight: w.norm1Weight, bias: w.norm1Bias, out: h, count: c, epsilon: epsilon)
            w.qkv.apply(h, bias: w.qkvBias, out: qkv, inFeatures: c, outFeatures: 3 * a)                          // (3A)
            let keys = cache.keys(layer), values = cache.values(layer)                                            // (T_max, ≥ A)
            (keys + t * stride).update(from: qkv + a, count: a)
            (values + t * stride).update(from: qkv + 2 * a, count: a)
            Kernels.attentionRow(query: qkv, keys: keys, values: values, rowStride: stride, length: t + 1,
                                 heads: heads, headSize: d, scores: scores, out: attention)                       // (A)
            w.attentionProjection.apply(attention, bias: w.attentionProjectionBias, out: x, inFeatures: a, outFeatures: c,
                                        accumulate: true)
            // x += mlp(ln_2(x))
            Kernels.layerNormRow(x, weight: w.norm2Weight, bias: w.norm2Bias, out: h, count: c, epsilon: epsilon)
            w.expand.apply(h, bias: w.expandBias, out: hidden, inFeatures: c, outFeatures: m)                    // (M)
            Kernels.geluInPlace(hidden, count: m)
            w.mlpProjection.apply(hidden, bias: w.mlpProjectionBias, out: x, inFeatures: m, outFeatures: c,
                                  accumulate: true)
        }
        cache.count = t + 1
        tokens.append(token)
    }

    /// Logits (V) from the last step's residual stream x: ln_f, then the head tied to wte.
    private func head() -> UnsafeBufferPointer<Float> {
        InferenceKernels.layerNormRow(x, weight: weights.finalNormWeight, bias: weights.finalNormBias,
                                      out: h, count: c, epsilon: epsilon)
        InferenceKernels.matrixVector(weights.tokenEmbedding, rows: vocabulary, columns: c, h, out: logitsBuffer)   // (V)
        return UnsafeBufferPointer(start: logitsBuffer, count: vocabulary)
    }

    /// The prompt through the model's own batched forward (no grad) into an empty cache: keys
    /// and values are copied out of each block's qkv, x keeps the last row of the stream.
    private func prefillBatched(_ prompt: [Int32]) throws {
        let (n, c, cache, stride) = (prompt.count, c, cache, cache.width)
        try noGrad {
            let ids = try IndexTensor(shape: [1, n], values: prompt)
            let stream = try model.hiddenStates(ids) { layer, qkv in                            // qkv (1, T, 3A)
                let a = qkv.shape[2] / 3
                for row in 0..<n {
                    (cache.keys(layer) + row * stride).update(from: qkv.data + row * 3 * a + a, count: a)
                    (cache.values(layer) + row * stride).update(from: qkv.data + row * 3 * a + 2 * a, count: a)
                }
            }                                                                                    // (1, T, C)
            x.update(from: stream.data + (n - 1) * c, count: c)
        }
        cache.count = n
        tokens.append(contentsOf: prompt)
    }
}

/// A Linear layer's weight as a step reads it: dense (in, out) float32, or packed (quantized, sparse).
private enum LinearWeight {
    case dense(UnsafePointer<Float>)
    case packed(any PackedMatrix)

    init(_ linear: Linear, _ pointer: (Tensor) -> UnsafePointer<Float>) {
        if let packed = linear.packed { self = .packed(packed) } else { self = .dense(pointer(linear.weight)) }
    }

    /// out (= or +=) x · W + bias for one row.
    @inline(__always)
    func apply(_ x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>,
               inFeatures: Int, outFeatures: Int, accumulate: Bool = false) {
        switch self {
        case .dense(let weight):
            InferenceKernels.linearRow(x, weight: weight, bias: bias, out: out, inFeatures: inFeatures,
                                       outFeatures: outFeatures, accumulate: accumulate)
        case .packed(let matrix):
            matrix.multiplyRow(x, into: out, accumulate: accumulate)
            if let bias { InferenceKernels.add(bias, into: out, count: outFeatures) }
        }
    }
}

/// Pointers to the parameters a step reads (the model's tensors keep them alive).
private struct Weights {
    struct Block {
        let norm1Weight, norm1Bias, norm2Weight, norm2Bias: UnsafePointer<Float>
        let qkv, attentionProjection, expand, mlpProjection: LinearWeight
        let qkvBias, attentionProjectionBias, expandBias, mlpProjectionBias: UnsafePointer<Float>?
    }
    var tokenEmbedding: UnsafePointer<Float>!, positionEmbedding: UnsafePointer<Float>!  // (V, C), (T_max, C)
    var finalNormWeight: UnsafePointer<Float>!, finalNormBias: UnsafePointer<Float>!
    var blocks: [Block] = []
    /// The tensors behind the pointers, held so a replaced parameter cannot be freed under us.
    var retained: [Tensor] = []

    init() {}

    init(_ model: GPT) {
        let t = model.transformer
        var held: [Tensor] = []
        func p(_ tensor: Tensor) -> UnsafePointer<Float> { held.append(tensor); return UnsafePointer(tensor.data) }
        (tokenEmbedding, positionEmbedding) = (p(t.wte.weight), p(t.wpe.weight))
        (finalNormWeight, finalNormBias) = (p(t.finalNorm.weight), p(t.finalNorm.bias))
        blocks = t.h.map { b in
            Block(norm1Weight: p(b.attentionNorm.weight), norm1Bias: p(b.attentionNorm.bias),
                  norm2Weight: p(b.mlpNorm.weight), norm2Bias: p(b.mlpNorm.bias),
                  qkv: LinearWeight(b.attn.qkv, p), attentionProjection: LinearWeight(b.attn.projection, p),
                  expand: LinearWeight(b.mlp.expand, p), mlpProjection: LinearWeight(b.mlp.projection, p),
                  qkvBias: b.attn.qkv.bias.map(p), attentionProjectionBias: b.attn.projection.bias.map(p),
                  expandBias: b.mlp.expand.bias.map(p), mlpProjectionBias: b.mlp.projection.bias.map(p))
        }
        retained = held
    }
}

extension GPT {
    /// A generator (KV cache and scratch buffers) for batch-1 inference with this model.
    public func makeGenerator() -> Generator { Generator(model: self) }

    /// Generates up to `maxNewTokens` tokens after `prompt` with a fresh generator; see
    /// `Generator.generate`. Reuse a generator when generating repeatedly.
    public func generate(prompt: [Int32], maxNewTokens: Int, options: SamplingOptions = .greedy,
                         overflow: ContextOverflow = .slide(), onToken: (Int32) -> Bool = { _ in true }) throws -> [Int32] {
        try makeGenerator().generate(prompt: prompt, maxNewTokens: maxNewTokens, options: options,
                                     overflow: overflow, onToken: onToken)
    }
}
