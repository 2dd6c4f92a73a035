// Filling a cache folder: one pass over the corpus, each piece encoded and appended to its split's file,
// documents joined with the tokenizer's end-of-text token (or a newline when it has none).

import Foundation
import Tokenizers

extension CorpusCache {
    static func build(_ source: CorpusSource, name: String, tokenizer: any Tokenizer, fingerprint: String, folder: URL,
                      progress: (String) -> Void) throws -> TokenizedCorpus {
        // The old manifest goes first, so that a run killed half-way leaves no manifest over new files.
        try? FileManager.default.removeItem(at: folder.appendingPathComponent(manifestFileName))
        let width = TokenWidth.fitting(vocabularySize: tokenizer.vocabularySize)
        let endOfText = tokenizer.endOfTextID
        let separator = endOfText.map { [$0] } ?? ((try? tokenizer.encode("\n")) ?? [])
        let trainFile = "train.\(width.fileExtension)", validationFile = "val.\(width.fileExtension)"
        let writers = [CorpusSplit.train: try TokenFileWriter(folder.appendingPathComponent(trainFile), width: width),
                       .validation: try TokenFileWriter(folder.appendingPathComponent(validationFile), width: width)]
        var records = [CorpusSplit.train: CorpusSplitRecord(file: trainFile, tokens: 0, documents: 0, bytes: 0),
                       .validation: CorpusSplitRecord(file: validationFile, tokens: 0, documents: 0, bytes: 0)]
        var startsDocument = [CorpusSplit.train: true, .validation: true]
        var meter = ProgressMeter(label: "tokenizing \(name)")
        let report = { (done: Int, total: Int) in if let line = meter.update(done, of: total) { progress(line) } }
        let summary = try CorpusWalk.run(source, progress: report) { split, piece in
            var tokens = try tokenizer.encode(piece.text)
            if startsDocument[split]! {
                if records[split]!.documents > 0 { tokens.insert(contentsOf: separator, at: 0) }
                records[split]!.documents += 1
            }
            startsDocument[split] = piece.endsDocument
            records[split]!.bytes += piece.text.utf8.count
            try writers[split]!.append(tokens)
            return true
        }
        if let line = meter.finish() { progress(line) }
        records[.train]!.tokens = writers[.train]!.count
        records[.validation]!.tokens = writers[.validation]!.count
        let (train, validation) = (records[.train]!, records[.validation]!)
        guard train.tokens + validation.tokens > 0 else {
            throw CorpusError(source: source.spec.description,
                              "the corpus is empty (no text in \(summary.files.count) files)")
        }
        guard validation.tokens > 0, train.tokens > 0 else {
            let documents = train.documents + validation.documents
            throw CorpusError(source: source.spec.description,
                              "cannot cut a validation split from \(documents) document(s) of "
                + "\(train.bytes + validation.bytes) bytes at --val-fraction \(source.options.validationFraction) "
                + "(pass --val <spec>, or a corpus of more documents)")
        }
        try writers[.train]!.finish()
        try writers[.validation]!.finish()
        let manifest = CorpusCacheManifest(
            format: CorpusCacheManifest.currentFormat, corpus: source.spec.description,
            validationCorpus: source.options.validation?.description, textField: source.options.textField,
            onInvalid: source.options.onInvalid,
            validationFraction: source.options.validation == nil ? source.options.validationFraction : nil,
            cut: summary.cut, tokenizerSHA256: fingerprint, endOfTextID: endOfText, dtype: width, contentHash: "sha256",
            sources: summary.files, replacedInvalid: summary.replaced, train: train, validation: validation)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(try encoder.encode(manifest) + Data("\n".utf8),
                             to: folder.appendingPathComponent(manifestFileName))
        return TokenizedCorpus(
            train: try TokenSequence.mapping(folder.appendingPathComponent(trainFile), width: width,
                                             expectedCount: train.tokens),
            validation: try TokenSequence.mapping(folder.appendingPathComponent(validationFile), width: width,
                                                  expectedCount: validation.tokens),
            manifest: manifest, directory: folder, reused: false)
    }
}

/// A progress line at most once a second: bytes done, MB/s and the time left.
struct ProgressMeter {
    let label: String
    private let start = Date()
    private var last = Date()
    private var done = 0, total = 0

    init(label: String) { self.label = label }

    /// The line to print, when a second has passed since the last.
    mutating func update(_ done: Int, of total: Int) -> String? {
        self.done = done
        self.total = total
        let now = Date()
        guard now.timeIntervalSince(last) >= 1 else { return nil }
        last = now
        return line(now)
    }

    /// The final line, for work that took more than a second.
    func finish() -> String? { Date().timeIntervalSince(start) >= 1 ? line(Date()) : nil }

    private func line(_ now: Date) -> String {
        let seconds = max(now.timeIntervalSince(start), 1e-9)
        let rate = Double(done) / seconds
        let left = rate > 0 ? Double(max(total - done, 0)) / rate : 0
        return String(format: "%@: %.1f of %.1f MB (%.0f%%), %.1f MB/s, ETA %.0fs", label, Double(done) / 1e6,
                      Double(total) / 1e6, 100 * Double(done) / Double(max(total, 1)), rate / 1e6, left)
    }
}
