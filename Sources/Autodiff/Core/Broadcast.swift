// Broadcasting (NumPy rules) and the strided row iteration that elementwise ops, reductions
// and permutes share: the output index space is walked one innermost row at a time, and each
// operand is addressed through its own strides (0 along a broadcast dimension).

/// The shape two shapes broadcast to, or an error naming both.
func broadcastShape(_ a: [Int], _ b: [Int], op: String) throws -> [Int] {
    let rank = max(a.count, b.count)
    var out = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
        let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
        let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
        guard da == db || da == 1 || db == 1 else {
            throw TensorError("\(op): shapes \(a) and \(b) cannot be broadcast together (dimension \(i): \(da) vs \(db))")
        }
        out[i] = da == 1 ? db : da
    }
    return out
}

/// Row-major element strides of `shape`.
func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var s = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) { strides[i] = s; s *= shape[i] }
    return strides
}

/// Strides for reading an operand of `shape` as if it had `outShape` (rank-aligned on the
/// right, stride 0 where the operand's dimension is 1 or missing).
func broadcastStrides(_ shape: [Int], to outShape: [Int]) -> [Int] {
    let own = contiguousStrides(shape)
    let offset = outShape.count - shape.count
    return (0..<outShape.count).map { i in
        i < offset || shape[i - offset] == 1 ? 0 : own[i - offset]
    }
}

/// Walks `shape` row by row (the innermost dimension is one row). For each row, calls `body`
/// with the starting offset of every operand (in elements) — the operands' innermost strides
/// are `strides[k].last`. Offsets for the operands are computed incrementally, not per element.
func forEachRow(_ shape: [Int], _ strides: [[Int]], _ body: (_ offsets: UnsafeMutableBufferPointer<Int>) -> Void) {
    let operandCount = strides.count
    let total = shape.reduce(1, *)
    guard total > 0 else { return }
    let rank = shape.count
    let offsets = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(operandCount, 1))
    defer { offsets.deallocate() }
    offsets.initialize(repeating: 0)
    if rank <= 1 { body(offsets); return }
    var index = [Int](repeating: 0, count: rank - 1)
    let rows = total / shape[rank - 1]
    for _ in 0..<rows {
        body(offsets)
        // Increment the multi-index over the outer dimensions, carrying as needed.
        var d = rank - 2
        while d >= 0 {
            index[d] += 1
            for k in 0..<operandCount { offsets[k] += strides[k][d] }
            if index[d] < shape[d] { break }
            for k in 0..<operandCount { offsets[k] -= strides[k][d] * shape[d] }
            index[d] = 0
            d -= 1
        }
    }
}
