// The corpus and the tokenizer choices (`char`, `byte`, `bpe-N`, a tokenizer.json path), shared by
// the commands and the experiment runner.

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

public enum CorpusTokenization {
    /// The corpus, fetched first when it is not there yet.
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

    /// Where `bpe-N` tokenizers are cached.
    public static func defaultPath(_ spec: String, data: String) -> String { "\(data)/shakespeare/tokenizer-\(spec).json" }

    /// `char`, `byte`, `bpe-N` (trained on the training split, cached under <data>) or a tokenizer.json path.
    public static func build(_ spec: String, corpus: (train: String, validation: String), data: String,
                             progress: (String) -> Void) throws -> any Tokenizer {
        switch spec {
        case "char":
            // The vocabulary of the whole corpus (84 characters), as the PyTorch reference builds it.
            return CharTokenizer(corpus: corpus.train + corpus.validation)
        case "byte":
            return ByteTokenizer()
        case let s where s.hasPrefix("bpe-"):
            guard let size = Int(s.dropFirst(4)), size >= 257 else {
                throw LabError("tokenizer \(s): expected bpe-N with N ≥ 257, e.g. bpe-1024")
            }
            let cached = URL(fileURLWithPath: defaultPath(s, data: data))
            if FileManager.default.fileExists(atPath: cached.path) { return try loadTokenizer(from: cached) }
            progress("training a byte-level BPE tokenizer with \(size) tokens on the training split…")
            let tokenizer = try BPETrainer.train(text: corpus.train, vocabularySize: size)
            try tokenizer.save(to: cached)
            return tokenizer
        default:
            guard FileManager.default.fileExists(atPath: spec) else {
                throw LabError("tokenizer \(spec): not char, byte, bpe-N or an existing tokenizer.json")
            }
            return try loadTokenizer(from: URL(fileURLWithPath: spec))
        }
    }
}
