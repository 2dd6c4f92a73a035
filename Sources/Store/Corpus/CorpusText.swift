// Text of a corpus for building a tokenizer: its characters, or a bounded prefix of its training split.

import Foundation
import Tokenizers

public enum CorpusText {
    /// Every Unicode scalar of both splits, and the newline that joins documents, in ascending order.
    public static func distinctScalars(_ source: CorpusSource,
                                       progress: (String) -> Void = { _ in }) throws -> [Unicode.Scalar] {
        var ascii = [Bool](repeating: false, count: 128)
        ascii[0x0A] = true
        var others = Set<Unicode.Scalar>()
        var meter = ProgressMeter(label: "reading characters")
        let report = { (done: Int, total: Int) in if let line = meter.update(done, of: total) { progress(line) } }
        _ = try CorpusWalk.run(source, progress: report) { _, piece in
            for scalar in piece.text.unicodeScalars {
                if scalar.isASCII { ascii[Int(scalar.value)] = true } else { others.insert(scalar) }
            }
            return true
        }
        let low = (0 ..< 128).filter { ascii[$0] }.map { Unicode.Scalar(UInt8($0)) }
        return low + others.sorted { $0.value < $1.value }
    }

    /// The training split's documents joined with newlines, up to about `maximumBytes`.
    public static func trainingText(_ source: CorpusSource, maximumBytes: Int) throws -> String {
        var text = ""
        var startsDocument = true
        _ = try CorpusWalk.run(source) { split, piece in
            guard split == .train, text.utf8.count < maximumBytes else { return false }
            if startsDocument, !text.isEmpty { text += "\n" }
            text += piece.text.utf8.count + text.utf8.count > maximumBytes
                ? String(decoding: piece.text.utf8.prefix(maximumBytes - text.utf8.count), as: UTF8.self) : piece.text
            startsDocument = piece.endsDocument
            return true
        }
        guard !text.isEmpty else { throw CorpusError(source: source.spec.description, "the training split has no text") }
        return text
    }
}

extension CorpusSource {
    /// Path, size and mtime of every file, for keys that must change when a file does.
    public func fileIdentity() throws -> [String] {
        let files = try self.files()
        return (files.train + files.validation).map {
            "\(URL(fileURLWithPath: $0.path).standardizedFileURL.path):\($0.size):\($0.modified)"
        }
    }
}
