// Tokenize once: a corpus's token ids under <data-dir>/cache/<corpus>-<key>/ as one flat file per split plus
// manifest.json (written last). The folder's key is the corpus, its reading options and the tokenizer's
// SHA-256; the manifest also records every source file's size, mtime and SHA-256. A file whose size and mtime
// match is taken as unchanged (hashing 2 GB on every start would cost more than training's first steps); one
// whose size or mtime differ is hashed, and only a different SHA-256 re-tokenizes. A damaged cache (manifest
// unreadable, a split of the wrong length) is rebuilt, never trusted.

import Foundation
import Tokenizers

/// What manifest.json records about one split.
public struct CorpusSplitRecord: Codable, Equatable, Sendable {
    public var file: String
    public var tokens: Int
    public var documents: Int
    /// UTF-8 bytes of the split's text (after any U+FFFD replacement).
    public var bytes: Int
}

/// `<cache>/manifest.json`.
public struct CorpusCacheManifest: Codable, Equatable, Sendable {
    public static let currentFormat = 1
    public var format: Int
    public var corpus: String
    public var validationCorpus: String?
    public var textField: String
    public var onInvalid: InvalidTextPolicy
    public var validationFraction: Double?
    public var cut: CorpusCut
    public var tokenizerSHA256: String
    public var endOfTextID: Int32?
    public var dtype: TokenWidth
    /// "sha256": the content hash of every source file (of its bytes on disk).
    public var contentHash: String
    public var sources: [CorpusFile]
    public var replacedInvalid: Int
    public var train: CorpusSplitRecord
    public var validation: CorpusSplitRecord

    enum CodingKeys: String, CodingKey {
        case format, corpus, cut, dtype, sources, train, validation
        case validationCorpus = "validation_corpus", textField = "text_field", onInvalid = "on_invalid"
        case validationFraction = "validation_fraction", tokenizerSHA256 = "tokenizer_sha256"
        case endOfTextID = "end_of_text_id", contentHash = "content_hash", replacedInvalid = "replaced_invalid"
    }
}

/// Both splits of a corpus as token streams mapped from the cache.
public struct TokenizedCorpus: Sendable {
    public let train: TokenSequence
    public let validation: TokenSequence
    public let manifest: CorpusCacheManifest
    public let directory: URL
    /// Whether the cache was already there.
    public let reused: Bool

    /// "train: 12 documents, 3.4 MB, 1,234,567 tokens; validation: …".
    public var report: String {
        func line(_ name: String, _ record: CorpusSplitRecord) -> String {
            "\(name) \(record.documents) documents, \(record.bytes) bytes, \(record.tokens) tokens"
        }
        let how: String
        switch manifest.cut {
        case .separate: how = "validation from \(manifest.validationCorpus ?? "--val")"
        case .document:
            how = "validation: the last \(manifest.validationFraction ?? 0) of the bytes, cut at a document boundary"
        case .line:
            how = "validation: the last \(manifest.validationFraction ?? 0) of the one document, cut at a line start"
        }
        let replaced = manifest.replacedInvalid > 0
            ? "; \(manifest.replacedInvalid) invalid UTF-8 sequences read as U+FFFD" : ""
        return "\(manifest.corpus): \(line("train", manifest.train)); \(line("validation", manifest.validation))"
            + " (\(how))\(replaced)"
    }
}

public enum CorpusCache {
    public static let manifestFileName = "manifest.json"

    /// The cache folder of `source` under `tokenizer`.
    public static func directory(for source: CorpusSource, tokenizerSHA256: String, name: String, in root: URL) -> URL {
        let absolute = { (path: String) in URL(fileURLWithPath: path).standardizedFileURL.path }
        let key = [absolute(source.spec.description), source.options.validation.map { absolute($0.description) } ?? "-",
                   source.options.textField, source.options.onInvalid.rawValue,
                   "\(source.options.validationFraction)", tokenizerSHA256].joined(separator: "\u{0}")
        return root.appendingPathComponent("\(name)-\(sha256Hex(Array(key.utf8)).prefix(16))", isDirectory: true)
    }

    /// The corpus tokenized by `tokenizer`: from the cache when it matches, else tokenized now (progress with
    /// MB/s and ETA through `progress`) and cached.
    public static func tokenize(_ source: CorpusSource, name: String, tokenizer: any Tokenizer, cacheRoot: URL,
                                progress: (String) -> Void) throws -> TokenizedCorpus {
        let fingerprint = tokenizer.fingerprint()
        let folder = directory(for: source, tokenizerSHA256: fingerprint, name: name, in: cacheRoot)
        switch check(folder, source: source, tokenizerSHA256: fingerprint) {
        case .success(let corpus):
            return corpus
        case .failure(let miss):
            if let reason = miss.reason { progress("re-tokenizing \(name): \(reason)") }
        }
        return try build(source, name: name, tokenizer: tokenizer, fingerprint: fingerprint, folder: folder,
                         progress: progress)
    }

    /// The cached corpus, or why it cannot be used (nil: there is none).
    static func check(_ folder: URL, source: CorpusSource,
                      tokenizerSHA256: String) -> Result<TokenizedCorpus, CacheMiss> {
        let url = folder.appendingPathComponent(manifestFileName)
        guard let data = try? Data(contentsOf: url) else { return .failure(CacheMiss(nil)) }
        guard let manifest = try? JSONDecoder().decode(CorpusCacheManifest.self, from: data),
              manifest.format == CorpusCacheManifest.currentFormat else {
            return .failure(CacheMiss("\(url.path) is not a manifest this version reads"))
        }
        guard manifest.tokenizerSHA256 == tokenizerSHA256 else { return .failure(CacheMiss("the tokenizer changed")) }
        let current: [CorpusFile]
        do {
            let files = try source.files()
            current = files.train + files.validation
        } catch {
            return .failure(CacheMiss(String(describing: error)))
        }
        guard current.map(\.path) == manifest.sources.map(\.path) else {
            return .failure(CacheMiss("the set of files changed"))
        }
        for (file, recorded) in zip(current, manifest.sources)
        where file.size != recorded.size || file.modified != recorded.modified {
            guard file.size == recorded.size, (try? CorpusWalk.sha256(ofFile: file.path)) == recorded.sha256 else {
                return .failure(CacheMiss("\(file.path) changed"))
            }
        }
        do {
            let train = try TokenSequence.mapping(folder.appendingPathComponent(manifest.train.file),
                                                  width: manifest.dtype, expectedCount: manifest.train.tokens)
            let validation = try TokenSequence.mapping(folder.appendingPathComponent(manifest.validation.file),
                                                       width: manifest.dtype, expectedCount: manifest.validation.tokens)
            return .success(TokenizedCorpus(train: train, validation: validation, manifest: manifest, directory: folder,
                                            reused: true))
        } catch {
            return .failure(CacheMiss("the cache is damaged (\(error))"))
        }
    }

    struct CacheMiss: Error {
        let reason: String?
        init(_ reason: String?) { self.reason = reason }
    }
}

