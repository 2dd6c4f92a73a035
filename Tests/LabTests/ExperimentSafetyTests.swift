import Foundation
import Testing
@testable import Lab

/// Experiment files written carelessly or to do harm: names that would become paths outside runs/<name>/,
/// documents that expand without bound, and values out of range are refused when the file is read, naming
/// the line and the key.
@Suite("Experiment files that must be refused") struct ExperimentSafetyTests {
    static func yaml(student: String = "a", prune: String = "p", quantize: String = "q", extra: String = "") -> String {
        """
        name: x
        teacher: {preset: student-tiny}
        students:
          - {name: "\(student)"}
        prune:
          - {name: "\(prune)", from: "\(student)", sparsity: 0.5}
        quantize:
          - {name: "\(quantize)", from: "\(student)", scheme: q8_0}
        \(extra)
        """
    }

    @Test("stage names that are not one path component are refused", arguments: [
        "..", "../..", ".", "", "a/b", "../x", ".stages", "/etc", String(repeating: "n", count: 129), "é", "a b",
    ])
    func names(name: String) throws {
        for (yaml, line) in [(Self.yaml(student: name), 4), (Self.yaml(prune: name), 6), (Self.yaml(quantize: name), 8)] {
            let error = #expect(throws: LabError.self) { try Experiment(yaml: yaml, source: "bad.yaml") }
            #expect(error?.message.hasPrefix("bad.yaml:\(line): the stage name") == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("cannot name its folder") == true)
        }
    }

    @Test("the longest accepted name, and names with dots inside, still parse")
    func acceptedNames() throws {
        let long = String(repeating: "n", count: 128)
        let e = try Experiment(yaml: Self.yaml(student: "v1.2_b-3", prune: long), source: "ok.yaml")
        #expect(e.students[0].name == "v1.2_b-3" && e.prune?[0].name == long)
    }

    @Test("a stage cannot take the runner's own folder names")
    func reservedNames() throws {
        for name in ["teacher", "logits"] {
            let error = #expect(throws: LabError.self) { try Experiment(yaml: Self.yaml(student: name), source: "bad.yaml") }
            #expect(error?.message.contains("used twice") == true, "\(error?.message ?? "")")
        }
        let clash = Self.yaml(student: "p-finetune").replacingOccurrences(of: "sparsity: 0.5}", with:
            "sparsity: 0.5, gradual: {steps: 2, every: 2}}")
        let error = #expect(throws: LabError.self) { try Experiment(yaml: clash, source: "bad.yaml") }
        #expect(error?.message.contains("fine-tunes in p-finetune") == true, "\(error?.message ?? "")")
    }

    @Test("an alias bomb is refused quickly, before any key is read")
    func aliasBomb() throws {
        // Nine levels of nine aliases: 9⁹ ≈ 3.9·10⁸ nodes from a few hundred bytes.
        var lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
        for level in 1 ... 9 {
            let previous = "*a\(level - 1)"
            lines.append("a\(level): &a\(level) [" + Array(repeating: previous, count: 9).joined(separator: ", ") + "]")
        }
        let bomb = lines.joined(separator: "\n") + "\nname: x\nteacher: {preset: student-tiny}\nstudents: *a9\n"
        let start = Date()
        let error = #expect(throws: LabError.self) { try Experiment(yaml: bomb, source: "bomb.yaml") }
        #expect(Date().timeIntervalSince(start) < 2)
        #expect(error?.message.contains("aliases") == true, "\(error?.message ?? "")")

        // Fewer alias uses than the bound, but each level doubling: stopped by the node count.
        var doubling = ["b0: &b0 [" + Array(repeating: "x", count: 64).joined(separator: ", ") + "]"]
        for level in 1 ... 30 { doubling.append("b\(level): &b\(level) [*b\(level - 1), *b\(level - 1)]") }
        let wide = doubling.prefix(16).joined(separator: "\n") + "\nname: x\nteacher: {preset: student-tiny}\nstudents: []\n"
        let expanded = #expect(throws: LabError.self) { try Experiment(yaml: wide, source: "wide.yaml") }
        #expect(expanded?.message.contains("once its aliases are expanded") == true, "\(expanded?.message ?? "")")
    }

