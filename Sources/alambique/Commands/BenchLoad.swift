import ArgumentParser
import Distill
import Evaluate
import Foundation
import Store

struct BenchLoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Checkpoint load time and memory: ours against transformers' from_pretrained on the same folder.",
        discussion: """
        Times --runs loads of the checkpoint after a warm-up load (config; tokenizer.json read and hashed; a \
        model built without initialisation whose float32 weights are used in place in the mapped files) and \
        --runs `inspect`s (headers only), and reports the medians, \
        the peak RSS of the first load above the process's baseline, and the float32 weight bytes. Then runs \
        scripts/bench_load_hf.py with --python on the same folder (GPT2LMHeadModel.from_pretrained and the \
        tokenizer, the same number of runs) and prints its medians beside ours, with the ratio.

        Make a GPT-2-124M-shaped checkpoint for it with scripts/make_gpt2_124m.py (random weights).

        Example: alambique bench load /tmp/gpt2-124m --runs 5
        """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "A checkpoint directory (ours or saved by transformers).") var checkpoint: String
    @Option(help: "Timed loads of each kind (the median is reported).") var runs = 5
    @Option(help: "The Python with torch and transformers for the anchor; \"none\" skips it.") var python = "python3"
    @Option(help: "The anchor script.") var anchor = "scripts/bench_load_hf.py"

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be ≥ 1, got \(runs)") }
    }

    func run() throws {
        try global.apply()
        let directory = URL(fileURLWithPath: checkpoint)
        PeakMemory.reset()
        let baseline = PeakMemory.megabytes() ?? 0
        var loads: [Double] = [], peak = 0.0, weightBytes = 0, name = ""
        // The first load is a warm-up (the files into the page cache, as the anchor's is) and gives the peak.
        for run in 0 ... runs {
            let start = Date()
            let loaded = try loadGPT(from: directory)
            let seconds = Date().timeIntervalSince(start)
            if run == 0 {
                peak = (PeakMemory.megabytes() ?? 0) - baseline
                weightBytes = loaded.model.parameterCount * 4
                name = loaded.info.name
            } else {
                loads.append(seconds)
            }
            printError(String(format: "load %d/%d%@: %.3f s", run, runs, run == 0 ? " (warm-up)" : "", seconds))
        }
        var tokenizers: [Double] = [], hashes: [Double] = []
        for _ in 0 ..< runs {
            var start = Date()
            let tokenizer = try Checkpoint.loadTokenizer(from: directory)
            tokenizers.append(Date().timeIntervalSince(start))
            start = Date()
            _ = tokenizer.fingerprint()
            hashes.append(Date().timeIntervalSince(start))
        }
        var inspections: [Double] = []
        for _ in 0 ..< runs {
            let start = Date()
            _ = try Inspection.checkpoint(directory)
            inspections.append(Date().timeIntervalSince(start))
        }
        let median = { (values: [Double]) in values.sorted()[values.count / 2] }
        print("checkpoint \(name): \(String(format: "%.1f", Double(weightBytes) / 1e6)) MB of float32 weights")
        print(String(format: "ours: load median %.3f s (runs: %@), inspect median %.4f s, peak RSS of the first load %.0f MB "
                     + "(%.2f× the float32 weights)", median(loads), loads.map { String(format: "%.3f", $0) }.joined(separator: " "),
                     median(inspections), peak, peak / max(Double(weightBytes) / 1_048_576, 1e-9)))
        print(String(format: "  of which reading tokenizer.json %.3f s and hashing it %.3f s (medians)",
                     median(tokenizers), median(hashes)))
        guard python != "none" else { return }
        let result = try runAnchor(python: python, script: anchor, arguments: [checkpoint, "--runs", String(runs)])
        guard let theirs = result["median_seconds"] as? Double else {
            throw ValidationError("the anchor (\(python) \(anchor)) printed no median_seconds")
        }
        print(String(format: "transformers %@: from_pretrained + tokenizer median %.3f s, peak RSS %.0f MB; ours/theirs time %.2f×",
                      (result["transformers"] as? String) ?? "?", theirs, (result["peak_rss_mb"] as? Double) ?? .nan,
                      median(loads) / theirs))
    }
}
