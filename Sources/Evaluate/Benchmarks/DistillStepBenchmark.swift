// The distillation step of `alambique bench train`: a student trained from a top-k logit file —
// batch read and assembled by the sampler, then (split over one replica per thread) forward,
// cross-entropy, the divergence at T = 2 with α = 0.5, backward; clipping, AdamW — as
// `alambique distill` runs it.

import Foundation
import Models
import Store

/// Seconds per distillation step of `model` on a top-32 float16 file written for the occasion from a
/// random teacher of the same vocabulary over random tokens (the step's cost does not depend on
/// what the logits say).
func distillStepSeconds(model: GPT, parallel: DataParallel<GPT>, batchSize: Int, runs: Int, scratch: URL) throws -> Double {
    let config = model.config
    let t = config.contextLength, v = config.vocabularySize
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    var rng = RNG(seed: 7)
    let tokens = (0 ..< 64 * t + 1).map { _ in Int32(rng.nextInt(below: v)) }
    let teacher = try GPT(config: GPTConfig(vocabularySize: v, contextLength: t, layers: 1, heads: 2, embeddingSize: 64), seed: 3)
    let url = scratch.appendingPathComponent("bench-train-top32.h5")
    let attributes = LogitsFileAttributes(
        teacher: "bench", teacherSHA256: String(repeating: "0", count: 64), tokenizerSHA256: String(repeating: "0", count: 64),
        vocabularySize: v, context: t, mode: .topK(32), dtype: .float16, split: "train", created: "", stride: t, sequenceCount: 0)
    _ = try LogitsExport.run(tokens: tokens, settings: LogitsExportSettings(context: t, mode: .topK(min(32, v))),
                             attributes: attributes, tokenizerJSON: Data("{}".utf8), to: url,
                             forward: { ids in try noGrad { try teacher(ids) } })
    let reader = try LogitsReader(url: url)
    defer { try? reader.close() }
    let sampler = try LogitsBatchSampler(reader: reader, batchSize: batchSize, context: t, seed: 1)
    let optimizer = try AdamW(groups: model.parameterGroups(weightDecay: 0.1), learningRate: 1e-4, beta2: 0.99)
    let parameters = model.parameters()
    var step = 0
    return try medianSecondsPerCall(runs: runs, minimumSeconds: 0.5) {
        let batch = try sampler.batch(step: step)
        step += 1
        _ = try parallel.gradients(rows: batchSize) { replica, range in
            let windows = try batch.rows(range)
            let logits = try replica(windows.inputs)                                           // (B, T, V)
            let divergence = try logits.reshaped([windows.inputs.count, v])
                .distillationDivergence(teacher: windows.teacher!, temperature: 2, divergence: .forwardKL)
            return try divergence * (0.5 * 4) + logits.crossEntropy(targets: windows.targets) * 0.5
        }
        clipGradientNorm(parameters, maxNorm: 1)
        optimizer.step()
    }
}
