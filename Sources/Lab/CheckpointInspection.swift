// What `inspect` says about a checkpoint beyond its files' contents: whether it will load, decided from the
// headers alone, as loading decides before it builds anything.

import Compress
import Foundation
import Models
import Store

public enum CheckpointInspection {
    /// Why a checkpoint cannot load, from its files' headers alone (the checks loading makes before it
    /// builds anything): a config.json that is not a valid config, or weights of a dense checkpoint
    /// that do not fit it. Nil when neither is wrong.
    public static func loadProblem(_ directory: URL) -> String? {
        let config: GPTConfig
        do { config = try Checkpoint.readConfig(GPTConfig.self, from: directory) } catch { return "\(error)" }
        guard let weights = try? CheckpointWeights(directory: directory),
              weights.metadata[CompressedCheckpoint.quantizationKey] == nil, weights.metadata[CompressedCheckpoint.sparseKey] == nil
        else { return nil }
        do {
            try Checkpoint.validateHeader(weights.combinedHeader(), expected: config.parameterShapes,
                                          extras: config.checkpointExtraTensors)
            return nil
        } catch {
            return "config.json and the weights do not fit together: \(error)"
        }
    }
}
