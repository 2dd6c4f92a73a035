// A seedable, portable random number generator: xoshiro256** seeded by SplitMix64, with
// uniform floats from the top 24 bits and normals by the Marsaglia polar method using our
// own logarithm, so the same seed gives the same numbers on every machine and libm.

/// Portable pseudo-random numbers for initialisation, dropout and data order.
/// A value type: copy it to fork a stream; its state saves with a checkpoint (`state`).
public struct RNG: Sendable, Equatable, Codable {
    /// The four 64-bit words of xoshiro256** state.
    public private(set) var state: [UInt64]
    private var spareNormal: Double?

    /// A generator whose stream is fixed by `seed`.
    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = [splitMix(), splitMix(), splitMix(), splitMix()]
    }

    /// Restores a generator from a saved `state` (four words).
    public init(state: [UInt64]) throws {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else {
            throw TensorError("RNG: a saved state needs 4 words, not all zero; got \(state)")
        }
        self.state = state
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = rotl(state[1] &* 5, 7) &* 9
        let t = state[1] << 17
        state[2] ^= state[0]; state[3] ^= state[1]; state[1] ^= state[2]; state[0] ^= state[3]
        state[2] ^= t
        state[3] = rotl(state[3], 45)
        return result
    }

    /// Uniform in [0, 1) with 24 random bits (every Float value in the range is exact).
    public mutating func nextFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextDouble() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform integer in 0..<bound (bound > 0), without modulo bias (Lemire's method).
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "RNG.nextInt(below:) needs a positive bound")
        let b = UInt64(bound)
        var m = next().multipliedFullWidth(by: b)
        if m.low < b {
            let threshold = (0 &- b) % b
            while m.low < threshold { m = next().multipliedFullWidth(by: b) }
        }
        return Int(m.high)
    }

    /// Standard normal N(0, 1) (Marsaglia polar method, pairs cached).
    public mutating func nextNormal() -> Double {
        if let spare = spareNormal { spareNormal = nil; return spare }
        while true {
            let u = 2 * nextDouble() - 1, v = 2 * nextDouble() - 1
            let s = u * u + v * v
            if s > 0 && s < 1 {
                let factor = (-2 * portableLog(s) / s).squareRoot()
                spareNormal = v * factor
                return u * factor
            }
        }
    }

    /// Fills `tensor` with N(mean, std²) values.
    public mutating func fillNormal(_ tensor: Tensor, mean: Float = 0, std: Float) {
        for i in 0..<tensor.count { tensor.data[i] = mean + std * Float(nextNormal()) }
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

/// Natural logarithm from IEEE arithmetic only (no libm), so results match across platforms.
/// log(x) = e·ln2 + 2·atanh((m−1)/(m+1)) with m ∈ [√½, √2); accurate to ~1 ulp for x > 0.
func portableLog(_ x: Double) -> Double {
    precondition(x > 0 && x.isFinite, "portableLog needs a positive finite value")
    var e = Double(x.exponent)
    var m = x.significand  // [1, 2)
    if m > 1.4142135623730951 { m /= 2; e += 1 }
    let s = (m - 1) / (m + 1), s2 = s * s
    var term = s, sum = 0.0
    var k = 1.0
    while k < 40 {
        sum += term / k
        term *= s2
        k += 2
    }
    return e * 0.6931471805599453 + 2 * sum
}
