// Replays the experiment fuzzer's saved inputs (FuzzRegressions/experiment/) through
// `Experiment(yaml:source:)`, as the harness in Sources/AlambiqueFuzz does: `seed-*` files must
// parse; every other file once crashed or hung the reader and must now throw. None may trap.

import Foundation
import Testing
@testable import Lab

@Suite("Fuzz regressions (experiment YAML)") struct ExperimentFuzzRegressionTests {
    /// Yams traps when it builds a dictionary with a key that is not a string, and when a base-60 integer
    /// overflows; the reader refuses both before anything is constructed.
    @Test func documentsYamsTrapsOnAreErrors() {
        let documents = [("[a]: 1\n", "a key must be a plain name, found a sequence"),
                         ("? {a: 1}\n: 2\n", "a key must be a plain name, found a mapping"),
                         ("name: x\nteacher: {preset: p, [k]: 1}\nstudents: []\n", "found a sequence"),
                         ("name: x\nteacher: {steps: -999999999999999999:9}\n", "is a base-60 integer (YAML 1.1)")]
        for (yaml, expected) in documents {
            let error = #expect(throws: LabError.self) { try Experiment(yaml: yaml, source: "bad.yaml") }
            #expect(error?.message.hasPrefix("bad.yaml:") == true)
            #expect(error?.message.contains(expected) == true, "\(error.map { "\($0)" } ?? "")")
        }
    }

    @Test(.timeLimit(.minutes(1))) func experimentInputsParseOrThrow() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("FuzzRegressions/experiment")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { !$0.hasPrefix(".") }.sorted()
        #expect(names.contains { $0.hasPrefix("seed-") })
        for name in names {
            let text = String(decoding: try Data(contentsOf: folder.appendingPathComponent(name)), as: UTF8.self)
            if name.hasPrefix("seed-") {
                #expect(throws: Never.self, "\(name)") { try Experiment(yaml: text, source: name) }
            } else {
                #expect(throws: (any Error).self, "\(name)") { try Experiment(yaml: text, source: name) }
            }
        }
    }
}
