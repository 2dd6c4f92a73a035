// The common face of the three tokenizers, and saving/loading them as Hugging Face
// tokenizer.json files (the format the Python `tokenizers` library reads with
// `Tokenizer.from_file`, and the one a checkpoint directory carries).

import Foundation

/// Which of the three tokenizer families a tokenizer belongs to.
public enum TokenizerKind: String, Sendable, CaseIterable {
    /// One token per Unicode scalar of the training corpus.
    case character = "char"
    /// One token per byte of the UTF-8 encoding (256 ids, id = byte value).
    case byte
    /// GPT-2-style byte-level byte-pair encoding.
    case bytePairEncoding = "bpe"
}

/// A reversible text ↔ token-id mapping that can be saved as a Hugging Face tokenizer.json.
public protocol Tokenizer: Sendable {
    /// The tokenizer family (used in model names, e.g. `…-char-F32`).
    var kind: TokenizerKind { get }
    /// Number of token ids; every id is in `0..<vocabularySize`.
    var vocabularySize: Int { get }
    /// Token ids for `text`, identical to what Hugging Face `tokenizers` gives for the saved file.
    func encode(_ text: String) throws -> [Int32]
    /// Text for `ids`; `decode(encode(x)) == x` for every string `x` the tokenizer can encode.
    /// Throws on an id outside the vocabulary.
    func decode(_ ids: [Int32]) throws -> String
    /// The tokenizer as a tokenizer.json document, keys in a fixed order.
    func tokenizerJSON() -> JSONValue
    /// The id of the end-of-text token (GPT-2's `<|endoftext|>`) that separates documents, or nil
    /// when the tokenizer has none.
    var endOfTextID: Int32? { get }
    /// `encode` of each document, on up to `threads` threads, with the same ids as one at a time.
    /// `progress` (bytes done, MB/s, ETA) is called about twice a second and once at the end,
    /// from any thread but never from two at once.
    func encodeDocuments(_ documents: [String], threads: Int,
                         progress: (@Sendable (EncodingProgress) -> Void)?) throws -> [[Int32]]
}

extension Tokenizer {
    /// The canonical tokenizer.json bytes: the same tokenizer always gives the same bytes.
    public func tokenizerJSONBytes() -> [UInt8] { tokenizerJSON().serialized() }

    /// Hex SHA-256 of `tokenizerJSONBytes()` — the `tokenizer_sha256` of logit files. For a
    /// loaded file it is the hash of our canonical re-serialization, not of the file's bytes,
    /// so it does not change with whitespace or key order.
    public func fingerprint() -> String { sha256Hex(tokenizerJSONBytes()) }

    /// Writes tokenizer.json atomically: to a temporary file beside `url`, then renamed over it.
    public func save(to url: URL) throws {
        try writeAtomically(tokenizerJSONBytes(), to: url)
    }
}

/// Reads a tokenizer.json written by `Tokenizer.save(to:)` or a GPT-2-style byte-level BPE
/// file from Hugging Face, and returns the matching tokenizer (`CharTokenizer`,
/// `ByteTokenizer` or `BPETokenizer`). Errors name the file, the field, what was found and
/// what was expected.
public func loadTokenizer(from url: URL) throws -> any Tokenizer {
    try readTokenizer(jsonBytes: readTokenizerFile(url), fileName: url.path, fingerprinting: false).tokenizer
}

/// `loadTokenizer(from:)` and the tokenizer's `fingerprint()`. For byte-level BPE the canonical
/// document is hashed on a second thread while the tokenizer's tables are built, since it follows
/// from what was read alone; loading a checkpoint needs both.
public func loadTokenizerAndFingerprint(from url: URL) throws -> (tokenizer: any Tokenizer, fingerprint: String) {
    let (tokenizer, fingerprint) = try readTokenizer(jsonBytes: readTokenizerFile(url), fileName: url.path,
                                                     fingerprinting: true)
    return (tokenizer, fingerprint ?? tokenizer.fingerprint())
}

private func readTokenizerFile(_ url: URL) throws -> [UInt8] {
    if let problem = FileErrorReason.notARegularFile(url) {
        throw TokenizerError.fileSystem(file: url.path, reason: "cannot read the file (\(problem))")
    }
    do {
        return [UInt8](try Data(contentsOf: url))
    } catch {
        throw TokenizerError.fileSystem(file: url.path, reason: "cannot read the file (\(FileErrorReason.describe(error)))")
    }
}

/// Reads a tokenizer from tokenizer.json bytes; `fileName` only labels error messages.
public func loadTokenizer(jsonBytes: [UInt8], fileName: String = "tokenizer.json") throws -> any Tokenizer {
    try readTokenizer(jsonBytes: jsonBytes, fileName: fileName, fingerprinting: false).tokenizer
}

private func readTokenizer(jsonBytes: [UInt8], fileName: String,
                           fingerprinting: Bool) throws -> (tokenizer: any Tokenizer, fingerprint: String?) {
    let document: JSONValue
    do {
        document = try parseJSON(jsonBytes)
    } catch {
        throw TokenizerError.invalidJSON(file: fileName, reason: error.description)
    }
    return try TokenizerFileReader(fileName: fileName).tokenizer(from: document, fingerprinting: fingerprinting)
}

/// Writes `bytes` to a temporary file in the destination's folder and renames it into place,
/// so a reader never sees a half-written file.
func writeAtomically(_ bytes: [UInt8], to url: URL) throws {
    let directory = url.deletingLastPathComponent()
    let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(UUID().uuidString)")
    do {
        try Data(bytes).write(to: temporary)
    } catch {
        throw TokenizerError.fileSystem(file: url.path, reason: "cannot write \(temporary.lastPathComponent) (\(FileErrorReason.describe(error)))")
    }
    guard rename(temporary.path, url.path) == 0 else {
        let reason = FileErrorReason.describe(posixCode: errno)
        try? FileManager.default.removeItem(at: temporary)
        throw TokenizerError.fileSystem(file: url.path, reason: "cannot rename the temporary file into place (\(reason))")
    }
}