    @Test("deep nesting and oversized files are refused without parsing them")
    func deepAndLarge() throws {
        let deep = "name: " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let error = #expect(throws: LabError.self) { try Experiment(yaml: deep, source: "deep.yaml") }
        #expect(error?.message.contains("nested deeper than") == true, "\(error?.message ?? "")")
        let compact = "name:\n" + String(repeating: "- ", count: 50_000) + "x"
        #expect(throws: LabError.self) { try Experiment(yaml: compact, source: "deep.yaml") }
        let large = String(repeating: "# a comment line\n", count: 70_000)
        let big = #expect(throws: LabError.self) { try Experiment(yaml: large, source: "big.yaml") }
        #expect(big?.message.contains("bytes; a YAML file here is at most") == true)
        // A quote inside a plain scalar does not hide what follows from the scan.
        let hidden = "name: don't\nx: " + String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        let scanned = #expect(throws: LabError.self) { try Experiment(yaml: hidden, source: "hidden.yaml") }
        #expect(scanned?.message.contains("nested deeper than") == true, "\(scanned?.message ?? "")")
    }

    @Test("values out of range are errors at the line of the key, not silent clamps", arguments: [
        ("logits: {top_k: 0}", "bad.yaml:9: logits.top_k is 0; expected at least 1"),
        ("logits: {dtype: f64}", "bad.yaml:9: logits.dtype: \"f64\" is not one of f16, f32"),
        ("logits: {top_k: 8, full: true}", "top_k and full: true exclude each other"),
        ("compare: {validation_batches: -1}", "compare.validation_batches is -1"),
    ])
    func ranges(extra: String, expected: String) throws {
        let error = #expect(throws: LabError.self) { try Experiment(yaml: Self.yaml(extra: extra), source: "bad.yaml") }
        #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
    }

    @Test("stage settings out of range", arguments: [
        ("{name: \"a\"}", "{name: \"a\", alpha: 2}", "students[0].alpha is 2.0; expected a number in [0.0, 1.0]"),
        ("{name: \"a\"}", "{name: \"a\", temperature: 0}", "students[0].temperature is 0.0"),
        ("{name: \"a\"}", "{name: \"a\", steps: 0}", "students[0].steps is 0"),
        ("{name: \"a\"}", "{name: \"a\", preset: huge}", "students[0].preset: \"huge\" is not one of"),
        ("sparsity: 0.5}", "sparsity: 1.0}", "prune[0].sparsity is 1.0; expected a fraction in [0, 1)"),
        ("sparsity: 0.5}", "sparsity: 0.5, method: random}", "prune[0].method: \"random\" is not one of"),
        ("sparsity: 0.5}", "sparsity: 0.5, scope: everything}", "prune[0].scope: \"everything\" is not one of"),
        ("sparsity: 0.5}", "sparsity: 0.5, gradual: {steps: 0, every: 2}}", "prune[0].gradual.steps is 0"),
        ("scheme: q8_0}", "scheme: q3_k}", "unknown quantization scheme \"q3_k\""),
        ("teacher: {preset: student-tiny}", "teacher: {preset: student-tiny, steps: 0}", "bad.yaml:2: teacher.steps is 0"),
    ])
    func stageRanges(original: String, replacement: String, expected: String) throws {
        let yaml = Self.yaml().replacingOccurrences(of: original, with: replacement)
        #expect(yaml != Self.yaml())
        let error = #expect(throws: LabError.self) { try Experiment(yaml: yaml, source: "bad.yaml") }
        #expect(error?.message.hasPrefix("bad.yaml:") == true)
        #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
    }

