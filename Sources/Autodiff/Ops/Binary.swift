// add, sub, mul, div with NumPy broadcasting, and the scalar forms.
// Same-shape operands take a flat, threaded fast path; other shapes walk rows with strides.

/// The four broadcasting binary ops. Each knows its value and its partial derivatives.
protocol BinaryFunction {
    static var name: String { get }
    static func value(_ a: Float, _ b: Float) -> Float
    /// ∂out/∂a · g and ∂out/∂b · g, given the inputs and the output gradient g.
    static func gradA(_ g: Float, _ a: Float, _ b: Float) -> Float
    static func gradB(_ g: Float, _ a: Float, _ b: Float) -> Float
}

enum AddFunction: BinaryFunction {
    static let name = "add"
    @inline(__always) static func value(_ a: Float, _ b: Float) -> Float { a + b }
    @inline(__always) static func gradA(_ g: Float, _ a: Float, _ b: Float) -> Float { g }
    @inline(__always) static func gradB(_ g: Float, _ a: Float, _ b: Float) -> Float { g }
}
enum SubFunction: BinaryFunction {
    static let name = "sub"
    @inline(__always) static func value(_ a: Float, _ b: Float) -> Float { a - b }
    @inline(__always) static func gradA(_ g: Float, _ a: Float, _ b: Float) -> Float { g }
    @inline(__always) static func gradB(_ g: Float, _ a: Float, _ b: Float) -> Float { -g }
}
enum MulFunction: BinaryFunction {
    static let name = "mul"
    @inline(__always) static func value(_ a: Float, _ b: Float) -> Float { a * b }
    @inline(__always) static func gradA(_ g: Float, _ a: Float, _ b: Float) -> Float { g * b }
    @inline(__always) static func gradB(_ g: Float, _ a: Float, _ b: Float) -> Float { g * a }
}
enum DivFunction: BinaryFunction {
    static let name = "div"
    @inline(__always) static func value(_ a: Float, _ b: Float) -> Float { a / b }
    @inline(__always) static func gradA(_ g: Float, _ a: Float, _ b: Float) -> Float { g / b }
    @inline(__always) static func gradB(_ g: Float, _ a: Float, _ b: Float) -> Float { -g * a / (b * b) }
}

/// out[i·so] = F(a[i·sa], b[i·sb]) for one row, with the common stride patterns specialised
/// so the compiler vectorises them.
@inline(__always)
private func applyRow<F: BinaryFunction>(_: F.Type, _ pa: UnsafeMutablePointer<Float>, _ sa: Int,
                                         _ pb: UnsafeMutablePointer<Float>, _ sb: Int,
                                         _ po: UnsafeMutablePointer<Float>, _ n: Int) {
    if sa == 1 && sb == 1 {
        for i in 0..<n { po[i] = F.value(pa[i], pb[i]) }
    } else if sa == 1 && sb == 0 {
        let b = pb[0]
        for i in 0..<n { po[i] = F.value(pa[i], b) }
    } else if sa == 0 && sb == 1 {
        let a = pa[0]
        for i in 0..<n { po[i] = F.value(a, pb[i]) }
    } else {
        for i in 0..<n { po[i] = F.value(pa[i * sa], pb[i * sb]) }
    }
}

func binaryOp<F: BinaryFunction>(_ f: F.Type, _ a: Tensor, _ b: Tensor) throws -> Tensor {
    let outShape = try broadcastShape(a.shape, b.shape, op: F.name)
    let out = Tensor.empty(outShape)
    let (pa, pb, po) = (Unchecked(a.data), Unchecked(b.data), Unchecked(out.data))
    if a.shape == b.shape {
        parallelRanges(out.count, minimumPerThread: elementwiseGrain) { r in
            applyRow(F.self, pa.value + r.lowerBound, 1, pb.value + r.lowerBound, 1,
                     po.value + r.lowerBound, r.count)
        }
    } else {
        let sa = broadcastStrides(a.shape, to: outShape), sb = broadcastStrides(b.shape, to: outShape)
        let so = contiguousStrides(outShape)
        let n = outShape.last ?? 1
        forEachRow(outShape, [sa, sb, so]) { off in
            applyRow(F.self, a.data + off[0], sa.last ?? 0, b.data + off[1], sb.last ?? 0,
                     out.data + off[2], n)
        }
    }
    return out.recorded(F.name, [a, b]) { out, g in
        if a.requiresGrad { accumulateBinaryGrad(F.self, wantA: true, a, b, g) }
        if b.requiresGrad { accumulateBinaryGrad(F.self, wantA: false, a, b, g) }
    }
}

