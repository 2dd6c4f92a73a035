// An experiment file (experiments/<name>.yaml): data, tokenizer, teacher, logit export, students
// (distilled and baseline), pruning and quantization variants, and the comparison — the whole lab
// in one description. Unknown keys and out-of-range values are errors naming the file, the line and the key.
//
//     name: shakespeare-quick
//     corpus: shakespeare                                   # or a file, a folder, {path: …, text_field: …}
//     tokenizer: char
//     teacher: {preset: teacher-small, steps: 300}          # or {checkpoint: checkpoints/…}
//     logits: {top_k: 32, dtype: f16, train_sequences: 2000, val_sequences: 400}
//     students:
//       - {name: distilled, preset: student-tiny, steps: 300, temperature: 2, alpha: 0.5}
//       - {name: baseline, preset: student-tiny, steps: 300, alpha: 0}
//     prune:
//       - {name: pruned-50, from: distilled, sparsity: 0.5, gradual: {steps: 5, every: 20, finetune_steps: 150}}
//     quantize:
//       - {name: q8, from: distilled, scheme: q8_0}
//     compare: {validation_batches: 20, judge_tokens: 48}

import Compress
import Distill
import Foundation
import Models
import Store
import Tokenizers
import Yams

public struct Experiment: Codable, Equatable, Sendable {
    public struct Teacher: Codable, Equatable, Sendable {
        /// A trained checkpoint to use instead of training one.
        public var checkpoint: String?
        public var preset: String?
        public var steps: Int?
        public var evalEvery: Int?
        public var seed: UInt64?
        enum CodingKeys: String, CodingKey { case checkpoint, preset, steps, evalEvery = "eval_every", seed }
    }
    public struct Logits: Codable, Equatable, Sendable {
        public var topK: Int?
        public var full: Bool?
        public var dtype: String?
        /// Export only the first N windows of each split (nil: all).
        public var trainSequences: Int?
        public var valSequences: Int?
        /// Positions per stored window (nil: the teacher's context); students' contexts must fit it.
        public var context: Int?
        enum CodingKeys: String, CodingKey {
            case topK = "top_k", full, dtype, trainSequences = "train_sequences", valSequences = "val_sequences"
            case context
        }
    }
    public struct Student: Codable, Equatable, Sendable {
        public var name: String
        public var preset: String?
        public var steps: Int?
        public var temperature: Float?
        public var alpha: Float?
        public var loss: String?
        public var seed: UInt64?
        public var evalEvery: Int?
        enum CodingKeys: String, CodingKey { case name, preset, steps, temperature, alpha, loss, seed, evalEvery = "eval_every" }
    }
    public struct Gradual: Codable, Equatable, Sendable {
        public var steps: Int
        public var every: Int
        public var finetuneSteps: Int?
        public var learningRate: Float?
        enum CodingKeys: String, CodingKey { case steps, every, finetuneSteps = "finetune_steps", learningRate = "learning_rate" }
    }
    public struct Prune: Codable, Equatable, Sendable {
        public var name: String
        /// A student's name.
        public var from: String
        /// unstructured (default), nm, structured.
        public var method: String?
        public var sparsity: Double?
        public var scope: String?
        /// One shot when absent.
        public var gradual: Gradual?
        enum CodingKeys: String, CodingKey { case name, from, method, sparsity, scope, gradual }
    }
    public struct Quantize: Codable, Equatable, Sendable {
        public var name: String
        /// A student's or pruned model's name, or "teacher".
        public var from: String
        public var scheme: String
        public var granularity: String?
        enum CodingKeys: String, CodingKey { case name, from, scheme, granularity }
    }
    public struct Compare: Codable, Equatable, Sendable {
        public var validationBatches: Int?
        public var judgeTokens: Int?
        enum CodingKeys: String, CodingKey { case validationBatches = "validation_batches", judgeTokens = "judge_tokens" }
    }

    public var name: String
    /// The built-in Shakespeare corpus when absent.
    public var corpus: Corpus?
    public var tokenizer: String?
    public var teacher: Teacher
    public var logits: Logits?
    public var students: [Student]
    public var prune: [Prune]?
    public var quantize: [Quantize]?
    public var compare: Compare?

    enum CodingKeys: String, CodingKey {
        case name, corpus, tokenizer, teacher, logits, students, prune, quantize, compare
    }

