// Replays the GGUF fuzzer's saved inputs (FuzzRegressions/gguf/) through the harness's calls
// (Sources/AlambiqueFuzz): `seed-*` files are the lab's own exports and must import; every other file
// once crashed or hung the reader or the import and must now throw. None may trap.

import Foundation
import Interop
import Store
import Testing

@Suite("Fuzz regressions (GGUF)") struct GGUFFuzzRegressionTests {
    static func importFile(_ bytes: Data) throws {
        let file = try GGUFFile(data: bytes, source: "model.gguf")
        _ = file.summary()
        for tensor in file.tensors where tensor.type == .f32 || tensor.type == .f16 {
            _ = try file.floats(of: tensor)
        }
        _ = try GGUFTokenizer.tokenizer(from: file)
        _ = try GPT2GGUF.load(file)
    }

    @Test(.timeLimit(.minutes(1))) func ggufInputsImportOrThrow() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("FuzzRegressions/gguf")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { !$0.hasPrefix(".") }.sorted()
        #expect(names.contains { $0.hasPrefix("seed-") })
        for name in names {
            let bytes = try Data(contentsOf: folder.appendingPathComponent(name))
            if name.hasPrefix("seed-") {
                #expect(throws: Never.self, "\(name)") { try Self.importFile(bytes) }
            } else {
                #expect(throws: (any Error).self, "\(name)") { try Self.importFile(bytes) }
            }
        }
    }
}
