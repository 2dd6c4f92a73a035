// Replays the tokenizer fuzzer's saved inputs (FuzzRegressions/tokenizer/) through the harness's calls
// (Sources/AlambiqueFuzz): `seed-*` files were written by the lab and must load and round-trip; every
// other file once crashed or hung the reader and must now throw. None may trap.

import Foundation
import Testing
@testable import Tokenizers

@Suite("Fuzz regressions (tokenizer.json)") struct TokenizerFuzzRegressionTests {
    static let sample = "To be, or not to be: that is the question.\n Ça va? 日本 🙂"

    @Test(.timeLimit(.minutes(1))) func tokenizerInputsLoadOrThrow() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("FuzzRegressions/tokenizer")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { !$0.hasPrefix(".") }.sorted()
        #expect(names.contains { $0.hasPrefix("seed-") })
        for name in names {
            let bytes = [UInt8](try Data(contentsOf: folder.appendingPathComponent(name)))
            let roundTrip = {
                let tokenizer = try loadTokenizer(jsonBytes: bytes)
                _ = tokenizer.fingerprint()
                _ = try tokenizer.decode(try tokenizer.encode(Self.sample))
            }
            if name.hasPrefix("seed-") {
                #expect(throws: Never.self, "\(name)") { try loadTokenizer(jsonBytes: bytes) }
            } else {
                #expect(throws: (any Error).self, "\(name)") { try roundTrip() }
            }
        }
    }

    /// The `gpt2vocab` harness: vocab.json, a NUL byte, merges.txt.
    @Test(.timeLimit(.minutes(1))) func gpt2VocabularyInputsLoadOrThrow() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("FuzzRegressions/gpt2vocab")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { !$0.hasPrefix(".") }.sorted()
        #expect(names.contains { $0.hasPrefix("seed-") })
        for name in names {
            let bytes = [UInt8](try Data(contentsOf: folder.appendingPathComponent(name)))
            let cut = bytes.firstIndex(of: 0) ?? bytes.count
            let merges = cut < bytes.count ? Array(bytes[(cut + 1)...]) : []
            let roundTrip = {
                let tokenizer = try GPT2VocabularyFiles.load(vocabularyJSON: Array(bytes[..<cut]), merges: merges)
                _ = tokenizer.fingerprint()
                #expect(try tokenizer.decode(try tokenizer.encode(Self.sample)) == Self.sample)
            }
            if name.hasPrefix("seed-") {
                #expect(throws: Never.self, "\(name)") { try roundTrip() }
            } else {
                #expect(throws: (any Error).self, "\(name)") { try roundTrip() }
            }
        }
    }
}
