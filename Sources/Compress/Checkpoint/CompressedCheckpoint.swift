// Checkpoints of compressed models (DESIGN.md §6): model.safetensors holds quantized matrices as
// their int8 or ggml-block entries (`<name>.q`/`.scale`/`.zero_point`, `<name>.blocks`), sparse tensors
// as `<name>.mask` + `<name>.values`, and everything else as float32 under the HF names; metadata says
// which is which (`alambique.quantization`: scheme and granularity per tensor; `alambique.sparse`: the
// sparse tensors). Loading is strict: every entry must be used, every parameter supplied, every
// value and scale finite.

import Foundation
import Models
import Store
import Tokenizers

public enum CompressedCheckpoint {
    /// Metadata key of the quantized tensors ({name: {scheme, granularity, shape}}, `QuantizationMetadata`).
    public static let quantizationKey = QuantizedMatrix.metadataKey
    /// Metadata key: a JSON array of the tensor names stored as mask + values.
    public static let sparseKey = "alambique.sparse"

    /// A checkpoint loaded for inference.
    public struct Loaded {
        public let config: GPTConfig
        public let model: GPT
        public let tokenizer: any Tokenizer
        public let info: CheckpointInfo
        /// Logical parameters (a quantized matrix counts rows × columns).
        public let parameters: Int
        /// Parameters that are not zero (quantized matrices count whole).
        public let nonzeroParameters: Int
        /// Bytes of model.safetensors.
        public let bytes: Int
    }

    /// A model name with its format suffix replaced (DESIGN §6 naming): `…-F32` → `…-Q8_0`,
    /// `…-F32-s90` → `…-Q8_0-s90` when `format` is `Q8_0-s90`.
    public static func renamed(_ name: String, from oldFormat: String, to format: String) -> String {
        let suffix = "-" + oldFormat
        return (name.hasSuffix(suffix) ? String(name.dropLast(suffix.count)) : name) + "-" + format
    }

    /// The Linear layers of `model` with their HF weight names (`transformer.h.0.attn.c_attn.weight`).
    public static func linearLayers(of model: Module) -> [(weightName: String, linear: Linear)] {
        model.namedModules().compactMap { entry in
            (entry.module as? Linear).map { (entry.name + ".weight", $0) }
        }
    }

    /// Writes `model`: its packed quantized layers as quantized entries, the parameters named in
    /// `sparse` as mask + values, the rest as float32.
    /// - Throws: `CompressionError` for a sparse name that is not a parameter or a packed layer that is
    ///   not quantized; the errors of `Checkpoint.save`.
    @discardableResult
    public static func save(model: GPT, tokenizer: any Tokenizer, info: CheckpointInfo, sparse: Set<String> = [],
                            to directory: URL) throws -> CheckpointInfo {
        var entries: [SafeTensorsEntry] = []
        var quantization: [String: QuantizedTensorInfo] = [:]
        var packedWeights = Set<ObjectIdentifier>()
        var parameters = 0
        for (name, linear) in linearLayers(of: model) {
            guard let packed = linear.packed else { continue }
            guard let quantized = packed as? QuantizedMatrix else {
                throw CompressionError("\(name): a \(packed.format) layer cannot be saved; save the dense (masked) model with sparse storage instead")
            }
            entries += quantized.entries(name: name)
            quantization[name] = QuantizedTensorInfo(quantized)
            packedWeights.insert(ObjectIdentifier(linear.weight))
            parameters += quantized.rows * quantized.columns
        }
        let named = model.namedParameters().filter { !packedWeights.contains(ObjectIdentifier($0.tensor)) }
        let names = Set(named.map(\.name))
        if let unknown = sparse.subtracting(names).sorted().first {
            throw CompressionError("sparse storage: \(unknown) is not a float32 parameter of the model")
        }
        for (name, tensor) in named {
            parameters += tensor.count
            if sparse.contains(name) {
                entries += SparseTensorStorage.encode(name: name, tensor: tensor)
            } else {
                entries.append(SafeTensorsEntry(name: name, dataType: .float32, shape: tensor.shape,
                                                bytes: Data(bytes: tensor.data, count: tensor.count * MemoryLayout<Float>.stride)))
            }
        }
        var metadata: [String: String] = [:]
        if !quantization.isEmpty { metadata[quantizationKey] = QuantizationMetadata.encode(quantization) }
        if !sparse.isEmpty {
            metadata[sparseKey] = String(decoding: try JSONSerialization.data(withJSONObject: sparse.sorted()), as: UTF8.self)
        }
        var info = info
        info.parameterCount = parameters
        return try Checkpoint.save(module: model, config: model.config, tokenizer: tokenizer, info: info,
                                   weights: (entries, metadata), to: directory)
    }

