// Batch-1 decode speed, measured the way llama.cpp's `llama-bench -n` reports it: tokens per
// second of the decode steps alone (one token in, logits out, greedy pick), prompt excluded.

import Foundation

/// Median decode tokens/s of greedy batch-1 generation over `runs` timed runs (after one
/// untimed warm-up). Each run resets one preallocated generator, prefills a fixed prompt of
/// `promptLength` tokens (not timed), then times `newTokens` steps — each feeds the previous
/// pick and takes the argmax of the logits. Uses the current `Threads` setting. Throws when
/// prompt and new tokens do not fit the context, or for sizes below 1.
public func benchmarkGeneration(model: GPT, promptLength: Int = 16, newTokens: Int = 100, runs: Int = 5) throws -> Double {
    let config = model.config
    guard promptLength >= 1, newTokens >= 1, runs >= 1 else {
        throw ModelError("benchmarkGeneration: promptLength, newTokens and runs must be ≥ 1; got \(promptLength), \(newTokens), \(runs)")
    }
    guard promptLength + newTokens <= config.contextLength else {
        throw ModelError("benchmarkGeneration: \(promptLength) prompt + \(newTokens) new tokens exceed the context of \(config.contextLength)")
    }
    let prompt = (0..<promptLength).map { Int32(($0 * 7 + 1) % config.vocabularySize) }
    let generator = model.makeGenerator()
    var rates: [Double] = []
    for run in 0...runs {  // run 0 warms caches and BLAS threads
        generator.reset()
        var logits = try generator.prefill(prompt)
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<newTokens {
            let next = Int32(InferenceKernels.argmax(logits.baseAddress!, count: logits.count))
            logits = try generator.logits(forNext: next)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if run > 0 { rates.append(Double(newTokens) / max(seconds, 1e-9)) }
    }
    rates.sort()
    return rates.count % 2 == 1 ? rates[rates.count / 2] : (rates[rates.count / 2 - 1] + rates[rates.count / 2]) / 2
}
