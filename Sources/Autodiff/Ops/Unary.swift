// exp, log, sqrt, tanh, relu, GELU (tanh approximation), pow: forward/backward pairs.
// The transcendental ones run 8 lanes at a time on both cores (Kernels/VectorMath.swift).

import Foundation

/// An elementwise function on 8 lanes. A static requirement (not a closure) so that the
/// kernel is specialised and inlined into the loop of `mapElements`.
protocol VectorFunction { static func apply(_ x: Vec) -> Vec }
enum ExpFunction: VectorFunction { @inline(__always) static func apply(_ x: Vec) -> Vec { vexp(x) } }
enum TanhFunction: VectorFunction { @inline(__always) static func apply(_ x: Vec) -> Vec { vtanh(x) } }
enum GeluFunction: VectorFunction { @inline(__always) static func apply(_ x: Vec) -> Vec { geluVec(x) } }
enum SquareRootFunction: VectorFunction { @inline(__always) static func apply(_ x: Vec) -> Vec { x.squareRoot() } }
enum ReluFunction: VectorFunction {
    @inline(__always) static func apply(_ x: Vec) -> Vec { x.replacing(with: 0, where: x .< 0) }
}

/// y = F(x) over 8-lane blocks on both cores; the tail goes through the same lanes.
@inline(__always)
private func mapElements<F: VectorFunction>(_: F.Type, _ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                            _ count: Int) {
    let (px, py) = (Unchecked(x), Unchecked(y))
    parallelRanges(count / 8, minimumPerThread: elementwiseGrain / 8) { r in
        let (x, y) = (px.value, py.value)
        for block in r { y.storeVec(F.apply(x.loadVec(block * 8)), block * 8) }
    }
    for i in (count / 8 * 8)..<count { y[i] = F.apply(Vec(repeating: x[i]))[0] }
}

/// Accumulates target[i] += f(g[i], x[i], y[i]) over both cores (x the input, y the output).
@inline(__always)
private func accumulate(_ target: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>,
                        _ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int,
                        _ f: @escaping (Float, Float, Float) -> Float) {
    let (pt, pg, px, py) = (Unchecked(target), Unchecked(g), Unchecked(x), Unchecked(y))
    parallelRanges(count, minimumPerThread: elementwiseGrain) { r in
        let (t, g, x, y) = (pt.value, pg.value, px.value, py.value)
        for i in r { t[i] += f(g[i], x[i], y[i]) }
    }
}

// GELU, tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
private let geluK: Float = 0.7978845608028654
private let geluC: Float = 0.044715

/// GELU for 8 lanes; shared with the inference kernels so both give identical values.
@inline(__always) func geluVec(_ x: Vec) -> Vec {
    0.5 * x * (1 + vtanh(geluK * (x + geluC * x * x * x)))
}

extension Tensor {
    /// Elementwise e^x.
    public func exp() -> Tensor {
        let out = Tensor.empty(shape)
        mapElements(ExpFunction.self, data, out.data, count)
        return out.recorded("exp", [self]) { [self] out, g in
            accumulate(gradBuffer(), g.data, data, out.data, count) { g, _, y in g * y }
        }
    }

    /// Elementwise natural logarithm (−inf at 0, NaN below).
    public func log() -> Tensor {
        let out = Tensor.empty(shape)
        let (px, py) = (Unchecked(data), Unchecked(out.data))
        parallelRanges(count, minimumPerThread: elementwiseGrain / 4) { r in
            for i in r { py.value[i] = Foundation.logf(px.value[i]) }
        }
        return out.recorded("log", [self]) { [self] out, g in
            accumulate(gradBuffer(), g.data, data, out.data, count) { g, x, _ in g / x }
        }
    }

    /// Elementwise square root.
    public func sqrt() -> Tensor {
        let out = Tensor.empty(shape)
        mapElements(SquareRootFunction.self, data, out.data, count)
        return out.recorded("sqrt", [self]) { [self] out, g in
            accumulate(gradBuffer(), g.data, data, out.data, count) { g, _, y in g * 0.5 / y }
        }
    }

    /// Elementwise hyperbolic tangent.
    public func tanh() -> Tensor {
        let out = Tensor.empty(shape)
        mapElements(TanhFunction.self, data, out.data, count)
        return out.recorded("tanh", [self]) { [self] out, g in
            accumulate(gradBuffer(), g.data, data, out.data, count) { g, _, y in g * (1 - y * y) }
        }
    }

    /// Elementwise max(x, 0). The gradient at exactly 0 is taken as 0.
    public func relu() -> Tensor {
        let out = Tensor.empty(shape)
        mapElements(ReluFunction.self, data, out.data, count)
        return out.recorded("relu", [self]) { [self] out, g in
            accumulate(gradBuffer(), g.data, data, out.data, count) { g, x, _ in x > 0 ? g : 0 }
        }
    }

    /// GELU with the tanh approximation (GPT-2's `gelu_new`).
    public func gelu() -> Tensor {
        let out = Tensor.empty(shape)
        mapElements(GeluFunction.self, data, out.data, count)
        return out.recorded("gelu", [self]) { [self] _, g in
            let (target, fresh) = gradBufferForOverwrite()
            let (pt, pg, px) = (Unchecked(target), Unchecked(g.data), Unchecked(data))
            parallelRanges(count / 8, minimumPerThread: elementwiseGrain / 8) { r in
                if fresh {
                    for block in r {
                        let i = block * 8
                        pt.value.storeVec(geluGrad(pg.value.loadVec(i), px.value.loadVec(i)), i)
                    }
                } else {
                    for block in r {
                        let i = block * 8
                        pt.value.storeVec(pt.value.loadVec(i) + geluGrad(pg.value.loadVec(i), px.value.loadVec(i)), i)
                    }
                }
            }
            for i in (count / 8 * 8)..<count {
                let d = geluGrad(Vec(repeating: pg.value[i]), Vec(repeating: px.value[i]))[0]
                if fresh { pt.value[i] = d } else { pt.value[i] += d }
            }
        }
    }

    /// Elementwise x^p for a constant exponent p.
    public func pow(_ p: Float) -> Tensor {
        let out = Tensor.empty(shape)
        let (px, py) = (Unchecked(data), Unchecked(out.data))
        parallelRanges(count, minimumPerThread: elementwiseGrain / 4) { r in
            for i in r { py.value[i] = Foundation.powf(px.value[i], p) }
        }
        return out.recorded("pow", [self]) { [self] _, g in
            accumulate(gradBuffer(), g.data, data, data, count) { g, x, _ in g * p * Foundation.powf(x, p - 1) }
        }
    }
}

/// d GELU / dx · g, for 8 lanes.
@inline(__always) func geluGrad(_ g: Vec, _ x: Vec) -> Vec {
    let x2 = x * x
    let t = vtanh(geluK * (x + geluC * x2 * x))
    let dInner = geluK * (1 + 3 * geluC * x2)
    return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * dInner)
}
