import Foundation
import Testing
@testable import Evaluate
import Models
import Store

/// The metrics over a model whose logits hold NaN (finite weights can still overflow; in-memory
/// weights are not checked as loaded ones are): every function returns, the undefined measures are
/// NaN, the argmax-based ones are still counted, and the reports write NaN as null, "–" or nothing.
@Suite("Metrics over NaN logits") struct NonFiniteMetricsTests {
    /// CompareTests' model with one parameter element set to `value`.
    static func model(seed: UInt64, setting name: String, index: Int = 0, to value: Float) throws -> GPT {
        let model = try CompareTests.model(seed: seed)
        let tensor = try #require(model.namedParameters().first { $0.name == name }?.tensor)
        tensor.data[index] = value
        return model
    }

    /// All logits NaN: ln_f's bias feeds every logit.
    static func allNaN() throws -> GPT { try model(seed: 1, setting: "transformer.ln_f.bias", to: .nan) }

    @Test("all logits NaN: loss, perplexity, bits/char and ECE are NaN; accuracy counts the argmax (token 0)")
    func allLogitsNaN() throws {
        let batches = try CompareTests.batches(), characters = [32, 32, 32]
        let zeros = Double(batches.reduce(0) { $0 + $1.targets.values.filter { $0 == 0 }.count })
        let positions = Double(batches.reduce(0) { $0 + $1.targets.count })
        for stepwise in [false, true] {
            let metrics = stepwise
                ? try QualityEvaluation.evaluateStepwise(model: Self.allNaN(), batches: batches, charactersPerBatch: characters)
                : try QualityEvaluation.evaluate(model: Self.allNaN(), teacher: nil, batches: batches, charactersPerBatch: characters)
            #expect(metrics.validationLoss.isNaN && metrics.perplexity.isNaN && metrics.bitsPerCharacter.isNaN, "stepwise \(stepwise)")
            #expect(metrics.expectedCalibrationError.isNaN)
            #expect(metrics.accuracy == zeros / positions)
        }
        // Against a teacher, and as the teacher: agreement counts argmaxes, KL is NaN.
        let healthy = try CompareTests.model(seed: 2)
        let student = try QualityEvaluation.evaluate(model: Self.allNaN(), teacher: healthy, batches: batches, charactersPerBatch: characters)
        #expect(student.klToTeacher?.isNaN == true)
        #expect((0 ... 1).contains(student.agreement ?? -1))
        let judged = try QualityEvaluation.evaluate(model: healthy, teacher: Self.allNaN(), batches: batches, charactersPerBatch: characters)
        #expect(judged.validationLoss.isFinite && judged.expectedCalibrationError.isFinite)
        #expect(judged.klToTeacher?.isNaN == true)
    }

    @Test("one NaN vocabulary entry: the loss is NaN, the argmax never picks it, ECE is NaN")
    func oneNaNColumn() throws {
        // wte row 5 (the head's row for token 5) NaN: logit 5 is NaN everywhere, every logit is NaN
        // after input token 5.
        let model = try Self.model(seed: 1, setting: "transformer.wte.weight", index: 5 * 8 + 3, to: .nan)
        let batches = try CompareTests.batches()
        let metrics = try QualityEvaluation.evaluate(model: model, teacher: nil, batches: batches, charactersPerBatch: [32, 32, 32])
        #expect(metrics.validationLoss.isNaN && metrics.expectedCalibrationError.isNaN)
        #expect((0 ... 1).contains(metrics.accuracy))
        let stepwise = try QualityEvaluation.evaluateStepwise(model: model, batches: batches, charactersPerBatch: [32, 32, 32])
        #expect(stepwise.validationLoss.isNaN && stepwise.expectedCalibrationError.isNaN && (0 ... 1).contains(stepwise.accuracy))
    }

    @Test("calibration: a NaN confidence makes ECE NaN; confidences 0 and 1 fall in the end bins")
    func calibration() {
        var calibration = Calibration()
        calibration.add(confidence: 1, correct: true)
        calibration.add(confidence: 0, correct: false)
        #expect(calibration.count[14] == 1 && calibration.count[0] == 1)
        #expect(calibration.error(positions: 2) == 0)
        calibration.add(confidence: .nan, correct: true)
        #expect(calibration.error(positions: 3).isNaN)
        #expect(Calibration().error(positions: 0).isNaN)
        // The partition function: NaN for a NaN logit, a +∞ maximum, or a row all −∞.
        func partition(_ z: [Float]) -> Double {
            z.withUnsafeBufferPointer { Calibration.partition($0.baseAddress!, count: z.count, maximum: z.filter { !$0.isNaN }.max() ?? .nan) }
        }
        #expect(partition([0, 0]) == 2)
        #expect(partition([1, .nan]).isNaN && partition([.infinity, 1]).isNaN && partition([-.infinity, -.infinity]).isNaN)
        #expect(partition([-.infinity, 3]) == 1)
    }

