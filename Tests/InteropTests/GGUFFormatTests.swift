import Foundation
import Store
import Testing

@Suite("GGUF format") struct GGUFFormatTests {
    /// A small file with every value type, a nested array, and three tensors of different types.
    static func sampleWriter() throws -> GGUFWriter {
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("gpt2"))
        writer.set("u8", .uint8(200)); writer.set("i8", .int8(-5)); writer.set("u16", .uint16(60000)); writer.set("i16", .int16(-300))
        writer.set("u32", .uint32(4_000_000_000)); writer.set("i32", .int32(-7)); writer.set("f32", .float32(1.5e-5)); writer.set("b", .bool(true))
        writer.set("u64", .uint64(1 << 40)); writer.set("i64", .int64(-(1 << 40))); writer.set("f64", .float64(-0.25))
        writer.set("s", .string("Ġt ÿ €"))
        writer.set("tokens", .strings(["a", "Ġb", ""]))
        writer.set("empty", .array(.string, []))
        writer.set("nested", .array(.array, [.int32s([1, 2]), .int32s([])]))
        try writer.addTensor("vector", dimensions: [3], floats: [1, -2, 3.5])
        try writer.addTensor("matrix", dimensions: [2, 3], halves: [0, 1, 2, 3, 4, 65504])
        try writer.addTensor("blocks", dimensions: [32, 2], type: .q8_0, bytes: Data((0 ..< 68).map { UInt8($0) }))
        return writer
    }

    @Test("write then read: every metadata type and value, tensor infos, data at aligned offsets")
    func roundTrip() throws {
        let writer = try Self.sampleWriter()
        let data = writer.encoded()
        let file = try GGUFFile(data: data)
        #expect(file.version == 3)
        #expect(file.metadata.map(\.key) == writer.metadata.map(\.key))
        for (key, value) in writer.metadata { #expect(file[key] == value, "\(key)") }
        #expect(file.tensors.map(\.name) == ["vector", "matrix", "blocks"])
        #expect(file.tensors.map(\.offset) == [0, 32, 64])  // each padded to 32 bytes
        #expect(file.dataOffset % 32 == 0)
        #expect(try file.floats(of: file.tensor(named: "vector")!) == [1, -2, 3.5])
        #expect(try file.floats(of: file.tensor(named: "matrix")!) == [0, 1, 2, 3, 4, 65504])
        #expect(file.tensor(named: "matrix")!.rowMajorShape == [3, 2])
        #expect(file.data(of: file.tensor(named: "blocks")!) == Data((0 ..< 68).map { UInt8($0) }))
        #expect(data.count == file.dataOffset + 64 + 96)  // the last tensor padded too
    }

    @Test("the header bytes: magic, version 3, counts, then the first key, little-endian")
    func headerBytes() throws {
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("gpt2"))
        try writer.addTensor("x", dimensions: [1], floats: [2])
        let bytes = [UInt8](writer.encoded())
        #expect(Array(bytes[0 ..< 4]) == [0x47, 0x47, 0x55, 0x46])
        #expect(Array(bytes[4 ..< 8]) == [3, 0, 0, 0])
        #expect(Array(bytes[8 ..< 16]) == [1, 0, 0, 0, 0, 0, 0, 0])   // tensors
        #expect(Array(bytes[16 ..< 24]) == [1, 0, 0, 0, 0, 0, 0, 0])  // metadata
        #expect(Array(bytes[24 ..< 32]) == [20, 0, 0, 0, 0, 0, 0, 0]) // key length
        #expect(String(decoding: bytes[32 ..< 52], as: UTF8.self) == "general.architecture")
        #expect(Array(bytes[52 ..< 56]) == [8, 0, 0, 0])              // string type
        // tensor info: name "x", 1 dim of 1, type F32 (0), offset 0; data 2.0 at the aligned data start
        let info = 56 + 8 + 4 + 8 + 1 + 4 + 8 + 4 + 8
        #expect(bytes.count == (info + 31) / 32 * 32 + 32)
        #expect(Array(bytes[(info + 31) / 32 * 32 ..< (info + 31) / 32 * 32 + 4]) == [0, 0, 0, 0x40])
    }

    @Test("the inspect summary lists keys (arrays shortened) and tensors with type, dimensions and bytes")
    func summary() throws {
        let text = try GGUFFile(data: Self.sampleWriter().encoded(), source: "s.gguf").summary()
        #expect(text.contains("s.gguf: GGUF v3, 16 metadata keys, 3 tensors"))
        #expect(text.contains("| tokens | 3 × string: [\"a\", \"Ġb\", \"\"] |"))
        #expect(text.contains("| blocks | Q8_0 | [32, 2] | 68 |"))
        #expect(text.contains("92 bytes of tensor data (F16 1, F32 1, Q8_0 1)"))
    }

    @Test("writer rejects a repeated tensor, a byte count that does not fit, a row that is not whole blocks")
    func writerErrors() throws {
        var writer = GGUFWriter()
        try writer.addTensor("a", dimensions: [2], floats: [1, 2])
        #expect(throws: GGUFError.self) { try writer.addTensor("a", dimensions: [2], floats: [1, 2]) }
        #expect(throws: GGUFError.self) { try writer.addTensor("b", dimensions: [32], type: .q4_0, bytes: Data(count: 17)) }
        #expect(throws: GGUFError.self) { try writer.addTensor("c", dimensions: [16, 2], type: .q8_0, bytes: Data(count: 34)) }
    }

    /// `bytes` with the little-endian u64 at `offset` replaced.
    static func patched(_ bytes: [UInt8], at offset: Int, _ value: UInt64) -> Data {
        var copy = bytes
        withUnsafeBytes(of: value.littleEndian) { for (i, b) in $0.enumerated() { copy[offset + i] = b } }
        return Data(copy)
    }

    @Test("errors name what is wrong: bad magic, version, string length past the end, too many tensors, truncation")
    func readerErrors() throws {
        let bytes = [UInt8](try Self.sampleWriter().encoded())
        func message(_ data: Data) -> String {
            do { _ = try GGUFFile(data: data, source: "m.gguf"); return "no error" } catch { return "\(error)" }
        }
        #expect(message(Data([0x47, 0x47, 0x4D, 0x4C] + bytes[4...])).contains("not a GGUF file"))
        var v1 = bytes; v1[4] = 1
        #expect(message(Data(v1)).contains("version 1"))
        // The first key's length (at byte 24) far past the end.
        #expect(message(Self.patched(bytes, at: 24, 1 << 40)).contains("runs past the end of the file"))
        #expect(message(Self.patched(bytes, at: 8, 1 << 50)).contains("tensor_count"))
        #expect(message(Data(bytes.prefix(bytes.count - 40))).contains("ends past the end of the file"))
        #expect(message(Data(bytes.prefix(40))).contains("remaining bytes"))
        #expect(message(Data()).contains("truncated"))
    }

    @Test("every truncation of a valid file is an error, never a crash")
    func everyTruncation() throws {
        let bytes = [UInt8](try Self.sampleWriter().encoded())
        var failures = 0
        for length in 0 ..< bytes.count - 1 where (try? GGUFFile(data: Data(bytes.prefix(length)))) == nil { failures += 1 }
        // Only the zero padding after the last tensor may be cut without losing data.
        #expect(failures >= bytes.count - 1 - 31)
        #expect(throws: GGUFError.self) { try GGUFFile(data: Data(bytes.prefix(bytes.count - 33))) }
    }

    @Test("fuzz: 3,000 files with random bytes overwritten parse or fail with a GGUFError")
    func fuzz() throws {
        let bytes = [UInt8](try Self.sampleWriter().encoded())
        var rng = SystemRandomNumberGenerator()
        var parsed = 0, rejected = 0
        for round in 0 ..< 3000 {
            var mutated = bytes
            for _ in 0 ..< 1 + round % 4 {
                let i = Int.random(in: 0 ..< mutated.count, using: &rng)
                mutated[i] = round % 3 == 0 ? 0xFF : UInt8.random(in: 0 ... 255, using: &rng)
            }
            do {
                let file = try GGUFFile(data: Data(mutated))
                for tensor in file.tensors where tensor.type == .f32 || tensor.type == .f16 { _ = try file.floats(of: tensor) }
                parsed += 1
            } catch is GGUFError {
                rejected += 1
            }
        }
        #expect(parsed + rejected == 3000)
        #expect(rejected > 300)
    }
}
