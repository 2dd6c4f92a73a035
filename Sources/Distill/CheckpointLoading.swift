// Loading a GPT checkpoint directory: the glue between Models (the network) and Store (the
// files), which cannot know each other.

import Foundation
import Models
import Store

/// A GPT checkpoint loaded whole: config, weights (strictly), tokenizer (vocabulary checked).
public func loadGPT(from directory: URL) throws -> Checkpoint.Loaded<GPTConfig, GPT> {
    try Checkpoint.load(from: directory, parameterShapes: \.parameterShapes) { (config: GPTConfig) in try GPT(config: config, seed: 0) }
}
