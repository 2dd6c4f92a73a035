// `alambique compare`: the teacher first, then any students, each measured from its checkpoint
// alone — size, quality, speed and the teacher's judgement — into one results object (DESIGN.md
// §6 "compare / results.json"). Nothing is copied from training logs.

import Foundation
import Models
import Store
import Tokenizers

/// A model as loaded for comparison (a dense, sparse or quantized checkpoint).
public struct LoadedModel {
    public var model: GPT
    public var tokenizer: any Tokenizer
    public var name: String
    public var role: String
    /// As in model names: F32, INT8, Q8_0, Q4_0, Q4_1, F32-s90, F32-2of4 …
    public var format: String
    public var parameters: Int
    public var nonzeroParameters: Int
    /// Bytes of the checkpoint's weights file(s) on disk.
    public var bytes: Int

    public init(model: GPT, tokenizer: any Tokenizer, name: String, role: String, format: String, parameters: Int,
                nonzeroParameters: Int, bytes: Int) {
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.role = role
        self.format = format
        self.parameters = parameters
        self.nonzeroParameters = nonzeroParameters
        self.bytes = bytes
    }
}

/// One row of results.json (field names are part of the interface: DESIGN.md §6). A measure
/// that is not finite (the NaN loss of a model whose logits hold NaN) is written as JSON null,
/// JSON having no NaN, and read back as NaN (nil for the optional ones, which are left out when nil).
public struct ComparedModel: Codable, Sendable {
    public var name: String
    public var role: String
    public var format: String
    public var params: Int
    public var nonzero_params: Int
    public var bytes: Int
    public var load_s: Double
    public var peak_rss_mb: Double?
    public var val_loss: Double
    public var perplexity: Double
    public var bits_per_char: Double
    public var accuracy: Double
    public var agreement: Double?
    public var kl_to_teacher: Double?
    public var ece: Double
    public var forward_tok_s: Double
    public var generate_tok_s: Double
    public var latency_p50_ms: Double
    public var latency_p95_ms: Double
    public var judge_ppl: Double?
    public var distinct2: Double?
    /// The continuations of the judge's prompts, decoded (ours, beyond DESIGN §6).
    public var continuations: [String]?

    enum CodingKeys: String, CodingKey {
        case name, role, format, params, nonzero_params, bytes, load_s, peak_rss_mb, val_loss, perplexity, bits_per_char,
             accuracy, agreement, kl_to_teacher, ece, forward_tok_s, generate_tok_s, latency_p50_ms, latency_p95_ms,
             judge_ppl, distinct2, continuations
    }

