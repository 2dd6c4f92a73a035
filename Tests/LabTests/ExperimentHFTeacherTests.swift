import Foundation
import Models
import Store
import Testing
@testable import Lab

/// An experiment whose teacher is a checkpoint saved by Hugging Face transformers, over a JSONL corpus:
/// the shipped example parses, the teacher's tokenizer is the students' (a `tokenizer:` beside a teacher
/// checkpoint is refused), and the whole lab runs on the tiny transformers fixture.
@Suite("Experiment with a transformers teacher", .serialized) struct ExperimentHFTeacherTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..")
    static let teacher = repository.appendingPathComponent("Tests/Fixtures/hf-gpt2-tiny").standardizedFileURL

    @Test("experiments/your-model.yaml parses: a transformers teacher, a JSONL corpus, windows of 256")
    func shippedExample() throws {
        let e = try Experiment(contentsOf: Self.repository.appendingPathComponent("experiments/your-model.yaml"))
        #expect(e.teacher.checkpoint == "checkpoints/your-gpt2" && e.tokenizer == nil)
        #expect(e.logits?.context == 256)
        let selection = try #require(try e.corpus?.selection(dataDirectory: "data"))
        #expect(selection.spec == .jsonl("data/your-text.jsonl", compressed: false))
        #expect(selection.options.validationFraction == 0.05)
    }

    @Test("a tokenizer beside a teacher checkpoint, and a logits.context below 1, are errors at their line")
    func mistakes() {
        let both = "name: x\ntokenizer: char\nteacher: {checkpoint: t}\nstudents: []"
        #expect { _ = try Experiment(yaml: both, source: "e.yaml") } throws: {
            String(describing: $0).contains("e.yaml:2: a teacher checkpoint brings its own tokenizer")
        }
        let context = "name: x\nteacher: {checkpoint: t}\nlogits: {context: 0}\nstudents: []"
        #expect { _ = try Experiment(yaml: context, source: "e.yaml") } throws: {
            String(describing: $0).contains("e.yaml:3") && String(describing: $0).contains("context")
        }
    }

    /// A few minutes in a debug build, so it runs in `make check-slow` with the runner's other end-to-end test.
    @Test("the lab runs end to end from the transformers fixture on a JSONL corpus",
          .enabled(if: ProcessInfo.processInfo.environment["ALAMBIQUE_SLOW_TESTS"] != nil))
    func runsFromATransformersTeacher() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("hf-runner-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let lines = (0 ..< 400).map { i in
            "{\"id\": \(i), \"text\": \"Shall I compare thee to a summer's day? Line \(i) of the test corpus.\"}"
        }
        try Data(lines.joined(separator: "\n").utf8).write(to: root.appendingPathComponent("text.jsonl"))
        let yaml = """
        name: hf-tiny
        corpus: {path: \(root.path)/text.jsonl, val_fraction: 0.1}
        teacher: {checkpoint: \(Self.teacher.path)}
        logits: {context: 32, top_k: 8, train_sequences: 32, val_sequences: 16}
        students:
          - {name: distilled, preset: student-tiny, steps: 4, eval_every: 4, temperature: 2, alpha: 0.5}
        quantize:
          - {name: q8, from: distilled, scheme: q8_0}
        compare: {validation_batches: 1, judge_tokens: 4}
        """
        let runner = ExperimentRunner(experiment: try Experiment(yaml: yaml, source: "hf-tiny.yaml"), root: root,
                                      data: root.appendingPathComponent("data").path)
        let result = try runner.run { _ in }
        #expect(result.models.count == 3)
        #expect(result.models.allSatisfy { $0.val_loss.isFinite && $0.val_loss > 0 })
        let student = try Checkpoint.readConfig(GPTConfig.self, from: root.appendingPathComponent("runs/hf-tiny/distilled"))
        #expect(student.vocabularySize == 300, "the student takes the teacher's vocabulary")
    }
}