/// Adds the gradient of one operand, summing over the dimensions along which it was broadcast.
private func accumulateBinaryGrad<F: BinaryFunction>(_: F.Type, wantA: Bool, _ a: Tensor, _ b: Tensor, _ g: Tensor) {
    let target = wantA ? a : b
    let (pa, pb, pg) = (Unchecked(a.data), Unchecked(b.data), Unchecked(g.data))
    if a.shape == b.shape {
        // A fresh gradient is written, not zeroed and added to.
        let (buffer, fresh) = target.gradBufferForOverwrite()
        let pt = Unchecked(buffer)
        parallelRanges(g.count, minimumPerThread: elementwiseGrain) { r in
            let (t, ga, gb, gg) = (pt.value, pa.value, pb.value, pg.value)
            switch (wantA, fresh) {
            case (true, true): for i in r { t[i] = F.gradA(gg[i], ga[i], gb[i]) }
            case (true, false): for i in r { t[i] += F.gradA(gg[i], ga[i], gb[i]) }
            case (false, true): for i in r { t[i] = F.gradB(gg[i], ga[i], gb[i]) }
            case (false, false): for i in r { t[i] += F.gradB(gg[i], ga[i], gb[i]) }
            }
        }
        return
    }
    let pt = Unchecked(target.gradBuffer())
    let shape = g.shape
    let sa = broadcastStrides(a.shape, to: shape), sb = broadcastStrides(b.shape, to: shape)
    let st = wantA ? sa : sb
    let n = shape.last ?? 1
    let (ia, ib, it) = (sa.last ?? 0, sb.last ?? 0, st.last ?? 0)
    forEachRow(shape, [sa, sb, contiguousStrides(shape)]) { off in
        let xa = pa.value + off[0], xb = pb.value + off[1], gg = pg.value + off[2]
        let t = pt.value + (wantA ? off[0] : off[1])
        if it == 0 {
            // The target is broadcast along this row: sum the row first.
            var sum: Float = 0
            if wantA { for i in 0..<n { sum += F.gradA(gg[i], xa[i * ia], xb[i * ib]) } }
            else { for i in 0..<n { sum += F.gradB(gg[i], xa[i * ia], xb[i * ib]) } }
            t[0] += sum
        } else if wantA {
            for i in 0..<n { t[i] += F.gradA(gg[i], xa[i * ia], xb[i * ib]) }
        } else {
            for i in 0..<n { t[i] += F.gradB(gg[i], xa[i * ia], xb[i * ib]) }
        }
    }
}

extension Tensor {
    /// Elementwise sum with broadcasting.
    public static func + (a: Tensor, b: Tensor) throws -> Tensor { try binaryOp(AddFunction.self, a, b) }
    /// Elementwise difference with broadcasting.
    public static func - (a: Tensor, b: Tensor) throws -> Tensor { try binaryOp(SubFunction.self, a, b) }
    /// Elementwise product with broadcasting.
    public static func * (a: Tensor, b: Tensor) throws -> Tensor { try binaryOp(MulFunction.self, a, b) }
    /// Elementwise quotient with broadcasting.
    public static func / (a: Tensor, b: Tensor) throws -> Tensor { try binaryOp(DivFunction.self, a, b) }

    /// a · scale + shift, elementwise (the scalar ops are all this one op).
    public func affine(scale: Float, shift: Float) -> Tensor {
        let out = Tensor.empty(shape)
        let (px, po) = (Unchecked(data), Unchecked(out.data))
        parallelRanges(count, minimumPerThread: elementwiseGrain) { r in
            for i in r { po.value[i] = px.value[i] * scale + shift }
        }
        return out.recorded("affine", [self]) { [self] _, g in
            let (pg, pt) = (Unchecked(g.data), Unchecked(gradBuffer()))
            parallelRanges(count, minimumPerThread: elementwiseGrain) { r in
                for i in r { pt.value[i] += pg.value[i] * scale }
            }
        }
    }

    public static func + (a: Tensor, s: Float) -> Tensor { a.affine(scale: 1, shift: s) }
    public static func + (s: Float, a: Tensor) -> Tensor { a.affine(scale: 1, shift: s) }
    public static func - (a: Tensor, s: Float) -> Tensor { a.affine(scale: 1, shift: -s) }
    public static func - (s: Float, a: Tensor) -> Tensor { a.affine(scale: -1, shift: s) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.affine(scale: s, shift: 0) }
    public static func * (s: Float, a: Tensor) -> Tensor { a.affine(scale: s, shift: 0) }
    public static func / (a: Tensor, s: Float) -> Tensor { a.affine(scale: 1 / s, shift: 0) }
    public static prefix func - (a: Tensor) -> Tensor { a.affine(scale: -1, shift: 0) }
}
