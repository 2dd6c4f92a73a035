import Foundation
import Testing
@testable import Store

@Suite("safetensors: round trip and layout")
struct SafeTensorsTests {
    @Test func writerEscapesLikeSerdeJSON() {
        #expect(SafeTensors.jsonString("a\"b\\c\n\u{01}é") == #""a\"b\\c\n\u0001é""#)
    }

    @Test func roundTripsEveryCommonTypeThroughAFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let entries: [SafeTensorsEntry] = [
            SafeTensorsEntry(name: "transformer.wte.weight", shape: [2, 3], values: [Float](arrayLiteral: 1, -2, 3.5, 0, 1e-8, -7)),
            .float16(name: "half", shape: [3], converting: [0.5, -1, 65504]),
            SafeTensorsEntry(name: "q", shape: [4], values: [Int8](arrayLiteral: -128, -1, 0, 127)),
            SafeTensorsEntry(name: "mask", shape: [3], values: [UInt8](arrayLiteral: 0, 1, 255)),
            SafeTensorsEntry(name: "ids", shape: [2], values: [Int32](arrayLiteral: .min, .max)),
            SafeTensorsEntry(name: "step", shape: [], values: [Int64](arrayLiteral: 1 << 40)),
            SafeTensorsEntry(name: "topk", shape: [2], values: [UInt16](arrayLiteral: 0, 65535)),
            SafeTensorsEntry(name: "empty", shape: [0, 4], values: [Float]()),
        ]
        let url = directory.file("model.safetensors")
        try SafeTensors.write(entries, metadata: ["format": "pt", "alambique.note": "x"], to: url)
        let file = try SafeTensors.read(contentsOf: url)

