import Testing
@testable import NN

/// A small language model: embedding → layer norm → linear head, next-token cross-entropy.
final class TinyLM: Module {
    var embedding: Embedding
    @Key("ln") var norm: LayerNorm
    var head: Linear

    init(seed: UInt64) throws {
        var rng = RNG(seed: seed)
        embedding = try Embedding(count: 11, dimensions: 8, std: 0.5, rng: &rng)
        _norm.wrappedValue = try LayerNorm(dimensions: 8)
        head = try Linear(inFeatures: 8, outFeatures: 11, std: 0.5, rng: &rng)
    }

    func loss(_ ids: IndexTensor, _ targets: IndexTensor) throws -> Tensor {
        try head(norm(embedding(ids))).crossEntropy(targets: targets)
    }
}

/// A batch of `rows` windows of 6 tokens.
private func batch(rows: Int, seed: UInt64) throws -> (IndexTensor, IndexTensor) {
    var rng = RNG(seed: seed)
    let ids = (0 ..< rows * 6).map { _ in Int32(rng.nextInt(below: 11)) }
    let targets = (0 ..< rows * 6).map { _ in Int32(rng.nextInt(below: 11)) }
    return (try IndexTensor(shape: [rows, 6], values: ids), try IndexTensor(shape: [rows, 6], values: targets))
}

private func gradients(_ model: Module) -> [[Float]] { model.parameters().map { $0.grad?.toArray() ?? [] } }

@Suite("DataParallel") struct DataParallelTests {
    @Test("split over 2 or 3 shards, the gradient and the loss are the whole batch's")
    func matchesWholeBatch() throws {
        for shards in [2, 3] {
            let (ids, targets) = try batch(rows: 7, seed: 3)
            let reference = try TinyLM(seed: 1)
            let whole = try reference.loss(ids, targets)
            try whole.backward()

            let model = try TinyLM(seed: 1)
            let parallel = try DataParallel(model: model, shards: shards) { try TinyLM(seed: 99) }
            #expect(parallel.shardRanges(rows: 7).count == shards)
            let loss = try parallel.gradients(rows: 7) { replica, range in
                try replica.loss(ids.rows(range), targets.rows(range))
            }
            let expected = try whole.item()
            #expect(abs(loss - expected) < 1e-5, "shards \(shards): \(loss) vs \(expected)")
            for (p, q) in zip(model.namedParameters(), reference.namedParameters()) {
                let (a, b) = (p.tensor.grad!.toArray(), q.tensor.grad!.toArray())
                let worst = zip(a, b).map { abs($0 - $1) }.max()!
                #expect(worst < 1e-5, "shards \(shards), \(p.name): max |Δ| \(worst)")
            }
        }
    }

    @Test("replicas see the model's weights as they change: after an update the gradients still match")
    func replicasShareWeights() throws {
        let (ids, targets) = try batch(rows: 4, seed: 5)
        let model = try TinyLM(seed: 2), reference = try TinyLM(seed: 2)
        let parallel = try DataParallel(model: model, shards: 2) { try TinyLM(seed: 7) }
        for _ in 0 ..< 3 {
            _ = try parallel.gradients(rows: 4) { replica, range in try replica.loss(ids.rows(range), targets.rows(range)) }
            reference.zeroGrad()
            try reference.loss(ids, targets).backward()
            for (p, q) in zip(model.parameters(), reference.parameters()) {
                let worst = zip(p.grad!.toArray(), q.grad!.toArray()).map { abs($0 - $1) }.max()!
                #expect(worst < 1e-5)
                // The same plain SGD step on both: only the model's own tensors are written.
                for m in [p, q] { for i in 0 ..< m.count { m.data[i] -= 0.5 * m.grad!.data[i] } }
            }
        }
    }

    @Test("the same batch twice gives the same gradient bits (sums in a fixed order, not by timing)")
    func deterministic() throws {
        let (ids, targets) = try batch(rows: 8, seed: 4)
        let model = try TinyLM(seed: 3)
        let parallel = try DataParallel(model: model, shards: 2) { try TinyLM(seed: 3) }
        var runs: [[[Float]]] = []
        for _ in 0 ..< 3 {
            _ = try parallel.gradients(rows: 8) { replica, range in try replica.loss(ids.rows(range), targets.rows(range)) }
            runs.append(gradients(model))
        }
        #expect(runs[0] == runs[1] && runs[1] == runs[2])
    }

    @Test("fewer rows than shards: one shard per row; one shard runs the batch as it is")
    func shardRanges() throws {
        let model = try TinyLM(seed: 1)
        let parallel = try DataParallel(model: model, shards: 3) { try TinyLM(seed: 1) }
        #expect(parallel.shardRanges(rows: 1) == [0 ..< 1])
        #expect(parallel.shardRanges(rows: 2) == [0 ..< 1, 1 ..< 2])
        #expect(parallel.shardRanges(rows: 16) == [0 ..< 5, 5 ..< 10, 10 ..< 16])
        let (ids, targets) = try batch(rows: 1, seed: 6)
        var calls: [Range<Int>] = []
        let loss = try parallel.gradients(rows: 1) { replica, range in
            calls.append(range)
            #expect(replica === model)
            return try replica.loss(ids.rows(range), targets.rows(range))
        }
        #expect(calls == [0 ..< 1] && loss.isFinite)
    }

    @Test("a shard's error reaches the caller; a non-finite loss is returned, not thrown")
    func failures() throws {
        let (ids, targets) = try batch(rows: 4, seed: 8)
        let model = try TinyLM(seed: 1)
        let parallel = try DataParallel(model: model, shards: 2) { try TinyLM(seed: 1) }
        let error = #expect(throws: TensorError.self) {
            _ = try parallel.gradients(rows: 4) { replica, range in
                if range.lowerBound > 0 { throw TensorError("shard \(range) failed") }
                return try replica.loss(ids.rows(range), targets.rows(range))
            }
        }
        #expect(error?.message == "shard 2..<4 failed")
        model.head.bias!.data[0] = .nan
        let loss = try parallel.gradients(rows: 4) { replica, range in try replica.loss(ids.rows(range), targets.rows(range)) }
        #expect(loss.isNaN)
    }

    @Test("inside a shard, kernels see one thread; the setting is restored after")
    func threadLimit() throws {
        let outside = Threads.count
        Threads.limited(to: 1) {
            #expect(Threads.count == 1)
            Threads.limited(to: 64) { #expect(Threads.count == outside) }  // never above the setting
            #expect(Threads.count == 1)
        }
        #expect(Threads.count == outside)
    }

    @Test("sharing needs the same structure, and every parameter held by a layer that shares it")
    func sharingErrors() throws {
        var rng = RNG(seed: 1)
        let error = #expect(throws: TensorError.self) { try TinyLM(seed: 1).shareParameters(of: try Block(rng: &rng)) }
        #expect(error?.message.hasPrefix("shareParameters: TinyLM has 4 modules") == true, "\(String(describing: error))")
        // Block holds a bare tensor (`scale`) that no layer shares: refused, by name.
        let (a, b) = (try Block(rng: &rng), try Block(rng: &rng))
        let unshared = #expect(throws: TensorError.self) { try a.shareParameters(of: b) }
        #expect(unshared?.message.contains("\"scale\"") == true)
        let replica = try TinyLM(seed: 5), model = try TinyLM(seed: 6)
        try replica.shareParameters(of: model)
        #expect(replica.head.weight.sharesStorage(with: model.head.weight))
        #expect(replica.head.weight !== model.head.weight && replica.head.weight.requiresGrad)
    }
}
