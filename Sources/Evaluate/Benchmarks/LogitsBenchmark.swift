// `alambique bench logits`: does writing slow the export down (end-to-end tokens/s against the
// teacher's forward-only tokens/s over the same windows), and what does a stored token cost on
// disk for each layout (full f32/f16, top-8/32/64 f16; with and without gzip), per tokenizer.

import Foundation
import Models
import Store
import Tokenizers

/// Results in the field names of DESIGN.md §6 ("bench logits").
public struct LogitsBenchmarkResult: Codable, Sendable {
    public struct Size: Codable, Sendable {
        public var tokenizer: String
        public var mode: String  // "full" | "topk"
        public var k: Int
        public var dtype: String
        public var gzip: Bool
        public var bytes_per_token: Double
        /// The teacher the logits came from (an untrained one has flatter logits that compress differently).
        public var teacher: String
    }
    public var forward_tok_s: Double
    public var export_tok_s: Double
    public var sizes: [Size]
    public var teacher: String
    public var threads: Int
    public var sequences: Int
    public var context: Int
}

public struct LogitsBenchmark {
    /// A teacher and the tokens it is run on (its tokenizer's encoding of the validation split).
    public struct Teacher {
        public var tokenizerLabel: String
        public var name: String
        public var model: GPT
        public var tokenizer: any Tokenizer
        public var tokens: [Int32]

        public init(tokenizerLabel: String, name: String, model: GPT, tokenizer: any Tokenizer, tokens: [Int32]) {
            self.tokenizerLabel = tokenizerLabel
            self.name = name
            self.model = model
            self.tokenizer = tokenizer
            self.tokens = tokens
        }
    }

    /// The first teacher is timed; every teacher's logits are sized.
    public var teachers: [Teacher]
    /// Sequences per timed export (and forward-only pass).
    public var sequences: Int
    /// Sequences per size measurement.
    public var sizeSequences: Int
    public var runs: Int
    /// Where the temporary files go (removed afterwards).
    public var scratch: URL

    public init(teachers: [Teacher], sequences: Int = 256, sizeSequences: Int = 384, runs: Int = 3, scratch: URL) {
        self.teachers = teachers
        self.sequences = sequences
        self.sizeSequences = sizeSequences
        self.runs = runs
        self.scratch = scratch
    }

    public func run(progress: (String) -> Void = { _ in }) throws -> LogitsBenchmarkResult {
        guard let timed = teachers.first else { throw LogitsFileError(path: scratch.path, "bench logits needs a teacher") }
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let context = timed.model.config.contextLength
        for teacher in teachers { teacher.model.eval() }  // as the export runs them: no dropout
        let settings = LogitsExportSettings(context: context, maxSequences: sequences)  // top-32 f16, gzip 4: the default
        let positions = Double(min(sequences, LogitsExport.windowCount(tokenCount: timed.tokens.count, context: context,
                                                                      stride: context)) * context)
        // Alternate forward-only passes and exports so load from elsewhere falls on both alike.
        var forwardSamples: [Double] = [], exportSamples: [Double] = []
        for run in 0 ... runs {
            let forwardSeconds = try timeForwardOnly(timed, settings: settings)
            let exportSeconds = try timeExport(timed, settings: settings, name: "timed.h5")
            if run > 0 {  // the first round warms up
                forwardSamples.append(forwardSeconds)
                exportSamples.append(exportSeconds)
                progress(String(format: "round %d/%d: forward only %.0f tok/s, export %.0f tok/s", run, runs,
                                positions / forwardSeconds, positions / exportSeconds))
            }
        }
        let forwardRate = positions / median(forwardSamples), exportRate = positions / median(exportSamples)

        var sizes: [LogitsBenchmarkResult.Size] = []
        let layouts: [(LogitsMode, HDF5ElementType)] = [(.full, .float32), (.full, .float16), (.topK(8), .float16),
                                                        (.topK(32), .float16), (.topK(64), .float16)]
        for teacher in teachers {
            for (mode, dtype) in layouts where mode.storedTopK <= teacher.model.config.vocabularySize {
                for gzip in [true, false] {
                    var sizeSettings = LogitsExportSettings(context: context, mode: mode, dtype: dtype, maxSequences: sizeSequences)
                    sizeSettings.layout.gzipLevel = gzip ? 4 : nil
                    let url = scratch.appendingPathComponent("size.h5")
                    let report = try export(teacher, settings: sizeSettings, to: url)
                    let reader = try LogitsReader(url: url)
                    let bytes = try reader.dataBytes()
                    try reader.close()
                    try? FileManager.default.removeItem(at: url)
                    let size = LogitsBenchmarkResult.Size(
                        tokenizer: teacher.tokenizerLabel, mode: mode.storedTopK == 0 ? "full" : "topk", k: mode.storedTopK,
                        dtype: dtype.rawValue, gzip: gzip, bytes_per_token: Double(bytes) / Double(report.positions), teacher: teacher.name)
                    progress(String(format: "%@ %@ %@%@: %.1f bytes/token", teacher.tokenizerLabel, mode.description,
                                    dtype.rawValue, gzip ? " gzip" : "", size.bytes_per_token))
                    sizes.append(size)
                }
            }
        }
        return LogitsBenchmarkResult(forward_tok_s: forwardRate, export_tok_s: exportRate, sizes: sizes, teacher: timed.name,
                                     threads: Threads.count, sequences: Int(positions) / context, context: context)
    }

    /// The export's own forward passes over the same windows, writing nothing.
    private func timeForwardOnly(_ teacher: Teacher, settings: LogitsExportSettings) throws -> Double {
        let t = settings.context
        let total = min(settings.maxSequences ?? .max, LogitsExport.windowCount(tokenCount: teacher.tokens.count, context: t, stride: t))
        let start = Date()
        var done = 0
        while done < total {
            let b = min(settings.batchSize, total - done)
            var inputs = [Int32](repeating: 0, count: b * t)
            for row in 0 ..< b {
                for column in 0 ..< t { inputs[row * t + column] = teacher.tokens[(done + row) * t + column] }
            }
            _ = try noGrad { try teacher.model(IndexTensor(shape: [b, t], values: inputs)) }
            done += b
        }
        return Date().timeIntervalSince(start)
    }

    private func timeExport(_ teacher: Teacher, settings: LogitsExportSettings, name: String) throws -> Double {
        let url = scratch.appendingPathComponent(name)
        let start = Date()
        _ = try export(teacher, settings: settings, to: url)
        let seconds = Date().timeIntervalSince(start)
        try? FileManager.default.removeItem(at: url)
        return seconds
    }

    private func export(_ teacher: Teacher, settings: LogitsExportSettings, to url: URL) throws -> LogitsExportReport {
        let attributes = LogitsFileAttributes(
            teacher: teacher.name, teacherSHA256: String(repeating: "0", count: 64), tokenizerSHA256: teacher.tokenizer.fingerprint(),
            vocabularySize: teacher.model.config.vocabularySize, context: settings.context, mode: settings.mode,
            dtype: settings.dtype, split: "val", created: ISO8601DateFormatter().string(from: Date()),
            stride: settings.stride, sequenceCount: 0)
        let model = teacher.model
        return try LogitsExport.run(tokens: teacher.tokens, settings: settings, attributes: attributes,
                                    tokenizerJSON: Data(teacher.tokenizer.tokenizerJSONBytes()), to: url,
                                    forward: { ids in try noGrad { try model(ids) } })
    }

    private func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
}
