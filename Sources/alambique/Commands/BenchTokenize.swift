import ArgumentParser
import Dispatch
import Foundation
import Lab
import Tokenizers

/// How a text file is cut into the documents both encoders get.
enum DocumentSplit: String, CaseInsensitiveChoice {
    /// At blank lines ("\n\n"; each document keeps its line feeds).
    case paragraphs
    /// One document per line (each keeps its "\n").
    case lines
    /// The whole file is one document.
    case whole
}

struct BenchTokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Encoding speed: ours against Hugging Face tokenizers (Rust, encode_batch), same text and file.",
        discussion: """
        Both sides encode the same documents with the same tokenizer.json, on the same number of threads \
        (--threads, default 2; HF's through RAYON_NUM_THREADS), in this run: ours in this process, HF's in \
        scripts/bench_hf_tokenize.py under --python. One warm-up, then --runs timed runs each; the medians \
        give MB/s (UTF-8 bytes) and tokens/s. The token counts and the SHA-256 of all ids must agree, or the \
        command fails. A text file is cut into documents by --split; a .jsonl file has one document per line \
        in --text-field.

        The Python side needs `tokenizers`: `make interop` makes .venv-interop with it, or give any \
        Python that has it (python3 -m venv /tmp/v && /tmp/v/bin/pip install tokenizers).

        Example: alambique bench tokenize --tokenizer checkpoints/my-gpt2/tokenizer.json --data corpus.txt
        """)

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print one JSON object on stdout instead of a table.") var json = false
    @Option(help: "A tokenizer.json, or char, byte, bpe-N (trained on the Shakespeare training split, cached).")
    var tokenizer = "bpe-1024"
    @Option(help: "The text: a .txt or .jsonl file (default: the Shakespeare corpus, train + validation).")
    var data: String?
    @Option(help: "How a text file is cut into documents.") var split: DocumentSplit = .paragraphs
    @Option(help: "The field of a .jsonl line that holds the text.") var textField = "text"
    @Option(help: "Timed runs per side (after one warm-up); medians are reported.") var runs = 5
    @Option(help: "Python with Hugging Face tokenizers (default: .venv-interop/bin/python or /work/venv/bin/python).")
    var python: String?
    @Option(help: "The Hugging Face side's script.") var script = "scripts/bench_hf_tokenize.py"
    @Option(help: "Data directory (the corpus is fetched there when missing; bpe-N tokenizers are cached there).")
    var dataDir = "data"

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1, got \(runs)") }
    }

    func run() throws {
        try global.apply()
        let threads = global.threads ?? 2
        let python = try pythonPath()
        guard FileManager.default.fileExists(atPath: script) else {
            throw ValidationError("\(script) not found: run from the repository root or pass --script")
        }
        let documents = try loadDocuments()
        let (tokenizer, tokenizerFile, scratch) = try loadTokenizer()
        defer { if let scratch { try? FileManager.default.removeItem(at: scratch) } }
        let bytes = documents.reduce(0) { $0 + $1.utf8.count }
        printError("\(documents.count) documents, \(format(Double(bytes) / 1e6, 2)) MB, tokenizer \(self.tokenizer) "
                   + "(\(tokenizer.vocabularySize) tokens), \(threads) threads")

        let ours = try measureOurs(tokenizer, documents: documents, threads: threads)
        let theirs = try measureHuggingFace(python: python, tokenizerFile: tokenizerFile, documents: documents,
                                            threads: threads)
        let result = TokenizeBenchResult(
            tokenizer: self.tokenizer, vocabulary_size: tokenizer.vocabularySize, documents: documents.count,
            bytes: bytes,
            threads: threads, runs: runs, ours_seconds: ours.seconds, hf_seconds: theirs.seconds,
            hf_tokenizers_version: theirs.version, tokens: ours.tokens, hf_tokens: theirs.tokens,
            ids_agree: ours.tokens == theirs.tokens && ours.sha256 == theirs.sha256)
        if json { print(try jsonString(result)) } else { printTable(result) }
        guard result.ids_agree else {
            throw ValidationError("the ids differ: ours \(ours.tokens) tokens (SHA-256 \(ours.sha256)), "
                                  + "HF \(theirs.tokens) (\(theirs.sha256)); check with scripts/check_tokenizer.py")
        }
    }

    private func printTable(_ r: TokenizeBenchResult) {
        print("| encoder | threads | median s | MB/s | tokens/s |")
        print("|---|---:|---:|---:|---:|")
        print("| ours | \(r.threads) | \(format(r.ours_median, 3)) | \(format(r.ours_mb_s, 1)) | "
              + "\(format(r.ours_tokens_s, 0)) |")
        print("| HF tokenizers \(r.hf_tokenizers_version) encode_batch | \(r.threads) | \(format(r.hf_median, 3)) | "
              + "\(format(r.hf_mb_s, 1)) | \(format(r.hf_tokens_s, 0)) |")
        let agreement = r.ids_agree ? "identical" : "DIFFERENT"
        print("\nours / HF: \(format(r.ratio, 2))×; \(r.tokens) tokens each, ids \(agreement) "
              + "(\(r.documents) documents, \(format(Double(r.bytes) / 1e6, 2)) MB, \(r.runs) runs)")
    }

    private func pythonPath() throws -> String {
        if let python {
            guard FileManager.default.isExecutableFile(atPath: python) else {
                throw ValidationError("--python \(python): not an executable")
            }
            return python
        }
        let candidates = [".venv-interop/bin/python", "/work/venv/bin/python"]
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        throw ValidationError("no Python with Hugging Face tokenizers: run `make interop` (it makes .venv-interop), "
                              + "or pass --python /path/to/python of a venv with `pip install tokenizers`")
    }

    /// The tokenizer, the tokenizer.json HF reads (the given file itself, or ours saved to a scratch folder).
    private func loadTokenizer() throws -> (any Tokenizer, String, URL?) {
        if FileManager.default.fileExists(atPath: tokenizer) {
            return (try Tokenizers.loadTokenizer(from: URL(fileURLWithPath: tokenizer)), tokenizer, nil)
        }
        let corpus = try CorpusTokenization.loadCorpus(data: dataDir) { printError($0) }
        let built = try CorpusTokenization.build(tokenizer, corpus: corpus, data: dataDir) { printError($0) }
        let scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("alambique-bench-tokenize-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let file = scratch.appendingPathComponent("tokenizer.json")
        try built.save(to: file)
        return (built, file.path, scratch)
    }

    private func loadDocuments() throws -> [String] {
        guard let data else {
            let corpus = try CorpusTokenization.loadCorpus(data: dataDir) { printError($0) }
            return Self.split(corpus.train + corpus.validation, by: split)
        }
        let bytes: Data
        do { bytes = try Data(contentsOf: URL(fileURLWithPath: data)) } catch {
            throw ValidationError("--data \(data): cannot read the file (\(FileErrorReason.describe(error)))")
        }
        guard let text = String(data: bytes, encoding: .utf8) else {
            throw ValidationError("--data \(data): not valid UTF-8")
        }
        guard data.hasSuffix(".jsonl") else { return Self.split(text, by: split) }
        var documents: [String] = []
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() where !line.isEmpty {
            guard let value = try? parseJSON(Array(line.utf8)), case let .string(document)? = value[textField] else {
                throw ValidationError("\(data):\(index + 1): not a JSON object with a string \"\(textField)\"")
            }
            documents.append(document)
        }
        return documents
    }

    /// Cuts after each separator, so the documents concatenate back to the text.
    static func split(_ text: String, by split: DocumentSplit) -> [String] {
        let separator: String
        switch split {
        case .whole: return [text]
        case .lines: separator = "\n"
        case .paragraphs: separator = "\n\n"
        }
        var documents: [String] = []
        var rest = Substring(text)
        while let range = rest.range(of: separator) {
            documents.append(String(rest[..<range.upperBound]))
            rest = rest[range.upperBound...]
        }
        if !rest.isEmpty { documents.append(String(rest)) }
        return documents
    }

    private func measureOurs(_ tokenizer: any Tokenizer, documents: [String], threads: Int) throws
        -> (seconds: [Double], tokens: Int, sha256: String) {
        var seconds: [Double] = []
        var ids: [[Int32]] = []
        for run in 0...runs {
            let start = DispatchTime.now().uptimeNanoseconds
            ids = try tokenizer.encodeDocuments(documents, threads: threads) { progress in
                if progress.seconds > 2 { printError("  ours: " + progress.description) }
            }
            if run > 0 { seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
        }
        printError("ours: median \(format(median(seconds), 3)) s")
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4 * ids.reduce(0) { $0 + $1.count })
        for document in ids {
            for id in document { withUnsafeBytes(of: id.littleEndian) { bytes.append(contentsOf: $0) } }
        }
        return (seconds, bytes.count / 4, sha256Hex(bytes))
    }

    private func measureHuggingFace(python: String, tokenizerFile: String, documents: [String], threads: Int) throws
        -> (seconds: [Double], tokens: Int, sha256: String, version: String) {
        let scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("alambique-bench-documents-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: scratch) }
        try Data(JSONValue.array(documents.map { .string($0) }).serialized()).write(to: scratch)
        let child = Process()
        child.executableURL = URL(fileURLWithPath: python)
        child.arguments = [script, tokenizerFile, scratch.path, "--runs", String(runs)]
        var environment = ProcessInfo.processInfo.environment
        environment["RAYON_NUM_THREADS"] = String(threads)
        environment["TOKENIZERS_PARALLELISM"] = "true"
        child.environment = environment
        let output = Pipe()
        child.standardOutput = output
        printError("HF tokenizers: \(python) \(script) (\(runs + 1) runs)…")
        try child.run()
        let bytes = output.fileHandleForReading.readDataToEndOfFile()
        child.waitUntilExit()
        guard child.terminationStatus == 0, let report = try? parseJSON([UInt8](bytes)),
              case let .array(times)? = report["seconds"], let tokens = report["tokens"]?.integerValue,
              case let .string(sha)? = report["ids_sha256"],
              case let .string(version)? = report["tokenizers_version"] else {
            throw ValidationError("\(script) failed (exit \(child.terminationStatus)); "
                                  + "is `tokenizers` installed for \(python)?")
        }
        let seconds = times.compactMap { value -> Double? in
            if case let .number(text) = value { return Double(text) }
            return nil
        }
        return (seconds, tokens, sha, version)
    }
}

/// `bench tokenize --json` (field names in snake_case, as the other benches).
struct TokenizeBenchResult: Encodable {
    let tokenizer: String, vocabulary_size: Int, documents: Int, bytes: Int, threads: Int, runs: Int
    let ours_seconds: [Double], hf_seconds: [Double], hf_tokenizers_version: String
    let tokens: Int, hf_tokens: Int, ids_agree: Bool
    let ours_median: Double, hf_median: Double, ours_mb_s: Double, hf_mb_s: Double
    let ours_tokens_s: Double, hf_tokens_s: Double
    /// HF's median time over ours: above 1 when ours is faster.
    let ratio: Double

    init(tokenizer: String, vocabulary_size: Int, documents: Int, bytes: Int, threads: Int, runs: Int,
         ours_seconds: [Double], hf_seconds: [Double], hf_tokenizers_version: String, tokens: Int, hf_tokens: Int,
         ids_agree: Bool) {
        (self.tokenizer, self.vocabulary_size, self.documents, self.bytes, self.threads, self.runs)
            = (tokenizer, vocabulary_size, documents, bytes, threads, runs)
        (self.ours_seconds, self.hf_seconds) = (ours_seconds, hf_seconds)
        self.hf_tokenizers_version = hf_tokenizers_version
        (self.tokens, self.hf_tokens, self.ids_agree) = (tokens, hf_tokens, ids_agree)
        ours_median = median(ours_seconds)
        hf_median = median(hf_seconds)
        ours_mb_s = Double(bytes) / 1e6 / ours_median
        hf_mb_s = Double(bytes) / 1e6 / hf_median
        ours_tokens_s = Double(tokens) / ours_median
        hf_tokens_s = Double(hf_tokens) / hf_median
        ratio = hf_median / ours_median
    }
}
