// Loading a GPT checkpoint directory: the glue between Models (the network) and Store (the
// files), which cannot know each other.

import Foundation
import Models
import Store

/// A GPT checkpoint loaded whole — ours or one transformers saved (GPT2LMHeadModel; F32, F16 or BF16;
/// sharded or not): config, a model built without initialisation whose float32 weights are used in
/// place in the files' copy-on-write maps (F16/BF16 widened once), tokenizer (vocabulary checked).
public func loadGPT(from directory: URL) throws -> Checkpoint.Loaded<GPTConfig, GPT> {
    try Checkpoint.load(from: directory, parameterShapes: \.parameterShapes, extras: \.checkpointExtraTensors) {
        try GPT(uninitializedFor: $0)
    }
}
