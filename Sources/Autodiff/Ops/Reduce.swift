// sum and mean over axes, through the strided row walk: the output is read with stride 0
// along every reduced axis, so one loop serves any set of axes.

extension Tensor {
    /// Normalises axes (negative counts from the end), rejecting out-of-range or repeated ones.
    func normalizedAxes(_ axes: [Int], op: String) throws -> [Int] {
        var seen = Set<Int>()
        return try axes.map { axis in
            let a = axis < 0 ? axis + rank : axis
            guard a >= 0 && a < rank else {
                throw TensorError("\(op): axis \(axis) is out of range for shape \(shape)")
            }
            guard seen.insert(a).inserted else { throw TensorError("\(op): axis \(axis) is repeated in \(axes)") }
            return a
        }
    }

    /// Sum over `axes` (all axes when nil). With `keepDimensions` the reduced axes stay as 1.
    public func sum(axes: [Int]? = nil, keepDimensions: Bool = false) throws -> Tensor {
        let axes = try normalizedAxes(axes ?? Array(0..<rank), op: "sum")
        var keptShape = shape
        for a in axes { keptShape[a] = 1 }
        let finalShape = keepDimensions ? keptShape : shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
        let out = try Tensor.zeros(keptShape)
        let inStrides = contiguousStrides(shape), outStrides = broadcastStrides(keptShape, to: shape)
        let n = shape.last ?? 1
        let (si, so) = (inStrides.last ?? 1, outStrides.last ?? 0)
        if axes.count == rank && count >= 2 * elementwiseGrain {
            // Whole-tensor sum: per-thread partials.
            let chunks = chunkCount(count, minimumPerThread: elementwiseGrain)
            let partials = Tensor.empty([chunks])
            let (px, pp) = (Unchecked(data), Unchecked(partials.data))
            parallelChunks(count, chunks: chunks) { c, r in
                var s: Float = 0
                for i in r { s += px.value[i] }
                pp.value[c] = s
            }
            out.data[0] = partials.toArray().reduce(0, +)
        } else {
            forEachRow(shape, [inStrides, outStrides]) { off in
                let x = data + off[0], o = out.data + off[1]
                if so == 0 {
                    var s: Float = 0
                    for i in 0..<n { s += x[i * si] }
                    o[0] += s
                } else {
                    for i in 0..<n { o[i] += x[i] }
                }
            }
        }
        let result = Tensor(shape: finalShape, storage: out.storage)
        return result.recorded("sum", [self]) { [self] _, g in
            let gi = gradBuffer()
            forEachRow(shape, [inStrides, outStrides]) { off in
                let t = gi + off[0], gg = g.data + off[1]
                if so == 0 { let v = gg[0]; for i in 0..<n { t[i] += v } } else { for i in 0..<n { t[i] += gg[i] } }
            }
        }
    }

    /// Mean over `axes` (all axes when nil).
    public func mean(axes: [Int]? = nil, keepDimensions: Bool = false) throws -> Tensor {
        let normalized = try normalizedAxes(axes ?? Array(0..<rank), op: "mean")
        let n = normalized.reduce(1) { $0 * shape[$1] }
        return try sum(axes: normalized, keepDimensions: keepDimensions) * (1 / Float(max(n, 1)))
    }
}
