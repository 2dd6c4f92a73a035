// `alambique bench train`: training and forward tokens/s for the presets at batch 16 × 128,
// and batch-1 generation tokens/s (16-token prompt, 100 new tokens, greedy).

import Foundation
import Models

/// Results in the field names of DESIGN.md §6 ("bench train"); a field is absent until built.
public struct TrainBenchmarkResult: Codable, Sendable {
    public struct Preset: Codable, Sendable {
        public var name: String
        public var params: Int
        public var vocab: Int
        public var train_tok_s: Double
        public var forward_tok_s: Double
        /// Distillation step from a top-32 file (student presets only).
        public var distill_tok_s: Double?
        public var generate_tok_s: Double?
    }
    public var presets: [Preset]
    public var threads: Int
    public var batch: Int
    public var context: Int
}

public struct TrainBenchmark {
    public var presets: [String]
    public var vocabularySize: Int
    public var batchSize: Int
    public var runs: Int

    /// Vocabulary 256 as the PyTorch anchor script uses.
    public init(presets: [String] = ["teacher-small", "student-tiny"], vocabularySize: Int = 256, batchSize: Int = 16, runs: Int = 5) {
        self.presets = presets
        self.vocabularySize = vocabularySize
        self.batchSize = batchSize
        self.runs = runs
    }

    public func run(progress: (String) -> Void = { _ in }) throws -> TrainBenchmarkResult {
        var rows: [TrainBenchmarkResult.Preset] = []
        var context = 0
        for preset in presets {
            let config = try GPTConfig.preset(preset, vocabularySize: vocabularySize)
            context = config.contextLength
            let model = try GPT(config: config, seed: 0)
            var rng = RNG(seed: 1)
            let count = batchSize * config.contextLength
            let ids = try IndexTensor(shape: [batchSize, config.contextLength],
                                      values: (0..<count).map { _ in Int32(rng.nextInt(below: vocabularySize)) })
            let targets = try IndexTensor(shape: [batchSize, config.contextLength],
                                          values: (0..<count).map { _ in Int32(rng.nextInt(below: vocabularySize)) })
            let optimizer = try AdamW(groups: model.parameterGroups(weightDecay: 0.1), learningRate: 1e-4, beta2: 0.99)
            // One training step as the trainer runs it: the batch split over one replica per
            // thread (forward, loss, backward), the gradients added up, clip, AdamW.
            let parameters = model.parameters()
            let parallel = try DataParallel(model: model) { try GPT(config: config, seed: 0) }
            let train = try medianSecondsPerCall(runs: runs, minimumSeconds: 0.5) {
                _ = try parallel.gradients(rows: batchSize) { replica, range in
                    try replica.loss(ids.rows(range), targets: targets.rows(range))
                }
                clipGradientNorm(parameters, maxNorm: 1)
                optimizer.step()
            }
            let forward = try medianSecondsPerCall(runs: runs, minimumSeconds: 0.5) {
                _ = try noGrad { try model(ids) }
            }
            var row = TrainBenchmarkResult.Preset(name: preset, params: config.parameterCount, vocab: vocabularySize,
                                                  train_tok_s: Double(count) / train, forward_tok_s: Double(count) / forward)
            if preset.hasPrefix("student") {
                let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("alambique-bench-distill-\(UUID().uuidString)")
                row.distill_tok_s = Double(count) / (try distillStepSeconds(model: model, parallel: parallel, batchSize: batchSize,
                                                                             runs: runs, scratch: scratch))
            }
            row.generate_tok_s = try benchmarkGeneration(model: model, promptLength: 16, newTokens: 100, runs: runs)
            progress(String(format: "%@: train %.0f tok/s, forward %.0f tok/s, distill %@ tok/s, generate %.0f tok/s", preset,
                            row.train_tok_s, row.forward_tok_s, row.distill_tok_s.map { String(format: "%.0f", $0) } ?? "–",
                            row.generate_tok_s ?? 0))
            rows.append(row)
        }
        return TrainBenchmarkResult(presets: rows, threads: Threads.count, batch: batchSize, context: context)
    }
}
