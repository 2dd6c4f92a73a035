// Which tensors pruning touches, derived from the module walk (DESIGN §8: never a hand-kept list).
// A Linear's weight is (in, out), GPT-2's Conv1D layout; masks use the same row-major order.

import Models

/// Which kinds of tensors count as prunable, beyond the attention and MLP matrices.
public struct PrunableTensorOptions: Sendable, Equatable {
    /// Also prune the token and position embeddings (`wte`, `wpe`). Off by default: wte is the
    /// tied output head too, and zeroing it hurts every logit.
    public var includeEmbeddings: Bool
    /// Also prune LayerNorm weights (`ln_1`, `ln_2`, `ln_f`; 1-D). Off by default.
    public var includeNorms: Bool

    /// Options; the defaults select only the 2-D attention and MLP weights.
    public init(includeEmbeddings: Bool = false, includeNorms: Bool = false) {
        self.includeEmbeddings = includeEmbeddings
        self.includeNorms = includeNorms
    }

    /// The default: attention and MLP weight matrices only.
    public static let `default` = PrunableTensorOptions()
}

/// The prunable tensors of a model, found by name in `namedParameters()`.
public enum PrunableTensors {
    /// Whether the parameter called `name` (rank `rank`) is prunable under `options`:
    /// 2-D weights whose name contains `.attn.` or `.mlp.` and ends in `.weight`; with options,
    /// the `wte`/`wpe` embeddings and the LayerNorm weights (`ln_*.weight`). Biases never are.
    public static func isPrunable(name: String, rank: Int, options: PrunableTensorOptions = .default) -> Bool {
        guard name.hasSuffix(".weight") else { return false }
        let components = name.split(separator: ".")
        if rank == 2, name.contains(".attn.") || name.contains(".mlp.") { return true }
        if options.includeEmbeddings, rank == 2, components.contains("wte") || components.contains("wpe") { return true }
        if options.includeNorms, rank == 1, components.contains(where: { $0.hasPrefix("ln_") }) { return true }
        return false
    }

    /// The prunable (name, tensor) pairs of `module`, in the walk's order (layer by layer).
    public static func select(in module: Module, options: PrunableTensorOptions = .default) -> [(name: String, tensor: Tensor)] {
        module.namedParameters().filter { isPrunable(name: $0.name, rank: $0.tensor.rank, options: options) }
    }

    /// Fraction of zero elements over `tensors` (0 for none).
    public static func sparsity(of tensors: [Tensor]) -> Double {
        var zeros = 0, total = 0
        for t in tensors {
            total += t.count
            for i in 0..<t.count where t.data[i] == 0 { zeros += 1 }
        }
        return total == 0 ? 0 : Double(zeros) / Double(total)
    }
}