    public init(name: String, role: String, format: String, params: Int, nonzero_params: Int, bytes: Int, load_s: Double,
                peak_rss_mb: Double?, val_loss: Double, perplexity: Double, bits_per_char: Double, accuracy: Double,
                agreement: Double?, kl_to_teacher: Double?, ece: Double, forward_tok_s: Double, generate_tok_s: Double,
                latency_p50_ms: Double, latency_p95_ms: Double, judge_ppl: Double?, distinct2: Double?,
                continuations: [String]?) {
        (self.name, self.role, self.format, self.params, self.nonzero_params, self.bytes) = (name, role, format, params, nonzero_params, bytes)
        (self.load_s, self.peak_rss_mb, self.val_loss, self.perplexity, self.bits_per_char) = (load_s, peak_rss_mb, val_loss, perplexity, bits_per_char)
        (self.accuracy, self.agreement, self.kl_to_teacher, self.ece) = (accuracy, agreement, kl_to_teacher, ece)
        (self.forward_tok_s, self.generate_tok_s, self.latency_p50_ms, self.latency_p95_ms) = (forward_tok_s, generate_tok_s, latency_p50_ms, latency_p95_ms)
        (self.judge_ppl, self.distinct2, self.continuations) = (judge_ppl, distinct2, continuations)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func number(_ key: CodingKeys) throws -> Double { try c.decodeIfPresent(Double.self, forKey: key) ?? .nan }
        func optional(_ key: CodingKeys) throws -> Double? { try c.decodeIfPresent(Double.self, forKey: key) }
        self.init(name: try c.decode(String.self, forKey: .name), role: try c.decode(String.self, forKey: .role),
                  format: try c.decode(String.self, forKey: .format), params: try c.decode(Int.self, forKey: .params),
                  nonzero_params: try c.decode(Int.self, forKey: .nonzero_params), bytes: try c.decode(Int.self, forKey: .bytes),
                  load_s: try number(.load_s), peak_rss_mb: try optional(.peak_rss_mb), val_loss: try number(.val_loss),
                  perplexity: try number(.perplexity), bits_per_char: try number(.bits_per_char), accuracy: try number(.accuracy),
                  agreement: try optional(.agreement), kl_to_teacher: try optional(.kl_to_teacher), ece: try number(.ece),
                  forward_tok_s: try number(.forward_tok_s), generate_tok_s: try number(.generate_tok_s),
                  latency_p50_ms: try number(.latency_p50_ms), latency_p95_ms: try number(.latency_p95_ms),
                  judge_ppl: try optional(.judge_ppl), distinct2: try optional(.distinct2),
                  continuations: try c.decodeIfPresent([String].self, forKey: .continuations))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        /// A finite number, else null (JSON has no NaN or infinity); an absent optional is left out, as before.
        func number(_ value: Double?, _ key: CodingKeys) throws {
            guard let value else { return }
            if value.isFinite { try c.encode(value, forKey: key) } else { try c.encodeNil(forKey: key) }
        }
        try c.encode(name, forKey: .name)
        try c.encode(role, forKey: .role)
        try c.encode(format, forKey: .format)
        try c.encode(params, forKey: .params)
        try c.encode(nonzero_params, forKey: .nonzero_params)
        try c.encode(bytes, forKey: .bytes)
        for (value, key) in [(load_s, CodingKeys.load_s), (peak_rss_mb, .peak_rss_mb), (val_loss, .val_loss), (perplexity, .perplexity),
                             (bits_per_char, .bits_per_char), (accuracy, .accuracy), (agreement, .agreement),
                             (kl_to_teacher, .kl_to_teacher), (ece, .ece), (forward_tok_s, .forward_tok_s),
                             (generate_tok_s, .generate_tok_s), (latency_p50_ms, .latency_p50_ms),
                             (latency_p95_ms, .latency_p95_ms), (judge_ppl, .judge_ppl), (distinct2, .distinct2)] as [(Double?, CodingKeys)] {
            try number(value, key)
        }
        try c.encodeIfPresent(continuations, forKey: .continuations)
    }
}

/// The results object.
public struct ComparisonResult: Codable, Sendable {
    public var models: [ComparedModel]
    /// The judge's prompts, decoded.
    public var prompts: [String]?
    public var validation_tokens: Int?
    public var threads: Int?
}

public struct Comparison {
    /// Checkpoints, the teacher first.
    public var checkpoints: [URL]
    public var load: (URL) throws -> LoadedModel
    /// The validation text (the corpus's validation split).
    public var validationText: String
    /// The validation split's tokens under the teacher's tokenizer (from the corpus cache); when set, used
    /// instead of encoding `validationText`.
    public var validationTokens: ((any Tokenizer) throws -> TokenSequence)?
    /// Validation windows: the first `validationBatches` batches of 16 consecutive windows.
    public var validationBatches: Int
    /// The judge's prompts (text); each model continues each by `judgeTokens` tokens.
    public var prompts: [String]
    public var judgeTokens: Int
    public var speedRuns: Int

    public init(checkpoints: [URL], load: @escaping (URL) throws -> LoadedModel, validationText: String,
                validationBatches: Int = 50, prompts: [String], judgeTokens: Int = 64, speedRuns: Int = 3) {
        self.checkpoints = checkpoints
        self.load = load
        self.validationText = validationText
        self.validationBatches = validationBatches
        self.prompts = prompts
        self.judgeTokens = judgeTokens
        self.speedRuns = speedRuns
    }

