// Loading any checkpoint the lab writes for comparison: dense, sparse or quantized (through
// Compress: quantized layers run packed; sparse layers that pay run as CSR).

import Compress
import Foundation
import Models
import Store

public enum ModelLoading {
    /// Loads `directory` with its name, role, format, parameter counts and bytes on disk.
    public static func load(_ directory: URL) throws -> LoadedModel {
        let loaded = try CompressedCheckpoint.load(from: directory)
        return LoadedModel(model: loaded.model, tokenizer: loaded.tokenizer, name: loaded.info.name, role: loaded.info.role,
                           format: loaded.info.format, parameters: loaded.parameters, nonzeroParameters: loaded.nonzeroParameters,
                           bytes: loaded.bytes)
    }
}