    @Test("speed and the judge run on a NaN model; zero speed runs still measure one")
    func speedAndJudge() throws {
        let batch = try CompareTests.batches()[0].inputs
        let speed = try SpeedEvaluation.measure(model: Self.allNaN(), batch: batch, newTokens: 4, runs: 0)
        #expect(speed.forwardTokensPerSecond > 0 && speed.generateTokensPerSecond > 0 && speed.latencyP95Milliseconds >= speed.latencyP50Milliseconds)
        let judged = try TeacherJudge.judge(model: Self.allNaN(), teacher: CompareTests.model(seed: 4), prompts: [[1, 2], [3]], newTokens: 5)
        #expect(judged.continuations == [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0]])
        #expect(judged.teacherPerplexity.isFinite)
        let nanJudge = try TeacherJudge.judge(model: CompareTests.model(seed: 3), teacher: Self.allNaN(), prompts: [[1, 2]], newTokens: 5)
        #expect(nanJudge.teacherPerplexity.isNaN && nanJudge.continuations[0].allSatisfy { (0 ..< 12).contains($0) })
    }

    static func row(loss: Double, bytes: Int = 400) -> ComparedModel {
        ComparedModel(name: "m", role: "student", format: "Q8_0", params: 100, nonzero_params: 100, bytes: bytes, load_s: 0.1,
                      peak_rss_mb: nil, val_loss: loss, perplexity: exp(loss), bits_per_char: loss / log(2), accuracy: 0.5,
                      agreement: 0.5, kl_to_teacher: loss, ece: .nan, forward_tok_s: .infinity, generate_tok_s: 100,
                      latency_p50_ms: 10, latency_p95_ms: 12, judge_ppl: .nan, distinct2: nil, continuations: nil)
    }

    @Test("reports: NaN and ∞ are null in results.json (read back as NaN), – in Markdown, nan/inf in CSV; SVGs skip them")
    func reports() throws {
        let result = Evaluate.ComparisonResult(models: [Self.row(loss: 2), Self.row(loss: .nan, bytes: 200)], prompts: nil,
                                      validation_tokens: 64, threads: 1)
        let data = try ComparisonTables.json(result)
        let models = try #require((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["models"] as? [[String: Any]])
        #expect(models[0]["val_loss"] as? Double == 2)
        #expect(models[1]["val_loss"] is NSNull && models[1]["perplexity"] is NSNull && models[1]["kl_to_teacher"] is NSNull)
        #expect(models[0]["ece"] is NSNull && models[0]["forward_tok_s"] is NSNull && models[0]["judge_ppl"] is NSNull)
        #expect(models[0]["peak_rss_mb"] == nil && models[0]["distinct2"] == nil)  // nil optionals are left out, as before
        let decoded = try JSONDecoder().decode(Evaluate.ComparisonResult.self, from: data)
        #expect(decoded.models[1].val_loss.isNaN && decoded.models[0].ece.isNaN && decoded.models[0].val_loss == 2)
        #expect(decoded.models[1].kl_to_teacher == nil && decoded.models[0].judge_ppl == nil)
        let markdown = ComparisonTables.markdown(result)
        #expect(!markdown.lowercased().contains("nan") && !markdown.contains("inf"))
        #expect(ComparisonTables.csv(result).contains(",nan,"))
        for svg in [ComparisonPlots.qualityVersusSize(result), ComparisonPlots.qualityVersusSparsity(result) ?? ""] {
            #expect(!svg.lowercased().contains("nan") && !svg.contains("inf"), "\(svg)")
        }
        let notebook = try Notebook.comparison(title: "t", result: result, plots: [], resultsCSV: "r.csv", logitFile: nil).json()
        #expect(try JSONSerialization.jsonObject(with: notebook) is [String: Any])
    }

    @Test("SVG plots: NaN, ∞ and beyond-1e300 points are left out; a lone huge value and a sub-ulp span render finite")
    func svgPlots() {
        let cases: [[(x: Double, y: Double)]] = [
            [(1, .nan), (.nan, 1), (.infinity, 2), (2, -.infinity), (3, 4)],
            [(1, 1e308), (2, -1e308), (3, 1)],
            [(1, 1e20)],
            [(1, 1e20), (2, 1e20.nextUp)],
            [(1e300, 1), (-1e300, 2)],
            [(.nan, .nan)],
        ]
        for (index, points) in cases.enumerated() {
            for logX in [false, true] {
                var plot = SVGPlot(title: "t", xLabel: "x", yLabel: "y", logX: logX)
                plot.paretoFront = true
                plot.series = [.init(name: "s", points: points, line: true, labels: points.map { _ in "p" })]
                let svg = plot.render()
                #expect(svg.hasSuffix("</svg>\n"))
                #expect(!svg.lowercased().contains("nan") && !svg.contains("inf"), "case \(index) logX \(logX)")
            }
        }
        #expect(SVGPlot(title: "", xLabel: "", yLabel: "").ticks(from: 1e20, to: 1e20.nextUp).count <= 50)
    }
}
