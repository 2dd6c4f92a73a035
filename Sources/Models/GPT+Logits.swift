// Logits a piece at a time. At a 50k vocabulary the (B, T, V) logits of a batch are gigabytes, many
// times the model; evaluation walks them a window and a run of positions at a time instead, and a
// logit export a run of rows of the batch at a time.

extension GPT {
    /// The logits of ids (B, T) a piece at a time: for each window b and each run of at most
    /// `positions` positions, `body(b, range, logits (1, range.count, V))`. The same values as
    /// `self(ids)`, without the (B, T, V) tensor, whose size at a 50k vocabulary dwarfs the model's.
    /// The heap's free pages go back to the kernel after each block and window
    /// (`Memory.releaseFreed`).
    public func forEachLogitChunk(_ ids: IndexTensor, positions: Int,
                                  _ body: (_ window: Int, _ range: Range<Int>, _ logits: Tensor) throws -> Void) throws {
        guard ids.shape.count == 2, positions >= 1 else {
            throw ModelError("GPT: expected token ids of shape (B, T) and a chunk of at least one position, "
                             + "got \(ids.shape), \(positions)")
        }
        for window in 0 ..< ids.shape[0] {
            let x = try normedHiddenStates(ids.rows(window ..< window + 1), releasingFreedMemory: true)  // (1, T, C)
            for start in stride(from: 0, to: ids.shape[1], by: positions) {
                let range = start ..< min(ids.shape[1], start + positions)
                try body(window, range, try headLogits(x, positions: range))                    // (1, n, V)
            }
            Memory.releaseFreed()
        }
    }

    /// Rows of logits a chunk of `forEachLogitRows` holds by default: about 24 MB of them (128 rows
    /// of a 45k vocabulary), at least one row.
    public func logitRowsPerChunk(bytes: Int = 24 << 20) -> Int {
        max(1, bytes / (config.vocabularySize * MemoryLayout<Float>.stride))
    }

    /// The logits of ids (B, T) as rows of the flattened (B·T, V): the trunk runs on the whole
    /// batch at once, the head on at most `rows` rows at a time, and `body(firstRow, logits (n, V))`
    /// sees rows firstRow..<firstRow + n, in order. The same values as `self(ids)` reshaped to
    /// (B·T, V), without holding them all; the heap's free pages go back to the kernel after each
    /// block and at the end.
    public func forEachLogitRows(_ ids: IndexTensor, rows: Int,
                                 _ body: (_ firstRow: Int, _ logits: Tensor) throws -> Void) throws {
        guard rows >= 1 else { throw ModelError("GPT: a chunk of logits needs at least one row, got \(rows)") }
        let x = try normedHiddenStates(ids, releasingFreedMemory: true)                 // (B, T, C)
        let flat = try x.reshaped([x.shape[0] * x.shape[1], x.shape[2]])              // (B·T, C)
        let total = flat.shape[0]
        for start in stride(from: 0, to: total, by: rows) {
            let range = start ..< min(total, start + rows)
            let piece = range.count == total ? flat : try flat.sliced(axis: 0, range)   // (n, C)
            try body(start, try piece.matmul(transformer.wte.weight, transposeB: true)) // (n, V)
        }
        Memory.releaseFreed()
    }

    /// ln_f of the residual stream: ids (B, T) → (B, T, C), what the head multiplies.
    public func normedHiddenStates(_ ids: IndexTensor, releasingFreedMemory: Bool = false) throws -> Tensor {
        try transformer.finalNorm(hiddenStates(ids, releasingFreedMemory: releasingFreedMemory))
    }

    /// The head's logits for positions `range` of normed hidden states (B, T, C) → (B, n, V).
    public func headLogits(_ x: Tensor, positions range: Range<Int>) throws -> Tensor {
        let piece = x.rank == 3 && range == 0 ..< x.shape[1] ? x : try x.sliced(axis: 1, range)
        return try piece.matmul(transformer.wte.weight, transposeB: true)
    }
}