        #expect(file.metadata == ["format": "pt", "alambique.note": "x"])
        #expect(file.names == entries.map(\.name).sorted())
        // Laid out widest element type first, then by name, as Python's safetensors does.
        #expect(file.entries.map(\.name) == ["step", "empty", "transformer.wte.weight", "ids", "half", "topk", "q", "mask"])
        for entry in entries {
            #expect(try file.entry(named: entry.name) == entry)
        }
        #expect(try file.entry(named: "transformer.wte.weight").floats() == [1, -2, 3.5, 0, 1e-8, -7])
        #expect(try file.entry(named: "half").floats() == [0.5, -1, 65504])
        #expect(try file.entry(named: "step").values(as: Int64.self) == [1 << 40])
        #expect(try file.entry(named: "ids").values(as: Int32.self) == [.min, .max])
        // No temporary file is left beside the destination.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path) == ["model.safetensors"])
    }

    @Test func encodingIsDeterministicWhateverTheInputOrder() throws {
        let a = SafeTensorsEntry(name: "a", shape: [1], values: [Float](arrayLiteral: 1))
        let b = SafeTensorsEntry(name: "b", shape: [2], values: [UInt8](arrayLiteral: 1, 2))
        #expect(try SafeTensors.encode([a, b], metadata: ["y": "1", "x": "2"])
            == SafeTensors.encode([b, a], metadata: ["x": "2", "y": "1"]))
    }

    @Test func byteExactLayoutOfATinyFile() throws {
        // {"w": float32 [1.0, 2.0]}: a 54-byte header padded with 2 spaces to 56, so data starts at 64.
        let encoded = try SafeTensors.encode([SafeTensorsEntry(name: "w", shape: [2], values: [Float](arrayLiteral: 1, 2))])
        let json = #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        #expect(json.utf8.count == 54)
        let expected: [UInt8] = [56, 0, 0, 0, 0, 0, 0, 0] + Array(json.utf8) + [0x20, 0x20]
            + [0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40]  // 1.0f and 2.0f, little-endian
        #expect(Array(encoded) == expected)
        #expect((8 + 56) % 8 == 0)
    }

    @Test func metadataFirstThenWidestTypesSoDataStaysAligned() throws {
        // Name order would put the 3-byte U8 tensor "a" first and misalign the F32 tensor "b".
        let encoded = try SafeTensors.encode(
            [SafeTensorsEntry(name: "a", shape: [3], values: [UInt8](arrayLiteral: 7, 8, 9)),
             SafeTensorsEntry(name: "b", shape: [1], values: [Float](arrayLiteral: 3))],
            metadata: ["format": "pt", "alambique.quantization": "{}"])
        let json = #"{"__metadata__":{"alambique.quantization":"{}","format":"pt"},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"U8","shape":[3],"data_offsets":[4,7]}}"#
        let padding = (8 - json.utf8.count % 8) % 8
        let expected = littleEndianBytes(UInt64(json.utf8.count + padding)) + Array(json.utf8)
            + [UInt8](repeating: 0x20, count: padding) + rawBytes([Float(3)]) + [7, 8, 9]
        #expect(Array(encoded) == expected)
    }

    /// Bytes exactly as Python's `safetensors` (0.8.0, `safetensors.numpy.save`) writes
    /// {"weight": f32 [[1, 2], [3, -0.5]], "bias": f16 [0.5, -1], "ids": u8 [1, 2, 3]} with
    /// metadata {"format": "np"}: tensors ordered by alignment then name, so the header's keys are
    /// not in name order, and the data section is not padded at its end.
    @Test func readsAFileLaidOutLikePythonSafetensors() throws {
        let json = #"{"__metadata__":{"format":"np"},"weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"bias":{"dtype":"F16","shape":[2],"data_offsets":[16,20]},"ids":{"dtype":"U8","shape":[3],"data_offsets":[20,23]}}"#
        #expect(json.utf8.count == 207)  // padded with one space to 208
        let bytes: [UInt8] = [208, 0, 0, 0, 0, 0, 0, 0] + Array(json.utf8) + [0x20]
            + [0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 0, 191]  // 1, 2, 3, -0.5 as float32
            + [0, 56, 0, 188]  // 0.5, -1 as float16
            + [1, 2, 3]
        let file = try SafeTensors.decode(Data(bytes), source: "python.safetensors")
        #expect(file.metadata == ["format": "np"])
        #expect(file.entries.map(\.name) == ["weight", "bias", "ids"])
        #expect(try file.entry(named: "weight").shape == [2, 2])
        #expect(try file.entry(named: "weight").floats() == [1, 2, 3, -0.5])
        #expect(try file.entry(named: "bias").dataType == .float16)
        #expect(try file.entry(named: "bias").floats() == [0.5, -1])
        #expect(try file.entry(named: "ids").values(as: UInt8.self) == [1, 2, 3])
        // Writing the same tensors back gives Python's bytes exactly, whatever order they are given in.
        let rewritten = try SafeTensors.encode([file.entry(named: "ids"), file.entry(named: "bias"), file.entry(named: "weight")],
                                               metadata: file.metadata)
        #expect(Array(rewritten) == bytes)
    }

    @Test func widensHalfAndBrainFloatExactly() throws {
        // F16 bit patterns: 1.0, -2.0, the smallest subnormal, 65504 (largest finite).
        let half = SafeTensorsEntry(name: "h", dataType: .float16, shape: [4],
                                    bytes: Data(rawBytes([UInt16](arrayLiteral: 0x3c00, 0xc000, 0x0001, 0x7bff))))
        #expect(try half.floats() == [1, -2, 5.9604645e-08, 65504])
        // BF16 is the top half of a float32: 0x3f80 = 1.0, 0x4049 = 3.140625.
        let brain = SafeTensorsEntry(name: "b", dataType: .bfloat16, shape: [2],
                                     bytes: Data(rawBytes([UInt16](arrayLiteral: 0x3f80, 0x4049))))
        #expect(try brain.floats() == [1, 3.140625])
    }

    @Test func typedAccessRefusesAnotherElementType() throws {
        let entry = SafeTensorsEntry(name: "ids", shape: [2], values: [Int32](arrayLiteral: 1, 2))
        let error = try #require(throws: SafeTensorsError.self) { try entry.values(as: Float.self) }
        #expect(error.kind == .dataTypeMismatch)
        #expect(error.description.contains("\"ids\"") && error.description.contains("stored as I32, requested F32"))
        #expect(throws: SafeTensorsError.self) { try entry.floats() }
        let file = try SafeTensors.decode(SafeTensors.encode([entry]), source: "ids.safetensors")
        #expect(try file.values(named: "ids", as: Int32.self) == [1, 2])
        let named = try #require(throws: SafeTensorsError.self) { try file.floats(named: "ids") }
        #expect(named.description.hasPrefix("safetensors ids.safetensors: tensor \"ids\""))
    }

    @Test func missingTensorNamesFileAndTensor() throws {
        let file = try SafeTensors.decode(SafeTensors.encode([]), source: "empty.safetensors")
        #expect(file.entries.isEmpty)
        let error = try #require(throws: SafeTensorsError.self) { try file.entry(named: "lm_head.weight") }
        #expect(error.kind == .missingTensor)
        #expect(error.description.contains("empty.safetensors") && error.description.contains("lm_head.weight"))
    }
}
