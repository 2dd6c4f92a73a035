import Foundation
import Models
import Testing
import Tokenizers
@testable import Store

/// Rewrites config.json's top-level object with `change` applied.
private func editConfig(_ saved: TinyCheckpoint, _ change: (inout [String: Any]) -> Void) throws {
    var json = try JSONSerialization.jsonObject(with: Data(contentsOf: saved.file("config.json"))) as! [String: Any]
    change(&json)
    try JSONSerialization.data(withJSONObject: json).write(to: saved.file("config.json"))
}

/// A config within every per-field limit that implies ~1.5·10⁹ parameters (6 GB of Float32).
func claimHugeModel(_ json: inout [String: Any]) {
    json["n_layer"] = 24
    json["n_embd"] = 2304
}

private func loadGPT(_ directory: URL) throws -> GPT {
    try Checkpoint.load(from: directory, parameterShapes: \.parameterShapes) { (config: GPTConfig) in
        try GPT(config: config, seed: 0)
    }.model
}

/// Bytes this thread has read through read(2)/pread(2) so far (Linux's per-thread I/O accounting).
private func bytesReadByThisThread() throws -> Int {
    let text = try String(contentsOfFile: "/proc/thread-self/io", encoding: .utf8)
    let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("rchar:") })
    return try #require(Int(line.dropFirst("rchar:".count).trimmingCharacters(in: .whitespaces)))
}

@Suite("Checkpoint loading checks the header against the config before building") struct CheckpointHeaderTests {
    @Test("a config claiming 1.5·10⁹ parameters over a tiny file fails at once, naming the tensor and both totals")
    func hugeConfigOverTinyFile() throws {
        let saved = try TinyCheckpoint()
        defer { saved.temporary.remove() }
        try editConfig(saved, claimHugeModel)
        let config = try Checkpoint.readConfig(GPTConfig.self, from: saved.directory)
        #expect(config.parameterCount > 1_500_000_000 && config.parameterCount < 2_000_000_000)

        let start = Date()
        let error = try #require(throws: LoadError.self) { try loadGPT(saved.directory) }
        let seconds = Date().timeIntervalSince(start)
        // Building the model first would allocate and initialise 6 GB: tens of seconds, if it fits at all.
        #expect(seconds < 0.5, "took \(seconds) s")
        #expect(error.kind == .shapeMismatch && error.parameter == "transformer.wte.weight")
        #expect(error.description.contains("expected shape [11, 2304], found [11, 8]"))
        #expect(error.description.contains("the config implies \(config.parameterCount) parameters (1.5B)"))
        #expect(error.description.contains("the file holds \(TinyCheckpoint.config.parameterCount)"))
        #expect(error.source == saved.file("model.safetensors").path)
    }

    @Test("inspect shows a checkpoint whose config and weights disagree, from the header alone")
    func inspectReadsTheHeaderOnly() throws {
        let saved = try TinyCheckpoint()
        defer { saved.temporary.remove() }
        try editConfig(saved, claimHugeModel)
        let start = Date()
        let text = try Inspection.checkpoint(saved.directory)
        #expect(Date().timeIntervalSince(start) < 0.5)
        #expect(text.contains("n_layer 24") && text.contains("n_embd 2304"))
        #expect(text.contains("\(TinyCheckpoint.config.parameterCount) parameters"))
        #expect(text.contains("| transformer.wte.weight | F32 | [11, 8] | 88 |"))
    }

