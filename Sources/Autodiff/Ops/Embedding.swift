// Embedding lookup (gather rows) with a scatter-add backward, and seeded dropout.

extension Tensor {
    /// Rows of this (V, C) table at `indices`: the result has shape indices.shape + [C].
    /// An index outside 0..<V is an error naming it and its position.
    public func embedding(_ indices: IndexTensor) throws -> Tensor {
        guard rank == 2 else { throw TensorError("embedding: the table must be 2-D (V, C), got \(shape)") }
        let (vocabulary, c) = (shape[0], shape[1])
        if let bad = indices.values.firstIndex(where: { $0 < 0 || Int($0) >= vocabulary }) {
            throw TensorError("embedding: index \(indices.values[bad]) at position \(bad) is outside 0..<\(vocabulary) (table \(shape))")
        }
        let out = Tensor.empty(indices.shape + [c])
        indices.values.withUnsafeBufferPointer { ids in
            for (row, id) in ids.enumerated() { (out.data + row * c).update(from: data + Int(id) * c, count: c) }
        }
        return out.recorded("embedding", [self]) { [self] _, g in
            let table = gradBuffer()
            indices.values.withUnsafeBufferPointer { ids in
                for (row, id) in ids.enumerated() {
                    let src = g.data + row * c, dst = table + Int(id) * c
                    for i in 0..<c { dst[i] += src[i] }
                }
            }
        }
    }

    /// Inverted dropout: zeroes each element with probability `p` and scales the rest by
    /// 1/(1 − p). Identity when `p` is 0. The mask comes from `rng`, so a seed fixes it.
    public func dropout(_ p: Float, rng: inout RNG) throws -> Tensor {
        guard p >= 0 && p < 1 else { throw TensorError("dropout: probability must be in [0, 1), got \(p)") }
        if p == 0 { return self }
        let keep = 1 / (1 - p)
        let mask = Tensor.empty(shape)
        for i in 0..<count { mask.data[i] = rng.nextFloat() < p ? 0 : keep }
        let out = Tensor.empty(shape)
        for i in 0..<count { out.data[i] = data[i] * mask.data[i] }
        return out.recorded("dropout", [self]) { [self] _, g in
            let t = gradBuffer()
            for i in 0..<count { t[i] += g.data[i] * mask.data[i] }
        }
    }
}
