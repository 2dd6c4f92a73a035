import ArgumentParser
import Evaluate
import Foundation
import Lab
import Store
import Tokenizers

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a teacher and its students side by side: size, quality, speed, and the teacher as judge.",
        discussion: """
        Every figure is recomputed from the checkpoints (nothing is copied from training logs), on the \
        validation split (the first --validation-batches × 16 windows, the windows teacher training \
        evaluates on):
          size     parameters (total, non-zero), bytes on disk, format, load time, peak resident memory \
        (the process's, reset before each model; the teacher stays loaded as the judge);
          quality  validation loss, perplexity, bits per character, next-token accuracy, top-1 agreement \
        with the teacher, KL(teacher ‖ model), expected calibration error (15 bins);
          speed    forward tokens/s at batch 16, batch-1 generation tokens/s and per-token latency p50/p95;
          judge    each model continues the prompts (temperature 0.8, top-k 40, fixed seeds); the teacher \
        scores the continuations by its perplexity, beside distinct-2 so that repetition cannot win.

        Output: a Markdown table on stdout (--json: the results object of DESIGN.md §6); with --out, \
        report.md, results.csv, results.json and SVG plots (quality vs size with the Pareto front, \
        training curves from each checkpoint's metrics.jsonl, quality vs sparsity) in that folder, and \
        notebooks-export/<name>.ipynb with the tables and plots embedded.

        Example: alambique compare checkpoints/shakespeare-teacher-3.2M-ctx128-char-F32 checkpoints/<student> --out reports/mine
        """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Checkpoint directories, the teacher first.") var checkpoints: [String]
    @Option(help: "A text file of prompts for the judge, separated by blank lines (default: six openings).") var prompts: String?
    @Option(help: "Report directory (report.md, results.csv, results.json).") var out: String?
    @Option(help: "Validation batches of 16 windows.") var validationBatches = 50
    @Option(help: "Tokens each model adds to each judge prompt.") var judgeTokens = 64
    @OptionGroup var corpus: CorpusFlags
    @Flag(help: "Print the results object (JSON) on stdout instead of the table.") var json = false
    @Option(help: "Also write notebooks-export/<name>.ipynb (default: the --out folder's name).") var notebook: String?
    @Option(help: "A logit file the notebook's last cells open with h5py.") var logits: String?

    func validate() throws {
        guard !checkpoints.isEmpty else { throw ValidationError("give at least one checkpoint (the teacher first)") }
        guard validationBatches >= 1, judgeTokens >= 1 else { throw ValidationError("--validation-batches and --judge-tokens must be ≥ 1") }
    }

    func run() throws {
        try global.apply()
        var promptTexts = Comparison.defaultPrompts
        if let prompts {
            let text: String
            do { text = try String(contentsOfFile: prompts, encoding: .utf8) } catch {
                throw ValidationError("\(prompts): cannot read the prompts (\(FileErrorReason.describe(error)))")
            }
            promptTexts = text.components(separatedBy: "\n\n").map { $0 + "\n" }.filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
            guard !promptTexts.isEmpty else { throw ValidationError("\(prompts): no prompts found (separate them with blank lines)") }
        }
        var comparison = Comparison(checkpoints: checkpoints.map { URL(fileURLWithPath: $0) }, load: ModelLoading.load,
                                    validationText: "", validationBatches: validationBatches,
                                    prompts: promptTexts, judgeTokens: judgeTokens)
        let selection = corpus.selection
        comparison.validationTokens = { try CorpusTokenization.tokenize(selection, tokenizer: $0) { printError($0) }.validation }
        let result = try comparison.run { printError($0) }
        let table = ComparisonTables.markdown(result)
        if json { print(String(decoding: try ComparisonTables.json(result), as: UTF8.self)) } else { print(table) }
        if let out {
            let directory = URL(fileURLWithPath: out)
            let name = notebook ?? directory.lastPathComponent
            let notebookURL = URL(fileURLWithPath: "notebooks-export/\(name).ipynb")
            let relativeCSV = "../" + directory.appendingPathComponent("results.csv").path
                .replacingOccurrences(of: FileManager.default.currentDirectoryPath + "/", with: "")
            let plots = try ComparisonReport.write(result, title: name, checkpoints: checkpoints.map { URL(fileURLWithPath: $0) },
                                                   to: directory, notebook: notebookURL, resultsCSV: relativeCSV,
                                                   logitFile: logits.map { "../" + $0 })
            printError("report: \(directory.path)/report.md, results.csv, results.json, \(plots.map { $0 + ".svg" }.joined(separator: ", ")); notebook \(notebookURL.path)")
        }
    }
}
