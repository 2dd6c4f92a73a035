import ArgumentParser
import Compress
import Distill
import Foundation
import Models
import Store

/// `bench forward` and `bench generate`: one checkpoint's speed against an anchor in another runtime, the two
/// alternated in rounds so that load from other jobs on a shared machine falls on both alike.
struct BenchForward: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Forward tokens/s of a checkpoint (no gradient, full logits) against PyTorch eager on the same "
            + "folder.",
        discussion: """
        Each of --rounds rounds times --runs forward passes of one --batch × --context block after a warm-up \
        pass (ids (i·7 + 1) mod V, so both sides compute the same logits), then runs scripts/bench_forward_hf.py \
        with --python (GPT2LMHeadModel.from_pretrained, torch.no_grad, our thread count, the same block \
        and runs). Prints every round's medians and the median over rounds of each side, with the ratio.

        Example: alambique bench forward /tmp/gpt2-124m --batch 4 --context 256 --python /work/venv/bin/python
        """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "A dense checkpoint directory (ours or saved by transformers).") var checkpoint: String
    @Option(help: "Sequences per forward pass.") var batch = 4
    @Option(help: "Positions per sequence (at most the model's context).") var context = 256
    @Option(help: "Timed passes per round on each side (the median is the round's figure).") var runs = 5
    @Option(help: "Rounds, ours then the anchor in each.") var rounds = 3
    @Option(help: "The Python with torch and transformers for the anchor; \"none\" skips it.") var python = "python3"
    @Option(help: "The anchor script.") var anchor = "scripts/bench_forward_hf.py"

    func validate() throws {
        try validateBenchSizes(["--batch": batch, "--context": context, "--runs": runs, "--rounds": rounds])
    }

    func run() throws {
        try global.apply()
        let loaded = try loadGPT(from: URL(fileURLWithPath: checkpoint))
        let config = loaded.config
        loaded.model.eval()  // no dropout (a transformers config says 0.1), as PyTorch's .eval() on the other side
        guard context <= config.contextLength else {
            throw ValidationError("--context \(context) exceeds the model's context of \(config.contextLength)")
        }
        let count = batch * context
        let ids = try IndexTensor(shape: [batch, context],
                                  values: (0 ..< count).map { Int32(($0 * 7 + 1) % config.vocabularySize) })
        // The anchor gets our thread count, so both sides use the same cores.
        let threads = Threads.count
        var ours: [Double] = [], theirs: [Double] = []
        for round in 1 ... rounds {
            var rates: [Double] = []
            for run in 0 ... runs {  // run 0 warms up (buffers, BLAS threads)
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try noGrad { try loaded.model(ids) }
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                if run > 0 { rates.append(Double(count) / max(seconds, 1e-9)) }
            }
            ours.append(median(rates))
            var line = String(format: "round %d/%d: ours %.0f tok/s", round, rounds, ours.last!)
            if python != "none" {
                let result = try runAnchor(python: python, script: anchor, arguments: [
                    checkpoint, "--batch", String(batch), "--context", String(context), "--runs", String(runs),
                    "--threads", String(threads)])
                guard let rate = result["tokens_per_second"] as? Double else {
                    throw ValidationError("the anchor printed no tokens_per_second: \(result)")
                }
                theirs.append(rate)
                line += String(format: ", PyTorch %.0f tok/s (%@, torch %@, attention %@)", rate,
                               (result["transformers"] as? String) ?? "?", (result["torch"] as? String) ?? "?",
                               (result["attention"] as? String) ?? "?")
            }
            print(line)
        }
        print(String(format: "%@, batch %d × context %d, %d threads: ours median %.0f tok/s", loaded.info.name,
                     batch, context, Threads.count, median(ours))
              + (theirs.isEmpty ? "" : String(format: ", PyTorch eager median %.0f tok/s; ours/theirs %.2f×",
                                              median(theirs), median(ours) / median(theirs))))
    }
}

