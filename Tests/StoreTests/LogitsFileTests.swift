import Foundation
import Models
import Testing
@testable import Store

/// A token stream and a deterministic "teacher" for export tests: logits depend on the id and the position.
private struct FakeTeacher {
    let vocabularySize: Int

    func forward(_ ids: IndexTensor) throws -> Tensor {
        let (b, t) = (ids.shape[0], ids.shape[1])
        var values = [Float](repeating: 0, count: b * t * vocabularySize)
        for row in 0 ..< b * t {
            let id = Int(ids.values[row])
            for j in 0 ..< vocabularySize {
                values[row * vocabularySize + j] = Float(sin(Double(id * 31 + j * 7 + row % t))) * 4
            }
        }
        return try Tensor(shape: [b, t, vocabularySize], values: values)
    }
}

private func attributes(vocabularySize: Int = 23, split: String = "val") -> LogitsFileAttributes {
    LogitsFileAttributes(teacher: "test-teacher", teacherSHA256: String(repeating: "a", count: 64),
                         tokenizerSHA256: String(repeating: "b", count: 64), vocabularySize: vocabularySize, context: 1,
                         mode: .full, dtype: .float32, split: split, created: "2026-11-27T00:00:00Z", stride: 1, sequenceCount: 1)
}

private func tokenStream(_ count: Int, vocabularySize: Int) -> [Int32] {
    (0 ..< count).map { Int32(($0 * 7 + $0 / 3) % vocabularySize) }
}

/// Indices of `row` by value, descending, ties by the lower index.
private func descendingOrder<Value: Comparable>(_ row: [Value]) -> [Int] {
    row.indices.sorted { (a: Int, b: Int) -> Bool in
        if row[a] != row[b] { return row[a] > row[b] }
        return a < b
    }
}

/// The first `length` tokens of each window starting at `start · stride`.
private func windowInputs(_ tokens: [Int32], starts: Range<Int>, stride: Int, length: Int) -> [Int32] {
    var result: [Int32] = []
    for start in starts { result += tokens[start * stride ..< start * stride + length] }
    return result
}