    /// Default prompts: openings in the corpus's own manner.
    public static let defaultPrompts = ["ROMEO:\n", "First Citizen:\nWe are", "KING HENRY:\nNow, lords,",
                                        "Enter HAMLET.\n\nHAMLET.\n", "O, what a ", "LADY MACBETH:\nThe "]

    public func run(progress: (String) -> Void) throws -> ComparisonResult {
        guard let first = checkpoints.first else { throw ModelError("compare: give at least one checkpoint (the teacher first)") }
        progress("loading the teacher \(first.lastPathComponent)…")
        let teacher = try load(first)
        // Every model is scored on the same windows, so they are as long as the shortest context allows.
        let contexts = checkpoints.dropFirst().compactMap { try? Checkpoint.readConfig(GPTConfig.self, from: $0).contextLength }
        let context = ([teacher.model.config.contextLength] + contexts).min()!
        let tokens = try validationTokens?(teacher.tokenizer) ?? TokenSequence(teacher.tokenizer.encode(validationText))
        let windows = try TokenWindows(sequence: tokens, context: context, name: "validation split")
            .validationBatches(batchSize: 16, maximumBatches: validationBatches)
        let characters = try windows.map { batch in try teacher.tokenizer.decode(batch.targets.values).unicodeScalars.count }
        let promptIds = try prompts.map { try teacher.tokenizer.encode($0) }
        var rows: [ComparedModel] = []
        for (index, url) in checkpoints.enumerated() {
            PeakMemory.reset()
            let start = Date()
            let loaded = index == 0 ? teacher : try load(url)
            let loadSeconds = index == 0 ? try timeLoad(url) : Date().timeIntervalSince(start)
            progress("[\(index + 1)/\(checkpoints.count)] \(loaded.name) (\(loaded.format)): quality…")
            guard loaded.tokenizer.fingerprint() == teacher.tokenizer.fingerprint() else {
                throw ModelError("compare: \(url.path) uses another tokenizer than the teacher; models are compared on the teacher's tokens")
            }
            let quality = try QualityEvaluation.evaluate(model: loaded.model, teacher: index == 0 ? nil : teacher.model,
                                                         batches: windows, charactersPerBatch: characters)
            let peak = PeakMemory.megabytes()
            progress("[\(index + 1)/\(checkpoints.count)] \(loaded.name): speed…")
            let speed = try SpeedEvaluation.measure(model: loaded.model, batch: windows[0].inputs, runs: speedRuns)
            progress("[\(index + 1)/\(checkpoints.count)] \(loaded.name): the teacher judges \(prompts.count) continuations…")
            let judge = try TeacherJudge.judge(model: loaded.model, teacher: teacher.model, prompts: promptIds, newTokens: judgeTokens)
            rows.append(ComparedModel(
                name: loaded.name, role: loaded.role, format: loaded.format, params: loaded.parameters,
                nonzero_params: loaded.nonzeroParameters, bytes: loaded.bytes, load_s: loadSeconds, peak_rss_mb: peak,
                val_loss: quality.validationLoss, perplexity: quality.perplexity, bits_per_char: quality.bitsPerCharacter,
                accuracy: quality.accuracy, agreement: quality.agreement, kl_to_teacher: quality.klToTeacher,
                ece: quality.expectedCalibrationError, forward_tok_s: speed.forwardTokensPerSecond,
                generate_tok_s: speed.generateTokensPerSecond, latency_p50_ms: speed.latencyP50Milliseconds,
                latency_p95_ms: speed.latencyP95Milliseconds, judge_ppl: judge.teacherPerplexity, distinct2: judge.distinct2,
                continuations: try judge.continuations.map { try loaded.tokenizer.decode($0) }))
        }
        return ComparisonResult(models: rows, prompts: prompts, validation_tokens: windows.count * 16 * context,
                                threads: Threads.count)
    }

    /// The teacher was loaded before the clock started (its tokenizer sets up the data): load it again, timed.
    private func timeLoad(_ url: URL) throws -> Double {
        let start = Date()
        _ = try load(url)
        return Date().timeIntervalSince(start)
    }
}
