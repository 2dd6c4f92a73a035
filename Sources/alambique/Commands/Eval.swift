import ArgumentParser
import Evaluate
import Foundation
import Lab
import Models
import Store

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validation loss, perplexity, bits per character and accuracy of checkpoints (dense, sparse or quantized).",
        discussion: """
        The first --validation-batches × 16 windows of the validation split (the windows training evaluates on), \
        each model run as loaded (quantized layers packed, sparse layers as CSR when it pays). With --relative-to, \
        also the change of validation loss against that checkpoint. With --stepwise, every window runs one token at a \
        time through the KV-cache generator instead of the batched forward: the batch-1 kernels generation uses \
        (quantized layers then quantize the activations to int8 blocks of 32, as llama.cpp does).

        Example: alambique eval checkpoints/<student> checkpoints/<student>-Q8_0 --relative-to checkpoints/<student>
        """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Checkpoint directories.") var checkpoints: [String]
    @Option(help: "A checkpoint to compare the others' validation loss with.") var relativeTo: String?
    @Option(help: "Validation batches of 16 windows.") var validationBatches = 50
    @OptionGroup var corpus: CorpusFlags
    @Flag(help: "Evaluate one token at a time through the KV-cache generator (the batch-1 kernels of generation).")
    var stepwise = false

    func run() throws {
        try global.apply()
        var reference: Double?
        if let relativeTo { reference = try evaluate(relativeTo).validationLoss }
        print("| model | format | val loss | Δ | perplexity | bits/char | accuracy |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for path in checkpoints {
            let loaded = try ModelLoading.load(URL(fileURLWithPath: path))
            let metrics = try evaluate(path, loaded: loaded)
            let delta = reference.map { String(format: "%+.2f%%", 100 * (metrics.validationLoss / $0 - 1)) } ?? "–"
            print(String(format: "| %@ | %@ | %.4f | %@ | %.3f | %.4f | %.2f%% |", loaded.name, loaded.format, metrics.validationLoss,
                         delta, metrics.perplexity, metrics.bitsPerCharacter, 100 * metrics.accuracy))
        }
    }

    private func evaluate(_ path: String, loaded: LoadedModel? = nil) throws -> QualityMetrics {
        let model = try loaded ?? ModelLoading.load(URL(fileURLWithPath: path))
        let tokens = try CorpusTokenization.tokenize(corpus.selection, tokenizer: model.tokenizer) { printError($0) }.validation
        let batches = try TokenWindows(sequence: tokens, context: model.model.config.contextLength, name: "validation split")
            .validationBatches(batchSize: 16, maximumBatches: validationBatches)
        let characters = try batches.map { try model.tokenizer.decode($0.targets.values).unicodeScalars.count }
        if stepwise {
            return try QualityEvaluation.evaluateStepwise(model: model.model, batches: batches, charactersPerBatch: characters)
        }
        return try QualityEvaluation.evaluate(model: model.model, teacher: nil, batches: batches, charactersPerBatch: characters)
    }
}
