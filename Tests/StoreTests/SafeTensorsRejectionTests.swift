import Foundation
import Testing
@testable import Store

/// A malformed file and what the reader must say about it.
struct MalformedFile: CustomTestStringConvertible, Sendable {
    let label: String
    let bytes: [UInt8]
    let kind: SafeTensorsError.Kind
    /// Every one of these must appear in the error's description.
    let mentions: [String]

    var testDescription: String { label }

    /// A file with the given header text (unpadded) and data bytes.
    static func with(header: String, data: [UInt8], _ label: String, _ kind: SafeTensorsError.Kind,
                     _ mentions: [String]) -> MalformedFile {
        MalformedFile(label: label, bytes: littleEndianBytes(UInt64(header.utf8.count)) + Array(header.utf8) + data,
                      kind: kind, mentions: mentions)
    }
}

@Suite("safetensors: rejecting malformed files")
struct SafeTensorsRejectionTests {
    static let cases: [MalformedFile] = [
        MalformedFile(label: "shorter than 8 bytes", bytes: [1, 2, 3, 4, 5], kind: .fileTooShort,
                      mentions: ["5 bytes", "shorter than the 8-byte header length"]),
        MalformedFile(label: "header length past the end", bytes: littleEndianBytes(UInt64(1000)) + Array("{}".utf8),
                      kind: .headerLengthOutOfRange, mentions: ["header length 1000", "10 bytes"]),
        MalformedFile(label: "absurd header length", bytes: littleEndianBytes(UInt64(1) << 40) + Array("{}".utf8),
                      kind: .headerTooLarge, mentions: ["1099511627776", "exceeds"]),
        .with(header: #"{"a": {"dtype": "F32""#, data: [], "truncated JSON", .invalidHeaderJSON,
              ["not valid JSON", "unterminated object"]),
        .with(header: "[1, 2]", data: [], "header not an object", .invalidHeaderJSON, ["found an array"]),
        .with(header: #"{"a":{"dtype":"F8X","shape":[1],"data_offsets":[0,1]}}"#, data: [0], "unknown dtype",
              .unknownDataType, ["\"a\"", "unknown dtype \"F8X\"", "F32"]),
        .with(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,64]}}"#, data: [UInt8](repeating: 0, count: 8),
              "offsets past the data", .offsetsOutOfRange, ["\"a\"", "[0, 64)", "8 bytes"]),
        .with(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#, data: [UInt8](repeating: 0, count: 8),
              "end before begin", .offsetsOutOfRange, ["[8, 4)"]),
        .with(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
              data: [UInt8](repeating: 0, count: 12), "overlapping offsets", .overlappingOffsets,
              ["\"b\"", "overlap tensor \"a\"", "ends at 8"]),
        .with(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
              data: [UInt8](repeating: 0, count: 12), "hole between tensors", .unindexedBytes, ["\"b\"", "[4, 8)"]),
        .with(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: [UInt8](repeating: 0, count: 8),
              "bytes after the last tensor", .unindexedBytes, ["cover 4 bytes", "has 8"]),
        .with(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8),
              "dtype × shape against offsets", .sizeMismatch, ["\"a\"", "F32 × shape [3] needs 12 bytes", "span 8"]),
        .with(header: #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#,
              data: [0, 0], "duplicate names", .duplicateName, ["\"a\"", "more than once"]),
        .with(header: #"{"a":{"dtype":"U8","shape":[-2],"data_offsets":[0,0]}}"#, data: [], "negative dimension",
              .negativeDimension, ["\"a\"", "negative dimension -2"]),
        .with(header: #"{"a":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}}"#, data: [0], "fractional dimension",
              .invalidField, ["\"shape\" must hold integers, found 1.5"]),
        .with(header: #"{"a":{"dtype":"U8","shape":[1]}}"#, data: [0], "missing data_offsets", .invalidField,
              ["missing field \"data_offsets\""]),
        .with(header: #"{"__metadata__":{"n":3}}"#, data: [], "non-string metadata", .invalidField,
              ["\"__metadata__\" key \"n\" must be a string, found a number"]),
        .with(header: #"{"__metadata__":{"k":"1","k":"2"}}"#, data: [], "repeated metadata key", .invalidField,
              ["\"__metadata__\" key \"k\" appears more than once"]),
        .with(header: #"{"a":{"dtype":"U8","shape":[1],"dtype":"U8","data_offsets":[0,1]}}"#, data: [0],
              "repeated tensor field", .invalidField, ["\"a\"", "field \"dtype\" appears more than once"]),
        // Offsets are read as exact integers, never rounded through Double (2^53 + 1 survives).
        .with(header: #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,9007199254740993]}}"#, data: [0],
              "offset above 2^53", .offsetsOutOfRange, ["[0, 9007199254740993)"]),
        .with(header: #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,18446744073709551616]}}"#, data: [0],
              "offset beyond 64 bits", .invalidField, ["\"data_offsets\" must hold integers, found 18446744073709551616"]),
        .with(header: String(repeating: "[", count: 65) + String(repeating: "]", count: 65), data: [],
              "nesting deeper than 64", .invalidHeaderJSON, ["not valid JSON at byte 64", "nesting deeper than 64 levels"]),
        .with(header: String(repeating: "[", count: 64) + String(repeating: "]", count: 64), data: [],
              "nesting 64 deep parses", .invalidHeaderJSON, ["must be a JSON object, found an array"]),
    ]

    @Test(arguments: cases)
    func rejects(_ malformed: MalformedFile) throws {
        let error = try #require(throws: SafeTensorsError.self) {
            try SafeTensors.decode(Data(malformed.bytes), source: "bad.safetensors")
        }
        #expect(error.kind == malformed.kind)
        #expect(error.description.hasPrefix("safetensors bad.safetensors: "))
        for mention in malformed.mentions {
            #expect(error.description.contains(mention), "\(error.description) should mention \(mention)")
        }
    }

    @Test func readNamesTheFilePath() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.file("short.safetensors")
        try Data([1, 2, 3]).write(to: url)
        let error = try #require(throws: SafeTensorsError.self) { try SafeTensors.read(contentsOf: url) }
        #expect(error.kind == .fileTooShort && error.description.contains(url.path))
        let missing = try #require(throws: SafeTensorsError.self) {
            try SafeTensors.read(contentsOf: directory.file("absent.safetensors"))
        }
        #expect(missing.kind == .unreadableFile && missing.description.contains("absent.safetensors"))
    }

    @Test func writerRefusesInvalidEntries() throws {
        func kind(_ entries: [SafeTensorsEntry]) throws -> SafeTensorsError.Kind {
            try #require(throws: SafeTensorsError.self) { try SafeTensors.encode(entries) }.kind
        }
        let one = SafeTensorsEntry(name: "a", shape: [1], values: [Float](arrayLiteral: 1))
        #expect(try kind([one, one]) == .duplicateName)
        #expect(try kind([SafeTensorsEntry(name: "a", dataType: .float32, shape: [2], bytes: Data(count: 4))]) == .sizeMismatch)
        #expect(try kind([SafeTensorsEntry(name: "a", dataType: .uint8, shape: [-1, -1], bytes: Data(count: 1))]) == .negativeDimension)
        #expect(try kind([SafeTensorsEntry(name: "__metadata__", shape: [1], values: [UInt8](arrayLiteral: 1))]) == .reservedName)
    }
}
