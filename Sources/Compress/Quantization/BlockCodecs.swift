// Reference encoders and decoders of the ggml blocks, one row of `columns` weights at a time
// (columns a multiple of 32). They follow ggml's `quantize_row_q*_ref` operation by operation
// so the bytes match: d is computed in float32, id = 1/d (0 when d = 0), the weights are
// multiplied by that float32 id, and only the stored d is rounded to fp16 (nearest even, as
// F16C's `vcvtps2ph` does). Decoding uses the fp16 d (and m).
//
// Total over finite weights. ggml converts x·id (+ 8.5 or 0.5) to int8 with a C cast, which is
// defined only when the value fits; it always does for a finite block whose id is finite (|x·id|
// ≤ 127, Q8_0; x·id + 8.5 ∈ [0.5, 16.5], Q4_0; (x − min)·id + 0.5 ∈ [0.5, 15.5], Q4_1, up to float
// rounding). It does not when 1/d overflows (|d| < 2^-128, a block of weights all below about
// 10^-37 in magnitude): x·id is then ±∞, or NaN for x = 0 (or x = min). There the quant is clamped into its
// range and NaN taken as the zero level — the value the limit of ggml's formula gives, and
// irrelevant to the decoded block, whose fp16 d is 0 (everything below 2^-25 is). Ordinary blocks
// are unaffected, byte for byte. A d (or Q4_1 m) too large for fp16 (≥ 65520 rounds to ∞) is
// reported, not stored: the encoders return the block's overflow and the caller throws.

/// ggml block encoders and decoders over raw bytes (little-endian fp16, then the quants).
enum BlockCodec {
    /// Stores `value` as little-endian fp16 at `pointer`.
    @inline(__always)
    static func storeHalf(_ value: Float, at pointer: UnsafeMutableRawPointer) {
        pointer.storeBytes(of: Float16(value).bitPattern.littleEndian, as: UInt16.self)
    }

    /// Reads a little-endian fp16 at `pointer`, widened to Float.
    @inline(__always)
    static func loadHalf(_ pointer: UnsafeRawPointer) -> Float {
        Float(Float16(bitPattern: UInt16(littleEndian: pointer.loadUnaligned(as: UInt16.self))))
    }

    /// A block whose fp16 header cannot hold its d (or Q4_1's m): the float32 value and which field.
    struct HeaderOverflow: Equatable {
        /// The block's index within its row.
        var block: Int
        /// "d" (the scale) or "m" (Q4_1's minimum).
        var field: String
        /// The float32 value that rounds to an infinite fp16.
        var value: Float
    }

    /// Whether `value` is stored as an infinite fp16 (|value| ≥ 65520, or already infinite or NaN).
    @inline(__always)
    static func overflowsHalf(_ value: Float) -> Bool { !Float16(value).isFinite }

    /// Encodes one row of `columns` finite weights into `columns / 32` blocks of `scheme` at `out`.
    /// - Returns: the first block whose d (or m) does not fit fp16, nil when all fit. The row is
    ///   written either way (with an infinite header there); callers must not keep it.
    static func encodeRow(_ x: UnsafePointer<Float>, columns: Int, scheme: QuantizationScheme,
                          into out: UnsafeMutableRawPointer) -> HeaderOverflow? {
        let size = QuantizationScheme.blockSize, bytes = scheme.bytesPerBlock!
        var overflow: HeaderOverflow?
        for block in 0..<(columns / size) {
            let source = x + block * size, target = out + block * bytes
            let header: (d: Float, m: Float?)
            switch scheme {
            case .q8_0: header = (encodeQ8_0(source, target), nil)
            case .q4_0: header = (encodeQ4_0(source, target), nil)
            case .q4_1: header = encodeQ4_1(source, target)
            case .int8Symmetric, .int8Asymmetric: preconditionFailure("not a block scheme")
            }
            guard overflow == nil else { continue }
            if overflowsHalf(header.d) {
                overflow = HeaderOverflow(block: block, field: "d", value: header.d)
            } else if let m = header.m, overflowsHalf(m) {
                overflow = HeaderOverflow(block: block, field: "m", value: m)
            }
        }
        return overflow
    }

    /// The first block of a row of stored blocks whose fp16 d (or Q4_1 m) is infinite or NaN,
    /// with that value; nil when every header is finite. For blocks read from files.
    static func firstNonFiniteHeader(_ blocks: UnsafeRawPointer, columns: Int, scheme: QuantizationScheme) -> HeaderOverflow? {
        let bytes = scheme.bytesPerBlock!
        for block in 0..<(columns / QuantizationScheme.blockSize) {
            let d = loadHalf(blocks + block * bytes)
            if !d.isFinite { return HeaderOverflow(block: block, field: "d", value: d) }
            if scheme == .q4_1 {
                let m = loadHalf(blocks + block * bytes + 2)
                if !m.isFinite { return HeaderOverflow(block: block, field: "m", value: m) }
            }
        }
        return nil
    }

