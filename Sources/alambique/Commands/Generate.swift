import ArgumentParser
import Compress
import Foundation
import Models
import Store
import Tokenizers

/// Sampling flags shared by `generate` and `chat`.
struct SamplingFlags: ParsableArguments {
    @Option(help: "Sampling temperature (0: greedy).") var temperature: Float = 0.8
    @Option(help: "Keep only the K most likely tokens (0: all).") var topK = 0
    @Option(help: "Keep the smallest set of tokens with this total probability (1: all).") var topP: Float = 1
    @Option(help: "Seed for sampling.") var seed: UInt64 = 1

    var options: SamplingOptions {
        SamplingOptions(temperature: temperature, topK: topK, topP: topP, seed: seed)
    }

    func validate() throws {
        do { try options.validate() } catch { throw ValidationError("\(error)") }
    }
}

/// Prints decoded text as tokens arrive (decoding the whole continuation each time, so
/// multi-byte characters split across BPE tokens come out whole).
struct StreamingPrinter {
    let tokenizer: any Tokenizer
    private var ids: [Int32] = []
    private var printed = 0

    init(tokenizer: any Tokenizer) { self.tokenizer = tokenizer }

    mutating func append(_ id: Int32) {
        ids.append(id)
        guard let text = try? tokenizer.decode(ids), !text.unicodeScalars.contains("\u{FFFD}") || ids.count > 64 else { return }
        let scalars = Array(text.unicodeScalars)
        if scalars.count > printed {
            var piece = String.UnicodeScalarView()
            piece.append(contentsOf: scalars[printed...])
            emit(String(piece))
            printed = scalars.count
        }
    }
}

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Continue a prompt with a checkpoint (batch 1, KV cache).",
        discussion: """
        Past the model's context (128 tokens for the presets) the window slides: the last half is kept and \
        the cache refilled from it once per half-context.

        Example: alambique generate checkpoints/shakespeare-teacher-3.2M-ctx128-char-F32 --prompt 'ROMEO:' --max-new-tokens 300
        """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Checkpoint directory.") var checkpoint: String
    @Option(help: "The text to continue.") var prompt = "\n"
    @Option(help: "Tokens to generate.") var maxNewTokens = 200
    @OptionGroup var sampling: SamplingFlags
    @Option(help: "Also write a JSON file with the prompt's ids, the logits at every prompt position (computed token by token, as decoding does) and the generated ids — to compare with another runtime.")
    var logitsOut: String?
    @Flag(help: "Go on past the end-of-text token (eos_token_id of generation_config.json or config.json), where generation stops by default.")
    var ignoreEos = false

    func validate() throws {
        guard maxNewTokens >= 0 else { throw ValidationError("--max-new-tokens must be ≥ 0, got \(maxNewTokens)") }
        guard !prompt.isEmpty else { throw ValidationError("--prompt must not be empty") }
    }

    func run() throws {
        try global.apply()
        let start = Date()
        let loaded = try CompressedCheckpoint.load(from: URL(fileURLWithPath: checkpoint))
        printError(String(format: "loaded %@ in %.2fs", loaded.info.name, Date().timeIntervalSince(start)))
        let eos = ignoreEos ? nil : try Checkpoint.readSpecialTokens(from: URL(fileURLWithPath: checkpoint)).eos.map(Int32.init)
        let promptIds = try loaded.tokenizer.encode(prompt)
        guard promptIds.count <= loaded.config.contextLength || logitsOut == nil else {
            throw ValidationError("--logits-out: the prompt is \(promptIds.count) tokens, more than the context (\(loaded.config.contextLength))")
        }
        emit(prompt)
        var printer = StreamingPrinter(tokenizer: loaded.tokenizer)
        let generationStart = Date()
        // Past the context, keep the last half and refill the cache once per half-context (as
        // llama.cpp shifts its context), rather than recomputing T − 1 positions for every token.
        let overflow = ContextOverflow.slide(keep: max(1, loaded.config.contextLength / 2))
        let ids = try loaded.model.generate(prompt: promptIds, maxNewTokens: maxNewTokens, options: sampling.options,
                                            overflow: overflow) { id in
            if id == eos { return false }
            printer.append(id)
            return true
        }
        emit("\n")
        let seconds = Date().timeIntervalSince(generationStart)
        printError(String(format: "%d tokens in %.2fs (%.0f tokens/s)", ids.count, seconds, Double(ids.count) / seconds))
        if let logitsOut {
            // The logits at every prompt position, one token at a time through the KV cache: the
            // batch-1 kernels generation decodes with (for quantized weights: x quantized to int8 blocks).
            let generator = loaded.model.makeGenerator()
            let rows = try promptIds.map { Array(try generator.logits(forNext: $0)) }
            let document: [String: Any] = ["model": loaded.info.name, "prompt": prompt, "prompt_ids": promptIds.map(Int.init),
                                           "logits": rows, "generated_ids": ids.map(Int.init), "text": try loaded.tokenizer.decode(ids)]
            try AtomicFile.write(JSONSerialization.data(withJSONObject: document), to: URL(fileURLWithPath: logitsOut))
            printError("wrote \(logitsOut)")
        }
    }
}

struct Chat: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Talk to a checkpoint: type a prompt and a length, read the continuation; `exit` to quit.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Checkpoint directory.") var checkpoint: String
    @OptionGroup var sampling: SamplingFlags

    func run() throws {
        try global.apply()
        let start = Date()
        let loaded = try CompressedCheckpoint.load(from: URL(fileURLWithPath: checkpoint))
        emit(String(format: "Loaded %@ (%d parameters, %@ tokenizer, context %d) in %.2fs.", loaded.info.name,
                     loaded.parameters, loaded.tokenizer.kind.rawValue, loaded.config.contextLength,
                     Date().timeIntervalSince(start)) + "\n")
        emit("Type a prompt, then the number of tokens to generate (Enter: 200). `exit` quits.\n")
        var round = 0
        while true {
            emit("\nprompt> ")
            guard let line = readLine(), line.trimmingCharacters(in: .whitespaces) != "exit" else { break }
            let prompt = line.isEmpty ? "\n" : line
            emit("tokens [200]> ")
            guard let lengthLine = readLine(), lengthLine.trimmingCharacters(in: .whitespaces) != "exit" else { break }
            guard let length = lengthLine.isEmpty ? 200 : Int(lengthLine.trimmingCharacters(in: .whitespaces)), length >= 0 else {
                emit("(not a number of tokens: \(lengthLine))\n")
                continue
            }
            let promptIds: [Int32]
            do { promptIds = try loaded.tokenizer.encode(prompt) } catch {
                emit("(cannot encode this prompt: \(error))\n")
                continue
            }
            var options = sampling.options
            options.seed = sampling.seed &+ UInt64(round)
            round += 1
            emit(prompt)
            var printer = StreamingPrinter(tokenizer: loaded.tokenizer)
            let generationStart = Date()
            let ids: [Int32]
            do {
                ids = try loaded.model.generate(prompt: promptIds, maxNewTokens: length, options: options,
                                                overflow: .slide(keep: max(1, loaded.config.contextLength / 2))) { id in
                    printer.append(id)
                    return true
                }
            } catch {
                emit("\n(cannot generate: \(error))\n")
                continue
            }
            let seconds = Date().timeIntervalSince(generationStart)
            emit(String(format: "\n[%d tokens in %.2fs, %.0f tokens/s]\n", ids.count, seconds, Double(ids.count) / max(seconds, 1e-9)))
        }
    }
}

/// Writes to stdout at once (a prompt or a token must appear before the program waits).
func emit(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}
