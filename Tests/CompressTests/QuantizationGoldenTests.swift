import Foundation
import Testing
@testable import Compress

// Hand-derived blocks: the expected bytes follow ggml's reference encoders step by step
// (float32 d and id, x·id, fp16 d stored little-endian). Each expectation is worked out in the
// comment beside it.

@Suite("Quantization golden blocks") struct QuantizationGoldenTests {
    @Test func q8_0BlockOfRamp() throws {
        // x_i = i − 16 (−16…15): amax 16, d = 16/127 = 0.12598425 (float32), id = 1/d = 7.9375
        // exactly. fp16(d): 0.12598 = 2⁻³ · 1.00787, mantissa 0.00787·1024 = 8.06 → 8, exponent
        // −3 + 15 = 12 → 0 01100 0000001000 = 0x3008 → bytes 08 30 (0.1259765625 decoded).
        // q_i = roundf((i − 16) · 7.9375): −16 → −127, −15 → −119.06 → −119, …; the ties
        // ±8 · 7.9375 = ±63.5 round away from zero to ±64.
        let x = (0..<32).map { Float($0 - 16) }
        let matrix = try QuantizedMatrix.quantize(x, rows: 1, columns: 32, scheme: .q8_0, name: "t")
        let q: [Int8] = [-127, -119, -111, -103, -95, -87, -79, -71, -64, -56, -48, -40, -32, -24, -16, -8,
                         0, 8, 16, 24, 32, 40, 48, 56, 64, 71, 79, 87, 95, 103, 111, 119]
        #expect(blockBytes(matrix) == [0x08, 0x30] + q.map { UInt8(bitPattern: $0) })
        #expect(matrix.dequantized() == q.map { Float($0) * 0.1259765625 })
        #expect(matrix.storedBytes == 34)
        #expect(matrix.format == "Q8_0")
    }

    @Test func q4_0BlockWithPositiveExtremeFirst() throws {
        // The signed value of largest magnitude is the first one found: x0 = +4 (x1 = −4 ties, and
        // loses). d = 4/−8 = −0.5 → fp16 1 01110 0…0 = 0xB800 → bytes 00 B8; id = −2.
        // q = min(15, Int8(−2x + 8.5)): +4 → 0.5 → 0; −4 → 16.5 → 16 → clamped to 15 (decodes to
        // −3.5, the scheme's asymmetric edge); 0.3 → 7.9 → 7; −1.3 → 11.1 → 11; x = (j − 8)/2 on
        // the grid → exactly 8 − 2x.
        var x = [Float(4), -4] + (2..<32).map { Float($0 % 16 - 8) * 0.5 }
        x[7] = 0.3
        x[20] = -1.3
        let matrix = try QuantizedMatrix.quantize(x, rows: 1, columns: 32, scheme: .q4_0, name: "t")
        let q: [UInt8] = [0, 15, 14, 13, 12, 11, 10, 7, 8, 7, 6, 5, 4, 3, 2, 1,
                          15, 15, 14, 13, 11, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]
        // byte j = q[j] | q[j + 16] << 4: byte 0 = 0 | 15 << 4 = 0xF0, byte 1 = 15 | 15 << 4 = 0xFF, …
        let packed = (0..<16).map { q[$0] | q[$0 + 16] << 4 }
        #expect(packed.prefix(3) == [0xF0, 0xFF, 0xEE])
        #expect(blockBytes(matrix) == [0x00, 0xB8] + packed)
        #expect(matrix.dequantized() == q.map { (Float($0) - 8) * -0.5 })
        #expect(matrix.dequantized()[1] == -3.5)
    }

