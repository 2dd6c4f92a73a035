// reshape (shares storage), permute/transpose, slice and concat (copies).

extension Tensor {
    /// The same values with another shape; one dimension may be −1 (inferred). Shares storage.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        var resolved = newShape
        let inferred = newShape.indices.filter { newShape[$0] == -1 }
        guard inferred.count <= 1, !newShape.contains(where: { $0 < -1 }) else {
            throw TensorError("reshape: cannot reshape \(shape) to \(newShape): at most one −1 and no other negative sizes")
        }
        if let i = inferred.first {
            let known = newShape.enumerated().filter { $0.offset != i }.reduce(1) { $0 * $1.element }
            guard known > 0, count % known == 0 else {
                throw TensorError("reshape: cannot reshape \(shape) (\(count) elements) to \(newShape)")
            }
            resolved[i] = count / known
        }
        guard resolved.reduce(1, *) == count else {
            throw TensorError("reshape: cannot reshape \(shape) (\(count) elements) to \(newShape) (\(resolved.reduce(1, *)) elements)")
        }
        let out = Tensor(shape: resolved, storage: storage)
        return out.recorded("reshape", [self]) { [self] _, g in
            let (pt, pg) = (Unchecked(gradBuffer()), Unchecked(g.data))
            parallelRanges(count, minimumPerThread: elementwiseGrain) { r in
                for i in r { pt.value[i] += pg.value[i] }
            }
        }
    }

    /// Reorders the dimensions: output dimension i is input dimension `axes[i]`.
    public func permuted(_ axes: [Int]) throws -> Tensor {
        let axes = try normalizedAxes(axes, op: "permute")
        guard axes.count == rank else {
            throw TensorError("permute: \(axes) is not a permutation of the \(rank) dimensions of \(shape)")
        }
        let outShape = axes.map { shape[$0] }
        let inStrides = contiguousStrides(shape)
        let readStrides = axes.map { inStrides[$0] }     // input strides in output order
        let outStrides = contiguousStrides(outShape)
        let out = Tensor.empty(outShape)
        let n = outShape.last ?? 1, s = readStrides.last ?? 1
        forEachRow(outShape, [readStrides, outStrides]) { off in
            let x = data + off[0], o = out.data + off[1]
            for i in 0..<n { o[i] = x[i * s] }
        }
        return out.recorded("permute", [self]) { [self] _, g in
            let gi = gradBuffer()
            forEachRow(outShape, [readStrides, outStrides]) { off in
                let t = gi + off[0], gg = g.data + off[1]
                for i in 0..<n { t[i * s] += gg[i] }
            }
        }
    }

    /// Swaps two dimensions.
    public func transposed(_ a: Int, _ b: Int) throws -> Tensor {
        var axes = Array(0..<rank)
        let (a, b) = (try normalizedAxes([a], op: "transpose")[0], try normalizedAxes([b], op: "transpose")[0])
        axes.swapAt(a, b)
        return try permuted(axes)
    }

    /// The elements with index in `range` along `axis`.
    public func sliced(axis: Int, _ range: Range<Int>) throws -> Tensor {
        let axis = try normalizedAxes([axis], op: "slice")[0]
        guard range.lowerBound >= 0, range.upperBound <= shape[axis] else {
            throw TensorError("slice: range \(range) is out of bounds for dimension \(axis) of shape \(shape)")
        }
        var outShape = shape
        outShape[axis] = range.count
        let out = Tensor.empty(outShape)
        let base = range.lowerBound * contiguousStrides(shape)[axis]
        Tensor.copyRegion(data + base, strides: contiguousStrides(shape), to: out.data,
                          strides: contiguousStrides(outShape), shape: outShape)
        return out.recorded("slice", [self]) { [self] _, g in
            Tensor.addRegion(g, into: gradBuffer(), offset: base, shape: outShape, strides: contiguousStrides(shape))
        }
    }

    /// Joins tensors along `axis`; all other dimensions must agree.
    public static func concatenate(_ tensors: [Tensor], axis: Int) throws -> Tensor {
        guard let first = tensors.first else { throw TensorError("concatenate: needs at least one tensor") }
        let axis = try first.normalizedAxes([axis], op: "concatenate")[0]
        for t in tensors where t.rank != first.rank || zip(t.shape, first.shape).enumerated().contains(where: { $0.offset != axis && $0.element.0 != $0.element.1 }) {
            throw TensorError("concatenate: shapes \(first.shape) and \(t.shape) differ outside axis \(axis)")
        }
        var outShape = first.shape
        outShape[axis] = tensors.reduce(0) { $0 + $1.shape[axis] }
        let out = Tensor.empty(outShape)
        let outStrides = contiguousStrides(outShape)
        var offsets: [Int] = []
        var start = 0
        for t in tensors {
            offsets.append(start * outStrides[axis])
            copyRegion(t.data, strides: contiguousStrides(t.shape), to: out.data + start * outStrides[axis],
                       strides: outStrides, shape: t.shape)
            start += t.shape[axis]
        }
        return out.recorded("concatenate", tensors) { _, g in
            for (t, offset) in zip(tensors, offsets) where t.requiresGrad {
                // g's region for t, read with g's strides, added into t's contiguous gradient.
                let tg = t.gradBuffer(), ts = contiguousStrides(t.shape)
                let n = t.shape.last ?? 1
                forEachRow(t.shape, [outStrides, ts]) { off in
                    let src = g.data + offset + off[0], dst = tg + off[1]
                    for i in 0..<n { dst[i] += src[i] }
                }
            }
        }
    }

    /// Copies a `shape` region: element (i…) goes from `source + Σ i·sourceStrides` to
    /// `destination + Σ i·destinationStrides` (both contiguous along the last dimension).
    private static func copyRegion(_ source: UnsafeMutablePointer<Float>, strides sourceStrides: [Int],
                                   to destination: UnsafeMutablePointer<Float>, strides destinationStrides: [Int],
                                   shape: [Int]) {
        let n = shape.last ?? 1
        forEachRow(shape, [sourceStrides, destinationStrides]) { off in
            (destination + off[1]).update(from: source + off[0], count: n)
        }
    }

    /// Adds a contiguous `shape` tensor into a region of a larger buffer laid out by `strides`.
    private static func addRegion(_ g: Tensor, into target: UnsafeMutablePointer<Float>, offset: Int,
                                  shape: [Int], strides: [Int]) {
        let n = shape.last ?? 1
        forEachRow(shape, [contiguousStrides(shape), strides]) { off in
            let src = g.data + off[0], dst = target + offset + off[1]
            for i in 0..<n { dst[i] += src[i] }
        }
    }
}
