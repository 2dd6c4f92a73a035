// SIMD transcendental functions: the elementwise ops must run near memory bandwidth, which
// scalar libm (expf ≈ 5 ns, tanhf ≈ 10 ns) cannot. Accuracy ≈ 2 ulp over the float range.

typealias Vec = SIMD8<Float>

/// e^x for 8 lanes (Cephes expf: x = n·ln2 + r, |r| ≤ ln2/2, degree-6 polynomial, 2^n by bits).
/// Below −87.33 the result is 0 (the float range ends there); above 88.37 it saturates.
@inline(__always)
func vexp(_ input: Vec) -> Vec {
    let x = input.clamped(lowerBound: Vec(repeating: -87.33), upperBound: Vec(repeating: 88.37))
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
    return (er * scale).replacing(with: 0, where: input .< -87.33)
}

/// tanh for 8 lanes: 1 − 2/(e^{2x} + 1), with the odd-symmetric form for accuracy near 0.
@inline(__always)
func vtanh(_ x: Vec) -> Vec {
    let ax = x.replacing(with: -x, where: x .< 0).clamped(lowerBound: .zero, upperBound: Vec(repeating: 9))  // tanh(9) = 1 in float
    // For small |x| the subtraction loses bits; use the series x − x³/3 + 2x⁵/15 there.
    let e = vexp(-2 * ax)
    var y = (1 - e) / (1 + e)
    let small = ax .< 0.0625
    let x2 = ax * ax
    var series: Vec = x2 * Vec(repeating: -17.0 / 315)
    series = x2 * (series + Vec(repeating: 2.0 / 15))
    series = x2 * (series + Vec(repeating: -1.0 / 3))
    series = ax * (series + 1)
    y.replace(with: series, where: small)
    return y.replacing(with: -y, where: x .< 0)
}

/// Scalar forms built on the SIMD ones so scalar tails give the same values as vector bodies.
@inline(__always) func fastExp(_ x: Float) -> Float { vexp(Vec(repeating: x))[0] }
@inline(__always) func fastTanh(_ x: Float) -> Float { vtanh(Vec(repeating: x))[0] }

extension UnsafeMutablePointer where Pointee == Float {
    @inline(__always) func loadVec(_ i: Int) -> Vec {
        UnsafeRawPointer(self + i).loadUnaligned(as: Vec.self)
    }
    @inline(__always) func storeVec(_ v: Vec, _ i: Int) {
        UnsafeMutableRawPointer(self + i).storeBytes(of: v, as: Vec.self)
    }
}