    @Test("reading a header reads the length and the JSON, not the tensor data")
    func headerReadsNoData() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let url = temporary.file("big.safetensors")
        let values = [Float](repeating: 1, count: 4_000_000)  // 16 MB of data behind a short header
        try SafeTensors.write([SafeTensorsEntry(name: "w", shape: [2000, 2000], values: values)], to: url)
        let before = try bytesReadByThisThread()
        let header = try SafeTensors.readHeader(contentsOf: url)
        let read = try bytesReadByThisThread() - before
        #expect(read < 64 * 1024, "read \(read) bytes")
        #expect(header.tensors.map(\.name) == ["w"] && header["w"]?.shape == [2000, 2000])
        #expect(header.fileLength == header.dataStart + 16_000_000 && header.totalElementCount == 4_000_000)
        #expect(header.metadata.isEmpty)
    }

    @Test("a header whose tensors run past the file's end is refused without reading the data")
    func headerAgainstFileLength() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let url = temporary.file("short.safetensors")
        let json = #"{"w":{"dtype":"F32","shape":[1000,1000],"data_offsets":[0,4000000]}}"#
        try Data(littleEndianBytes(UInt64(json.utf8.count)) + Array(json.utf8) + [UInt8](repeating: 0, count: 16)).write(to: url)
        let error = try #require(throws: SafeTensorsError.self) { try SafeTensors.readHeader(contentsOf: url) }
        #expect(error.kind == .offsetsOutOfRange && error.tensor == "w")
        #expect(error.description.contains("outside the data section of 16 bytes"))
    }

    @Test("a directory or a FIFO in place of model.safetensors is named as such, without blocking")
    func notARegularFile() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let fifo = temporary.file("fifo.safetensors")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        for (url, found) in [(temporary.url, "a directory"), (fifo, "a FIFO")] {
            for read in [{ _ = try SafeTensors.readHeader(contentsOf: url) }, { _ = try SafeTensors.read(contentsOf: url) }] {
                let error = try #require(throws: SafeTensorsError.self) { try read() }
                #expect(error.description == "safetensors \(url.path): this is \(found), expected a safetensors file")
            }
        }
    }

    @Test("a FIFO or a directory in place of config.json or tokenizer.json is an error, not a hang",
          arguments: ["config.json", "tokenizer.json"])
    func specialFilesInTheDirectory(name: String) throws {
        let saved = try TinyCheckpoint()
        defer { saved.temporary.remove() }
        try FileManager.default.removeItem(at: saved.file(name))
        #expect(mkfifo(saved.file(name).path, 0o600) == 0)
        let fifo = try #require(throws: (any Error).self) { try loadGPT(saved.directory) }
        #expect("\(fifo)".contains("\(saved.file(name).path): cannot read the file (it is a FIFO (named pipe), expected a file)"))
        if name == "config.json" {  // inspect reads config.json, never tokenizer.json
            let inspected = try #require(throws: (any Error).self) { try Inspection.checkpoint(saved.directory) }
            #expect("\(inspected)".contains("FIFO"), "\(inspected)")
        }

        try FileManager.default.removeItem(at: saved.file(name))
        try FileManager.default.createDirectory(at: saved.file(name), withIntermediateDirectories: false)
        let directory = try #require(throws: (any Error).self) { try loadGPT(saved.directory) }
        #expect("\(directory)".contains("cannot read the file (it is a directory, expected a file)"))
        #expect(!"\(directory)".contains("NSCocoaErrorDomain"))
    }

    @Test("a tensor of an integer type is refused before the model is built")
    func integerTensorBeforeBuilding() throws {
        let saved = try TinyCheckpoint()
        defer { saved.temporary.remove() }
        var entries = try SafeTensors.read(contentsOf: saved.file("model.safetensors")).entries
        let index = try #require(entries.firstIndex { $0.name == "transformer.ln_f.bias" })
        entries[index] = SafeTensorsEntry(name: "transformer.ln_f.bias", shape: [8], values: [Int32](repeating: 0, count: 8))
        try SafeTensors.write(entries, to: saved.file("model.safetensors"))
        let header = try SafeTensors.readHeader(contentsOf: saved.file("model.safetensors"))
        let error = try #require(throws: SafeTensorsError.self) {
            try Checkpoint.validateHeader(header, expected: TinyCheckpoint.config.parameterShapes)
        }
        #expect(error.kind == .dataTypeMismatch && error.tensor == "transformer.ln_f.bias")
    }
}

@Suite("Checkpoint loading checks the tokenizer's fingerprint") struct CheckpointTokenizerFingerprintTests {
    @Test("tokenizer.json swapped for another of the same size is refused, naming both hashes and the file")
    func swappedTokenizer() throws {
        let saved = try TinyCheckpoint()
        defer { saved.temporary.remove() }
        let other = CharTokenizer(corpus: "lmnopqrstuv")
        #expect(other.vocabularySize == TinyCheckpoint.tokenizer.vocabularySize)
        try other.save(to: saved.file("tokenizer.json"))
        let error = try #require(throws: CheckpointError.self) { try loadGPT(saved.directory) }
        #expect(error.kind == .tokenizerMismatch && error.field == "alambique.tokenizer_sha256")
        #expect(error.path == saved.file("tokenizer.json").path)
        #expect(error.description.contains(other.fingerprint()))
        #expect(error.description.contains(TinyCheckpoint.tokenizer.fingerprint()))

        // The original file loads again; a checkpoint that records no hash is not checked.
        try TinyCheckpoint.tokenizer.save(to: saved.file("tokenizer.json"))
        _ = try loadGPT(saved.directory)
        try other.save(to: saved.file("tokenizer.json"))
        try editConfig(saved) { json in
            var info = json["alambique"] as! [String: Any]
            info["tokenizer_sha256"] = ""
            json["alambique"] = info
        }
        _ = try loadGPT(saved.directory)
    }
}
