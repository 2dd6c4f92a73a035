import ArgumentParser
import Distill
import Evaluate
import Foundation
import Lab
import Models
import Store
import Tokenizers

struct BenchLogits: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logits",
        abstract: "Logit export: end-to-end tokens/s against the teacher's forward-only tokens/s, and bytes per token per layout.",
        discussion: """
        Timing: --sequences windows of the validation split through the char teacher, forward only and as a \
        full export (top-32 float16, shuffle + gzip 4: the default), alternated; medians of --runs rounds.

        Sizes: full f32, full f16, top-8/32/64 f16, each with and without gzip, for the char teacher and \
        the BPE teacher (--sequences-for-sizes windows each; bytes of the stored data per token, the \
        tokenizer copy excluded). Without --teacher / --bpe-teacher, a freshly initialised teacher-small \
        stands in: its flat logits compress differently from a trained model's, so pass trained ones for \
        figures worth quoting.

        Example: alambique bench logits --teacher checkpoints/shakespeare-teacher-3.2M-ctx128-char-F32
        """)

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print one JSON object on stdout (DESIGN.md §6) instead of a table.") var json = false
    @Option(help: "Char-level teacher checkpoint (default: an untrained teacher-small).") var teacher: String?
    @Option(help: "BPE teacher checkpoint (default: an untrained teacher-small with the bpe-1024 tokenizer).") var bpeTeacher: String?
    @Option(help: "Timing rounds (after one warm-up).") var runs = 3
    @Option(help: "Windows per timed export.") var sequences = 256
    @Option(help: "Windows per size measurement (a multiple of every layout's block, so no chunk is partly empty).") var sequencesForSizes = 384
    @Option(help: "Data directory (the corpus is fetched there when missing).") var data = "data"

    func validate() throws {
        guard runs >= 1, sequences >= 1, sequencesForSizes >= 1 else {
            throw ValidationError("--runs, --sequences and --sequences-for-sizes must be ≥ 1")
        }
    }

    func run() throws {
        try global.apply()
        let corpus = try CorpusTokenization.loadCorpus(data: data) { printError($0) }
        func teacher(_ path: String?, spec: String, label: String) throws -> LogitsBenchmark.Teacher {
            if let path {
                let loaded = try loadGPT(from: URL(fileURLWithPath: path))
                return .init(tokenizerLabel: label, name: loaded.info.name, model: loaded.model, tokenizer: loaded.tokenizer,
                             tokens: try loaded.tokenizer.encode(corpus.validation))
            }
            let tokenizer = try CorpusTokenization.build(spec, corpus: corpus, data: data) { printError($0) }
            let model = try GPT(config: GPTConfig.preset("teacher-small", vocabularySize: tokenizer.vocabularySize), seed: 1)
            return .init(tokenizerLabel: label, name: "untrained teacher-small (\(spec))", model: model, tokenizer: tokenizer,
                         tokens: try tokenizer.encode(corpus.validation))
        }
        let teachers = [try teacher(self.teacher, spec: "char", label: "char"),
                        try teacher(bpeTeacher, spec: "bpe-1024", label: "bpe-1024")]
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("alambique-bench-logits-\(UUID().uuidString)")
        let result = try LogitsBenchmark(teachers: teachers, sequences: sequences, sizeSequences: sequencesForSizes, runs: runs,
                                         scratch: scratch).run { printError($0) }
        if json { print(try jsonString(result)); return }
        print(String(format: "teacher %@, %d windows × %d, %d threads: forward only %.0f tok/s, export %.0f tok/s (%.0f%%)",
                     result.teacher, result.sequences, result.context, result.threads, result.forward_tok_s,
                     result.export_tok_s, 100 * result.export_tok_s / result.forward_tok_s))
        print("\n| tokenizer | layout | dtype | gzip | bytes/token |")
        print("|---|---|---|---|---:|")
        for s in result.sizes {
            print("| \(s.tokenizer) | \(s.mode == "full" ? "full" : "top-\(s.k)") | \(s.dtype) | \(s.gzip ? "yes" : "no") | \(format(s.bytes_per_token, 1)) |")
        }
    }
}

struct BenchCompress: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compress",
        abstract: "Batch-1 generation tokens/s and file size per compressed format (F32, INT8, Q8_0, Q4_0, Q4_1, 50%/90% sparse, 2:4).",
        discussion: """
        Random weights at the presets' shapes (vocabulary 256): teacher-small and bench-medium (8 layers, 8 heads, \
        512 dims, context 256 — weights that no longer fit in cache). Each model is saved and loaded back as \
        `compare` loads it; 16-token prompt, 100 new tokens, greedy; medians of --runs. Anchors: llama.cpp's \
        figures on the same shapes in ../shared/anchors/README.md.
        """)

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print one JSON object on stdout (DESIGN.md §6) instead of a table.") var json = false
    @Option(help: "Samples per figure.") var runs = 5
    @Option(parsing: .upToNextOption, help: "Presets.") var presets = ["teacher-small", "bench-medium"]
    @Option(parsing: .upToNextOption, help: "Formats.") var formats = CompressBenchmark.formats

    func run() throws {
        try global.apply()
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("alambique-bench-compress-\(UUID().uuidString)")
        let result = try CompressBenchmark(presets: presets, formats: formats, runs: runs, scratch: scratch).run { printError($0) }
        if json { print(try jsonString(result)); return }
        print("| preset | format | MB | of F32 | generate tok/s | × F32 |")
        print("|---|---|---:|---:|---:|---:|")
        for m in result.models {
            let dense = result.models.first { $0.preset == m.preset && $0.format == "F32" }
            let size = dense.map { format(100 * Double(m.bytes) / Double($0.bytes), 0) + "%" } ?? "–"
            let speed = dense.map { format(m.generate_tok_s / $0.generate_tok_s, 2) + "×" } ?? "–"
            print("| \(m.preset) | \(m.format) | \(format(Double(m.bytes) / 1e6, 2)) | \(size) | \(format(m.generate_tok_s, 0)) | \(speed) |")
        }
    }
}
