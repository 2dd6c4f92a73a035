// The teacher as judge ("LLM as a judge" at lab scale): every model continues the same prompts,
// the teacher scores each continuation by its own perplexity given the prompt, and a diversity
// measure (distinct-2: unique token bigrams / all bigrams) sits beside it so that repetitive text,
// which a teacher finds very predictable, cannot win on perplexity alone.

import Foundation
import Models

public struct JudgeResult: Codable, Sendable, Equatable {
    /// The teacher's perplexity of the continuations (exp of the mean per-token cross-entropy).
    public var teacherPerplexity: Double
    /// Unique bigrams / bigrams over all continuations.
    public var distinct2: Double
    /// The continuations' token ids, prompt by prompt.
    public var continuations: [[Int32]]
}

public enum TeacherJudge {
    /// Sampling for the continuations: temperature 0.8, top-k 40, a fixed seed per prompt (same for every model).
    public static let sampling = SamplingOptions(temperature: 0.8, topK: 40, topP: 1, seed: 2026)

    /// `model` continues each prompt by `newTokens`; `teacher` scores the continuations.
    public static func judge(model: GPT, teacher: GPT, prompts: [[Int32]], newTokens: Int) throws -> JudgeResult {
        guard !prompts.isEmpty, prompts.allSatisfy({ !$0.isEmpty }) else {
            throw ModelError("judge: need at least one non-empty prompt")
        }
        let context = min(model.config.contextLength, teacher.config.contextLength)
        var continuations: [[Int32]] = []
        var nats = 0.0, tokens = 0
        var bigrams = Set<Int64>(), bigramCount = 0
        let generator = model.makeGenerator()
        teacher.eval()
        defer { teacher.train() }
        for (index, prompt) in prompts.enumerated() {
            let kept = Array(prompt.suffix(max(1, context - newTokens)))
            var options = sampling
            options.seed &+= UInt64(index)
            let continuation = try generator.generate(prompt: kept, maxNewTokens: min(newTokens, context - kept.count + 1),
                                                      options: options, overflow: .error)
            continuations.append(continuation)
            // Teacher's cross-entropy on the continuation tokens, each given everything before it.
            let sequence = kept + continuation
            let inputs = Array(sequence.dropLast()).suffix(context)
            let targets = Array(sequence.dropFirst()).suffix(context)
            let scored = min(continuation.count, targets.count)
            if scored > 0 {
                let logits = try noGrad { try teacher(IndexTensor(shape: [1, inputs.count], values: Array(inputs))) }
                // Mask the prompt positions (ignore index) so only the continuation counts.
                var masked = Array(targets)
                for i in 0 ..< masked.count - scored { masked[i] = -100 }
                let loss = try noGrad { try logits.crossEntropy(targets: IndexTensor(shape: [1, masked.count], values: masked),
                                                                ignoreIndex: -100).item() }
                nats += Double(loss) * Double(scored)
                tokens += scored
            }
            for pair in zip(continuation, continuation.dropFirst()) {
                bigrams.insert(Int64(pair.0) << 32 | Int64(UInt32(bitPattern: pair.1)))
                bigramCount += 1
            }
        }
        return JudgeResult(teacherPerplexity: exp(nats / Double(max(tokens, 1))),
                           distinct2: bigramCount == 0 ? 0 : Double(bigrams.count) / Double(bigramCount),
                           continuations: continuations)
    }
}
