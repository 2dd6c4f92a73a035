import Foundation
import Store
import Testing
@testable import Lab

/// The runner end to end on a tiny experiment over a small prepared corpus: every stage runs, a second run
/// skips them all, and a folder the runner did not make is never deleted.
@Suite("Experiment runner", .serialized) struct ExperimentRunnerTests {
    static let experiment = """
    name: tiny
    tokenizer: char
    teacher: {preset: student-tiny, steps: 4, eval_every: 4}
    logits: {top_k: 8, train_sequences: 32, val_sequences: 16}
    students:
      - {name: distilled, preset: student-tiny, steps: 4, eval_every: 4, temperature: 2, alpha: 0.5}
    quantize:
      - {name: q8, from: distilled, scheme: q8_0}
    compare: {validation_batches: 1, judge_tokens: 4}
    """

    /// A folder with data/shakespeare prepared as `alambique data fetch` leaves it (manifest and both splits),
    /// holding the start of a sonnet (and the judge's prompts) many times over instead of the 5 MB corpus.
    static func workspace() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("runner-\(UUID().uuidString)")
        let folder = ShakespeareCorpus.directory(in: root.appendingPathComponent("data"))
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let sonnet = """
        Shall I compare thee to a summer's day?
        Thou art more lovely and more temperate:
        Rough winds do shake the darling buds of May,
        And summer's lease hath all too short a date;
        Enter HAMLET. KING HENRY: Now, lords, ROMEO: O, what a First Citizen: We are LADY MACBETH: The

        """
        let train = String(repeating: sonnet, count: 100), validation = String(repeating: sonnet, count: 20)
        func record(_ name: String, _ text: String) throws -> [String: Any] {
            let data = Data(text.utf8)
            try data.write(to: folder.appendingPathComponent(name))
            return ["file": name, "characters": text.unicodeScalars.count, "bytes": data.count, "sha256": ""]
        }
        let manifest: [String: Any] = [
            "source": "test", "works": ["sonnet"], "character_count": train.count + validation.count,
            "distinct_character_count": Set(train + validation).count,
            "train": try record("train.txt", train), "validation": try record("val.txt", validation),
        ]
        try JSONSerialization.data(withJSONObject: manifest)
            .write(to: folder.appendingPathComponent(ShakespeareCorpus.manifestFileName))
        return root
    }

    static func runner(in root: URL) throws -> ExperimentRunner {
        ExperimentRunner(experiment: try Experiment(yaml: experiment, source: "tiny.yaml"), root: root,
                         data: root.appendingPathComponent("data").path)
    }

    /// A few minutes in a debug build (the comparison times generation), so it runs in `make check-slow`.
    @Test("every stage runs, and a second run skips every finished stage",
          .enabled(if: ProcessInfo.processInfo.environment["ALAMBIQUE_SLOW_TESTS"] != nil))
    func runsAndSkips() throws {
        let root = try Self.workspace()
        defer { try? FileManager.default.removeItem(at: root) }
        let result = try Self.runner(in: root).run { _ in }
        #expect(result.models.count == 3)
        #expect(result.models.allSatisfy { $0.val_loss.isFinite && $0.val_loss > 0 })
        let report = root.appendingPathComponent("reports/tiny/report.md")
        #expect(FileManager.default.fileExists(atPath: report.path))
        var messages: [String] = []
        _ = try Self.runner(in: root).run { messages.append($0) }
        #expect(messages.filter { $0.hasPrefix("done before") }.count == 4, "\(messages)")
    }

    @Test("a second run of the same experiment stops at once, naming the first")
    func secondRunStops() throws {
        let root = try Self.workspace()
        defer { try? FileManager.default.removeItem(at: root) }
        let runner = try Self.runner(in: root)
        let first = try OutputLock(for: runner.runDirectory, command: "the first run")
        let error = #expect(throws: OutputLockError.self) { try runner.run { _ in } }
        #expect(error?.description.contains("the first run") == true, "\(String(describing: error))")
        withExtendedLifetime(first) {}
        #expect(!FileManager.default.fileExists(atPath: runner.runDirectory.appendingPathComponent("teacher").path))
    }

    @Test("a folder under a stage's name that the runner did not make is kept, and the run stops")
    func keepsForeignFolders() throws {
        let root = try Self.workspace()
        defer { try? FileManager.default.removeItem(at: root) }
        let foreign = root.appendingPathComponent("runs/tiny/teacher")
        try FileManager.default.createDirectory(at: foreign, withIntermediateDirectories: true)
        let notes = foreign.appendingPathComponent("notes.txt")
        try Data("mine".utf8).write(to: notes)
        let error = #expect(throws: LabError.self) { try Self.runner(in: root).run { _ in } }
        #expect(error?.message.contains("did not make it") == true, "\(error?.message ?? "")")
        #expect((try? String(contentsOf: notes, encoding: .utf8)) == "mine")
    }
}
