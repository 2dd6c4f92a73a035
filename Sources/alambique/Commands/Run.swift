import ArgumentParser
import Evaluate
import Foundation
import Lab

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run an experiment file: teacher, logits, students, pruning, quantization, then the comparison.",
        discussion: """
        Each stage writes to runs/<name>/<stage>/; a stage whose folder was finished with the same settings \
        is skipped, an interrupted training stage resumes from its last checkpoint, and a stage whose \
        settings changed is redone (with what depends on it). The comparison goes to reports/<name>/ \
        (report.md, results.csv, results.json, SVG plots) and notebooks-export/<name>.ipynb.

        Example: alambique run experiments/shakespeare-quick.yaml   (what `make demo` runs)
        """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The experiment file (YAML).") var experiment: String
    @Option(name: [.customLong("data-dir"), .customLong("data-directory")],
            help: ArgumentHelp("Data directory: the built-in corpus is fetched there, token ids are cached in <data-dir>/cache/ "
                + "(the file's corpus: key names the corpus)."))
    var data = "data"

    func run() throws {
        try global.apply()
        let file = try Experiment(contentsOf: URL(fileURLWithPath: experiment))
        let runner = ExperimentRunner(experiment: file, data: data)
        let start = Date()
        let result = try runner.run { printError($0) }
        print(ComparisonTables.markdown(result))
        printError(String(format: "%@ done in %.0fs: %@/report.md, %@", file.name, Date().timeIntervalSince(start),
                          runner.reportDirectory.path, runner.notebook.path))
    }
}
