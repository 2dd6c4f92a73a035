// Loading any checkpoint the lab writes for comparison: dense float32 today; sparse and quantized
// checkpoints load through Compress (their packed weights are used as stored).

import Foundation
import Models
import Store

public enum ModelLoading {
    /// Loads `directory` with its name, role, format, parameter counts and bytes on disk.
    public static func load(_ directory: URL) throws -> LoadedModel {
        let loaded = try Checkpoint.load(from: directory) { (config: GPTConfig) in try GPT(config: config, seed: 0) }
        let parameters = loaded.model.parameterCount
        var nonzero = 0
        for tensor in loaded.model.parameters() {
            for i in 0 ..< tensor.count where tensor.data[i] != 0 { nonzero += 1 }
        }
        let weights = directory.appendingPathComponent(Checkpoint.modelFileName)
        let bytes = (try? FileManager.default.attributesOfItem(atPath: weights.path)[.size] as? Int) ?? 0
        return LoadedModel(model: loaded.model, tokenizer: loaded.tokenizer, name: loaded.info.name, role: loaded.info.role,
                           format: loaded.info.format, parameters: parameters, nonzeroParameters: nonzero, bytes: bytes)
    }
}
