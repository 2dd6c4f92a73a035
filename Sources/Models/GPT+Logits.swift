// Logits a piece at a time. At a 50k vocabulary the (B, T, V) logits of a batch are gigabytes, many
// times the model; evaluation walks them a window and a run of positions at a time instead.

extension GPT {
    /// The logits of ids (B, T) a piece at a time: for each window b and each run of at most
    /// `positions` positions, `body(b, range, logits (1, range.count, V))`. The same values as
    /// `self(ids)`, without the (B, T, V) tensor, whose size at a 50k vocabulary dwarfs the model's.
    public func forEachLogitChunk(_ ids: IndexTensor, positions: Int,
                                  _ body: (_ window: Int, _ range: Range<Int>, _ logits: Tensor) throws -> Void) throws {
        guard ids.shape.count == 2, positions >= 1 else {
            throw ModelError("GPT: expected token ids of shape (B, T) and a chunk of at least one position, "
                             + "got \(ids.shape), \(positions)")
        }
        for window in 0 ..< ids.shape[0] {
            let x = try normedHiddenStates(ids.rows(window ..< window + 1))                    // (1, T, C)
            for start in stride(from: 0, to: ids.shape[1], by: positions) {
                let range = start ..< min(ids.shape[1], start + positions)
                try body(window, range, try headLogits(x, positions: range))                    // (1, n, V)
            }
        }
    }

    /// ln_f of the residual stream: ids (B, T) → (B, T, C), what the head multiplies.
    public func normedHiddenStates(_ ids: IndexTensor) throws -> Tensor {
        try transformer.finalNorm(hiddenStates(ids))
    }

    /// The head's logits for positions `range` of normed hidden states (B, T, C) → (B, n, V).
    public func headLogits(_ x: Tensor, positions range: Range<Int>) throws -> Tensor {
        let piece = x.rank == 3 && range == 0 ..< x.shape[1] ? x : try x.sliced(axis: 1, range)
        return try piece.matmul(transformer.wte.weight, transposeB: true)
    }
}
