import Foundation
import Testing
@testable import Store

// Serialized: a libhdf5 built without thread safety (e.g. Homebrew's) must not be entered concurrently.
@Suite("HDF5 wrapper", .serialized)
struct HDF5Tests {
    /// The proof that CHDF5 links: a small logit-file-like layout written, closed, reopened and read.
    @Test func writesAndReadsBackDatasetsAndGroups() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.file("tiny.h5")
        let tokens: [Int32] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
        let logits: [Float] = (0 ..< 24).map { Float($0) * 0.25 - 3 }
        let indices: [UInt16] = [0, 65535, 7, 9]

        let file = try HDF5File(url: url, mode: .truncate)
        let tokenSet = try file.createDataset("tokens", elementType: .int32, shape: [4, 3], compression: .shuffleGzip())
        try tokenSet.writeRows(tokens, startingAt: 0)
        let logitSet = try file.createDataset("logits", elementType: .float32, shape: [2, 3, 4], chunkShape: [1, 3, 4])
        try logitSet.writeRows(Array(logits[12...]), startingAt: 1)  // rows out of order
        try logitSet.writeRows(Array(logits[..<12]), startingAt: 0)
        let topk = try file.createGroup("topk")
        try topk.createDataset("indices", elementType: .uint16, shape: [2, 2]).writeRows(indices, startingAt: 0)
        try file.close()

