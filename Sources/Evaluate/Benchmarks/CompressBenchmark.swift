// `alambique bench compress`: batch-1 generation tokens/s and checkpoint bytes for each compressed
// format, on the presets (random weights: speed and size do not depend on what was learned).
// Every model is saved and loaded back as `alambique compare` would load it, so the kernels
// measured are the ones a user gets (quantized blocks packed; sparse layers as CSR when it pays).

import Compress
import Foundation
import Models
import Store
import Tokenizers

/// Results in the field names of DESIGN.md §6 ("bench compress").
public struct CompressBenchmarkResult: Codable, Sendable {
    public struct Model: Codable, Sendable {
        public var preset: String
        public var format: String
        public var bytes: Int
        public var generate_tok_s: Double
    }
    public var models: [Model]
    public var threads: Int
}

public struct CompressBenchmark {
    public static let formats = ["F32", "INT8", "Q8_0", "Q4_0", "Q4_1", "F32-s50", "F32-s90", "F32-2of4"]

    public var presets: [String]
    public var formats: [String]
    public var runs: Int
    public var scratch: URL

    public init(presets: [String] = ["teacher-small", "bench-medium"], formats: [String] = CompressBenchmark.formats,
                runs: Int = 5, scratch: URL) {
        self.presets = presets
        self.formats = formats
        self.runs = runs
        self.scratch = scratch
    }

    public func run(progress: (String) -> Void = { _ in }) throws -> CompressBenchmarkResult {
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        var rows: [CompressBenchmarkResult.Model] = []
        for preset in presets {
            let config = try GPTConfig.preset(preset, vocabularySize: 256)
            for format in formats {
                let model = try GPT(config: config, seed: 1)
                var sparse = Set<String>()
                switch format {
                case "F32": break
                case "INT8": _ = try ModelQuantization.quantize(model, scheme: .int8Symmetric, granularity: .channel)
                case "Q8_0": _ = try ModelQuantization.quantize(model, scheme: .q8_0)
                case "Q4_0": _ = try ModelQuantization.quantize(model, scheme: .q4_0)
                case "Q4_1": _ = try ModelQuantization.quantize(model, scheme: .q4_1)
                case "F32-s50", "F32-s90":
                    let masks = try MagnitudePruning.prune(model, sparsity: format == "F32-s50" ? 0.5 : 0.9, scope: .layer)
                    sparse = Set(masks.tensors.map(\.name))
                case "F32-2of4":
                    sparse = Set(try SemiStructuredPruning.prune(model, n: 2, m: 4).tensors.map(\.name))
                default:
                    throw CompressionError("bench compress: unknown format \(format) (known: \(Self.formats.joined(separator: ", ")))")
                }
                let directory = scratch.appendingPathComponent("\(preset)-\(format)")
                try CompressedCheckpoint.save(model: model, tokenizer: ByteTokenizer(),
                                              info: CheckpointInfo(name: "\(preset)-\(format)", role: "bench", corpus: "random", format: format),
                                              sparse: sparse, to: directory)
                let loaded = try CompressedCheckpoint.load(from: directory)
                let rate = try benchmarkGeneration(model: loaded.model, promptLength: 16, newTokens: 100, runs: runs)
                try? FileManager.default.removeItem(at: directory)
                progress(String(format: "%@ %@: %.2f MB, %.0f tok/s", preset, format, Double(loaded.bytes) / 1e6, rate))
                rows.append(.init(preset: preset, format: format, bytes: loaded.bytes, generate_tok_s: rate))
            }
        }
        return CompressBenchmarkResult(models: rows, threads: Threads.count)
    }
}
