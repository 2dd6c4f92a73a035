// An experiment file (experiments/<name>.yaml): data, tokenizer, teacher, logit export, students
// (distilled and baseline), pruning and quantization variants, and the comparison — the whole lab
// in one description. Unknown keys are errors naming the key and the file.
//
//     name: shakespeare-quick
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

import Foundation
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
        enum CodingKeys: String, CodingKey, CaseIterable { case checkpoint, preset, steps, evalEvery = "eval_every", seed }
    }
    public struct Logits: Codable, Equatable, Sendable {
        public var topK: Int?
        public var full: Bool?
        public var dtype: String?
        /// Export only the first N windows of each split (nil: all).
        public var trainSequences: Int?
        public var valSequences: Int?
        enum CodingKeys: String, CodingKey, CaseIterable {
            case topK = "top_k", full, dtype, trainSequences = "train_sequences", valSequences = "val_sequences"
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
        enum CodingKeys: String, CodingKey, CaseIterable { case name, preset, steps, temperature, alpha, loss, seed, evalEvery = "eval_every" }
    }
    public struct Gradual: Codable, Equatable, Sendable {
        public var steps: Int
        public var every: Int
        public var finetuneSteps: Int?
        public var learningRate: Float?
        enum CodingKeys: String, CodingKey, CaseIterable { case steps, every, finetuneSteps = "finetune_steps", learningRate = "learning_rate" }
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
        enum CodingKeys: String, CodingKey, CaseIterable { case name, from, method, sparsity, scope, gradual }
    }
    public struct Quantize: Codable, Equatable, Sendable {
        public var name: String
        /// A student's or pruned model's name, or "teacher".
        public var from: String
        public var scheme: String
        public var granularity: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case name, from, scheme, granularity }
    }
    public struct Compare: Codable, Equatable, Sendable {
        public var validationBatches: Int?
        public var judgeTokens: Int?
        enum CodingKeys: String, CodingKey, CaseIterable { case validationBatches = "validation_batches", judgeTokens = "judge_tokens" }
    }

    public var name: String
    public var tokenizer: String?
    public var teacher: Teacher
    public var logits: Logits?
    public var students: [Student]
    public var prune: [Prune]?
    public var quantize: [Quantize]?
    public var compare: Compare?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, tokenizer, teacher, logits, students, prune, quantize, compare
    }

    /// Reads and checks an experiment file.
    /// - Throws: `LabError` naming the file and the key (unknown, wrong type, missing, or a reference to no stage).
    public init(contentsOf url: URL) throws {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw LabError("\(url.path): cannot read (\(error.localizedDescription))")
        }
        try self.init(yaml: text, source: url.path)
    }

    public init(yaml: String, source: String) throws {
        let object: Any?
        do {
            let node = try Yams.compose(yaml: yaml)
            if let node { try Self.rejectWhatYamsTrapsOn(node, source: source) }
            object = node?.any
        } catch let error as LabError {
            throw error
        } catch {
            throw LabError("\(source): not valid YAML (\(error))")
        }
        guard let root = object as? [String: Any] else { throw LabError("\(source): expected a mapping at the top") }
        // Errors name the line of the key they are about.
        func located(_ key: String, _ value: String? = nil) -> String {
            Self.line(of: key, value: value, in: yaml).map { "\(source):\($0)" } ?? source
        }
        try Self.rejectUnknown(root, Self.self, path: "", source: source, locate: located)
        do {
            let json = try JSONSerialization.data(withJSONObject: root)
            self = try JSONDecoder().decode(Experiment.self, from: json)
        } catch let DecodingError.keyNotFound(key, context) {
            let parent = context.codingPath.last(where: { $0.intValue == nil })?.stringValue
            throw LabError("\(parent.map { located($0) } ?? source): \((context.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: ".")) is missing")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.dataCorrupted(context) {
            let key = context.codingPath.last(where: { $0.intValue == nil })?.stringValue ?? ""
            throw LabError("\(located(key)): \(context.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type (\(context.debugDescription))")
        } catch let error as LabError {
            throw error
        } catch {
            throw LabError("\(source): \(error)")
        }
        try validate(source: source, locate: located)
    }

    /// Yams traps while constructing two things a document can hold: a mapping key that is not a string
    /// (`[a]: 1`, `? {a: 1}`) and a base-60 integer (YAML 1.1) that overflows (`-999999999999999999:9`).
    /// Both are refused on the composed document, before anything is constructed.
    static func rejectWhatYamsTrapsOn(_ node: Node, source: String) throws {
        func place(_ node: Node) -> String { node.mark.map { "\(source):\($0.line)" } ?? source }
        switch node {
        case .mapping(let mapping):
            for (key, value) in mapping {
                guard case .scalar = key else {
                    let kind = switch key {
                    case .mapping: "a mapping"
                    case .sequence: "a sequence"
                    default: "an alias"
                    }
                    throw LabError("\(place(key)): a key must be a plain name, found \(kind)")
                }
                try rejectWhatYamsTrapsOn(value, source: source)
            }
        case .sequence(let sequence):
            for item in sequence { try rejectWhatYamsTrapsOn(item, source: source) }
        case .scalar(let scalar):
            if node.tag.rawValue == Tag.Name.int.rawValue, scalar.string.contains(":") {
                throw LabError("\(place(node)): \"\(scalar.string.prefix(40))\" is a base-60 integer (YAML 1.1), which no "
                               + "experiment field takes; quote it if it is text")
            }
        case .alias:
            break
        }
    }

    /// The 1-based line where `key:` (followed by `value`, when given) first appears in `text`.
    static func line(of key: String, value: String?, in text: String) -> Int? {
        guard !key.isEmpty else { return nil }
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var search = line[...]
            while let range = search.range(of: key + ":") {
                let before = search[..<range.lowerBound].last
                let boundary = before == nil || before == " " || before == "{" || before == "," || before == "-" || before == "\t"
                let rest = search[range.upperBound...].drop { $0 == " " }
                if boundary, value.map({ rest.hasPrefix($0) }) ?? true { return index + 1 }
                search = search[range.upperBound...]
            }
        }
        return nil
    }

    /// Names are unique and every `from` refers to an earlier stage.
    func validate(source: String, locate: (String, String?) -> String = { _, _ in "" }) throws {
        func at(_ key: String, _ value: String? = nil) -> String { let l = locate(key, value); return l.isEmpty ? source : l }
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw LabError("\(at("name")): name \"\(name)\" must be letters, digits, - and _ (it names the run and report folders)")
        }
        guard teacher.checkpoint != nil || teacher.preset != nil else {
            throw LabError("\(at("teacher")): teacher needs a checkpoint or a preset to train")
        }
        var known: Set<String> = ["teacher"]
        for stage in students.map(\.name) + (prune ?? []).map(\.name) + (quantize ?? []).map(\.name) {
            guard known.insert(stage).inserted else { throw LabError("\(at("name", stage)): the stage name \"\(stage)\" is used twice") }
        }
        let studentNames = Set(students.map(\.name))
        for p in prune ?? [] where !studentNames.contains(p.from) {
            throw LabError("\(at("from", p.from)): prune \"\(p.name)\" is from \"\(p.from)\", which is not a student (\(studentNames.sorted().joined(separator: ", ")))")
        }
        let quantizable = known.subtracting((quantize ?? []).map(\.name))
        for q in quantize ?? [] where !quantizable.contains(q.from) {
            throw LabError("\(at("from", q.from)): quantize \"\(q.name)\" is from \"\(q.from)\", which is not the teacher, a student or a pruned model")
        }
    }

    /// Keys each level accepts (the CodingKeys), for clear errors on typos.
    static func rejectUnknown(_ root: [String: Any], _ type: Experiment.Type, path: String, source: String,
                              locate: (String, String?) -> String) throws {
        // Derived from the CodingKeys, never a second list kept in step by hand.
        func keys<K: CodingKey & CaseIterable>(_ type: K.Type) -> Set<String> { Set(K.allCases.map(\.stringValue)) }
        let allowed: [String: Set<String>] = [
            "": keys(Experiment.CodingKeys.self),
            "teacher": keys(Teacher.CodingKeys.self),
            "logits": keys(Logits.CodingKeys.self),
            "students": keys(Student.CodingKeys.self),
            "prune": keys(Prune.CodingKeys.self),
            "prune.gradual": keys(Gradual.CodingKeys.self),
            "quantize": keys(Quantize.CodingKeys.self),
            "compare": keys(Compare.CodingKeys.self),
        ]
        func check(_ mapping: [String: Any], _ level: String) throws {
            for key in mapping.keys where !(allowed[level] ?? []).contains(key) {
                let place = level.isEmpty ? "the top level" : level
                throw LabError("\(locate(key, nil)): unknown key \"\(key)\" in \(place) (known: \((allowed[level] ?? []).sorted().joined(separator: ", ")))")
            }
        }
        try check(root, "")
        for key in ["teacher", "logits", "compare"] {
            if let mapping = root[key] as? [String: Any] { try check(mapping, key) }
        }
        for key in ["students", "prune", "quantize"] {
            for item in (root[key] as? [[String: Any]]) ?? [] {
                try check(item, key)
                if key == "prune", let gradual = item["gradual"] as? [String: Any] { try check(gradual, "prune.gradual") }
            }
        }
    }

    /// A stable hash of one stage's settings (plus those it depends on), for skipping finished stages.
    public static func hash<T: Encodable>(_ values: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return sha256Hex([UInt8]((try? encoder.encode(values)) ?? Data()))
    }
}