        let reopened = try HDF5File(url: url, mode: .readOnly)
        defer { try? reopened.close() }
        #expect(try reopened.memberNames() == ["logits", "tokens", "topk"])
        #expect(try reopened.memberKind("topk") == .group)
        #expect(try reopened.memberKind("tokens") == .dataset)
        let readTokens = try reopened.openDataset("tokens")
        #expect(readTokens.elementType == .int32)
        #expect(try readTokens.shape() == [4, 3])
        #expect(try readTokens.readAll(as: Int32.self) == tokens)
        #expect(try readTokens.readRows(1 ..< 3, as: Int32.self) == Array(tokens[3 ..< 9]))
        #expect(try reopened.openDataset("logits").readAll(as: Float.self) == logits)
        let readIndices = try reopened.openGroup("topk").openDataset("indices")
        #expect(readIndices.path == "/topk/indices")
        #expect(try readIndices.readAll(as: UInt16.self) == indices)
    }

    @Test func extendableDatasetGrowsByAppendedRows() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try HDF5File(url: directory.file("grow.h5"), mode: .truncate)
        defer { try? file.close() }
        let dataset = try file.createDataset("tokens", elementType: .int32, shape: [0, 3], extendable: true,
                                             chunkShape: [2, 3], compression: .shuffleGzip(level: 1))
        #expect(try dataset.maximumShape() == [nil, 3])
        try dataset.appendRows([Int32](arrayLiteral: 1, 2, 3, 4, 5, 6))
        try dataset.appendRows([Int32](arrayLiteral: 7, 8, 9))
        #expect(try dataset.shape() == [3, 3])
        #expect(try dataset.readRows(1 ..< 3, as: Int32.self) == [4, 5, 6, 7, 8, 9])

        let outside = try #require(throws: HDF5Error.self) { try dataset.writeRows([Int32](repeating: 0, count: 3), startingAt: 3) }
        #expect(outside.description.contains("/tokens") && outside.description.contains("outside the dataset's 3 rows"))
        let pastEnd = try #require(throws: HDF5Error.self) { try dataset.readRows(2 ..< 5, as: Int32.self) }
        #expect(pastEnd.description.contains("read rows [2, 5)") && pastEnd.detail.contains("outside the dataset's 3 rows"))
        let ragged = try #require(throws: HDF5Error.self) { try dataset.appendRows([Int32](arrayLiteral: 1, 2)) }
        #expect(ragged.description.contains("2 values are not whole rows of 3 elements"))
        let wrongType = try #require(throws: HDF5Error.self) { try dataset.writeRows([UInt16](arrayLiteral: 1, 2, 3), startingAt: 0) }
        #expect(wrongType.description.contains("cannot write uint16 values to a int32 dataset"))
    }

    /// Every finite half-precision value survives Float → float16 dataset → Float exactly, and values
    /// between halves round to nearest even in Swift (not through libhdf5's faulty conversion).
    @Test func float16RoundTripIsExactForRepresentableValues() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.file("half.h5")
        let representable = (UInt16.min ... UInt16.max).map { Float16(bitPattern: $0) }.filter { $0.isFinite }.map { Float($0) }
        let between: [Float] = [0.9999, 0.1, 1e-6, -123.456, 70000, 3.0e-8]

        let file = try HDF5File(url: url, mode: .truncate)
        let dataset = try file.createDataset("logits", elementType: .float16, shape: [representable.count], compression: .shuffleGzip())
        try dataset.writeRows(representable, startingAt: 0)
        try file.createDataset("between", elementType: .float16, shape: [between.count]).writeRows(between, startingAt: 0)
        try file.close()

        let reopened = try HDF5File(url: url, mode: .readOnly)
        defer { try? reopened.close() }
        let readBack = try reopened.openDataset("logits").readAll(as: Float.self)
        #expect(readBack.count == 63_488)
        let mismatches = zip(readBack, representable).filter { $0.0.bitPattern != $0.1.bitPattern }.count
        #expect(mismatches == 0)
        let halves = try reopened.openDataset("between").readAll(as: Float16.self)
        #expect(halves.map(\.bitPattern) == between.map { Float16($0).bitPattern })
        #expect(halves[0] != 0.5)  // the value libhdf5's own conversion gets wrong (FACTS.md)
    }

    @Test func attributesRoundTripOnFilesGroupsAndDatasets() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.file("attributes.h5")
        let file = try HDF5File(url: url, mode: .truncate)
        try file.setAttribute("format", .string("alambique.logits"))
        try file.setAttribute("format_version", .int64(1))
        try file.setAttribute("temperature", .double(1.5))
        try file.setAttribute("teacher", .string("Ünïcödé ✓ — teacher"))
        try file.setAttribute("complete", .int64(0))
        try file.setAttribute("complete", .int64(1))  // replaces
        let dataset = try file.createGroup("topk").createDataset("indices", elementType: .uint16, shape: [1])
        try dataset.setAttribute("vocab_size", .int64(65))
        try file.close()

        let reopened = try HDF5File(url: url, mode: .readOnly)
        defer { try? reopened.close() }
        #expect(try reopened.attributeNames() == ["complete", "format", "format_version", "teacher", "temperature"])
        #expect(try reopened.stringAttribute("format") == "alambique.logits")
        #expect(try reopened.int64Attribute("format_version") == 1)
        #expect(try reopened.int64Attribute("complete") == 1)
        #expect(try reopened.doubleAttribute("temperature") == 1.5)
        #expect(try reopened.attribute("teacher") == .string("Ünïcödé ✓ — teacher"))
        #expect(try reopened.openGroup("topk").openDataset("indices").int64Attribute("vocab_size") == 65)
        #expect(try reopened.hasAttribute("created") == false)

        let missing = try #require(throws: HDF5Error.self) { try reopened.int64Attribute("created") }
        #expect(missing.description.contains("read attribute \"created\"") && missing.description.contains("no such attribute"))
        let wrongType = try #require(throws: HDF5Error.self) { try reopened.int64Attribute("format") }
        #expect(wrongType.description.contains("expected an integer"))
    }

    @Test func openingSomethingElseFailsClearly() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let text = directory.file("notes.h5")
        try Data("this is not HDF5\n".utf8).write(to: text)
        let notHDF5 = try #require(throws: HDF5Error.self) { try HDF5File(url: text, mode: .readOnly) }
        #expect(notHDF5.description.contains(text.path))
        #expect(notHDF5.description.contains("not an HDF5 file"))

        let absent = try #require(throws: HDF5Error.self) { try HDF5File(url: directory.file("absent.h5"), mode: .readWrite) }
        #expect(absent.description.contains("absent.h5") && absent.description.contains("no such file"))

        let file = try HDF5File(url: directory.file("real.h5"), mode: .truncate)
        let noMember = try #require(throws: HDF5Error.self) { try file.openDataset("logits") }
        #expect(noMember.description.contains("no member \"logits\""))
        _ = try file.createGroup("g")
        let duplicate = try #require(throws: HDF5Error.self) { try file.createGroup("g") }
        #expect(duplicate.description.contains("create group \"g\"") && duplicate.detail.contains("already exists"))
        try file.close()
        let closed = try #require(throws: HDF5Error.self) { try file.memberNames() }
        #expect(closed.detail == "the object was already closed")
        #expect(throws: HDF5Error.self) { try HDF5File(url: directory.file("real.h5"), mode: .createNew) }
    }
}