@Suite("Logit files", .serialized)
struct LogitsFileTests {
    @Test func topKShardedRoundTripKeepsEverySequenceInOrder() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let teacher = FakeTeacher(vocabularySize: 23)
        let tokens = tokenStream(400, vocabularySize: 23)
        let settings = LogitsExportSettings(context: 8, stride: 5, batchSize: 3, mode: .topK(4), dtype: .float16,
                                            layout: LogitsLayout(gzipLevel: 4, blockSequences: 4, shardSequences: 30))
        let report = try LogitsExport.run(tokens: tokens, settings: settings, attributes: attributes(),
                                          tokenizerJSON: Data("{}".utf8), to: directory.file("x.h5"), forward: teacher.forward)
        let expectedSequences = (400 - 9) / 5 + 1
        #expect(report.sequences == expectedSequences)
        #expect(report.files.map(\.lastPathComponent) == ["x-00001-of-00003.h5", "x-00002-of-00003.h5", "x-00003-of-00003.h5"])
        // No temporary file is left behind.
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.url.path).sorted()
        #expect(names == report.files.map(\.lastPathComponent))

        for opened in [directory.file("x.h5"), directory.file("x-00002-of-00003.h5")] {
            let reader = try LogitsReader(url: opened)
            defer { try? reader.close() }
            #expect(reader.urls.count == 3)
            #expect(reader.sequenceCount == expectedSequences)
            #expect(reader.blockSequences == 4)
            #expect(try reader.tokenizerJSON() == Data("{}".utf8))
            // A range across the shard boundary at 30.
            let block = try reader.read(27 ..< 33)
            #expect(block.tokens.shape == [6, 9])
            for row in 0 ..< 6 {
                let offset = (27 + row) * 5
                #expect(Array(block.tokens.values[row * 9 ..< row * 9 + 9]) == Array(tokens[offset ..< offset + 9]))
            }
            // Values against the teacher recomputed here.
            let inputs = windowInputs(tokens, starts: 27 ..< 33, stride: 5, length: 8)
            let full = try teacher.forward(IndexTensor(shape: [6, 8], values: inputs)).toArray()
            let indices = try #require(block.topKIndices)
            let lse = try #require(block.logSumExp)
            var worst: Float = 0
            for position in 0 ..< 48 {
                let row = Array(full[position * 23 ..< position * 23 + 23])
                let order = descendingOrder(row)
                #expect(indices.values[position * 4 ..< position * 4 + 4].map(Int.init) == Array(order.prefix(4)))
                for j in 0 ..< 4 {
                    worst = max(worst, abs(block.logits.data[position * 4 + j] - row[order[j]]))
                }
                let exact = Float(log(row.reduce(0.0) { $0 + exp(Double($1)) }))
                #expect(abs(lse.data[position] - exact) < 1e-5)
            }
            #expect(worst <= 4 * 0.001)  // float16: half an ulp at |x| ≤ 4 is ≤ 2^-9
        }
    }

    @Test func fullFloat32WithoutCompressionIsExact() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let teacher = FakeTeacher(vocabularySize: 11)
        let tokens = tokenStream(100, vocabularySize: 11)
        let settings = LogitsExportSettings(context: 6, mode: .full, dtype: .float32, layout: LogitsLayout(gzipLevel: nil))
        let report = try LogitsExport.run(tokens: tokens, settings: settings, attributes: attributes(vocabularySize: 11),
                                          tokenizerJSON: Data("tok".utf8), to: directory.file("full.h5"), forward: teacher.forward)
        #expect(report.sequences == 16)  // (100 − 7) / 6 + 1
        let reader = try LogitsReader(url: directory.file("full.h5"))
        defer { try? reader.close() }
        #expect(reader.attributes.mode == .full)
        #expect(reader.attributes.stride == 6)
        let block = try reader.read(0 ..< 16)
        #expect(block.topKIndices == nil && block.logSumExp == nil)
        let inputs = windowInputs(tokens, starts: 0 ..< 16, stride: 6, length: 6)
        #expect(block.logits.toArray() == (try teacher.forward(IndexTensor(shape: [16, 6], values: inputs)).toArray()))
    }

    @Test func rootAttributesAreThoseOfTheDesign() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.file("a.h5")
        _ = try LogitsExport.run(tokens: tokenStream(50, vocabularySize: 23), settings: LogitsExportSettings(context: 4, mode: .topK(8)),
                                 attributes: attributes(), tokenizerJSON: Data("{}".utf8), to: url,
                                 forward: FakeTeacher(vocabularySize: 23).forward)
        let file = try HDF5File(url: url, mode: .readOnly)
        defer { try? file.close() }
        let names = Set(try file.attributeNames())
        for required in ["format", "format_version", "teacher", "teacher_sha256", "tokenizer_sha256", "vocab_size", "context",
                         "top_k", "dtype", "split", "temperature", "created", "complete"] {
            #expect(names.contains(required), "missing \(required)")
        }
        #expect(try file.stringAttribute("format") == "alambique.logits")
        #expect(try file.int64Attribute("top_k") == 8)
        #expect(try file.int64Attribute("context") == 4)
        #expect(try file.stringAttribute("dtype") == "float16")
        #expect(try file.int64Attribute("complete") == 1)
        let indices = try file.openGroup("topk").openDataset("indices")
        #expect(indices.elementType == .uint16)
        #expect(try indices.filterNames() == ["shuffle", "gzip-4"])
    }

    @Test func refusesAnIncompleteFileAndNamesIt() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.file("cut.h5")
        _ = try LogitsExport.run(tokens: tokenStream(50, vocabularySize: 23), settings: LogitsExportSettings(context: 4, mode: .topK(3)),
                                 attributes: attributes(), tokenizerJSON: Data("{}".utf8), to: url,
                                 forward: FakeTeacher(vocabularySize: 23).forward)
        let file = try HDF5File(url: url, mode: .readWrite)
        try file.setAttribute("complete", .int64(0))
        try file.close()
        let error = #expect(throws: LogitsFileError.self) { try LogitsReader(url: url) }
        #expect(error?.description.contains("cut.h5") == true)
        #expect(error?.description.contains("incomplete") == true)
    }

    @Test func checksTheStudentAgainstTheFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = directory.file("v.h5")
        _ = try LogitsExport.run(tokens: tokenStream(60, vocabularySize: 23), settings: LogitsExportSettings(context: 8, mode: .topK(2)),
                                 attributes: attributes(), tokenizerJSON: Data("{}".utf8), to: url,
                                 forward: FakeTeacher(vocabularySize: 23).forward)
        let reader = try LogitsReader(url: url)
        defer { try? reader.close() }
        let hash = String(repeating: "b", count: 64)
        try reader.validate(tokenizerSHA256: hash, vocabularySize: 23, context: 8)
        try reader.validate(tokenizerSHA256: hash, vocabularySize: 23, context: 4)
        let tokenizer = #expect(throws: LogitsFileError.self) {
            try reader.validate(tokenizerSHA256: String(repeating: "c", count: 64), vocabularySize: 23, context: 8)
        }
        #expect(tokenizer?.detail.contains("tokenizer differs") == true)
        let vocabulary = #expect(throws: LogitsFileError.self) { try reader.validate(tokenizerSHA256: hash, vocabularySize: 24, context: 8) }
        #expect(vocabulary?.detail.contains("vocab_size is 23 in the file but 24") == true)
        let context = #expect(throws: LogitsFileError.self) { try reader.validate(tokenizerSHA256: hash, vocabularySize: 23, context: 9) }
        #expect(context?.detail.contains("context 9 is longer") == true)
        #expect(throws: LogitsFileError.self) { try reader.read(5 ..< 99) }
    }

    @Test func aMissingShardIsNamed() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let report = try LogitsExport.run(
            tokens: tokenStream(200, vocabularySize: 23),
            settings: LogitsExportSettings(context: 8, mode: .topK(5), layout: LogitsLayout(shardSequences: 10)),
            attributes: attributes(), tokenizerJSON: Data("{}".utf8), to: directory.file("s.h5"),
            forward: FakeTeacher(vocabularySize: 23).forward)
        #expect(report.files.count == 3)
        try FileManager.default.removeItem(at: report.files[1])
        let error = #expect(throws: LogitsFileError.self) { try LogitsReader(url: report.files[0]) }
        #expect(error?.detail.contains("s-00002-of-00003.h5") == true)
    }

    @Test func aFailedExportLeavesNoFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        struct Boom: Error {}
        var calls = 0
        #expect(throws: Boom.self) {
            _ = try LogitsExport.run(tokens: tokenStream(300, vocabularySize: 23),
                                     settings: LogitsExportSettings(context: 8, batchSize: 2, mode: .topK(5), layout: LogitsLayout(blockSequences: 2)),
                                     attributes: attributes(), tokenizerJSON: Data("{}".utf8), to: directory.file("f.h5")) { ids in
                calls += 1
                if calls == 5 { throw Boom() }
                return try FakeTeacher(vocabularySize: 23).forward(ids)
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path).isEmpty)
        // Non-finite teacher logits stop the export with the position.
        let error = #expect(throws: LogitsFileError.self) {
            _ = try LogitsExport.run(tokens: tokenStream(300, vocabularySize: 23), settings: LogitsExportSettings(context: 8, mode: .topK(5)),
                                     attributes: attributes(), tokenizerJSON: Data("{}".utf8), to: directory.file("n.h5")) { ids in
                try Tensor(shape: [ids.shape[0], 8, 23], values: [Float](repeating: .nan, count: ids.shape[0] * 8 * 23))
            }
        }
        #expect(error?.detail.contains("sequence 0, position 0") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path).isEmpty)
    }

    @Test func topKSelectionSortsAndBreaksTiesByIndex() {
        let row: [Float] = [1, 5, 3, 5, -2, 9, 3]
        var indices = [Int32](repeating: -1, count: 4)
        var values = [Float](repeating: 0, count: 4)
        var lse: Float = 0
        TopKSelection.select(row, rows: 1, vocabularySize: 7, k: 4, topIndices: &indices, topLogits: &values, logSumExp: &lse)
        #expect(indices == [5, 1, 3, 2])
        #expect(values == [9, 5, 5, 3])
        let exact = log(row.reduce(0.0) { $0 + exp(Double($1)) })
        #expect(abs(Double(lse) - exact) < 1e-5)
        #expect(TopKSelection.logSumExp([1000, 1000], count: 2) == 1000 + Float(log(2.0)))
    }
}

