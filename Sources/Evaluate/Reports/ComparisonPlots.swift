// The comparison's plots: quality against size (log axis, Pareto front), training curves read
// from each checkpoint's metrics.jsonl, and quality against sparsity.

import Foundation

public enum ComparisonPlots {
    /// Validation loss against bytes on disk, every model a labelled point; the Pareto front dashed.
    public static func qualityVersusSize(_ result: ComparisonResult) -> String {
        var plot = SVGPlot(title: "Quality vs size", xLabel: "checkpoint size on disk", yLabel: "validation loss (nats/token)", logX: true)
        plot.paretoFront = true
        plot.xUnit = (1e6, " MB")
        for model in result.models {
            plot.series.append(.init(name: model.format + " " + model.role, points: [(Double(model.bytes), model.val_loss)],
                                     line: false, labels: [model.format]))
        }
        return plot.render()
    }

    /// Validation loss over steps for every checkpoint with a metrics.jsonl beside its weights.
    public static func trainingCurves(_ checkpoints: [URL], names: [String]) -> String? {
        var plot = SVGPlot(title: "Training curves", xLabel: "step", yLabel: "validation loss (nats/token)")
        for (url, name) in zip(checkpoints, names) {
            guard let data = try? Data(contentsOf: url.appendingPathComponent("metrics.jsonl")) else { continue }
            var points: [(x: Double, y: Double)] = []
            for line in data.split(separator: UInt8(ascii: "\n")) {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                      let step = object["step"] as? Int, let loss = object["val_loss"] as? Double else { continue }
                points.append((Double(step), loss))
            }
            if !points.isEmpty { plot.series.append(.init(name: name, points: points, line: true)) }
        }
        return plot.series.isEmpty ? nil : plot.render()
    }

    /// Validation loss against the fraction of zero parameters (only when some model is sparse).
    public static func qualityVersusSparsity(_ result: ComparisonResult) -> String? {
        let points = result.models.map { (1 - Double($0.nonzero_params) / Double(max($0.params, 1)), $0.val_loss, $0.format) }
        guard points.contains(where: { $0.0 > 0.01 }) else { return nil }
        var plot = SVGPlot(title: "Quality vs sparsity", xLabel: "sparsity (fraction of zero parameters)", yLabel: "validation loss")
        plot.series.append(.init(name: "models", points: points.map { ($0.0, $0.1) }, line: false, labels: points.map(\.2)))
        return plot.render()
    }
}
