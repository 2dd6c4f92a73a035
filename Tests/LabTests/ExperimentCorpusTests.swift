import Foundation
import Store
import Testing
@testable import Lab

@Suite("Experiment corpus key") struct ExperimentCorpusTests {
    static func experiment(_ corpus: String) -> String {
        "name: q\n\(corpus)\nteacher: {preset: teacher-small, steps: 2}\nstudents: []"
    }

    @Test func aSpecStringOrAMappingSelectsTheCorpus() throws {
        let plain = try Experiment(yaml: Self.experiment("corpus: data/texts.jsonl.gz"), source: "e.yaml")
        #expect(plain.corpus == .spec("data/texts.jsonl.gz"))
        let selection = try plain.corpus!.selection(dataDirectory: "d")
        #expect(selection.spec == .jsonl("data/texts.jsonl.gz", compressed: true) && selection.dataDirectory == "d")
        #expect(selection.options == CorpusOptions() && selection.name == "texts")

        let yaml = Self.experiment("corpus: {path: my/folder, text_field: body, val: held.txt, val_fraction: 0.05, on_invalid: replace}")
        let detailed = try Experiment(yaml: yaml, source: "e.yaml")
        let options = try detailed.corpus!.selection(dataDirectory: "data").options
        #expect(options == CorpusOptions(textField: "body", onInvalid: .replace, validation: .textFile("held.txt"),
                                         validationFraction: 0.05))
        #expect(try Experiment(yaml: Self.experiment(""), source: "e.yaml").corpus == nil)
    }

    @Test("corpus mistakes name the line and the key", arguments: [
        ("corpus: {path: a.txt, txt_field: body}", "e.yaml:2: unknown key \"txt_field\" in corpus"),
        ("corpus: {text_field: body}", "corpus.path is missing"),
        ("corpus: {path: a.txt, val_fraction: 1.5}", "e.yaml:2: corpus.val_fraction is 1.5; expected a fraction in (0, 1)"),
        ("corpus: {path: a.txt, on_invalid: skip}", "\"skip\" is not one of error, replace"),
    ])
    func mistakes(yaml: String, message: String) {
        #expect {
            _ = try Experiment(yaml: Self.experiment(yaml), source: "e.yaml")
        } throws: { error in
            String(describing: error).contains(message)
        }
    }
}
