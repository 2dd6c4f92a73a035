// A YAML file of ours (an experiment, a training config), bounded (YAMLBounds) and decoded from its node tree,
// so every error can give the line of the key it is about. Unknown keys are found without a list of known ones:
// the decoded value is encoded again, and a key of the file that the encoding lacks is one no field took.

import Foundation
import Tokenizers
import Yams

/// One step of a key path in a YAML file: a key or a position in a list.
enum PathStep: CustomStringConvertible, ExpressibleByStringLiteral {
    case key(String)
    case index(Int)

    init(stringLiteral value: String) { self = .key(value) }

    init(_ codingKey: CodingKey) {
        self = codingKey.intValue.map(PathStep.index) ?? .key(codingKey.stringValue)
    }

    var description: String {
        switch self {
        case .key(let key): key
        case .index(let index): "[\(index)]"
        }
    }

    /// `students[1].loss`.
    static func label(_ path: [PathStep]) -> String {
        path.reduce(into: "") { text, step in
            if case .key = step, !text.isEmpty { text += "." }
            text += step.description
        }
    }
}

/// A bounded YAML document whose top level is a mapping.
struct YAMLDocument {
    let root: Node
    let source: String

    /// - Parameter expected: what the top-level mapping holds, for the error when it is something else.
    init(yaml: String, source: String, expected: String) throws {
        guard let root = try YAMLBounds().compose(yaml, source: source), root.mapping != nil else {
            throw LabError("\(source): expected a mapping at the top (\(expected))")
        }
        self.root = root
        self.source = source
    }

    /// The document as a `T`, with every key of the file taken by `T`'s fields.
    /// - Throws: `LabError` with the file, the line and the key path.
    func decode<T: Codable>(_ type: T.Type) throws -> T {
        try decode(type, from: root, at: [])
    }

    /// The node at `path` (a part of the document) as a `T`, every key taken.
    func decode<T: Codable>(_ type: T.Type, from subtree: Node, at path: [PathStep]) throws -> T {
        let value: T
        do {
            value = try YAMLDecoder().decode(type, from: subtree)
        } catch let DecodingError.keyNotFound(key, context) {
            let path = path + context.codingPath.map(PathStep.init)
            let found = node(at: path)?.mapping.map { $0.keys.compactMap(\.string) } ?? []
            let listed = found.isEmpty ? "" : " (found: \(Excerpt.clip(found.joined(separator: ", "))))"
            throw LabError("\(locate(path)): \(PathStep.label(path + [PathStep(key)])) is missing\(listed)")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context),
                let DecodingError.dataCorrupted(context) {
            let path = path + context.codingPath.map(PathStep.init)
            throw LabError("\(locate(path)): \(PathStep.label(path)) has the wrong type "
                + "(\(Excerpt.clip(context.debugDescription)))")
        } catch {
            throw LabError("\(source): \(Excerpt.clip(String(describing: error)))")
        }
        let encoded = try Yams.compose(yaml: YAMLEncoder().encode(value))
        try rejectUnknownKeys(subtree, taken: encoded, path: path)
        return value
    }

    /// "file:line" of the key at `path` (or of the deepest part of it the file has).
    func locate(_ path: [PathStep]) -> String {
        walk(path).line.map { "\(source):\($0)" } ?? source
    }

    /// The node at `path`, when the file has it.
    func node(at path: [PathStep]) -> Node? {
        let reached = walk(path)
        return reached.steps == path.count ? reached.node : nil
    }

    /// Follows `path` as far as the file has it: the last node reached, the line of its key, the steps taken.
    private func walk(_ path: [PathStep]) -> (node: Node, line: Int?, steps: Int) {
        var node = root, line = root.mark?.line, steps = 0
        for step in path {
            let next: (Node, Int?)?
            switch step {
            case .key(let key):
                next = node.mapping?.first { $0.key.string == key }.map { ($0.value, $0.key.mark?.line) }
            case .index(let index):
                next = node.sequence.flatMap { index < $0.count ? ($0[index], $0[index].mark?.line) : nil }
            }
            guard let next else { break }
            node = next.0
            line = next.1 ?? line
            steps += 1
        }
        return (node, line, steps)
    }

    private func rejectUnknownKeys(_ node: Node, taken: Node?, path: [PathStep]) throws {
        switch node {
        case .mapping(let mapping):
            for (key, value) in mapping {
                let line = key.mark.map { "\(source):\($0.line)" } ?? source
                if value.null != nil { continue }  // `key: ~` says the same as leaving the key out
                let name = key.string ?? String(describing: key)  // a scalar: YAMLBounds refused other keys
                guard let match = taken?.mapping?[name] else {
                    let place = path.isEmpty ? "the top level" : PathStep.label(path)
                    throw LabError("\(line): unknown key \(Excerpt.quote(name)) in \(place)")
                }
                try rejectUnknownKeys(value, taken: match, path: path + [.key(name)])
            }
        case .sequence(let sequence):
            for (index, element) in sequence.enumerated() {
                let match = taken?.sequence.flatMap { index < $0.count ? $0[index] : nil }
                try rejectUnknownKeys(element, taken: match, path: path + [.index(index)])
            }
        case .scalar, .alias:
            break
        }
    }
}