/// The acceptance check of the logit issue on a real (tiny, random) GPT: top-k file against the full forward.
@Suite("Logit export exactness", .serialized)
struct LogitsExactnessTests {
    @Test func topKProbabilitiesMatchTheFullSoftmaxWithinFloat16Rounding() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = GPTConfig(vocabularySize: 40, contextLength: 16, layers: 1, heads: 2, embeddingSize: 16)
        let model = try GPT(config: config, seed: 3)
        // Larger logits than a fresh init gives, so the top-k are well apart from the tail.
        for parameter in model.parameters() where parameter.rank == 2 {
            for i in 0 ..< parameter.count { parameter.data[i] *= 8 }
        }
        let tokens = tokenStream(200, vocabularySize: 40)
        var settings = LogitsExportSettings(context: 16, mode: .topK(8), dtype: .float16)
        let forward: (IndexTensor) throws -> Tensor = { ids in try noGrad { try model(ids) } }
        _ = try LogitsExport.run(tokens: tokens, settings: settings, attributes: attributes(vocabularySize: 40),
                                 tokenizerJSON: Data("{}".utf8), to: directory.file("k.h5"), forward: forward)
        settings.mode = .full
        settings.dtype = .float32
        _ = try LogitsExport.run(tokens: tokens, settings: settings, attributes: attributes(vocabularySize: 40),
                                 tokenizerJSON: Data("{}".utf8), to: directory.file("f.h5"), forward: forward)
        let top = try LogitsReader(url: directory.file("k.h5"))
        let full = try LogitsReader(url: directory.file("f.h5"))
        defer { try? top.close(); try? full.close() }
        let n = top.sequenceCount
        let k = try top.read(0 ..< n), f = try full.read(0 ..< n)
        let indices = try #require(k.topKIndices), lse = try #require(k.logSumExp)
        var worst = 0.0
        for position in 0 ..< n * 16 {
            let row = (0 ..< 40).map { Double(f.logits.data[position * 40 + $0]) }
            let maximum = row.max()!
            let normaliser = maximum + log(row.reduce(0) { $0 + exp($1 - maximum) })
            let trueOrder = descendingOrder(row)
            #expect(indices.values[position * 8 ..< position * 8 + 8].map(Int.init) == Array(trueOrder.prefix(8)))
            for j in 0 ..< 8 {
                let index = Int(indices.values[position * 8 + j])
                let stored = exp(Double(k.logits.data[position * 8 + j]) - Double(lse.data[position]))
                let exact = exp(row[index] - normaliser)
                // float16 rounding of the logit: |Δl| ≤ 2^-11·|l|, so the probability moves by a factor e^{±|Δl|}.
                let bound = expm1(abs(row[index]) * pow(2, -11)) + 1e-6
                worst = max(worst, abs(stored - exact) / exact / bound)
            }
        }
        #expect(worst <= 1, "worst error relative to the float16 bound: \(worst)")
    }
}
