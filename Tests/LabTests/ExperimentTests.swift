import Foundation
import Testing
@testable import Lab

@Suite("Experiment files") struct ExperimentTests {
    static let valid = """
    name: quick
    tokenizer: char
    teacher: {preset: teacher-small, steps: 10}
    logits: {top_k: 8, train_sequences: 40}
    students:
      - {name: distilled, steps: 5, temperature: 2, alpha: 0.5}
      - {name: baseline, steps: 5, alpha: 0}
    prune:
      - {name: p50, from: distilled, sparsity: 0.5, gradual: {steps: 2, every: 2, finetune_steps: 6}}
    quantize:
      - {name: q8, from: p50, scheme: q8_0}
    compare: {validation_batches: 2}
    """

    @Test("a full experiment parses with every stage")
    func parses() throws {
        let e = try Experiment(yaml: Self.valid, source: "quick.yaml")
        #expect(e.name == "quick" && e.teacher.steps == 10 && e.logits?.topK == 8)
        #expect(e.students.map(\.name) == ["distilled", "baseline"] && e.students[1].alpha == 0)
        #expect(e.prune?.first?.gradual?.finetuneSteps == 6)
        #expect(e.quantize?.first?.from == "p50")
        #expect(Experiment.hash(e.students[0]) == Experiment.hash(e.students[0]))
        #expect(Experiment.hash(e.students[0]) != Experiment.hash(e.students[1]))
    }

    @Test("mistakes name the file, the line and the key", arguments: [
        ("name: q\nteacher: {preset: teacher-small, stepz: 3}\nstudents: []", "bad.yaml:2: unknown key \"stepz\" in teacher"),
        ("name: q\nteacher: {preset: teacher-small}\nstudents: [{name: a}]\nprune: [{name: p, from: nobody}]", "bad.yaml:4: prune \"p\" is from \"nobody\", which is not a student"),
        ("name: q\nteacher: {preset: teacher-small}\nstudents: [{name: a}, {name: a}]", "the stage name \"a\" is used twice"),
        ("name: q\nteacher: {}\nstudents: []", "bad.yaml:2: teacher needs a checkpoint or a preset"),
        ("name: q\nteacher: {preset: teacher-small, steps: many}\nstudents: []", "bad.yaml:2: teacher.steps has the wrong type"),
        ("teacher: {preset: teacher-small}\nstudents: []", "name is missing"),
        ("name: a/b\nteacher: {preset: teacher-small}\nstudents: []", "bad.yaml:1: name \"a/b\" cannot name the run"),
        ("name: q\nteacher: {preset: teacher-small}\nstudents:\n  - {name: a}\n  - {name: b, loss: kl}",
         "bad.yaml:5: students[1].loss: \"kl\" is not one of forward-kl"),
    ])
    func errors(yaml: String, expected: String) throws {
        let error = #expect(throws: LabError.self) { try Experiment(yaml: yaml, source: "bad.yaml") }
        #expect(error?.message.contains("bad.yaml") == true)
        #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
    }

    @Test("the shipped experiments parse")
    func shipped() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../experiments")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".yaml") && $0 != "teacher-small-char.yaml" }
        #expect(Set(files).isSuperset(of: ["shakespeare-quick.yaml", "shakespeare.yaml", "large-sparse-vs-small-dense.yaml"]))
        for file in files { _ = try Experiment(contentsOf: directory.appendingPathComponent(file)) }
    }
}