    /// Q8_0's quant of v = x·id: roundf(v), clamped to ±127; NaN (0·∞) → 0. See the header.
    @inline(__always)
    static func q8Quant(_ v: Float) -> Int8 {
        v.isNaN ? 0 : Int8(min(127, max(-127, v)).rounded())
    }

    /// A Q4 quant from v = x·id + 8.5 (Q4_0) or (x − min)·id + 0.5 (Q4_1): min(15, (int8_t)v),
    /// with v clamped to [0, 15] first; NaN → `zero` (Q4_0's 8, Q4_1's 0). See the header.
    @inline(__always)
    static func q4Quant(_ v: Float, zero: UInt8) -> UInt8 {
        v.isNaN ? zero : UInt8(min(15, max(0, v)))
    }

    /// Decodes `columns / 32` blocks of `scheme` at `blocks` into `columns` floats at `out`.
    static func decodeRow(_ blocks: UnsafeRawPointer, columns: Int, scheme: QuantizationScheme,
                          into out: UnsafeMutablePointer<Float>) {
        let size = QuantizationScheme.blockSize, bytes = scheme.bytesPerBlock!
        for block in 0..<(columns / size) {
            let source = blocks + block * bytes, target = out + block * size
            switch scheme {
            case .q8_0:
                let d = loadHalf(source)
                for j in 0..<32 { target[j] = Float(source.load(fromByteOffset: 2 + j, as: Int8.self)) * d }
            case .q4_0:
                let d = loadHalf(source)
                for j in 0..<16 {
                    let byte = source.load(fromByteOffset: 2 + j, as: UInt8.self)
                    target[j] = Float(Int(byte & 0x0F) - 8) * d
                    target[j + 16] = Float(Int(byte >> 4) - 8) * d
                }
            case .q4_1:
                let d = loadHalf(source), m = loadHalf(source + 2)
                for j in 0..<16 {
                    let byte = source.load(fromByteOffset: 4 + j, as: UInt8.self)
                    target[j] = Float(byte & 0x0F) * d + m
                    target[j + 16] = Float(byte >> 4) * d + m
                }
            case .int8Symmetric, .int8Asymmetric: preconditionFailure("not a block scheme")
            }
        }
    }

    /// Q8_0: d = amax/127, q = roundf(x·id) (half away from zero); 34 bytes. Returns d (float32).
    @discardableResult
    static func encodeQ8_0(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) -> Float {
        var amax: Float = 0
        for j in 0..<32 { amax = max(amax, abs(x[j])) }
        let d = amax / 127
        let id: Float = d != 0 ? 1 / d : 0
        storeHalf(d, at: out)
        for j in 0..<32 {
            // Swift's default rounding is C roundf's: to nearest, ties away from zero.
            out.storeBytes(of: q8Quant(x[j] * id), toByteOffset: 2 + j, as: Int8.self)
        }
        return d
    }

    /// Q4_0: m = the signed value of largest magnitude (the first on ties), d = m/−8,
    /// q = min(15, Int8(x·id + 8.5)) (truncation); byte j = q[j] | q[j+16] << 4; 18 bytes.
    /// Returns d (float32).
    @discardableResult
    static func encodeQ4_0(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) -> Float {
        var amax: Float = 0, extreme: Float = 0
        for j in 0..<32 where amax < abs(x[j]) {
            amax = abs(x[j])
            extreme = x[j]
        }
        let d = extreme / -8
        let id: Float = d != 0 ? 1 / d : 0
        storeHalf(d, at: out)
        for j in 0..<16 {
            let low = q4Quant(x[j] * id + 8.5, zero: 8), high = q4Quant(x[j + 16] * id + 8.5, zero: 8)
            out.storeBytes(of: low | high << 4, toByteOffset: 2 + j, as: UInt8.self)
        }
        return d
    }

    /// Q4_1: d = (max − min)/15, m = min, q = min(15, Int8((x − min)·id + 0.5)); 20 bytes.
    /// Returns d and m (float32).
    @discardableResult
    static func encodeQ4_1(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) -> (d: Float, m: Float?) {
        var lowest = Float.greatestFiniteMagnitude, highest = -Float.greatestFiniteMagnitude
        for j in 0..<32 {
            if x[j] < lowest { lowest = x[j] }
            if x[j] > highest { highest = x[j] }
        }
        let d = (highest - lowest) / 15
        let id: Float = d != 0 ? 1 / d : 0
        storeHalf(d, at: out)
        storeHalf(lowest, at: out + 2)
        for j in 0..<16 {
            let low = q4Quant((x[j] - lowest) * id + 0.5, zero: 0), high = q4Quant((x[j + 16] - lowest) * id + 0.5, zero: 0)
            out.storeBytes(of: low | high << 4, toByteOffset: 4 + j, as: UInt8.self)
        }
        return (d, lowest)
    }
}
