// Replays the fuzzers' saved inputs (FuzzRegressions/<parser>/) through the calls the harnesses in
// Sources/AlambiqueFuzz make. `seed-*` files are valid files the lab wrote and must load; every
// other file is an input that once crashed or hung a parser and must now throw. None may trap.

import Foundation
import Models
import Testing
@testable import Store

/// The saved inputs for `parser`, by file name.
private func fuzzInputs(_ parser: String) throws -> [(name: String, bytes: Data)] {
    let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("FuzzRegressions").appendingPathComponent(parser)
    return try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasPrefix(".") }.sorted().map {
        ($0, try Data(contentsOf: folder.appendingPathComponent($0)))
    }
}

@Suite("Fuzz regressions (Store)") struct StoreFuzzRegressionTests {
    /// The seeds' model (AlambiqueFuzz's FuzzSeeds.microConfig: 19 characters, 1 layer, 2 heads, 8 channels).
    static let microConfig = GPTConfig(vocabularySize: 19, contextLength: 4, layers: 1, heads: 2, embeddingSize: 8,
                                       innerSize: 8)

    /// The safetensors harness: decode, widen every float tensor, load strictly into the tiny model.
    static func loadSafeTensors(_ bytes: Data) throws {
        let file = try SafeTensors.decode(bytes, source: "model.safetensors")
        var parameters: [String: ParameterValues] = [:]
        for entry in file.entries where [.float32, .float16, .bfloat16].contains(entry.dataType) {
            parameters[entry.name] = ParameterValues(shape: entry.shape, values: try file.floats(named: entry.name))
        }
        try GPT(config: microConfig, seed: 0).loadParameters(parameters, source: "model.safetensors")
    }

    @Test(.timeLimit(.minutes(1))) func safeTensorsInputsLoadOrThrow() throws {
        let inputs = try fuzzInputs("safetensors")
        #expect(inputs.contains { $0.name.hasPrefix("seed-") })
        for (name, bytes) in inputs {
            if name.hasPrefix("seed-f") {
                #expect(throws: Never.self, "\(name)") { try Self.loadSafeTensors(bytes) }
            } else if name.hasPrefix("seed-") {
                #expect(throws: Never.self, "\(name)") { try SafeTensors.decode(bytes) }
            } else {
                #expect(throws: (any Error).self, "\(name)") { try Self.loadSafeTensors(bytes) }
            }
        }
    }

    @Test(.timeLimit(.minutes(1))) func configInputsLoadOrThrow() throws {
        let inputs = try fuzzInputs("config")
        #expect(inputs.contains { $0.name.hasPrefix("seed-") })
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for (name, bytes) in inputs {
            try bytes.write(to: directory.file(Checkpoint.configFileName))
            let load = {
                _ = try Checkpoint.readInfo(from: directory.url)
                try Checkpoint.readConfig(GPTConfig.self, from: directory.url).validate()
            }
            if name.hasPrefix("seed-") {
                #expect(throws: Never.self, "\(name)") { try load() }
            } else {
                #expect(throws: (any Error).self, "\(name)") { try load() }
            }
        }
    }

    @Test(.timeLimit(.minutes(1))) func logitFileInputsOpenOrThrow() throws {
        let inputs = try fuzzInputs("logits")
        #expect(inputs.contains { $0.name.hasPrefix("seed-") })
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for (name, bytes) in inputs {
            let url = directory.file("input.h5")
            try bytes.write(to: url)
            let open = { _ = try Inspection.logitsFile(url) }
            if name.hasPrefix("seed-") {
                #expect(throws: Never.self, "\(name)") { try open() }
            } else {
                #expect(throws: (any Error).self, "\(name)") { try open() }
            }
        }
    }
}
