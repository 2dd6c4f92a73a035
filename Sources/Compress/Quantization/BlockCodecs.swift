// Reference encoders and decoders of the ggml blocks, one row of `columns` weights at a time
// (columns a multiple of 32). They follow ggml's `quantize_row_q*_ref` operation by operation
// so the bytes match: d is computed in float32, id = 1/d (0 when d = 0), the weights are
// multiplied by that float32 id, and only the stored d is rounded to fp16 (nearest even, as
// F16C's `vcvtps2ph` does). Decoding uses the fp16 d (and m).

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

    /// Encodes one row of `columns` weights into `columns / 32` blocks of `scheme` at `out`.
    static func encodeRow(_ x: UnsafePointer<Float>, columns: Int, scheme: QuantizationScheme,
                          into out: UnsafeMutableRawPointer) {
        let size = QuantizationScheme.blockSize, bytes = scheme.bytesPerBlock!
        for block in 0..<(columns / size) {
            let source = x + block * size, target = out + block * bytes
            switch scheme {
            case .q8_0: encodeQ8_0(source, target)
            case .q4_0: encodeQ4_0(source, target)
            case .q4_1: encodeQ4_1(source, target)
            case .int8Symmetric, .int8Asymmetric: preconditionFailure("not a block scheme")
            }
        }
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

    /// Q8_0: d = amax/127, q = roundf(x·id) (half away from zero); 34 bytes.
    static func encodeQ8_0(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
        var amax: Float = 0
        for j in 0..<32 { amax = max(amax, abs(x[j])) }
        let d = amax / 127
        let id: Float = d != 0 ? 1 / d : 0
        storeHalf(d, at: out)
        for j in 0..<32 {
            // Swift's default rounding is C roundf's: to nearest, ties away from zero.
            out.storeBytes(of: Int8((x[j] * id).rounded()), toByteOffset: 2 + j, as: Int8.self)
        }
    }

    /// Q4_0: m = the signed value of largest magnitude (the first on ties), d = m/−8,
    /// q = min(15, Int8(x·id + 8.5)) (truncation); byte j = q[j] | q[j+16] << 4; 18 bytes.
    static func encodeQ4_0(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
        var amax: Float = 0, extreme: Float = 0
        for j in 0..<32 where amax < abs(x[j]) {
            amax = abs(x[j])
            extreme = x[j]
        }
        let d = extreme / -8
        let id: Float = d != 0 ? 1 / d : 0
        storeHalf(d, at: out)
        for j in 0..<16 {
            let low = min(15, Int8(x[j] * id + 8.5)), high = min(15, Int8(x[j + 16] * id + 8.5))
            out.storeBytes(of: UInt8(low) | UInt8(high) << 4, toByteOffset: 2 + j, as: UInt8.self)
        }
    }

    /// Q4_1: d = (max − min)/15, m = min, q = min(15, Int8((x − min)·id + 0.5)); 20 bytes.
    static func encodeQ4_1(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
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
            let low = min(15, Int8((x[j] - lowest) * id + 0.5)), high = min(15, Int8((x[j + 16] - lowest) * id + 0.5))
            out.storeBytes(of: UInt8(low) | UInt8(high) << 4, toByteOffset: 4 + j, as: UInt8.self)
        }
    }
}