    /// Reads and checks an experiment file.
    /// - Throws: `LabError` naming the file, the line and the key (unknown, wrong type, missing, out of range, or a
    ///   reference to no stage), or a bound the document breaks (size, nesting, aliases).
    public init(contentsOf url: URL) throws {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw LabError("\(url.path): cannot read the experiment file (\(FileErrorReason.describe(error)))")
        }
        try self.init(yaml: text, source: url.path)
    }

    public init(yaml: String, source: String) throws {
        let document = try YAMLDocument(yaml: yaml, source: source, expected: "name, teacher, students, …")
        self = try document.decode(Experiment.self)
        try validate(at: document.locate)
    }

    /// Every value is in range, names are single path components and unique, and every `from` refers to an
    /// earlier stage. `locate` turns a key path into "file:line".
    func validate(at locate: ([PathStep]) -> String) throws {
        func fail(_ path: [PathStep], _ message: String) -> LabError { LabError("\(locate(path)): \(message)") }
        if let problem = PathComponent.problem(with: name) {
            throw fail(["name"], "name \(Excerpt.quote(name)) cannot name the run and report folders: \(problem)")
        }
        try corpus?.validate(fail)
        guard teacher.checkpoint != nil || teacher.preset != nil else {
            throw fail(["teacher"], "teacher needs a checkpoint or a preset to train")
        }
        try Self.check(teacher.preset, in: GPTConfig.presetNames, ["teacher", "preset"], fail)
        try Self.atLeastOne(["steps": teacher.steps, "eval_every": teacher.evalEvery], under: ["teacher"], fail)
        if teacher.checkpoint != nil, tokenizer != nil {
            throw fail(["tokenizer"], "a teacher checkpoint brings its own tokenizer, which its students share; "
                + "remove tokenizer:")
        }
        if let logits {
            try Self.check(logits.dtype, in: LogitsDType.allCases.map(\.rawValue), ["logits", "dtype"], fail)
            try Self.atLeastOne(["top_k": logits.topK, "train_sequences": logits.trainSequences,
                                 "val_sequences": logits.valSequences, "context": logits.context],
                                under: ["logits"], fail)
            if logits.full == true, logits.topK != nil {
                throw fail(["logits", "top_k"], "logits: top_k and full: true exclude each other")
            }
        }
        var known: Set<String> = ["teacher", "logits"]
        let stages: [(String, [PathStep])] = students.indices.map { (students[$0].name, ["students", .index($0), "name"]) }
            + (prune ?? []).indices.map { (prune![$0].name, ["prune", .index($0), "name"]) }
            + (quantize ?? []).indices.map { (quantize![$0].name, ["quantize", .index($0), "name"]) }
        for (stage, path) in stages {
            if let problem = PathComponent.problem(with: stage) {
                throw fail(path, "the stage name \(Excerpt.quote(stage)) cannot name its folder: \(problem)")
            }
            guard known.insert(stage).inserted else {
                throw fail(path, "the stage name \"\(stage)\" is used twice (teacher and logits are the runner's own)")
            }
        }
        for (index, student) in students.enumerated() { try student.validate(at: ["students", .index(index)], fail) }
        let studentNames = Set(students.map(\.name))
        for (index, p) in (prune ?? []).enumerated() {
            guard studentNames.contains(p.from) else {
                throw fail(["prune", .index(index), "from"], "prune \"\(p.name)\" is from \"\(p.from)\", which is not a student "
                    + "(\(studentNames.sorted().joined(separator: ", ")))")
            }
            if p.gradual != nil, known.contains(p.name + "-finetune") {
                throw fail(["prune", .index(index), "name"], "prune \"\(p.name)\" fine-tunes in \(p.name)-finetune, a stage's name")
            }
            try p.validate(at: ["prune", .index(index)], fail)
        }
        let quantizable = known.subtracting((quantize ?? []).map(\.name) + ["logits"])
        for (index, q) in (quantize ?? []).enumerated() {
            guard quantizable.contains(q.from) else {
                throw fail(["quantize", .index(index), "from"], "quantize \"\(q.name)\" is from \"\(q.from)\", "
                    + "which is not the teacher, a student or a pruned model")
            }
            try q.validate(at: ["quantize", .index(index)], fail)
        }
        try Self.atLeastOne(["validation_batches": compare?.validationBatches, "judge_tokens": compare?.judgeTokens],
                            under: ["compare"], fail)
    }

    typealias Failure = ([PathStep], String) -> LabError

    /// `value`, when given, is one of `choices`.
    static func check(_ value: String?, in choices: [String], _ path: [PathStep], _ fail: Failure) throws {
        guard let value, !choices.contains(value) else { return }
        throw fail(path, "\(PathStep.label(path)): \(Excerpt.quote(value)) is not one of "
            + choices.joined(separator: ", "))
    }

    /// Counts that are given are at least 1.
    static func atLeastOne(_ values: [String: Int?], under path: [PathStep], _ fail: Failure) throws {
        for (key, value) in values.sorted(by: { $0.key < $1.key }) {
            guard let value = value ?? nil, value < 1 else { continue }
            throw fail(path + [.key(key)], "\(PathStep.label(path + [.key(key)])) is \(value); "
                + "expected at least 1")
        }
    }

    /// A real number that is given lies in `range`.
    static func check<T: BinaryFloatingPoint>(_ value: T?, in range: ClosedRange<T>, open: Bool = false,
                                              _ path: [PathStep], _ fail: Failure) throws {
        guard let value else { return }
        let inside = range.contains(value) && !(open && value == range.lowerBound)
        guard !inside else { return }
        let bounds = open ? "(\(range.lowerBound), \(range.upperBound)]" : "[\(range.lowerBound), \(range.upperBound)]"
        throw fail(path, "\(PathStep.label(path)) is \(value); expected a number in \(bounds)")
    }

    /// A stable hash of one stage's settings (plus those it depends on), for skipping finished stages.
    public static func hash<T: Encodable>(_ values: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return sha256Hex([UInt8]((try? encoder.encode(values)) ?? Data()))
    }
}
