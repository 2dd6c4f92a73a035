import ArgumentParser
import Distill
import Foundation
import Store

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run a grid of experiments and tabulate them.",
        subcommands: [SweepDistill.self])
}

struct SweepDistill: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distill",
        abstract: "Distil over a grid of temperatures × α and seeds (plus the α = 0 baseline per seed); one table, mean ± std.",
        discussion: """
        Every run is an `alambique distill` run in its own directory under --runs-dir, named by its \
        settings and seed; a finished run is read rather than repeated and an interrupted one resumed, \
        so a sweep can be stopped and started again. The table (final validation cross-entropy, KL to \
        the teacher, top-1 agreement; mean ± sample std over seeds) goes to stdout in Markdown and to \
        --table-out as .md and .csv.

        Example: alambique sweep distill --logits logits/T-train-top32-f16.h5 --temperature 1,2,4 --alpha 0.5,0.9 --seeds 3
        """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var inputs: DistillInputs
    @Option(help: "Temperatures, comma-separated.") var temperature = "2"
    @Option(help: "α values (weight of the divergence), comma-separated; the α = 0 baseline always runs.") var alpha = "0.5"
    @Option(help: "Seeds per setting (1, 2, … N), or a comma-separated list with --seed-list.") var seeds = 3
    @Option(help: "Directory of the runs.") var runsDir = "checkpoints/sweeps"
    @Option(help: "Table file stem: writes <stem>.md and <stem>.csv (default reports/sweep-distill-<logits file>).") var tableOut: String?

    func parseList(_ text: String, _ flag: String) throws -> [Float] {
        let values = text.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else {
            throw ValidationError("\(flag): expected comma-separated numbers, got \(text)")
        }
        return values.map { $0! }
    }

    func validate() throws {
        guard try parseList(temperature, "--temperature").allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw ValidationError("--temperature values must be > 0")
        }
        guard try parseList(alpha, "--alpha").allSatisfy({ (0 ... 1).contains($0) }) else {
            throw ValidationError("--alpha values must be in [0, 1]")
        }
        guard (1 ... 100).contains(seeds) else { throw ValidationError("--seeds must be in 1…100, got \(seeds)") }
    }

    func run() throws {
        try global.apply()
        let base = try inputs.makeJob(settings: inputs.settings, seed: nil, out: nil)
        let sweep = DistillationSweep(base: base, temperatures: try parseList(temperature, "--temperature"),
                                      alphas: try parseList(alpha, "--alpha"), seeds: (1 ... seeds).map { UInt64($0) },
                                      directory: URL(fileURLWithPath: runsDir))
        let rows = try sweep.run { printError($0) }
        let markdown = DistillationSweep.markdown(rows)
        print(markdown)
        let stem = tableOut ?? "reports/sweep-distill-" + URL(fileURLWithPath: inputs.logits).deletingPathExtension().lastPathComponent
        try AtomicFile.write(Data((markdown + "\n").utf8), to: URL(fileURLWithPath: stem + ".md"))
        try AtomicFile.write(Data(DistillationSweep.csv(rows).utf8), to: URL(fileURLWithPath: stem + ".csv"))
        printError("table: \(stem).md, \(stem).csv")
    }
}
