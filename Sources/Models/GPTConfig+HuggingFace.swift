// What a GPT-2 config.json from transformers may say that our GPT cannot compute. Keys that only
// describe (torch_dtype, transformers_version, use_cache, summary_* of the double-heads model, token
// ids) are accepted and ignored; a key whose value would change the network's function is refused,
// naming it, so that a model never loads and quietly computes something else.

extension GPTConfig {
    /// The activations our MLP computes: GELU with the tanh approximation, under transformers' names.
    public static let supportedActivations = ["gelu_new", "gelu_pytorch_tanh"]

    enum HuggingFaceKeys: String, CodingKey {
        case activation = "activation_function", architectures, tie = "tie_word_embeddings"
        case scaleAttention = "scale_attn_weights", scaleByLayer = "scale_attn_by_inverse_layer_idx"
        case crossAttention = "add_cross_attention"
    }

    /// Refuses the config.json values this model cannot compute, naming the key and what it would need.
    static func refuseUnsupportedKeys(_ decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: HuggingFaceKeys.self)
        if let activation = try c.decodeIfPresent(String.self, forKey: .activation),
           !supportedActivations.contains(activation) {
            let exact = activation == "gelu" ? " (\"gelu\" is the exact erf GELU, which differs from the tanh form)" : ""
            throw ModelError("config.json: activation_function is \(quoted(activation)), expected \"gelu_new\" "
                             + "(GELU, tanh approximation; also spelled \"gelu_pytorch_tanh\")" + exact)
        }
        if let architectures = try c.decodeIfPresent([String].self, forKey: .architectures),
           let other = architectures.first(where: { $0 != "GPT2LMHeadModel" }) {
            throw ModelError("config.json: architectures names \(quoted(other)); this lab loads GPT2LMHeadModel "
                             + "(a GPT-2 with its language-model head) only")
        }
        let refused: [(HuggingFaceKeys, Bool, String)] = [
            (.tie, true, "the output head is tied to wte; an untied lm_head.weight is not supported"),
            (.scaleAttention, true, "attention scores are always scaled by 1/√(head size)"),
            (.scaleByLayer, false, "attention scores are not scaled by 1/(layer index + 1)"),
            (.crossAttention, false, "the blocks have no cross-attention (encoder-decoder use)"),
        ]
        for (key, supported, meaning) in refused {
            if let value = try c.decodeIfPresent(Bool.self, forKey: key), value != supported {
                throw ModelError("config.json: \(key.stringValue) is \(value), expected \(supported): \(meaning)")
            }
        }
    }

    /// Tensors transformers may save beside the parameters: the tied head under its own name, and
    /// each layer's causal-mask buffers (older versions saved them), which the model recomputes.
    public var checkpointExtraTensors: [CheckpointExtraTensor] {
        var extras = [CheckpointExtraTensor(name: "lm_head.weight", shape: [vocabularySize, embeddingSize],
                                            role: "the output head, tied to transformer.wte.weight")]
        for layer in 0..<max(0, layers) {
            extras.append(CheckpointExtraTensor(name: "transformer.h.\(layer).attn.bias", shape: nil,
                                                role: "causal-mask buffer, recomputed"))
            extras.append(CheckpointExtraTensor(name: "transformer.h.\(layer).attn.masked_bias", shape: nil,
                                                role: "mask-fill buffer, recomputed"))
        }
        return extras
    }
}
