// `alambique sweep distill`: a grid of distillation runs (temperature × α, each over several seeds,
// plus the hard-label baseline per seed), then one table of the final validation metrics as mean ±
// standard deviation over seeds. A run whose directory already holds its finished checkpoint is
// read, not repeated; an interrupted one is resumed.

import Foundation
import Models
import Store
import Tokenizers

public struct DistillationSweep {
    /// One row of the table: a setting and its metrics over seeds.
    public struct Row: Sendable {
        public var label: String
        public var temperature: Float?
        public var alpha: Float
        public var seeds: [UInt64]
        public var validationLoss: [Float]
        public var validationKL: [Float]
        public var agreement: [Float]
    }

    /// The job every run starts from (files, student, recipe, divergence).
    public var base: DistillationJob
    public var temperatures: [Float]
    public var alphas: [Float]
    public var seeds: [UInt64]
    /// Where the run directories go (default names inside).
    public var directory: URL

    public init(base: DistillationJob, temperatures: [Float], alphas: [Float], seeds: [UInt64], directory: URL) {
        self.base = base
        self.temperatures = temperatures
        self.alphas = alphas
        self.seeds = seeds
        self.directory = directory
    }

    /// Every run of the grid: per seed the baseline, then each (T, α) with α > 0.
    public func jobs() throws -> [(label: String, temperature: Float?, alpha: Float, job: DistillationJob)] {
        let tokenizer = try base.tokenizer ?? loadTokenizer(fromLogits: base.logits)
        var jobs: [(String, Float?, Float, DistillationJob)] = []
        for seed in seeds {
            var settingsList: [(String, Float?, DistillationSettings)] = []
            var baseline = base.settings
            baseline.alpha = 0
            settingsList.append(("baseline (α = 0)", nil, baseline))
            for temperature in temperatures {
                for alpha in alphas where alpha > 0 {
                    var settings = base.settings
                    settings.temperature = temperature
                    settings.alpha = alpha
                    settingsList.append(("T = \(DistillationJob.number(temperature)), α = \(DistillationJob.number(alpha))", temperature, settings))
                }
            }
            for (label, temperature, settings) in settingsList {
                var job = base
                job.settings = settings
                job.recipe.seed = seed
                job.directory = directory.appendingPathComponent(job.names(tokenizer: tokenizer).directory)
                jobs.append((label, temperature, settings.alpha, job))
            }
        }
        return jobs
    }

    /// Runs (or reads, or resumes) every job and gathers the table.
    public func run(progress: (String) -> Void) throws -> [Row] {
        var rows: [Row] = []
        let all = try jobs()
        for (index, entry) in all.enumerated() {
            let runDirectory = entry.job.directory!
            let metrics = try finishedMetrics(entry.job)
            let final: MetricsRecord
            if let metrics {
                progress("[\(index + 1)/\(all.count)] \(entry.label), seed \(entry.job.recipe.seed): done before (\(runDirectory.lastPathComponent))")
                final = metrics
            } else {
                progress("[\(index + 1)/\(all.count)] \(entry.label), seed \(entry.job.recipe.seed) → \(runDirectory.path)")
                let resume = FileManager.default.fileExists(atPath: runDirectory.appendingPathComponent(Checkpoint.trainerStateFileName).path)
                _ = try entry.job.run(resume: resume, overwrite: false, progress: progress)
                guard let done = try finishedMetrics(entry.job) else {
                    throw ModelError("sweep: \(runDirectory.path) did not finish")
                }
                final = done
            }
            if let at = rows.firstIndex(where: { $0.label == entry.label }) {
                rows[at].seeds.append(entry.job.recipe.seed)
                rows[at].validationLoss.append(final.val_loss ?? .nan)
                rows[at].validationKL.append(final.val_kl ?? .nan)
                rows[at].agreement.append(final.val_agreement ?? .nan)
            } else {
                rows.append(Row(label: entry.label, temperature: entry.temperature, alpha: entry.alpha, seeds: [entry.job.recipe.seed],
                                validationLoss: [final.val_loss ?? .nan], validationKL: [final.val_kl ?? .nan],
                                agreement: [final.val_agreement ?? .nan]))
            }
        }
        return rows
    }

    /// The last evaluation of a finished run in `job`'s directory, or nil when it has not finished.
    func finishedMetrics(_ job: DistillationJob) throws -> MetricsRecord? {
        guard let directory = job.directory else { return nil }
        let run = TrainingRun(directory: directory, config: job.student, recipe: job.recipe, tokenizer: try job.tokenizer ?? loadTokenizer(fromLogits: job.logits),
                              info: CheckpointInfo(name: "", role: "", corpus: ""))
        let metrics = try run.readMetrics()
        guard let last = metrics.last(where: { $0.val_loss != nil }), last.step == job.recipe.steps else { return nil }
        return last
    }

    /// The table in Markdown: mean ± std over seeds.
    public static func markdown(_ rows: [Row]) -> String {
        var lines = ["| setting | seeds | val cross-entropy | val KL to teacher | top-1 agreement |", "|---|---:|---:|---:|---:|"]
        for row in rows {
            lines.append("| \(row.label) | \(row.seeds.count) | \(meanStd(row.validationLoss, 4)) | \(meanStd(row.validationKL, 4)) | \(meanStd(row.agreement.map { $0 * 100 }, 1))% |")
        }
        return lines.joined(separator: "\n")
    }

    /// The table as CSV: one line per setting with means, standard deviations and the per-seed values.
    public static func csv(_ rows: [Row]) -> String {
        var lines = ["setting,temperature,alpha,seeds,val_loss_mean,val_loss_std,val_kl_mean,val_kl_std,agreement_mean,agreement_std,val_loss_per_seed"]
        for row in rows {
            let (lm, ls) = statistics(row.validationLoss), (km, ks) = statistics(row.validationKL), (am, ast) = statistics(row.agreement)
            lines.append([
                "\"\(row.label)\"", row.temperature.map { "\($0)" } ?? "", "\(row.alpha)", "\(row.seeds.count)",
                "\(lm)", "\(ls)", "\(km)", "\(ks)", "\(am)", "\(ast)",
                "\"" + row.validationLoss.map { "\($0)" }.joined(separator: " ") + "\"",
            ].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Mean and sample standard deviation (0 for a single value).
    static func statistics(_ values: [Float]) -> (mean: Double, std: Double) {
        let v = values.map(Double.init)
        let mean = v.reduce(0, +) / Double(max(v.count, 1))
        guard v.count > 1 else { return (mean, 0) }
        return (mean, (v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(v.count - 1)).squareRoot())
    }

    static func meanStd(_ values: [Float], _ decimals: Int) -> String {
        let (mean, std) = statistics(values)
        return String(format: "%.\(decimals)f ± %.\(decimals)f", mean, std)
    }
}

/// The tokenizer stored in a logit file.
func loadTokenizer(fromLogits url: URL) throws -> any Tokenizer {
    let reader = try LogitsReader(url: url)
    defer { try? reader.close() }
    return try loadTokenizer(jsonBytes: [UInt8](reader.tokenizerJSON()), fileName: "\(reader.urls[0].lastPathComponent):/tokenizer_json")
}
