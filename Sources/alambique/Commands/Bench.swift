import ArgumentParser
import Evaluate
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure speed (build with `make build`: release, CPU flags). Results go in BENCHMARKS.md.",
        subcommands: [BenchCore.self, BenchTrain.self, BenchLogits.self, BenchCompress.self, BenchLoad.self,
                      BenchTokenize.self, BenchForward.self, BenchGenerate.self])
}

struct BenchCore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "core",
        abstract: "The autodiff core: matmul op vs direct cblas_sgemm (GFLOPS), elementwise kernels vs memory copy (GB/s).",
        discussion: """
        Matmul shapes (M×K×N): 512³, 2048×256×768, 2048×256×1024, 2048×1024×256, 1×256×768. \
        Elementwise ops (add, GELU, softmax, layer norm; forward and backward kernels) run on \
        4M floats (rows of 256); GB/s counts the bytes each kernel must read and write. \
        Each figure is the median of --runs samples.
        """)

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print one JSON object on stdout (field names as in DESIGN.md §6) instead of a table.")
    var json = false
    @Option(help: "Samples per figure (the median is reported).")
    var runs = 5
    @Option(help: "Elements for the elementwise kernels.")
    var elements = 4 << 20

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1, got \(runs)") }
        guard elements >= 256, elements % 256 == 0 else {
            throw ValidationError("--elements must be a positive multiple of 256, got \(elements)")
        }
    }

    func run() throws {
        try global.apply()
        let bench = CoreBenchmark(elements: elements, runs: runs)
        let result = try bench.run { line in printError(line) }
        if json {
            print(try jsonString(result))
        } else {
            print("| M×K×N | matmul op GFLOPS | cblas_sgemm GFLOPS | op/sgemm |")
            print("|---|---:|---:|---:|")
            for r in result.matmul {
                print("| \(r.m)×\(r.k)×\(r.n) | \(format(r.op_gflops)) | \(format(r.blas_gflops)) | \(format(100 * r.ratio, 0))% |")
            }
            print("\n| op | pass | GB/s | of copy (\(format(result.copy_gbps)) GB/s) |")
            print("|---|---|---:|---:|")
            for r in result.elementwise {
                print("| \(r.op) | \(r.pass) | \(format(r.gbps)) | \(format(100 * r.copy_ratio, 0))% |")
            }
        }
    }
}

func format(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }

/// One line on stderr (progress, logs).
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Pretty, key-sorted JSON of a result.
func jsonString<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training and forward tokens/s (batch 16 × 128) and batch-1 generation tokens/s of the presets.",
        discussion: """
        Vocabulary 256, random tokens, as the PyTorch anchor script (../shared/anchors/torch_gpt_bench.py). \
        Training = forward + cross-entropy + backward + clipping + AdamW. Distillation (student presets): \
        the same plus reading the batch from a top-32 float16 logit file and the forward-KL divergence at \
        T = 2 (α = 0.5), as `alambique distill` runs it. Generation: 16-token prompt, \
        100 new tokens, greedy, KV cache; decode tokens/s. Medians of --runs samples.
        """)

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print one JSON object on stdout (DESIGN.md §6) instead of a table.") var json = false
    @Option(help: "Samples per figure.") var runs = 5
    @Option(parsing: .upToNextOption, help: "Presets to measure.") var presets = ["teacher-small", "student-tiny"]

    func run() throws {
        try global.apply()
        let result = try TrainBenchmark(presets: presets, runs: runs).run { printError($0) }
        if json { print(try jsonString(result)); return }
        print("| preset | params | train tok/s | forward tok/s | distill tok/s | generate tok/s |")
        print("|---|---:|---:|---:|---:|---:|")
        for p in result.presets {
            print("| \(p.name) | \(p.params) | \(format(p.train_tok_s, 0)) | \(format(p.forward_tok_s, 0)) | \(p.distill_tok_s.map { format($0, 0) } ?? "–") | \(format(p.generate_tok_s ?? 0, 0)) |")
        }
    }
}
