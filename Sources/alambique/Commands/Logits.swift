import ArgumentParser
import Distill
import Foundation
import Lab
import Store

struct Logits: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a teacher's soft logits over a corpus split to an HDF5 file (the students' data).",
        discussion: """
        The teacher runs with no gradient recording, batched, on every core, over windows of --context + 1 \
        tokens every --stride tokens of the split. It writes /tokens and either the full /logits or the \
        top-k (/topk/indices, /topk/logits) plus /logsumexp over the whole vocabulary, so a student can \
        rebuild p_i = exp(l_i − lse) and the tail mass. Layout and attributes: DESIGN.md §6; h5py reads it.

        The file appears under its name only when complete (written to a hidden temporary name, marked \
        complete = 1 last, then renamed).

        Example: alambique logits checkpoints/shakespeare-teacher-3.2M-ctx128-char-F32 --split train --top-k 32
        """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Teacher checkpoint directory.") var teacher: String
    @Option(help: "Corpus split.") var split = Split.train
    @Option(help: "Output file (default: logits/<teacher>-<split>-<top32|full>-<f16|f32>.h5).") var out: String?
    @Option(help: "Store the K largest logits per position plus the log-normaliser (default 32).") var topK: Int?
    @Flag(help: "Store every logit instead of the top-k.") var full = false
    @Option(help: "Stored logit type.") var dtype = LogitsDType.f16
    @Option(help: "Positions per sequence (default: the teacher's context).") var context: Int?
    @Option(help: "Tokens between sequence starts (default: the context, no overlap).") var stride: Int?
    @Option(help: "gzip level with byte shuffle, 1–9; 0: no compression.") var compression = 4
    @Option(help: "Split the output into shards of about this many tokens each (<name>-00001-of-0000n.h5).") var shardTokens: Int?
    @Option(help: """
        Sequences per forward pass (default: 16, fewer when positions × vocabulary would pass 64 MB of float32 \
        — 1 for a 50k vocabulary at 1024 positions). The output head runs on ~128 rows at a time whatever \
        the batch, so a larger batch costs activations, not logits.
        """)
    var batchSize: Int?
    @Option(help: "Export only the first N sequences (for a quick look).") var maxSequences: Int?
    @OptionGroup var corpus: CorpusFlags
    @Flag(help: "Replace an existing output file.") var force = false

    func validate() throws {
        guard !(full && topK != nil) else { throw ValidationError("--full and --top-k contradict each other") }
        if let topK, topK < 1 { throw ValidationError("--top-k must be ≥ 1, got \(topK)") }
        if let context, context < 1 { throw ValidationError("--context must be ≥ 1, got \(context)") }
        if let stride, stride < 1 { throw ValidationError("--stride must be ≥ 1, got \(stride)") }
        guard (0 ... 9).contains(compression) else { throw ValidationError("--compression must be 0–9, got \(compression)") }
        if let shardTokens, shardTokens < 1 { throw ValidationError("--shard-tokens must be ≥ 1, got \(shardTokens)") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be ≥ 1, got \(batchSize)") }
        if let maxSequences, maxSequences < 1 { throw ValidationError("--max-sequences must be ≥ 1, got \(maxSequences)") }
    }

    func run() throws {
        try global.apply()
        let directory = URL(fileURLWithPath: teacher)
        let loaded = try loadGPT(from: directory)
        let mode: LogitsMode = full ? .full : .topK(topK ?? 32)
        guard mode.storedTopK <= loaded.config.vocabularySize else {
            throw ValidationError("--top-k \(mode.storedTopK) exceeds the teacher's vocabulary of \(loaded.config.vocabularySize); use --full")
        }
        let elementType: HDF5ElementType = dtype == .f16 ? .float16 : .float32
        let t = context ?? loaded.config.contextLength
        let url = URL(fileURLWithPath: out ?? "logits/" + TeacherLogits.defaultFileName(
            teacher: loaded.info.name, split: split.rawValue, mode: mode, dtype: elementType))
        if !force, FileManager.default.fileExists(atPath: url.path) {
            throw ValidationError("\(url.path) already exists; pass --force to replace it (or choose --out)")
        }
        let tokenized = try CorpusTokenization.tokenize(corpus.selection, tokenizer: loaded.tokenizer) { printError($0) }
        let tokens = split == .train ? tokenized.train : tokenized.validation
        let sequenceBytes = t * loaded.config.vocabularySize * MemoryLayout<Float>.stride
        let batch = batchSize ?? max(1, min(16, (64 << 20) / max(sequenceBytes, 1)))
        let settings = LogitsExportSettings(
            context: t, stride: stride, batchSize: batch, mode: mode, dtype: elementType,
            layout: LogitsLayout(gzipLevel: compression == 0 ? nil : compression,
                                 shardSequences: shardTokens.map { max(1, $0 / t) }),
            maxSequences: maxSequences)
        printError("\(loaded.info.name): \(mode) logits of \(tokens.count) \(split) tokens, \(batch) sequences a batch → \(url.path)")
        let report = try TeacherLogits.export(teacher: loaded, directory: directory, tokens: tokens, split: split.rawValue,
                                              settings: settings, to: url) { printError($0) }
        for file in report.files { print(file.path) }
        print(String(format: "%d sequences × %d positions in %@: %.0f tok/s end to end (teacher forward alone %.0f tok/s), %.1f bytes/token, %.1f MB",
                     report.sequences, t, formatDuration(report.seconds), report.tokensPerSecond, report.forwardTokensPerSecond,
                     report.bytesPerToken, Double(report.bytes) / 1e6))
    }
}
