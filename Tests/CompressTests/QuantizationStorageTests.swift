import Foundation
import Store
import Testing
@testable import Compress

@Suite("Quantization storage and errors") struct QuantizationStorageTests {
    static let cases: [(QuantizationScheme, QuantizationGranularity)] = [
        (.int8Symmetric, .tensor), (.int8Symmetric, .channel), (.int8Asymmetric, .tensor), (.int8Asymmetric, .channel),
        (.q8_0, .block), (.q4_0, .block), (.q4_1, .block),
    ]

    @Test(arguments: cases)
    func entriesRoundTripThroughSafeTensors(scheme: QuantizationScheme, granularity: QuantizationGranularity) throws {
        var random = QuantizationTestRandom(seed: 7)
        let (rows, columns) = (6, 64)
        let w = random.gaussian(rows * columns, standardDeviation: 0.02)
        let name = "transformer.h.0.mlp.c_fc.weight"
        let matrix = try QuantizedMatrix.quantize(w, rows: rows, columns: columns, scheme: scheme, granularity: granularity, name: name)
        let entries = matrix.entries(name: name)
        #expect(entries.map(\.name) == QuantizedMatrix.entryNames(name: name, scheme: scheme))
        if let perBlock = scheme.bytesPerBlock {
            #expect(entries[0].dataType == .uint8)
            #expect(entries[0].shape == [rows, columns / 32 * perBlock])
        } else {
            #expect(entries[0].dataType == .int8)
            #expect(entries[0].shape == [rows, columns])
            #expect(entries[1].shape == [granularity == .tensor ? 1 : rows])
        }
        let file = try roundTripFile(entries)
        let loaded = try QuantizedMatrix(name: name, scheme: scheme, granularity: granularity, rows: rows, columns: columns, file: file)
        #expect(loaded.entries(name: name) == entries)
        #expect(loaded.dequantized() == matrix.dequantized())
        #expect(loaded.storedBytes == matrix.storedBytes)
        #expect(loaded.storedBytes == entries.reduce(0) { $0 + $1.bytes.count })
    }

