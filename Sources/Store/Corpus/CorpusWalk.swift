// One pass over a corpus's documents in order, each piece tagged with its split: the files of `--data`, then
// those of `--val` when given; otherwise the validation split starts at the first document boundary at which
// 1 − val_fraction of the corpus's bytes on disk have been read (compressed bytes for .jsonl.gz). A corpus of
// one text file has one document; its cut falls at the first line start after that point instead.

import Foundation
import Tokenizers

public enum CorpusSplit: String, Codable, Sendable {
    case train, validation
}

/// Where the validation split came from.
public enum CorpusCut: String, Codable, Sendable {
    /// `--val`: a corpus of its own.
    case separate
    /// The last fraction of the documents.
    case document
    /// A one-document corpus cut at a line start.
    case line
}

/// A corpus on disk and how to read it (the built-in corpus is resolved to its two prepared files first).
public struct CorpusSource: Sendable {
    public var spec: CorpusSpec
    public var options: CorpusOptions

    public init(spec: CorpusSpec, options: CorpusOptions) {
        self.spec = spec
        self.options = options
    }

    /// The file lists of the corpus and of its separate validation corpus.
    func files() throws(CorpusError) -> (train: [CorpusFile], validation: [CorpusFile]) {
        let validation = try options.validation.map { spec throws(CorpusError) in try CorpusFiles.list(spec) }
        return (try CorpusFiles.list(spec), validation ?? [])
    }

    /// A separate corpus, else lines for one text file, else documents.
    func cut(fileCount: Int) -> CorpusCut {
        if options.validation != nil { return .separate }
        if case .jsonl = spec { return .document }
        return fileCount == 1 ? .line : .document
    }
}

/// What one walk saw.
struct CorpusWalkSummary {
    var files: [CorpusFile]
    var replaced: Int
    var cut: CorpusCut
}

enum CorpusWalk {
    /// Calls `visit` with every piece in order; `visit` returns false to stop early. `progress` gets the bytes
    /// read so far and the corpus's total bytes on disk.
    static func run(_ source: CorpusSource, progress: (Int, Int) -> Void = { _, _ in },
                    visit: (CorpusSplit, TextPiece) throws -> Bool) throws -> CorpusWalkSummary {
        try source.options.validate()
        var (trainFiles, validationFiles) = try source.files()
        let cut = source.cut(fileCount: trainFiles.count)
        let total = (trainFiles + validationFiles).reduce(0) { $0 + $1.size }
        let trainTotal = trainFiles.reduce(0) { $0 + $1.size }
        let target = Int(Double(trainTotal) * (1 - source.options.validationFraction))
        var before = 0, replaced = 0
        var split = CorpusSplit.train
        var going = true
        for (index, file) in (trainFiles + validationFiles).enumerated() where going {
            let isValidationFile = index >= trainFiles.count
            if isValidationFile { split = .validation }
            var reader = try reader(for: file.path, source: source, validationFile: isValidationFile,
                                    cutTarget: cut == .line ? target : nil)
            while going, let piece = try reader.next() {
                going = try visit(split, piece)
                progress(before + reader.position, total)
                if piece.cutHere { split = .validation }
                if cut == .document, split == .train, piece.endsDocument, before + reader.position >= target {
                    split = .validation
                }
            }
            before += file.size
            replaced += reader.replaced
            var hasher = reader.hasher
            if going {
                if isValidationFile { validationFiles[index - trainFiles.count].sha256 = hexString(hasher.finalize()) }
                else { trainFiles[index].sha256 = hexString(hasher.finalize()) }
            }
        }
        return CorpusWalkSummary(files: trainFiles + validationFiles, replaced: replaced, cut: cut)
    }

    static func reader(for path: String, source: CorpusSource, validationFile: Bool,
                       cutTarget: Int?) throws(CorpusError) -> any PieceReader {
        let spec = validationFile ? source.options.validation! : source.spec
        switch spec {
        case .jsonl(_, let compressed):
            return try JSONLReader(path: path, compressed: compressed, field: source.options.textField,
                                   policy: source.options.onInvalid)
        default:
            return try TextFileReader(path: path, policy: source.options.onInvalid,
                                      cutTarget: validationFile ? nil : cutTarget)
        }
    }

    static func hexString(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// SHA-256 of a file, read in blocks.
    static func sha256(ofFile path: String) throws(CorpusError) -> String {
        var source = try FileByteSource(path: path)
        while try !source.read().isEmpty {}
        var hasher = source.hasher
        return hexString(hasher.finalize())
    }
}
