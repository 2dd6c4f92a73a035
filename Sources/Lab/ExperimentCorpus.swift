// The experiment file's `corpus:` key: a spec as `--data` takes it, or a mapping with the reading options.
//
//     corpus: data/my-text.jsonl.gz
//     corpus: {path: data/my-text.jsonl, text_field: body, val: data/held-out.jsonl, val_fraction: 0.05}

import Foundation
import Store

extension Experiment {
    public enum Corpus: Codable, Equatable, Sendable {
        case spec(String)
        case detailed(Detailed)

        public struct Detailed: Codable, Equatable, Sendable {
            public var path: String
            public var textField: String?
            public var val: String?
            public var valFraction: Double?
            public var onInvalid: String?
            enum CodingKeys: String, CodingKey {
                case path, val, textField = "text_field", valFraction = "val_fraction", onInvalid = "on_invalid"
            }
        }

        public init(from decoder: Decoder) throws {
            if let text = try? decoder.singleValueContainer().decode(String.self) {
                self = .spec(text)
            } else {
                self = .detailed(try Detailed(from: decoder))
            }
        }

        // Written back in the form it was read, so the unknown-key check compares like with like.
        public func encode(to encoder: Encoder) throws {
            switch self {
            case .spec(let text):
                var container = encoder.singleValueContainer()
                try container.encode(text)
            case .detailed(let detailed):
                try detailed.encode(to: encoder)
            }
        }

        /// The corpus and its options, read as the command-line flags would be.
        public func selection(dataDirectory: String) throws -> CorpusSelection {
            switch self {
            case .spec(let text):
                return CorpusSelection(spec: CorpusSpec(parsing: text), dataDirectory: dataDirectory)
            case .detailed(let d):
                var options = CorpusOptions()
                if let field = d.textField { options.textField = field }
                if let fraction = d.valFraction { options.validationFraction = fraction }
                options.validation = d.val.map(CorpusSpec.init(parsing:))
                if let policy = try Experiment.choice(d.onInvalid, InvalidTextPolicy.self, "corpus.on_invalid") {
                    options.onInvalid = policy
                }
                return CorpusSelection(spec: CorpusSpec(parsing: d.path), options: options, dataDirectory: dataDirectory)
            }
        }

        func validate(_ fail: Experiment.Failure) throws {
            guard case .detailed(let d) = self else { return }
            try Experiment.check(d.onInvalid, in: InvalidTextPolicy.allCases.map(\.rawValue), ["corpus", "on_invalid"], fail)
            if let fraction = d.valFraction, !(fraction > 0 && fraction < 1) {
                throw fail(["corpus", "val_fraction"], "corpus.val_fraction is \(fraction); expected a fraction in (0, 1)")
            }
            if d.textField?.isEmpty == true { throw fail(["corpus", "text_field"], "corpus.text_field is empty") }
        }
    }
}
