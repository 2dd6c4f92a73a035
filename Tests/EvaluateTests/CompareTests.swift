import Foundation
import Testing
@testable import Evaluate
import Compress
import Models
import Store

@Suite("Comparison metrics and reports") struct CompareTests {
    static func model(seed: UInt64) throws -> GPT {
        try GPT(config: GPTConfig(vocabularySize: 12, contextLength: 8, layers: 1, heads: 2, embeddingSize: 8), seed: seed)
    }

    static func batches() throws -> [TokenBatch] {
        let tokens: [Int32] = (0 ..< 200).map { (i: Int) -> Int32 in Int32((i * 5 + i / 7) % 12) }
        return try TokenWindows(tokens: tokens, context: 8, name: "test").validationBatches(batchSize: 4, maximumBatches: 3)
    }

    @Test("quality: perplexity is exp(loss), a model agrees with itself with zero KL, ECE and accuracy are fractions")
    func quality() throws {
        let model = try Self.model(seed: 1), batches = try Self.batches()
        let alone = try QualityEvaluation.evaluate(model: model, teacher: nil, batches: batches, charactersPerBatch: [32, 32, 32])
        #expect(abs(alone.perplexity - exp(alone.validationLoss)) < 1e-9)
        #expect(abs(alone.bitsPerCharacter - alone.validationLoss / log(2)) < 1e-6)  // one character per token
        #expect(alone.agreement == nil && alone.klToTeacher == nil)
        #expect((0 ... 1).contains(alone.accuracy) && (0 ... 1).contains(alone.expectedCalibrationError))
        let expected = try batches.map { try model.loss($0.inputs, targets: $0.targets).item() }.reduce(0, +) / 3
        #expect(abs(alone.validationLoss - Double(expected)) < 1e-5)
        let itself = try QualityEvaluation.evaluate(model: model, teacher: model, batches: batches, charactersPerBatch: [32, 32, 32])
        #expect(itself.agreement == 1)
        #expect(abs(itself.klToTeacher ?? 1) < 1e-6)
        let other = try QualityEvaluation.evaluate(model: Self.model(seed: 2), teacher: model, batches: batches, charactersPerBatch: [32, 32, 32])
        #expect((other.klToTeacher ?? 0) > 0)
    }

    @Test("stepwise evaluation (one token at a time through the generator) gives the batched figures for a float model, and close ones for a Q4_0 one")
    func stepwise() throws {
        let batches = try Self.batches()
        let model = try Self.model(seed: 1)
        let batched = try QualityEvaluation.evaluate(model: model, teacher: nil, batches: batches, charactersPerBatch: [32, 32, 32])
        let stepwise = try QualityEvaluation.evaluateStepwise(model: model, batches: batches, charactersPerBatch: [32, 32, 32])
        #expect(abs(stepwise.validationLoss - batched.validationLoss) < 1e-5)
        #expect(abs(stepwise.bitsPerCharacter - batched.bitsPerCharacter) < 1e-5)
        #expect(stepwise.accuracy == batched.accuracy)
        // Q4_0 (inputs a multiple of 32): the generator's products quantize activations to int8.
        let wide = try GPT(config: GPTConfig(vocabularySize: 12, contextLength: 8, layers: 1, heads: 2, embeddingSize: 32), seed: 5)
        _ = try ModelQuantization.quantize(wide, scheme: .q4_0)
        let wideBatched = try QualityEvaluation.evaluate(model: wide, teacher: nil, batches: batches, charactersPerBatch: [32, 32, 32])
        let wideStepwise = try QualityEvaluation.evaluateStepwise(model: wide, batches: batches, charactersPerBatch: [32, 32, 32])
        #expect(abs(wideStepwise.validationLoss / wideBatched.validationLoss - 1) < 1e-3)
    }

    @Test("the judge: the teacher's perplexity of continuations and distinct-2 in (0, 1]; the same seed gives the same text")
    func judge() throws {
        let model = try Self.model(seed: 3), teacher = try Self.model(seed: 4)
        let a = try TeacherJudge.judge(model: model, teacher: teacher, prompts: [[1, 2], [3]], newTokens: 5)
        let b = try TeacherJudge.judge(model: model, teacher: teacher, prompts: [[1, 2], [3]], newTokens: 5)
        #expect(a.continuations == b.continuations)
        #expect(a.continuations.map(\.count) == [5, 5])
        #expect(a.teacherPerplexity > 1 && a.teacherPerplexity < 100)
        #expect(a.distinct2 > 0 && a.distinct2 <= 1)
    }

    @Test("reports: Markdown and CSV rows per model, a valid-looking notebook, an SVG with the Pareto front")
    func reports() throws {
        let row = ComparedModel(name: "m", role: "teacher", format: "F32", params: 100, nonzero_params: 50, bytes: 400, load_s: 0.1,
                                peak_rss_mb: 10, val_loss: 2, perplexity: exp(2), bits_per_char: 2 / log(2), accuracy: 0.5,
                                agreement: nil, kl_to_teacher: nil, ece: 0.01, forward_tok_s: 1000, generate_tok_s: 100,
                                latency_p50_ms: 10, latency_p95_ms: 12, judge_ppl: 3, distinct2: 0.8, continuations: ["abc"])
        var second = row
        second.name = "s"
        second.bytes = 100
        second.val_loss = 2.5
        let result = ComparisonResult(models: [row, second], prompts: ["x"], validation_tokens: 64, threads: 1)
        #expect(ComparisonTables.markdown(result).split(separator: "\n").count == 4)
        let csv = ComparisonTables.csv(result).split(separator: "\n")
        #expect(csv.count == 3 && csv[0].hasPrefix("name,role,format,params,nonzero_params,bytes"))
        let json = try JSONSerialization.jsonObject(with: ComparisonTables.json(result)) as? [String: Any]
        #expect((json?["models"] as? [[String: Any]])?.first?["val_loss"] as? Double == 2)
        let svg = ComparisonPlots.qualityVersusSize(result)
        #expect(svg.hasPrefix("<svg") && svg.contains("stroke-dasharray"))  // both points are on the front
        #expect(ComparisonPlots.qualityVersusSparsity(result) != nil)
        let notebook = try JSONSerialization.jsonObject(with: Notebook.comparison(
            title: "t", result: result, plots: [("quality-vs-size", svg)], resultsCSV: "results.csv", logitFile: nil).json()) as? [String: Any]
        #expect(notebook?["nbformat"] as? Int == 4)
        let cells = notebook?["cells"] as? [[String: Any]] ?? []
        #expect(cells.allSatisfy { $0["id"] is String && $0["source"] is [String] })
        #expect(cells.contains { ($0["outputs"] as? [[String: Any]])?.first?["data"].map { ($0 as? [String: Any])?["image/svg+xml"] != nil } == true })
    }
}