struct BenchGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Batch-1 greedy generation tokens/s of a checkpoint (any format) against llama.cpp on a GGUF file.",
        discussion: """
        Ours: the decode loop of `bench compress` (a --prompt-length prompt of ids (i·7 + 1) mod V prefilled \
        untimed, then --new-tokens greedy steps; one warm-up, the median of --runs). With --gguf, each of \
        --rounds rounds then runs scripts/bench_generate_llamacpp.py with --python on that file (llama.cpp \
        through llama-cpp-python, our thread count, the same prompt, steps and runs). Our decode runs the \
        kernels `generate` uses. Export the file with `alambique export gguf` to compare the same weights.

        Example: alambique bench generate checkpoints/gpt2-124m-Q8_0 --gguf /tmp/gpt2-124m-Q8_0.gguf \\
                     --python /work/venv/bin/python
        """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "A checkpoint directory (dense, sparse or quantized).") var checkpoint: String
    @Option(help: "The same model as a GGUF file, for llama.cpp (none: ours only).") var gguf: String?
    @Option(help: "Prompt tokens (prefilled, not timed).") var promptLength = 16
    @Option(help: "Timed decode steps per run.") var newTokens = 100
    @Option(help: "Timed runs per round on each side (the median is the round's figure).") var runs = 5
    @Option(help: "Rounds, ours then llama.cpp in each.") var rounds = 3
    @Option(help: "The Python with llama-cpp-python for the anchor.") var python = "python3"
    @Option(help: "The anchor script.") var anchor = "scripts/bench_generate_llamacpp.py"

    func validate() throws {
        try validateBenchSizes(["--prompt-length": promptLength, "--new-tokens": newTokens, "--runs": runs,
                                "--rounds": rounds])
    }

    func run() throws {
        try global.apply()
        let loaded = try CompressedCheckpoint.load(from: URL(fileURLWithPath: checkpoint))
        guard promptLength + newTokens <= loaded.config.contextLength else {
            throw ValidationError("--prompt-length \(promptLength) + --new-tokens \(newTokens) exceed the model's "
                                  + "context of \(loaded.config.contextLength)")
        }
        // The anchor gets our thread count, so both sides use the same cores.
        let threads = Threads.count
        var ours: [Double] = [], theirs: [Double] = []
        for round in 1 ... rounds {
            ours.append(try benchmarkGeneration(model: loaded.model, promptLength: promptLength, newTokens: newTokens,
                                                runs: runs))
            var line = String(format: "round %d/%d: ours %.0f tok/s", round, rounds, ours.last!)
            if let gguf {
                let result = try runAnchor(python: python, script: anchor, arguments: [
                    gguf, "--prompt-length", String(promptLength), "--new-tokens", String(newTokens),
                    "--runs", String(runs), "--threads", String(threads)])
                guard let rate = result["tokens_per_second"] as? Double else {
                    throw ValidationError("the anchor printed no tokens_per_second: \(result)")
                }
                theirs.append(rate)
                line += String(format: ", llama.cpp %.0f tok/s", rate)
            }
            print(line)
        }
        print(String(format: "%@ (%@), %d + %d tokens, %d threads: ours median %.0f tok/s", loaded.info.name,
                     loaded.info.format, promptLength, newTokens, Threads.count, median(ours))
              + (theirs.isEmpty ? "" : String(format: ", llama.cpp median %.0f tok/s; ours/theirs %.2f×",
                                              median(theirs), median(ours) / median(theirs))))
    }
}

/// Every named size must be at least 1: refused before anything loads, with the flag's name.
func validateBenchSizes(_ sizes: KeyValuePairs<String, Int>) throws {
    for (flag, value) in sizes where value < 1 {
        throw ValidationError("\(flag) must be ≥ 1, got \(value)")
    }
}

/// The median (of an odd count, the middle; of an even count, the mean of the two middle values).
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// Runs an anchor script and returns the JSON object on the last line of its stdout that starts with "{".
/// Its stderr passes through, so a failing anchor says why.
func runAnchor(python: String, script: String, arguments: [String]) throws -> [String: Any] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [python, script] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0,
          let line = output.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
          let result = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
        throw ValidationError("the anchor (\(python) \(script)) failed or printed no result: \(output.suffix(400))")
    }
    return result
}