    /// Loads any checkpoint the lab writes (dense, sparse, quantized). Quantized layers are packed as
    /// stored; sparse layers at or above `SparseMatrix.crossoverSparsity` are packed as CSR when
    /// `packSparse` (else, and below it, they stay dense with their zeros).
    /// - Throws: `CompressionError` naming the tensor (unknown entry, missing scale, bad metadata, a
    ///   NaN, infinite or negative int8 scale, a NaN or infinite ggml block d or m, with its block);
    ///   `CheckpointError`/`LoadError` as dense loading does — `LoadError.nonFiniteValue` naming the
    ///   tensor and the index of its first NaN or ±∞, dense or sparse.
    public static func load(from directory: URL, packSparse: Bool = true) throws -> Loaded {
        let weights = try CheckpointWeights(directory: directory)
        guard weights.metadata[quantizationKey] != nil || weights.metadata[sparseKey] != nil else {
            return try loadDense(from: directory, weights: weights)
        }
        let config = try Checkpoint.readConfig(GPTConfig.self, from: directory)
        let info = try Checkpoint.readInfo(from: directory)
        let tokenizer = try Checkpoint.loadTokenizer(from: directory)
        try Checkpoint.validateTokenizer(tokenizer, vocabularySize: config.vocabularySize, path: directory.path)
        try Checkpoint.validateTokenizerFingerprint(tokenizer, info: info, directory: directory)
        let url = directory.appendingPathComponent(Checkpoint.modelFileName)
        let file = try SafeTensors.read(contentsOf: url)
        try checkBeforeBuilding(config, file)
        let model = try GPT(config: config, seed: 0)
        var used = Set<String>()

        // Quantized layers: each matrix as the metadata describes it, checked against the layer it replaces.
        let linears = Dictionary(linearLayers(of: model).map { ($0.weightName, $0.linear) }, uniquingKeysWith: { a, _ in a })
        var parameters = 0
        for (name, matrix) in try QuantizationMetadata.loadAll(from: file).sorted(by: { $0.key < $1.key }) {
            guard let linear = linears[name] else {
                throw CompressionError("\(url.path): \(quantizationKey) names \(name), which is not a linear layer's weight of this model")
            }
            for entry in matrix.entries(name: name) { used.insert(entry.name) }
            parameters += matrix.rows * matrix.columns
            try linear.pack(matrix)  // throws, naming both shapes, when the matrix does not fit the layer
        }

        // Float parameters, dense or sparse.
        let sparse = Set(try metadataObject(file, sparseKey, as: [String].self) ?? [])
        var values: [String: ParameterValues] = [:]
        var nonzero = parameters
        for (name, tensor) in model.namedParameters() {
            if tensor.count == 0, tensor.shape == [0, 0] {  // a packed layer's released weight
                values[name] = ParameterValues(shape: [0, 0], values: [])
                continue
            }
            let floats: [Float]
            if sparse.contains(name) {
                floats = try SparseTensorStorage.decode(name: name, shape: tensor.shape, file: file)
                used.insert(SparseTensorStorage.maskName(name))
                used.insert(SparseTensorStorage.valuesName(name))
            } else {
                guard let entry = file[name] else {
                    throw CompressionError("\(url.path): no tensor \(name) (shape \(tensor.shape)) — neither dense, sparse nor quantized")
                }
                guard entry.shape == tensor.shape else {
                    throw CompressionError("\(url.path): \(name) has shape \(entry.shape), the model expects \(tensor.shape)")
                }
                floats = try file.floats(named: name)
                used.insert(name)
            }
            parameters += floats.count
            nonzero += floats.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
            values[name] = ParameterValues(shape: tensor.shape, values: floats)
        }
        if let unknown = file.names.first(where: { !used.contains($0) }) {
            throw CompressionError("\(url.path): tensor \(unknown) is not part of this model (unknown entry)")
        }
        try model.loadParameters(values, source: url.path)

        // Sparse layers that pay as CSR are packed (the dense copy is released).
        if packSparse {
            for (name, linear) in linears where sparse.contains(name) && linear.packed == nil {
                let zeros = (0 ..< linear.weight.count).reduce(0) { $0 + (linear.weight.data[$1] == 0 ? 1 : 0) }
                let sparsity = Double(zeros) / Double(max(linear.weight.count, 1))
                if SparseMatrix.shouldUseSparse(sparsity: sparsity) {
                    try linear.pack(SparseMatrix(linearWeight: linear.weight, name: name))
                }
            }
        }
        let bytes = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        return Loaded(config: config, model: model, tokenizer: tokenizer, info: info, parameters: parameters,
                      nonzeroParameters: nonzero, bytes: bytes)
    }

