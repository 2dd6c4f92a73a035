// Whole-corpus checks: run by `make check-slow` (ALAMBIQUE_CORPUS_DIR names data/shakespeare,
// which `make data` prepares); `make test` stays offline and fast.

import Foundation
import Testing
import Tokenizers

@Suite("Corpus round trips") struct CorpusRoundTripTests {
    static let directory = ProcessInfo.processInfo.environment["ALAMBIQUE_CORPUS_DIR"]

    static func corpus() throws -> (train: String, validation: String) {
        let base = URL(fileURLWithPath: directory!)
        return (try String(contentsOf: base.appendingPathComponent("train.txt"), encoding: .utf8),
                try String(contentsOf: base.appendingPathComponent("val.txt"), encoding: .utf8))
    }

    @Test("char, byte and BPE-1024 round-trip the whole corpus; BPE uses fewer tokens than bytes",
          .enabled(if: directory != nil, "set ALAMBIQUE_CORPUS_DIR (make check-slow)"))
    func wholeCorpus() throws {
        let (train, validation) = try Self.corpus()
        let whole = train + validation
        let char = CharTokenizer(corpus: whole)
        #expect(char.vocabularySize == 84)
        let bpe = try BPETrainer.train(text: train, vocabularySize: 1024)
        for tokenizer in [char, ByteTokenizer(), bpe] as [any Tokenizer] {
            let ids = try tokenizer.encode(whole)
            #expect(try tokenizer.decode(ids) == whole, "\(tokenizer.kind) does not round-trip the corpus")
        }
        let validationIds = try bpe.encode(validation)
        let ratio = Double(validationIds.count) / Double(validation.utf8.count)
        print("BPE-1024 on the validation text: \(validationIds.count) tokens for \(validation.utf8.count) bytes (\(ratio) tokens/byte)")
        #expect(ratio < 0.5, "BPE-1024 should need fewer than half as many tokens as bytes, got \(ratio)")
    }
}