    @Test func q4_1BlockWithMinimumAndMaximum() throws {
        // min −2, max 5.5: d = 7.5/15 = 0.5 (fp16 0x3800 → 00 38), m = −2 (fp16 0xC000 → 00 C0),
        // id = 2; q = min(15, Int8((x + 2)·2 + 0.5)): −0.3 → 3.9 → 3, 5.4 → 15.3 → 15, the grid
        // values −2 + 0.5·k → k.
        var x = [Float(-2), 5.5] + (2..<32).map { -2 + 0.5 * Float($0 % 16) }
        x[3] = -0.3
        x[17] = 5.4
        let matrix = try QuantizedMatrix.quantize(x, rows: 1, columns: 32, scheme: .q4_1, name: "t")
        let q: [UInt8] = [0, 15, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                          0, 15, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
        let packed = (0..<16).map { q[$0] | q[$0 + 16] << 4 }
        #expect(blockBytes(matrix) == [0x00, 0x38, 0x00, 0xC0] + packed)
        #expect(matrix.dequantized() == q.map { Float($0) * 0.5 - 2 })
        #expect(matrix.storedBytes == 20)
    }

    @Test(arguments: [QuantizationScheme.q8_0, .q4_0, .q4_1])
    func allZeroBlockGivesZeroScaleAndNoNaN(scheme: QuantizationScheme) throws {
        let matrix = try QuantizedMatrix.quantize([Float](repeating: 0, count: 64), rows: 1, columns: 64,
                                                  scheme: scheme, name: "t")
        let bytes = blockBytes(matrix)
        #expect(bytes.count == 2 * scheme.bytesPerBlock!)
        // d = 0 (and m = 0): Q8_0 and Q4_1 quants are 0; Q4_0's are 8 (x·0 + 8.5 → 8), 0x88 a byte.
        // Q4_0's d is 0/−8 = −0, stored as fp16 −0 (0x8000, bytes 00 80), as ggml's C does.
        let expectedQuant: UInt8 = scheme == .q4_0 ? 0x88 : 0
        let header: [UInt8] = scheme == .q4_1 ? [0, 0, 0, 0] : scheme == .q4_0 ? [0x00, 0x80] : [0, 0]
        for block in 0..<2 {
            let start = block * scheme.bytesPerBlock!
            let headerBytes = header.count
            #expect(Array(bytes[start ..< start + headerBytes]) == header)
            #expect(bytes[start + headerBytes ..< start + scheme.bytesPerBlock!].allSatisfy { $0 == expectedQuant })
        }
        #expect(matrix.dequantized() == [Float](repeating: 0, count: 64))
        var y: [Float] = [7]
        matrix.multiplyRow([Float](repeating: 1, count: 64), into: &y, accumulate: false)
        #expect(y == [0])
    }

    @Test func int8SymmetricPerTensorAndPerChannel() throws {
        // Per tensor: amax 1.27 → scale 0.01; q = round(x/0.01) = −127, 50, 25, 100.
        let w: [Float] = [-1.27, 0.5, 0.25, 1.0]
        let tensor = try QuantizedMatrix.quantize(w, rows: 2, columns: 2, scheme: .int8Symmetric, granularity: .tensor, name: "t")
        let entries = tensor.entries(name: "t")
        #expect(entries.map(\.name) == ["t.q", "t.scale"])
        #expect(try entries[0].values(as: Int8.self) == [-127, 50, 25, 100])
        #expect(entries[1].shape == [1])
        #expect(try entries[1].values(as: Float.self) == [Float(1.27) / 127])
        // Per channel: row 0 as above; row 1 amax 1 → scale 1/127, q = round(31.75) = 32, 127.
        let channel = try QuantizedMatrix.quantize(w, rows: 2, columns: 2, scheme: .int8Symmetric, name: "t")
        let channelEntries = channel.entries(name: "t")
        #expect(channel.granularity == .channel)
        #expect(try channelEntries[0].values(as: Int8.self) == [-127, 50, 32, 127])
        #expect(try channelEntries[1].values(as: Float.self) == [Float(1.27) / 127, Float(1) / 127])
        #expect(channel.dequantized()[3] == 127 * (Float(1) / 127))
        #expect(channel.storedBytes == 4 + 2 * 4)
    }

    @Test func int8AsymmetricMapsMinimumToMinus128() throws {
        // Row 0 [−1, 3]: scale 4/255, zp = −128 − round(−63.75) = −64; q = −64 − 64 = −128 and
        // round(191.25) − 64 = 127. Row 1 [1, 4] (range widened to include 0 → [0, 4]):
        // zp = −128; q = round(63.75) − 128 = −64 and 255 − 128 = 127.
        let w: [Float] = [-1, 3, 1, 4]
        let matrix = try QuantizedMatrix.quantize(w, rows: 2, columns: 2, scheme: .int8Asymmetric, name: "t")
        let entries = matrix.entries(name: "t")
        #expect(entries.map(\.name) == ["t.q", "t.scale", "t.zero_point"])
        #expect(try entries[0].values(as: Int8.self) == [-128, 127, -64, 127])
        #expect(try entries[2].values(as: Int8.self) == [-64, -128])
        let scale = Float(4) / 255
        #expect(matrix.dequantized() == [-64 * scale, 191 * scale, 64 * scale, 255 * scale])
        // All-zero rows: scale 0, zero point 0, q 0, no NaN.
        let zero = try QuantizedMatrix.quantize([Float](repeating: 0, count: 4), rows: 2, columns: 2,
                                                scheme: .int8Asymmetric, name: "z")
        #expect(zero.dequantized() == [0, 0, 0, 0])
        #expect(try zero.entries(name: "z")[1].values(as: Float.self) == [0, 0])
    }
}
