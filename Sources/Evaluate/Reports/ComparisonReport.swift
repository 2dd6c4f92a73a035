// Everything a comparison writes: report.md, results.csv, results.json and the SVG plots in one
// folder, and the notebook. Shared by `alambique compare --out` and the experiment runner.

import Foundation
import Store

public enum ComparisonReport {
    /// Writes the report files into `directory` and the notebook at `notebook`; returns the plot names.
    /// - Parameters:
    ///   - checkpoints: the compared checkpoint folders (their metrics.jsonl give the training curves).
    ///   - resultsCSV, logitFile: paths as the notebook's code cells should open them (relative to the notebook).
    @discardableResult
    public static func write(_ result: ComparisonResult, title: String, checkpoints: [URL], to directory: URL,
                             notebook: URL, resultsCSV: String, logitFile: String?) throws -> [String] {
        let report = "# \(title)\n\n" + ComparisonTables.markdown(result) + "\n\n## Continuations judged by the teacher\n\n"
            + ComparisonTables.continuations(result) + "\n"
        try AtomicFile.write(Data(report.utf8), to: directory.appendingPathComponent("report.md"))
        try AtomicFile.write(Data(ComparisonTables.csv(result).utf8), to: directory.appendingPathComponent("results.csv"))
        try AtomicFile.write(try ComparisonTables.json(result), to: directory.appendingPathComponent("results.json"))
        var plots: [(name: String, svg: String)] = [("quality-vs-size", ComparisonPlots.qualityVersusSize(result))]
        if let curves = ComparisonPlots.trainingCurves(checkpoints, names: result.models.map { "\($0.role) (\($0.format))" }) {
            plots.append(("training-curves", curves))
        }
        if let sparsity = ComparisonPlots.qualityVersusSparsity(result) { plots.append(("quality-vs-sparsity", sparsity)) }
        for plot in plots {
            try AtomicFile.write(Data(plot.svg.utf8), to: directory.appendingPathComponent(plot.name + ".svg"))
        }
        let book = Notebook.comparison(title: "Alambique — \(title)", result: result, plots: plots, resultsCSV: resultsCSV,
                                       logitFile: logitFile)
        try AtomicFile.write(try book.json(), to: notebook)
        return plots.map(\.name)
    }
}
