import Foundation
import Models
import Store
import Testing
import Tokenizers
@testable import Lab

/// `inspect` describes any checkpoint but must say when one will not load, from headers alone.
@Suite("Checkpoint inspection") struct CheckpointInspectionTests {
    static func checkpoint(_ edit: (inout [String: Any]) -> Void) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("inspect-\(UUID().uuidString)")
        let tokenizer = CharTokenizer(corpus: "abcdefgh")
        let config = try GPTConfig.preset("student-tiny", vocabularySize: tokenizer.vocabularySize)
        try Checkpoint.save(module: try GPT(config: config, seed: 1), config: config, tokenizer: tokenizer,
                            info: CheckpointInfo(name: "t", role: "student", corpus: "c"), to: directory)
        let url = directory.appendingPathComponent(Checkpoint.configFileName)
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        edit(&json)
        try JSONSerialization.data(withJSONObject: json).write(to: url)
        return directory
    }

    @Test("a loadable checkpoint has no problem; an invalid config or weights that do not fit it have one")
    func problems() throws {
        let cases: [(String, (inout [String: Any]) -> Void, String?)] = [
            ("intact", { _ in }, nil),
            ("n_head 0", { $0["n_head"] = 0 }, "n_head must be at least 1"),
            ("1.5e9 parameters", { $0["n_layer"] = 96; $0["n_embd"] = 1152; $0["n_head"] = 12 }, "do not fit together"),
        ]
        for (label, edit, expected) in cases {
            let directory = try Self.checkpoint(edit)
            defer { try? FileManager.default.removeItem(at: directory) }
            let start = Date()
            let problem = CheckpointInspection.loadProblem(directory)
            #expect(Date().timeIntervalSince(start) < 1, "\(label)")
            if let expected {
                #expect(problem?.contains(expected) == true, "\(label): \(problem ?? "nil")")
            } else {
                #expect(problem == nil, "\(label): \(problem ?? "")")
            }
        }
    }
}