    /// A dense checkpoint (ours or transformers', F32/F16/BF16, sharded or not): float32 weights used
    /// in place in the mapped files, others widened once (`Checkpoint.load`).
    private static func loadDense(from directory: URL, weights: CheckpointWeights) throws -> Loaded {
        let loaded = try Checkpoint.load(from: directory, parameterShapes: \GPTConfig.parameterShapes,
                                         extras: \.checkpointExtraTensors) { try GPT(uninitializedFor: $0) }
        var parameters = 0, nonzero = 0
        for tensor in loaded.model.parameters() {
            parameters += tensor.count
            nonzero += UnsafeBufferPointer(start: tensor.data, count: tensor.count).reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
        }
        return Loaded(config: loaded.config, model: loaded.model, tokenizer: loaded.tokenizer, info: loaded.info,
                      parameters: parameters, nonzeroParameters: nonzero, bytes: weights.fileBytes)
    }

    /// Checks that `file` backs every parameter `config` implies before a model of that size is
    /// allocated: a quantized matrix recorded with the transposed shape of its parameter and its entries
    /// present at their exact shapes, a sparse tensor's mask sized for the parameter, a dense tensor
    /// at the parameter's shape. The file's byte ranges are checked against its length when it is read,
    /// so the model built next is at most ~32× the file (a 1-bit mask per weight).
    private static func checkBeforeBuilding(_ config: GPTConfig, _ file: SafeTensorsFile) throws {
        let quantized = try QuantizationMetadata.decode(file.metadata)
        let sparse = Set(try metadataObject(file, sparseKey, as: [String].self) ?? [])
        let implied = "config.json implies \(CheckpointInfo.parameterCountLabel(config.parameterCount)) parameters"
        func fail(_ name: String, _ detail: String) -> CompressionError {
            CompressionError("\(file.source): \(name): \(detail) (\(implied))")
        }
        func require(_ entryName: String, _ shape: [Int], for name: String) throws {
            guard let entry = file[entryName] else { throw fail(name, "no entry \(entryName) (expected shape \(shape))") }
            guard entry.shape == shape else {
                throw fail(name, "entry \(entryName) has shape \(entry.shape), expected \(shape)")
            }
        }
        for (name, shape) in config.parameterShapes {
            if let matrix = quantized[name] {
                guard shape.count == 2, matrix.shape == [shape[1], shape[0]] else {
                    throw fail(name, "\(quantizationKey) records shape \(matrix.shape) (out, in); "
                                   + "the parameter is \(shape) (in, out)")
                }
                let rows = shape[1], columns = shape[0]
                for entryName in QuantizedMatrix.entryNames(name: name, scheme: matrix.scheme) {
                    let entryShape = entryName.hasSuffix(".blocks")
                        ? [rows, QuantizedMatrix.rowBytes(scheme: matrix.scheme, columns: columns)]
                        : entryName.hasSuffix(".q") ? [rows, columns] : [matrix.granularity == .tensor ? 1 : rows]
                    try require(entryName, entryShape, for: name)
                }
            } else if sparse.contains(name) {
                try require(SparseTensorStorage.maskName(name), [(shape.reduce(1, *) + 7) / 8], for: name)
            } else {
                guard let entry = file[name] else {
                    throw fail(name, "no tensor of shape \(shape) — neither dense, sparse nor quantized")
                }
                guard entry.shape == shape else { throw fail(name, "has shape \(entry.shape), the model expects \(shape)") }
            }
        }
    }

    private static func metadataObject<T>(_ file: SafeTensorsFile, _ key: String, as type: T.Type) throws -> T? {
        guard let text = file.metadata[key] else { return nil }
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? T else {
            throw CompressionError("\(file.source): metadata \(key) is not valid (expected \(T.self) as JSON)")
        }
        return object
    }
}
