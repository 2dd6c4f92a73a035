// The corpus and the tokenizer choices (`char`, `byte`, `bpe-N`, a tokenizer.json path), shared by the commands
// and the experiment runner. Every reader gets its tokens from the corpus cache (<data-dir>/cache/), mapped.

import Foundation
import Store
import Tokenizers

/// A setting that cannot be used, naming it and what was expected.
public struct LabError: Error, CustomStringConvertible, LocalizedError {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }
}

/// A corpus as the commands and experiment files name it: a spec, how to read and split it, and the data
/// directory holding the built-in corpus and the cache.
public struct CorpusSelection: Sendable {
    public var spec: CorpusSpec
    public var options: CorpusOptions
    public var dataDirectory: String

    public init(spec: CorpusSpec = .shakespeare, options: CorpusOptions = CorpusOptions(), dataDirectory: String = "data") {
        self.spec = spec
        self.options = options
        self.dataDirectory = dataDirectory
    }

    /// The name checkpoints record (`shakespeare`, or the file or folder name).
    public var name: String { spec.name }
    public var cacheRoot: URL { URL(fileURLWithPath: dataDirectory).appendingPathComponent("cache", isDirectory: true) }
}

public enum CorpusTokenization {
    /// Text of the training split read for training a BPE vocabulary on a corpus other than Shakespeare.
    public static let bpeTrainingBytes = 64 << 20

    /// The Shakespeare texts, fetched first when they are not there yet.
    public static func loadCorpus(data: String, progress: (String) -> Void) throws -> (train: String, validation: String) {
        let directory = URL(fileURLWithPath: data)
        do {
            return try ShakespeareCorpus.load(from: directory)
        } catch let error as ShakespeareCorpusError {
            guard case .notFetched = error else { throw error }
            progress("corpus not found in \(data)/shakespeare; fetching it (once)…")
            try ShakespeareCorpus.fetch(into: directory, progress: progress)
            return try ShakespeareCorpus.load(from: directory)
        }
    }

    /// The files to read: the built-in corpus is its prepared train.txt and val.txt (its own split, fetched
    /// first when missing); any other spec is read as given.
    public static func source(_ selection: CorpusSelection, progress: (String) -> Void) throws -> CorpusSource {
        guard selection.spec == .shakespeare else { return CorpusSource(spec: selection.spec, options: selection.options) }
        _ = try loadCorpus(data: selection.dataDirectory, progress: progress)
        let folder = ShakespeareCorpus.directory(in: URL(fileURLWithPath: selection.dataDirectory))
        var options = selection.options
        options.validation = .textFile(folder.appendingPathComponent(ShakespeareCorpus.validationFileName).path)
        return CorpusSource(spec: .textFile(folder.appendingPathComponent(ShakespeareCorpus.trainFileName).path),
                            options: options)
    }

    /// Both splits tokenized by `tokenizer`, from the cache or tokenized now; the split report goes to `progress`.
    public static func tokenize(_ selection: CorpusSelection, tokenizer: any Tokenizer,
                                progress: (String) -> Void) throws -> TokenizedCorpus {
        let source = try source(selection, progress: progress)
        let corpus = try CorpusCache.tokenize(source, name: selection.name, tokenizer: tokenizer,
                                              cacheRoot: selection.cacheRoot, progress: progress)
        progress((corpus.reused ? "cached " : "tokenized ") + corpus.report)
        return corpus
    }

    /// Where `bpe-N` tokenizers of the built-in corpus are cached.
    public static func defaultPath(_ spec: String, data: String) -> String { "\(data)/shakespeare/tokenizer-\(spec).json" }

    /// Where `char` and `bpe-N` tokenizers trained on `selection` are cached.
    public static func defaultPath(_ spec: String, selection: CorpusSelection) throws -> String {
        guard selection.spec != .shakespeare else { return defaultPath(spec, data: selection.dataDirectory) }
        let files = try CorpusSource(spec: selection.spec, options: selection.options).fileIdentity()
        let key = sha256Hex(Array((files + [selection.options.textField, "\(selection.options.validationFraction)",
                                            selection.options.onInvalid.rawValue]).joined(separator: "\u{0}").utf8))
        return selection.cacheRoot.appendingPathComponent("tokenizers/\(selection.name)-\(key.prefix(16))/tokenizer-\(spec).json").path
    }

    /// `char`, `byte`, `bpe-N` (trained on the training split and cached) or a tokenizer.json path.
    public static func build(_ spec: String, selection: CorpusSelection, progress: (String) -> Void) throws -> any Tokenizer {
        switch spec {
        case "byte":
            return ByteTokenizer()
        case "char" where selection.spec == .shakespeare:
            // The vocabulary of the whole corpus (84 characters), as the PyTorch reference builds it.
            let corpus = try loadCorpus(data: selection.dataDirectory, progress: progress)
            return CharTokenizer(corpus: corpus.train + corpus.validation)
        case "char":
            let cached = URL(fileURLWithPath: try defaultPath(spec, selection: selection))
            if FileManager.default.fileExists(atPath: cached.path) { return try loadTokenizer(from: cached) }
            progress("collecting the characters of \(selection.spec)…")
            let tokenizer = try CharTokenizer(characters: try CorpusText.distinctScalars(
                try source(selection, progress: progress), progress: progress))
            try save(tokenizer, to: cached)
            return tokenizer
        case let s where s.hasPrefix("bpe-"):
            guard let size = Int(s.dropFirst(4)), size >= 257 else {
                throw LabError("tokenizer \(s): expected bpe-N with N ≥ 257, e.g. bpe-1024")
            }
            let cached = URL(fileURLWithPath: try defaultPath(s, selection: selection))
            if FileManager.default.fileExists(atPath: cached.path) { return try loadTokenizer(from: cached) }
            let text: String
            if selection.spec == .shakespeare {
                text = try loadCorpus(data: selection.dataDirectory, progress: progress).train
            } else {
                text = try CorpusText.trainingText(try source(selection, progress: progress), maximumBytes: bpeTrainingBytes)
            }
            progress("training a byte-level BPE tokenizer with \(size) tokens on \(text.utf8.count) bytes of the training split…")
            let tokenizer = try BPETrainer.train(text: text, vocabularySize: size)
            try save(tokenizer, to: cached)
            return tokenizer
        default:
            guard FileManager.default.fileExists(atPath: spec) else {
                throw LabError("tokenizer \(spec): not char, byte, bpe-N or an existing tokenizer.json")
            }
            return try loadTokenizer(from: URL(fileURLWithPath: spec))
        }
    }

    private static func save(_ tokenizer: any Tokenizer, to url: URL) throws {
        try AtomicFile.write(Data(tokenizer.tokenizerJSONBytes()), to: url)  // creates the folder
    }

    /// The built-in corpus's tokenizers, as before corpora were selectable.
    public static func build(_ spec: String, corpus: (train: String, validation: String), data: String,
                             progress: (String) -> Void) throws -> any Tokenizer {
        if spec == "char" { return CharTokenizer(corpus: corpus.train + corpus.validation) }
        return try build(spec, selection: CorpusSelection(dataDirectory: data), progress: progress)
    }
}