    @Test(arguments: [QuantizationScheme.q8_0, .q4_0, .q4_1])
    func blockSchemesNeedColumnsMultipleOf32(scheme: QuantizationScheme) {
        let w = [Float](repeating: 0.5, count: 2 * 48)
        let error = #expect(throws: CompressionError.self) {
            try QuantizedMatrix.quantize(w, rows: 2, columns: 48, scheme: scheme, name: "transformer.h.3.attn.c_proj.weight")
        }
        #expect(error?.message.contains("transformer.h.3.attn.c_proj.weight") == true)
        #expect(error?.message.contains("48") == true)
        #expect(error?.message.contains(scheme.formatLabel) == true)
    }

    @Test func int8AcceptsAnyColumnCount() throws {
        let w = (0..<(3 * 45)).map { Float($0 % 7) - 3 }
        let matrix = try QuantizedMatrix.quantize(w, rows: 3, columns: 45, scheme: .int8Symmetric, name: "t")
        #expect(matrix.dequantized().count == 135)
    }

    @Test func missingScaleEntryIsNamed() throws {
        let w: [Float] = [1, 2, 3, 4]
        let matrix = try QuantizedMatrix.quantize(w, rows: 2, columns: 2, scheme: .int8Asymmetric, name: "lm.w")
        let file = try roundTripFile(matrix.entries(name: "lm.w").filter { $0.name != "lm.w.scale" })
        let error = #expect(throws: CompressionError.self) {
            try QuantizedMatrix(name: "lm.w", scheme: .int8Asymmetric, rows: 2, columns: 2, file: file)
        }
        #expect(error?.message.contains("\"lm.w.scale\"") == true)
    }

    @Test func misShapedEntriesAreNamed() throws {
        let w = [Float](repeating: 0.25, count: 4 * 64)
        let blocks = try QuantizedMatrix.quantize(w, rows: 4, columns: 64, scheme: .q4_0, name: "a")
        let file = try roundTripFile(blocks.entries(name: "a"))
        // Read as 4 × 96 (3 blocks a row): the stored [4, 36] is not the [4, 54] needed.
        let shapeError = #expect(throws: CompressionError.self) {
            try QuantizedMatrix(name: "a", scheme: .q4_0, rows: 4, columns: 96, file: file)
        }
        #expect(shapeError?.message.contains("\"a.blocks\"") == true)
        #expect(shapeError?.message.contains("[4, 54]") == true)
        // The same bytes announced as Q8_0 are missing nothing but have the wrong shape too.
        #expect(throws: CompressionError.self) {
            try QuantizedMatrix(name: "a", scheme: .q8_0, rows: 4, columns: 64, file: file)
        }
        // Per-tensor scale read as per-channel.
        let int8 = try QuantizedMatrix.quantize(w, rows: 4, columns: 64, scheme: .int8Symmetric, granularity: .tensor, name: "b")
        let int8File = try roundTripFile(int8.entries(name: "b"))
        let scaleError = #expect(throws: CompressionError.self) {
            try QuantizedMatrix(name: "b", scheme: .int8Symmetric, granularity: .channel, rows: 4, columns: 64, file: int8File)
        }
        #expect(scaleError?.message.contains("\"b.scale\"") == true)
    }

    @Test func negativeScaleIsRejected() throws {
        let entries = [
            SafeTensorsEntry(name: "c.q", shape: [1, 2], values: [Int8(1), 2]),
            SafeTensorsEntry(name: "c.scale", shape: [1], values: [Float(-0.5)]),
        ]
        let error = #expect(throws: CompressionError.self) {
            try QuantizedMatrix(name: "c", scheme: .int8Symmetric, rows: 1, columns: 2, file: try roundTripFile(entries))
        }
        #expect(error?.message.contains("c.scale") == true)
    }

    @Test func schemeAndGranularityParsing() throws {
        #expect(try QuantizationScheme(parsing: "Q8_0") == .q8_0)
        #expect(try QuantizationScheme(parsing: "int8-asym") == .int8Asymmetric)
        #expect(QuantizationScheme.allCases.allSatisfy { (try? QuantizationScheme(parsing: $0.rawValue)) == $0 })
        let error = #expect(throws: CompressionError.self) { try QuantizationScheme(parsing: "q5_0") }
        #expect(error?.message.contains("\"q5_0\"") == true)
        #expect(error?.message.contains("q4_1") == true)
        #expect(try QuantizationGranularity(parsing: "Channel") == .channel)
        #expect(throws: CompressionError.self) { try QuantizationGranularity(parsing: "row") }
        // JSON (Codable) spells the raw values.
        let encoded = try JSONEncoder().encode([QuantizationScheme.int8Symmetric, .q4_1])
        #expect(String(decoding: encoded, as: UTF8.self) == #"["int8-sym","q4_1"]"#)
    }

    @Test func unsupportedGranularityAndNonFiniteWeightsThrow() {
        let w = [Float](repeating: 1, count: 32)
        #expect(throws: CompressionError.self) {
            try QuantizedMatrix.quantize(w, rows: 1, columns: 32, scheme: .q8_0, granularity: .channel, name: "t")
        }
        #expect(throws: CompressionError.self) {
            try QuantizedMatrix.quantize(w, rows: 1, columns: 32, scheme: .int8Symmetric, granularity: .block, name: "t")
        }
        var bad = w
        bad[5] = .nan
        let error = #expect(throws: CompressionError.self) {
            try QuantizedMatrix.quantize(bad, rows: 1, columns: 32, scheme: .q4_0, name: "nanny")
        }
        #expect(error?.message.contains("nanny") == true)
        #expect(error?.message.contains("[0, 5]") == true)
    }
}

@Suite("Quantization metadata") struct QuantizationMetadataTests {
    @Test func checkpointMetadataRoundTrip() throws {
        var random = QuantizationTestRandom(seed: 11)
        let w = random.gaussian(4 * 64, standardDeviation: 0.02)
        let a = try QuantizedMatrix.quantize(w, rows: 4, columns: 64, scheme: .q4_1, name: "h.0.c_fc")
        let b = try QuantizedMatrix.quantize(w, rows: 8, columns: 32, scheme: .int8Asymmetric, granularity: .tensor, name: "h.0.c_proj")
        let text = QuantizationMetadata.encode(["h.0.c_fc": QuantizedTensorInfo(a), "h.0.c_proj": QuantizedTensorInfo(b)])
        #expect(text.hasPrefix(#"{"h.0.c_fc":{"granularity":"block","scheme":"q4_1","shape":[4,64]}"#))
        let data = try SafeTensors.encode(a.entries(name: "h.0.c_fc") + b.entries(name: "h.0.c_proj"),
                                          metadata: [QuantizedMatrix.metadataKey: text])
        let loaded = try QuantizationMetadata.loadAll(from: SafeTensors.decode(data))
        #expect(Set(loaded.keys) == ["h.0.c_fc", "h.0.c_proj"])
        #expect(loaded["h.0.c_fc"]!.dequantized() == a.dequantized())
        #expect(loaded["h.0.c_proj"]!.dequantized() == b.dequantized())
        #expect(try QuantizationMetadata.decode([:]).isEmpty)
        #expect(throws: CompressionError.self) {
            try QuantizationMetadata.decode([QuantizedMatrix.metadataKey: #"{"x":{"scheme":"q5_0","granularity":"block","shape":[1,32]}}"#])
        }
    }
}
