// GPT-2's original tokenizer files, as OpenAI published them (encoder.json, vocab.bpe) and as
// transformers' GPT2Tokenizer saves them: vocab.json maps each token (in GPT-2's byte stand-in
// spelling) to its id; merges.txt holds one merge per line, "left right", in rank order, after
// an optional "#version: 0.2" line. They load into the same BPETokenizer as the equivalent
// tokenizer.json, with GPT2Tokenizer's settings: ByteLevel pre-tokenizer without prefix space,
// GPT-2's regex, and `<|endoftext|>` (its bos, eos and unk token) as a special added token
// whenever vocab.json has it.

import Foundation

/// The file names transformers uses for the pair.
public enum GPT2VocabularyFiles {
    public static let vocabularyFileName = "vocab.json"
    public static let mergesFileName = "merges.txt"
    public static let tokenizerFileName = "tokenizer.json"

    /// Reads vocab.json and merges.txt. Errors name the file, the token or line, what was
    /// found and what was expected.
    public static func load(vocabulary vocabularyURL: URL, merges mergesURL: URL) throws -> BPETokenizer {
        try load(vocabularyJSON: try read(vocabularyURL), merges: try read(mergesURL),
                 vocabularyFileName: vocabularyURL.path, mergesFileName: mergesURL.path)
    }

    /// The tokenizer of a Hugging Face model folder: tokenizer.json when it is there, else the
    /// vocab.json + merges.txt pair. Throws naming the folder when it has neither.
    public static func loadTokenizer(inDirectory directory: URL) throws -> any Tokenizer {
        let json = directory.appendingPathComponent(tokenizerFileName)
        if FileManager.default.fileExists(atPath: json.path) { return try Tokenizers.loadTokenizer(from: json) }
        let vocabulary = directory.appendingPathComponent(vocabularyFileName)
        let merges = directory.appendingPathComponent(mergesFileName)
        guard FileManager.default.fileExists(atPath: vocabulary.path),
              FileManager.default.fileExists(atPath: merges.path) else {
            let reason = "no \(tokenizerFileName), and no \(vocabularyFileName) + \(mergesFileName) pair"
            throw TokenizerError.fileSystem(file: directory.path, reason: reason)
        }
        return try load(vocabulary: vocabulary, merges: merges)
    }

    /// Reads the pair from bytes; the names only label error messages.
    public static func load(vocabularyJSON: [UInt8], merges: [UInt8], vocabularyFileName: String = vocabularyFileName,
                            mergesFileName: String = mergesFileName) throws -> BPETokenizer {
        let vocabulary = try readVocabulary(vocabularyJSON, fileName: vocabularyFileName)
        let pairs = try readMerges(merges, fileName: mergesFileName, vocabulary: vocabulary)
        let endOfText = vocabulary[BPETokenizer.endOfText]
        let addedTokens = endOfText.map { [AddedToken(id: $0, content: BPETokenizer.endOfText)] } ?? []
        var options = BPEOptions()
        // GPT2Tokenizer's tokenizer.json has this post-processor; keeping it makes both files hash alike.
        options.postProcessor = HuggingFaceLayout.byteLevel(addPrefixSpace: true, trimOffsets: false)
        return try BPETokenizer(vocabulary: vocabulary, merges: pairs, addedTokens: addedTokens, options: options,
                                source: vocabularyFileName + " + " + mergesFileName)
    }

    private static func read(_ url: URL) throws -> [UInt8] {
        if let problem = FileErrorReason.notARegularFile(url) {
            throw TokenizerError.fileSystem(file: url.path, reason: "cannot read the file (\(problem))")
        }
        do {
            return [UInt8](try Data(contentsOf: url))
        } catch {
            let reason = "cannot read the file (\(FileErrorReason.describe(error)))"
            throw TokenizerError.fileSystem(file: url.path, reason: reason)
        }
    }

    static func readVocabulary(_ bytes: [UInt8], fileName: String) throws -> [String: Int32] {
        let document: JSONValue
        do {
            document = try parseJSON(bytes)
        } catch {
            throw TokenizerError.invalidJSON(file: fileName, reason: error.description)
        }
        guard case let .object(pairs) = document else {
            throw TokenizerError.invalidFile(file: fileName, field: "(top level)", found: document.typeDescription,
                                             expected: "an object of token → id")
        }
        var vocabulary: [String: Int32] = [:]
        vocabulary.reserveCapacity(pairs.count)
        for (token, value) in pairs {
            let field = Excerpt.quote(token)
            guard let id = value.integerValue, id >= 0, id <= Int(Int32.max) else {
                throw TokenizerError.invalidFile(file: fileName, field: field, found: value.typeDescription,
                                                 expected: "an integer id ≥ 0")
            }
            if let other = vocabulary.updateValue(Int32(id), forKey: token) {
                let expected = "a token distinct from the canonically equivalent one with id \(other)"
                throw TokenizerError.invalidFile(file: fileName, field: field, found: "id \(id)", expected: expected)
            }
        }
        return vocabulary
    }

    /// Lines of merges.txt as pairs; line numbers count from 1 and include the version line.
    static func readMerges(_ bytes: [UInt8], fileName: String,
                           vocabulary: [String: Int32]) throws -> [(String, String)] {
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        var merges: [(String, String)] = []
        merges.reserveCapacity(lines.count)
        for (index, rawLine) in lines.enumerated() {
            let line = rawLine.last == 0x0D ? rawLine.dropLast() : rawLine
            if index == 0, line.starts(with: Array("#version".utf8)) { continue }
            let field = "line \(index + 1)"
            guard let text = String(bytes: line, encoding: .utf8) else {
                throw TokenizerError.invalidFile(file: fileName, field: field, found: "invalid UTF-8",
                                                 expected: "UTF-8 text")
            }
            let parts = text.utf8.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TokenizerError.invalidFile(file: fileName, field: field, found: Excerpt.quote(text),
                                                 expected: "\"left right\": two tokens separated by one space")
            }
            let left = String(Substring(parts[0])), right = String(Substring(parts[1]))
            for part in [left, right, left + right] where vocabulary[part] == nil {
                let found = "\(Excerpt.quote(text)), with \(Excerpt.quote(part)) not in vocab.json"
                throw TokenizerError.invalidFile(file: fileName, field: field, found: found,
                                                 expected: "both tokens and their concatenation in vocab.json")
            }
            merges.append((left, right))
        }
        return merges
    }
}

extension BPETokenizer {
    /// vocab.json and merges.txt as transformers' GPT2Tokenizer writes them (sorted keys,
    /// two-space indent, "#version: 0.2" header). Added tokens outside the model vocabulary
    /// are not part of this format and are left out.
    public func gpt2VocabularyFiles() -> (vocabulary: [UInt8], merges: [UInt8]) {
        // Python's sort_keys: by code point.
        let sorted = vocabulary.sorted {
            $0.token.unicodeScalars.lexicographicallyPrecedes($1.token.unicodeScalars) { $0.value < $1.value }
        }
        let vocabularyJSON = JSONValue.object(sorted.map { ($0.token, .integer(Int($0.id))) }).serialized()
        var merges = Array("#version: 0.2\n".utf8)
        let document = tokenizerJSON()
        if case let .array(items)? = document["model"]?["merges"] {
            for case let .string(merge) in items { merges += Array(merge.utf8) + [0x0A] }
        }
        return (vocabularyJSON, merges)
    }
}
