import Foundation
import Models
import Testing
import Tokenizers
@testable import Store

/// Writers on a disk that refuses more bytes. Each case runs in a child process whose file-size
/// limit (RLIMIT_FSIZE) is set just before the write, with SIGXFSZ ignored so that write(2) fails
/// with EFBIG — the same failure path as ENOSPC on a full disk, without mounting anything. The
/// child prints what it saw; a crash (the segfault inside libhdf5) fails the exit condition.
@Suite("Writers on a full disk") struct DiskFullTests {
    /// Caps the size of any file this process writes (the test child only).
    static func limitFileSize(to bytes: Int) {
        signal(SIGXFSZ, SIG_IGN)
        var limit = rlimit(rlim_cur: rlim_t(bytes), rlim_max: rlim_t(bytes))
        _ = setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit)
    }

    /// One line per entry of `directory`, sorted (hidden temporary files included).
    static func listing(_ directory: String) -> String {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? ["<unreadable>"]
        return "left: [" + names.sorted().joined(separator: ", ") + "]\n"
    }

    static func report(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }

    static func output(_ result: ExitTest.Result?) -> String {
        String(decoding: result?.standardOutputContent ?? [], as: UTF8.self)
    }

    /// A deterministic stand-in for a teacher: logits from the id and the position.
    static func teacher(_ ids: IndexTensor, vocabularySize: Int) throws -> Tensor {
        let (b, t) = (ids.shape[0], ids.shape[1])
        var values = [Float](repeating: 0, count: b * t * vocabularySize)
        for row in 0 ..< b * t {
            let id = Int(ids.values[row])
            for j in 0 ..< vocabularySize {
                values[row * vocabularySize + j] = Float(sin(Double(id * 31 + j * 7 + row)))
            }
        }
        return try Tensor(shape: [b, t, vocabularySize], values: values)
    }

    @Test("a logit export past the disk's end fails naming the file, removes its temporary file, never crashes",
          arguments: [LogitsMode.full, .topK(8)], [4, nil] as [Int?])
    func logitExport(mode: LogitsMode, gzip: Int?) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.url.path
        let topK = mode.storedTopK
        let result = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
            [path = path as String, topK = topK as Int, gzip = gzip as Int?] in
            let vocabularySize = 300  // uint16 indices; 128 sequences × 16 positions × 300 floats ≈ 2.5 MB
            let attributes = tinyLogitsAttributes(vocabularySize: vocabularySize, context: 16)
            let tokens = (0 ..< 128 * 16 + 1).map { Int32(($0 * 7 + $0 / 3) % vocabularySize) }
            let layout = LogitsLayout(gzipLevel: gzip, blockSequences: 8)
            let settings = LogitsExportSettings(context: 16, batchSize: 8, mode: topK == 0 ? .full : .topK(topK),
                                                dtype: .float32, layout: layout)
            DiskFullTests.limitFileSize(to: 48 << 10)
            do {
                let url = URL(fileURLWithPath: path + "/out.h5")
                _ = try LogitsExport.run(tokens: tokens, settings: settings, attributes: attributes,
                                         tokenizerJSON: Data("{}".utf8), to: url) { ids in
                    try DiskFullTests.teacher(ids, vocabularySize: vocabularySize)
                }
                DiskFullTests.report("no error\n")
            } catch {
                DiskFullTests.report("error: \(error)\n")
            }
            DiskFullTests.report(DiskFullTests.listing(path))
        }
        let text = Self.output(result)
        #expect(text.contains("error: \(path)/out.h5: could not write the logit file"), "\(text.prefix(600))")
        #expect(text.contains("file too large"), "\(text.prefix(600))")
        #expect(text.contains("left: []"), "\(text.prefix(600))")
    }

    @Test("a checkpoint save past the disk's end fails clearly and leaves the previous checkpoint as it was")
    func checkpointSave() async throws {
        let tiny = try TinyCheckpoint()
        defer { tiny.temporary.remove() }
        let before = try Data(contentsOf: tiny.file(Checkpoint.modelFileName))
        let path = tiny.directory.path
        let result = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
            [path = path as String] in
            var config = TinyCheckpoint.config
            config.embeddingSize = 64  // model.safetensors ≈ 0.4 MB, past the limit
            let model = try GPT(config: config, seed: 2)
            DiskFullTests.limitFileSize(to: 64 << 10)
            do {
                try Checkpoint.save(module: model, config: config, tokenizer: TinyCheckpoint.tokenizer,
                                    info: TinyCheckpoint.info, to: URL(fileURLWithPath: path))
                DiskFullTests.report("no error\n")
            } catch {
                DiskFullTests.report("error: \(error)\n")
            }
            DiskFullTests.report(DiskFullTests.listing((path as NSString).deletingLastPathComponent))
        }
        let text = Self.output(result)
        #expect(text.contains("error: "), "\(text.prefix(600))")
        #expect(text.contains("error: \(path)/model.safetensors: could not write"), "\(text.prefix(600))")
        #expect(text.contains("the checkpoint in tiny-teacher is unchanged"), "\(text.prefix(600))")
        #expect(text.contains("file too large"), "\(text.prefix(600))")
        #expect(text.contains("left: [tiny-teacher]"), "\(text.prefix(600))")
        #expect(try Data(contentsOf: tiny.file(Checkpoint.modelFileName)) == before)
    }

    @Test("a GGUF write past the disk's end fails clearly and leaves no temporary file")
    func ggufWrite() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.url.path
        let result = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
            [path = path as String] in
            var writer = GGUFWriter()
            writer.set("general.architecture", .string("gpt2"))
            try writer.addTensor("t", dimensions: [256, 512], floats: [Float](repeating: 0.5, count: 256 * 512))
            DiskFullTests.limitFileSize(to: 64 << 10)
            do {
                try writer.write(to: URL(fileURLWithPath: path + "/m.gguf"))
                DiskFullTests.report("no error\n")
            } catch {
                DiskFullTests.report("error: \(error)\n")
            }
            DiskFullTests.report(DiskFullTests.listing(path))
        }
        let text = Self.output(result)
        #expect(text.contains("error: \(path)/m.gguf: could not write"), "\(text.prefix(600))")
        #expect(text.contains("file too large"), "\(text.prefix(600))")
        #expect(text.contains("left: []"), "\(text.prefix(600))")
    }
}
