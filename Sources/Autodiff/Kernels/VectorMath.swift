// SIMD transcendental functions: the elementwise ops must run near memory bandwidth, which
// scalar libm (expf ≈ 5 ns, tanhf ≈ 10 ns) cannot. Accuracy ≈ 2 ulp over the float range.

typealias Vec = SIMD8<Float>

/// e^x for 8 lanes (Cephes expf: x = n·ln2 + r, |r| ≤ ln2/2, degree-6 polynomial, 2^n by bits).
/// Below −87.33 the result is 0 (the float range ends there); above 88.37 it saturates.
@inline(__always)
func vexp(_ input: Vec) -> Vec {
    // Clamp by masked replacement: SIMD's clamped/pointwiseMin compile to scalar code.
    let low = Vec(repeating: -87.33), high = Vec(repeating: 88.37)
    let underflow = input .< low
    var x = input.replacing(with: low, where: underflow)
    x.replace(with: high, where: x .> high)
    return vexpCore(x, underflow: underflow)
}

/// e^x for x ≤ 0 (softmax after subtracting the row maximum): no upper clamp needed.
@inline(__always)
func vexpNonPositive(_ input: Vec) -> Vec {
    let low = Vec(repeating: -87.33)
    let underflow = input .< low
    return vexpCore(input.replacing(with: low, where: underflow), underflow: underflow)
}

/// e^x for x already in [−87.33, 88.37]; lanes flagged `underflow` give exactly 0.
@inline(__always)
func vexpCore(_ x: Vec, underflow: SIMDMask<SIMD8<Int32>>) -> Vec {
    // n = round(x / ln2) via the 1.5·2^23 trick (no float→int conversion instruction needed).
    let magic = Vec(repeating: 12582912)
    let t = x * 1.44269504088896341 + magic
    let n = t - magic
    // r = x − n·ln2 in two steps (Cody–Waite) for accuracy.
    var r = x - n * 0.693359375
    r = r - n * -2.12194440e-4
    var p = Vec(repeating: 1.9875691500e-4)
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    let r2 = r * r
    let er = p * r2 + r + 1
    // 2^n: put n + 127 in the exponent field.
    let bits = unsafeBitCast(t, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
    let scale = unsafeBitCast((bits &+ 127) &<< 23, to: Vec.self)
    return (er * scale).replacing(with: 0, where: underflow)
}

/// tanh for 8 lanes: an odd rational approximation p(x)/q(x) on [−7.905, 7.905] (Eigen's
/// fast tanh), saturating outside. Max error 3.1e-7 absolute, 2.5e-7 relative near 0; about
/// 3× faster than 1 − 2/(e^{2x} + 1), which needs an exp and loses bits near 0.
@inline(__always)
func vtanh(_ input: Vec) -> Vec {
    let c = Vec(repeating: 7.90531110763549805)
    var x = input.replacing(with: c, where: input .> c)
    x.replace(with: -c, where: x .< -c)
    let x2 = x * x
    var p = x2 * Vec(repeating: -2.76076847742355e-16) + Vec(repeating: 2.00018790482477e-13)
    p = p * x2 + Vec(repeating: -8.60467152213735e-11)
    p = p * x2 + Vec(repeating: 5.12229709037114e-08)
    p = p * x2 + Vec(repeating: 1.48572235717979e-05)
    p = p * x2 + Vec(repeating: 6.37261928875436e-04)
    p = p * x2 + Vec(repeating: 4.89352455891786e-03)
    p = p * x
    var q = x2 * Vec(repeating: 1.19825839466702e-06) + Vec(repeating: 1.18534705686654e-04)
    q = q * x2 + Vec(repeating: 2.26843463243900e-03)
    q = q * x2 + Vec(repeating: 4.89352518554385e-03)
    return p / q
}

/// Scalar forms built on the SIMD ones so scalar tails give the same values as vector bodies.
@inline(__always) func fastExp(_ x: Float) -> Float { vexp(Vec(repeating: x))[0] }

extension UnsafeMutablePointer where Pointee == Float {
    @inline(__always) func loadVec(_ i: Int) -> Vec {
        UnsafeRawPointer(self + i).loadUnaligned(as: Vec.self)
    }
    @inline(__always) func storeVec(_ v: Vec, _ i: Int) {
        UnsafeMutableRawPointer(self + i).storeBytes(of: v, as: Vec.self)
    }
}

// Row reductions, 8 lanes at a time with 2 accumulators (a plain Float loop cannot be
// vectorised: the compiler must keep the sequential order of float additions).

/// Σ x[i] over a row.
@inline(__always)
func rowSum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var a0 = Vec.zero, a1 = Vec.zero
    var i = 0
    while i + 16 <= n {
        a0 += UnsafeRawPointer(x + i).loadUnaligned(as: Vec.self)
        a1 += UnsafeRawPointer(x + i + 8).loadUnaligned(as: Vec.self)
        i += 16
    }
    var s = (a0 + a1).sum()
    while i < n { s += x[i]; i += 1 }
    return s
}

/// Σ x[i]·y[i] over a row.
@inline(__always)
func rowDot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float {
    var a0 = Vec.zero, a1 = Vec.zero
    var i = 0
    while i + 16 <= n {
        a0 += UnsafeRawPointer(x + i).loadUnaligned(as: Vec.self) * UnsafeRawPointer(y + i).loadUnaligned(as: Vec.self)
        a1 += UnsafeRawPointer(x + i + 8).loadUnaligned(as: Vec.self) * UnsafeRawPointer(y + i + 8).loadUnaligned(as: Vec.self)
        i += 16
    }
    var s = (a0 + a1).sum()
    while i < n { s += x[i] * y[i]; i += 1 }
    return s
}

/// max x[i] over a row (−∞ for an empty row).
@inline(__always)
func rowMax(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var m = Vec(repeating: -.infinity)
    var i = 0
    while i + 8 <= n {
        let v = UnsafeRawPointer(x + i).loadUnaligned(as: Vec.self)
        m.replace(with: v, where: v .> m)
        i += 8
    }
    var s = m.max()
    while i < n { if x[i] > s { s = x[i] }; i += 1 }
    return s
}
