// A readable summary of a GGUF file for `alambique inspect`: header, metadata (long arrays and
// strings shortened), and every tensor with its ggml type, dimensions and bytes.

import Foundation

extension GGUFFile {
    /// The summary as Markdown-ish text.
    public func summary() -> String {
        var lines = ["\(source): GGUF v\(version), \(metadata.count) metadata keys, \(tensors.count) tensors, alignment \(alignment), data at byte \(dataOffset)", ""]
        lines.append("| key | value |")
        lines.append("|---|---|")
        for (key, value) in metadata {
            let shown: String
            switch value {
            case .string(let text) where text.count > 60: shown = "string of \(text.utf8.count) bytes"
            case .string(let text): shown = "\"\(text.replacingOccurrences(of: "\n", with: "\\n"))\""
            case .array(let type, let values):
                let head = values.prefix(8).map { element -> String in
                    if let text = element.string { return "\"\(text.replacingOccurrences(of: "\n", with: "\\n"))\"" }
                    return element.integer.map(String.init) ?? element.float.map { "\($0)" } ?? element.summary
                }
                shown = "\(values.count) × \(type): [\(head.joined(separator: ", "))\(values.count > 8 ? ", …" : "")]"
            default: shown = value.integer.map(String.init) ?? value.float.map { "\($0)" } ?? value.bool.map { "\($0)" } ?? value.summary
            }
            lines.append("| \(key) | \(shown) |")
        }
        lines += ["", "| tensor | type | dimensions (ggml order) | bytes |", "|---|---|---|---:|"]
        var total = 0
        for tensor in tensors {
            lines.append("| \(tensor.name) | \(tensor.type.name) | \(tensor.dimensions) | \(tensor.byteCount) |")
            total += tensor.byteCount
        }
        let byType = Dictionary(grouping: tensors, by: \.type.name).map { "\($0.key) \($0.value.count)" }.sorted()
        lines.append("")
        lines.append("\(total) bytes of tensor data (\(byType.joined(separator: ", ")))")
        return lines.joined(separator: "\n")
    }
}