    @Test("unknown keys are found at any depth, with their line")
    func unknownKeys() throws {
        let yaml = Self.yaml().replacingOccurrences(of: "sparsity: 0.5}", with: "sparsity: 0.5, gradual: {steps: 2, every: 2, finetune_stepz: 3}}")
        let error = #expect(throws: LabError.self) { try Experiment(yaml: yaml, source: "bad.yaml") }
        #expect(error?.message == "bad.yaml:6: unknown key \"finetune_stepz\" in prune[0].gradual")
        // A typo in a required key is reported as that key missing, with the keys that are there.
        let typo = Self.yaml().replacingOccurrences(of: "sparsity: 0.5}", with: "sparsity: 0.5, gradual: {steps: 2, evry: 2}}")
        let missing = #expect(throws: LabError.self) { try Experiment(yaml: typo, source: "bad.yaml") }
        #expect(missing?.message == "bad.yaml:6: prune[0].gradual.every is missing (found: steps, evry)")
        let top = #expect(throws: LabError.self) { try Experiment(yaml: Self.yaml(extra: "comapre: {}"), source: "bad.yaml") }
        #expect(top?.message == "bad.yaml:9: unknown key \"comapre\" in the top level")
        // A key given as null says the same as leaving it out.
        let e = try Experiment(yaml: Self.yaml(extra: "compare: {judge_tokens: ~}"), source: "ok.yaml")
        #expect(e.compare?.judgeTokens == nil)
    }
}

@Suite("Experiment files with odd YAML") struct ExperimentOddYAMLTests {
    @Test("keys that are lists, mappings or numbers are errors, not traps", arguments: [
        "name: x\n? [a]\n: 1\nteacher: {preset: student-tiny}\nstudents: []",
        "name: x\n? {a: 1}\n: 2\nteacher: {preset: student-tiny}\nstudents: []",
        "name: x\nteacher: {preset: student-tiny, ? [s] : 3}\nstudents: []",
        "name: x\nteacher: {preset: student-tiny}\nstudents: [{? {n: 1} : 2, name: a}]",
        "name: x\n12: 1\nteacher: {preset: student-tiny}\nstudents: []",
        "name: x\nteacher:\n  ?  preset: student-tiny\nstudents: []",
    ])
    func oddKeys(yaml: String) throws {
        let error = #expect(throws: LabError.self) { try Experiment(yaml: yaml, source: "odd.yaml") }
        #expect(error?.message.hasPrefix("odd.yaml") == true, "\(error?.message ?? "")")
    }

    @Test("the fuzzer's input: a mutated shipped experiment is an error")
    func fuzzed() throws {
        let yaml = "name: x\nlogits:\n  top_k: 32\n?  dtype: f16\nteacher: {preset: student-tiny}\nstudents: []\n"
        #expect(throws: LabError.self) { try Experiment(yaml: yaml, source: "odd.yaml") }
    }
}

@Suite("Experiment files with YAML 1.1 numbers") struct ExperimentBase60Tests {
    @Test("a base-60 integer is refused before Yams computes it (an overflowing one trapped there)",
          arguments: ["-999999999999999999:9", "190:20:30", "1:2"])
    func base60(value: String) throws {
        let yaml = "name: x\nteacher: {preset: student-tiny, steps: \(value)}\nstudents: []\n"
        let error = #expect(throws: LabError.self) { try Experiment(yaml: yaml, source: "b.yaml") }
        #expect(error?.message.hasPrefix("b.yaml:2: \"\(value)\" is a base-60 integer") == true, "\(error?.message ?? "")")
        let quoted = "name: x\nteacher: {preset: student-tiny}\nstudents: [{name: \"\(value.replacingOccurrences(of: ":", with: "-"))\"}]\n"
        #expect(throws: Never.self) { try Experiment(yaml: quoted, source: "b.yaml") }
    }
}
