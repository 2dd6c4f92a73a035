// The comparison as a Markdown table (stdout and report.md), CSV (results.csv) and JSON (results.json).

import Foundation

public enum ComparisonTables {
    /// One line per model: size, quality, speed, judge.
    public static func markdown(_ result: ComparisonResult) -> String {
        var lines = [
            "| model | format | params (non-zero) | MB | load s | peak RSS MB | val loss | ppl | bits/char | acc | agree | KL(T‖m) | ECE | fwd tok/s | gen tok/s | p50/p95 ms | judge ppl | distinct-2 |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for m in result.models {
            let cells: [String] = [
                m.name, m.format, "\(label(m.params)) (\(label(m.nonzero_params)))", f(Double(m.bytes) / 1e6, 2), f(m.load_s, 2),
                m.peak_rss_mb.map { f($0, 0) } ?? "–", f(m.val_loss, 4), f(m.perplexity, 2), f(m.bits_per_char, 3),
                f(100 * m.accuracy, 1) + "%", m.agreement.map { f(100 * $0, 1) + "%" } ?? "–", m.kl_to_teacher.map { f($0, 4) } ?? "–",
                f(m.ece, 3), f(m.forward_tok_s, 0), f(m.generate_tok_s, 0), f(m.latency_p50_ms, 2) + " / " + f(m.latency_p95_ms, 2),
                m.judge_ppl.map { f($0, 2) } ?? "–", m.distinct2.map { f($0, 3) } ?? "–",
            ]
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n")
    }

    /// The CSV columns: results.json's fields (without the continuations), one row per model.
    public static let csvColumns = ["name", "role", "format", "params", "nonzero_params", "bytes", "load_s", "peak_rss_mb",
                                    "val_loss", "perplexity", "bits_per_char", "accuracy", "agreement", "kl_to_teacher", "ece",
                                    "forward_tok_s", "generate_tok_s", "latency_p50_ms", "latency_p95_ms", "judge_ppl", "distinct2"]

    public static func csv(_ result: ComparisonResult) -> String {
        var lines = [csvColumns.joined(separator: ",")]
        for m in result.models {
            let values: [String] = [
                quote(m.name), quote(m.role), quote(m.format), "\(m.params)", "\(m.nonzero_params)", "\(m.bytes)", "\(m.load_s)",
                optional(m.peak_rss_mb), "\(m.val_loss)", "\(m.perplexity)", "\(m.bits_per_char)", "\(m.accuracy)",
                optional(m.agreement), optional(m.kl_to_teacher), "\(m.ece)", "\(m.forward_tok_s)", "\(m.generate_tok_s)",
                "\(m.latency_p50_ms)", "\(m.latency_p95_ms)", optional(m.judge_ppl), optional(m.distinct2),
            ]
            lines.append(values.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// results.json: sorted keys, pretty-printed.
    public static func json(_ result: ComparisonResult) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return try encoder.encode(result)
    }

    /// The judge's continuations side by side, prompt by prompt (report.md).
    public static func continuations(_ result: ComparisonResult) -> String {
        guard let prompts = result.prompts else { return "" }
        var lines: [String] = []
        for (index, prompt) in prompts.enumerated() {
            lines.append("### Prompt \(index + 1): `\(prompt.replacingOccurrences(of: "\n", with: "⏎"))`\n")
            for m in result.models {
                guard let text = m.continuations?[safe: index] else { continue }
                lines.append("**\(m.name)** (\(m.format)):\n```\n\(prompt)\(text)\n```")
            }
        }
        return lines.joined(separator: "\n")
    }

    static func f(_ value: Double, _ decimals: Int) -> String {
        value.isFinite ? String(format: "%.\(decimals)f", value) : "–"
    }

    static func label(_ count: Int) -> String {
        count >= 1_000_000 ? String(format: "%.2fM", Double(count) / 1e6) : count >= 1000 ? String(format: "%.1fK", Double(count) / 1e3) : "\(count)"
    }

    static func quote(_ text: String) -> String { "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
    static func optional(_ value: Double?) -> String { value.map { "\($0)" } ?? "" }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
