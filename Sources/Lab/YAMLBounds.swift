// Reading a YAML file that may be hostile, before any key is looked at. Three bounds, each cheap to check:
// - the size of the text;
// - a scan of the text for nesting depth (libyaml and Yams compose recursively, so a line of ten thousand
//   "[" would overflow the stack) and for alias uses (a mapping key that is an alias is hashed whole, and
//   nested aliases multiply: 780 bytes can stand for gigabytes);
// - the number of nodes the composed document stands for, aliases counted at every use, counted without
//   recursion and stopped at the bound; the same walk refuses base-60 integers, which Yams would compute
//   without an overflow check.
// The composed node tree keeps each node's line, so errors can point at the key they are about.

import Foundation
import Tokenizers
import Yams

/// Bounds on a YAML document, and the bounded way to compose one.
public struct YAMLBounds: Sendable {
    /// Largest document, in bytes.
    public var maximumBytes = 1 << 20
    /// Deepest nesting (flow brackets plus the columns of block indentation and indicators on a line).
    public var maximumDepth = 200
    /// Most alias uses (`*name`) in the text.
    public var maximumAliases = 32
    /// Most nodes the document may stand for, aliases expanded.
    public var maximumNodes = 100_000

    public init() {}

    /// Composes `yaml` into a node tree after checking it against the bounds.
    /// - Parameter source: the file, first in every error.
    /// - Returns: the root node, or nil for an empty document.
    /// - Throws: `LabError` naming the file, the bound and what was found.
    public func compose(_ yaml: String, source: String) throws -> Node? {
        let bytes = yaml.utf8.count
        guard bytes <= maximumBytes else {
            throw LabError("\(source): \(bytes) bytes; a YAML file here is at most \(maximumBytes) bytes")
        }
        try scan(yaml, source: source)
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch {
            throw LabError("\(source): not valid YAML (\(Excerpt.clip(String(describing: error))))")
        }
        if let root { try checkNodes(root, source: source) }
        return root
    }

    /// Depth and alias uses, from the text alone (quoted scalars and comments skipped).
    func scan(_ yaml: String, source: String) throws {
        var flowDepth = 0, aliases = 0, line = 1
        var atLineStart = true, indent = 0
        var quote: UInt8? = nil, escaped = false, inComment = false, previous: UInt8 = UInt8(ascii: "\n")
        // A quote opens a quoted scalar only where a token starts, as in libyaml; elsewhere ("don't") it is
        // part of a plain scalar. Erring the other way would let a stray quote hide the rest of the file.
        let tokenStarts = Set(" \t\n[{,:-?".utf8)
        for byte in yaml.utf8 {
            defer { previous = byte }
            if byte == UInt8(ascii: "\n") {
                line += 1; atLineStart = true; indent = 0; inComment = false
                continue
            }
            if inComment { continue }
            if let open = quote {
                if escaped { escaped = false } else if open == UInt8(ascii: "\""), byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == open { quote = nil }
                continue
            }
            if atLineStart {
                // Indentation and block indicators ("- ", "? ", ": ") each open a level at most.
                if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "?")
                    || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "\t") {
                    indent += 1
                } else {
                    atLineStart = false
                }
            }
            switch byte {
            case UInt8(ascii: "#") where previous == UInt8(ascii: " ") || previous == UInt8(ascii: "\n")
                || previous == UInt8(ascii: "\t"):
                inComment = true
            case _ where (byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\"")) && tokenStarts.contains(previous):
                quote = byte
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                flowDepth += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                flowDepth = max(0, flowDepth - 1)
            case UInt8(ascii: "*"):
                aliases += 1
                if aliases > maximumAliases {
                    throw LabError("\(source):\(line): more than \(maximumAliases) aliases (*name); "
                        + "an experiment needs none, and nested aliases can stand for gigabytes")
                }
            default: break
            }
            if flowDepth + indent > maximumDepth {
                throw LabError("\(source):\(line): nested deeper than \(maximumDepth) levels; "
                    + "an experiment file needs a handful")
            }
        }
    }

    /// `root` stands for at most `maximumNodes` nodes, aliases counted at each use (the walk stops at the
    /// bound), its mapping keys are scalars (Yams' constructor force-unwraps a key's string), and it holds no
    /// base-60 integer: YAML 1.1's `1:30:00` form, which Yams computes without an
    /// overflow check and so traps on `-999999999999999999:9`. No file of ours takes one.
    func checkNodes(_ root: Node, source: String) throws {
        var pending = [root], count = 0
        while let node = pending.popLast() {
            count += 1
            if count > maximumNodes {
                throw LabError("\(source): the document stands for more than \(maximumNodes) YAML nodes once its "
                    + "aliases are expanded (nested aliases?); refused before reading it")
            }
            switch node {
            case .mapping(let mapping):
                for (key, value) in mapping {
                    guard case .scalar = key else {
                        let line = key.mark.map { "\(source):\($0.line)" } ?? source
                        throw LabError("\(line): a key must be a plain name, found a \(key.sequence != nil ? "sequence" : "mapping")")
                    }
                    pending.append(key)
                    pending.append(value)
                }
            case .sequence(let sequence):
                pending.append(contentsOf: sequence)
            case .scalar(let scalar):
                if node.tag.rawValue == Tag.Name.int.rawValue, scalar.string.contains(":") {
                    let line = node.mark.map { "\(source):\($0.line)" } ?? source
                    throw LabError("\(line): \(Excerpt.quote(scalar.string)) is a base-60 integer (YAML 1.1), which no "
                        + "field here takes; quote it if it is text")
                }
            case .alias:
                break
            }
        }
    }
}
