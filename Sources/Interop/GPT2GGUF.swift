// The lab's GPT-2 checkpoints as GGUF "gpt2" files for llama.cpp and ollama, and back.
//
// Tensors (llama.cpp's names ← Hugging Face's): token_embd ← wte, position_embd ← wpe,
// blk.N.attn_norm ← h.N.ln_1, blk.N.attn_qkv ← h.N.attn.c_attn, blk.N.attn_output ← attn.c_proj,
// blk.N.ffn_norm ← ln_2, blk.N.ffn_up ← mlp.c_fc, blk.N.ffn_down ← mlp.c_proj, output_norm ← ln_f.
// The head is tied to token_embd (llama.cpp's gpt2 falls back to it when `output.weight` is absent).
// Dimensions are ggml's, innermost first: HF's Conv1D weight [in, out] is written transposed, as
// rows of outputs over the inputs, ggml [in, out] — exactly the row layout of our quantized
// matrices, so a quantized checkpoint's blocks are copied as they are. 1-D tensors stay F32;
// embeddings stay F32 in the block types (as `alambique quantize` keeps them) and become F16 in F16.

import Compress
import Foundation
import Models
import NN
import Store
import Tokenizers

/// What a GGUF export stores the weight matrices as.
public enum GGUFExportType: String, CaseIterable, Sendable {
    case f32, f16, q8_0, q4_0, q4_1

    /// llama.cpp's `general.file_type` (`llama_ftype`): ALL_F32 0, MOSTLY_F16 1, Q4_0 2, Q4_1 3, Q8_0 7.
    public var fileType: UInt32 {
        switch self {
        case .f32: 0
        case .f16: 1
        case .q4_0: 2
        case .q4_1: 3
        case .q8_0: 7
        }
    }

    /// The ggml type of the weight matrices.
    public var matrixType: GGMLType {
        switch self {
        case .f32: .f32
        case .f16: .f16
        case .q8_0: .q8_0
        case .q4_0: .q4_0
        case .q4_1: .q4_1
        }
    }

    /// The quantization scheme of a block type; nil for f32/f16.
    public var scheme: QuantizationScheme? {
        switch self {
        case .q8_0: .q8_0
        case .q4_0: .q4_0
        case .q4_1: .q4_1
        case .f32, .f16: nil
        }
    }

    init?(scheme: QuantizationScheme) {
        switch scheme {
        case .q8_0: self = .q8_0
        case .q4_0: self = .q4_0
        case .q4_1: self = .q4_1
        case .int8Symmetric, .int8Asymmetric: return nil
        }
    }

    /// The format label of model names (`F32`, `F16`, `Q8_0`, …).
    public var label: String { matrixType.name }
}

/// The GGUF mapping of the lab's GPT-2 (architecture `gpt2`).
public enum GPT2GGUF {
    /// The role of a tensor, which decides its layout and type.
    enum Role { case embedding, vector, linear }

    /// Every tensor: GGUF name, HF name, role. Linear entries name the HF weight.
    static func tensorMap(layers: Int) -> [(gguf: String, hf: String, role: Role)] {
        var map: [(String, String, Role)] = [
            ("token_embd.weight", "transformer.wte.weight", .embedding),
            ("position_embd.weight", "transformer.wpe.weight", .embedding),
        ]
        for i in 0..<layers {
            let b = "blk.\(i).", h = "transformer.h.\(i)."
            for (gguf, hf, linear) in [("attn_norm", "ln_1", false), ("attn_qkv", "attn.c_attn", true),
                                       ("attn_output", "attn.c_proj", true), ("ffn_norm", "ln_2", false),
                                       ("ffn_up", "mlp.c_fc", true), ("ffn_down", "mlp.c_proj", true)] {
                map.append((b + gguf + ".weight", h + hf + ".weight", linear ? .linear : .vector))
                map.append((b + gguf + ".bias", h + hf + ".bias", .vector))
            }
        }
        map.append(("output_norm.weight", "transformer.ln_f.weight", .vector))
        map.append(("output_norm.bias", "transformer.ln_f.bias", .vector))
        return map
    }

    /// Metadata key holding the checkpoint's `CheckpointInfo` as JSON (name, role, teacher, …).
    public static let checkpointInfoKey = "alambique.checkpoint"

    // MARK: Export

    /// The matrix format of a loaded checkpoint: `nil` for float32 (dense or sparse), else the one
    /// quantization scheme of its packed layers.
    static func storedScheme(of model: GPT) throws -> QuantizationScheme? {
        let schemes = Set(CompressedCheckpoint.linearLayers(of: model).compactMap { ($0.linear.packed as? QuantizedMatrix)?.scheme })
        guard schemes.count <= 1 else {
            throw InteropError("the checkpoint mixes quantization schemes (\(schemes.map(\.rawValue).sorted().joined(separator: ", "))); export one scheme at a time")
        }
        return schemes.first
    }

    /// The type an export uses: `requested`, or the checkpoint's own format when nil.
    /// - Throws: `InteropError` when the checkpoint's int8 layers have no GGUF type and none was
    ///   asked for, or when asked to re-quantize blocks into another block type.
    public static func resolveType(_ requested: GGUFExportType?, stored: QuantizationScheme?, name: String) throws -> GGUFExportType {
        guard let stored else { return requested ?? .f32 }
        let own = GGUFExportType(scheme: stored)
        switch (requested, own) {
        case (nil, let own?): return own
        case (nil, nil):
            throw InteropError("\(name) is \(stored.formatLabel), which GGUF has no type for; export it with --type f32 or f16 (dequantized), or export the F32 checkpoint with --type q8_0")
        case (let requested?, _) where requested.scheme == nil || requested.scheme == stored:
            return requested
        case (let requested?, _):
            throw InteropError("\(name) is already \(stored.formatLabel); re-quantizing it to \(requested.label) would stack two rounding errors. Export it as --type \(own?.rawValue ?? "f32"), or export the F32 checkpoint with --type \(requested.rawValue)")
        }
    }

    /// The GGUF file of a loaded checkpoint (load it with `packSparse: false`).
    /// - Parameter type: the matrix type; nil keeps the checkpoint's own format.
    /// - Returns: the writer and notes for the user (layers dequantized, …).
    public static func export(_ loaded: CompressedCheckpoint.Loaded, type requested: GGUFExportType?) throws
        -> (writer: GGUFWriter, type: GGUFExportType, notes: [String]) {
        let model = loaded.model, config = loaded.config
        let stored = try storedScheme(of: model)
        let type = try resolveType(requested, stored: stored, name: loaded.info.name)
        var notes: [String] = []
        if let stored, type.scheme == nil { notes.append("\(stored.formatLabel) matrices written as \(type.label) (dequantized, values exact)") }
        if CompressedCheckpoint.linearLayers(of: model).contains(where: { ($0.linear.packed as? QuantizedMatrix)?.scheme.isBlockFormat == false }) {
            notes.append("int8 matrices dequantized")
        }

        let parameters = Dictionary(model.namedParameters().map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        let linears = Dictionary(CompressedCheckpoint.linearLayers(of: model).map { ($0.weightName, $0.linear) }, uniquingKeysWith: { a, _ in a })
        guard config.prunedHeads.isEmpty else {
            let layers = config.prunedHeads.keys.sorted().map(String.init).joined(separator: ", ")
            throw InteropError("\(loaded.info.name) has pruned attention heads (layers \(layers)); llama.cpp's gpt2 needs all n_head heads in every layer. Export the model before head pruning, or prune MLP neurons only (--keep-heads 1)")
        }
        let feedForward = config.mlpWidth
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("gpt2"))
        writer.set("general.name", .string(loaded.info.name))
        writer.set("general.file_type", .uint32(type.fileType))
        if type.scheme != nil { writer.set("general.quantization_version", .uint32(2)) }
        writer.set("gpt2.context_length", .uint32(UInt32(config.contextLength)))
        writer.set("gpt2.embedding_length", .uint32(UInt32(config.embeddingSize)))
        writer.set("gpt2.feed_forward_length", .uint32(UInt32(feedForward)))
        writer.set("gpt2.block_count", .uint32(UInt32(config.layers)))
        writer.set("gpt2.attention.head_count", .uint32(UInt32(config.heads)))
        writer.set("gpt2.attention.layer_norm_epsilon", .float32(config.layerNormEpsilon))
        for (key, value) in try GGUFTokenizer.metadata(for: loaded.tokenizer) { writer.set(key, value) }
        var info = loaded.info
        info.format = exportedFormat(loaded.info.format, as: type)
        info.name = CompressedCheckpoint.renamed(info.name, from: loaded.info.format, to: info.format)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys  // the same checkpoint exports to the same bytes
        let infoJSON = try encoder.encode(info)
        writer.set(checkpointInfoKey, .string(String(decoding: infoJSON, as: UTF8.self)))
        writer.set("general.name", .string(info.name))

        for (ggufName, hfName, role) in tensorMap(layers: config.layers) {
            switch role {
            case .vector:
                guard let tensor = parameters[hfName] else { throw InteropError("\(loaded.info.name): no parameter \(hfName)") }
                try writer.addTensor(ggufName, dimensions: [tensor.count], floats: Array(UnsafeBufferPointer(start: tensor.data, count: tensor.count)))
            case .embedding:
                guard let tensor = parameters[hfName], tensor.shape.count == 2 else { throw InteropError("\(loaded.info.name): no 2-D parameter \(hfName)") }
                let values = Array(UnsafeBufferPointer(start: tensor.data, count: tensor.count))
                let dimensions = [tensor.shape[1], tensor.shape[0]]
                if type == .f16 {
                    try checkHalfRange(values, ggufName, hfName)
                    try writer.addTensor(ggufName, dimensions: dimensions, halves: values)
                } else {
                    try writer.addTensor(ggufName, dimensions: dimensions, floats: values)
                }
            case .linear:
                guard let linear = linears[hfName] else { throw InteropError("\(loaded.info.name): no linear layer \(hfName)") }
                let dimensions = [linear.inFeatures, linear.outFeatures]
                if let quantized = linear.packed as? QuantizedMatrix {
                    if quantized.scheme.isBlockFormat, type.scheme == quantized.scheme {
                        try writer.addTensor(ggufName, dimensions: dimensions, type: type.matrixType, bytes: quantized.rawBytes)
                    } else {
                        try addFloatMatrix(&writer, ggufName, hfName, dimensions: dimensions, rows: quantized.dequantized(), type: type)
                    }
                } else if let packed = linear.packed {
                    throw InteropError("\(hfName): a \(packed.format) layer; load the checkpoint without packing sparse layers")
                } else {
                    let rows = ModelQuantization.outputRows(linear.weight)
                    if let scheme = type.scheme {
                        let matrix: QuantizedMatrix
                        do {
                            matrix = try rows.withUnsafeBufferPointer {
                                try QuantizedMatrix.quantize($0.baseAddress!, rows: linear.outFeatures, columns: linear.inFeatures,
                                                             scheme: scheme, name: hfName)
                            }
                        } catch let error as CompressionError {
                            throw InteropError("\(error.message). Export this checkpoint with --type f32")
                        }
                        try writer.addTensor(ggufName, dimensions: dimensions, type: type.matrixType, bytes: matrix.rawBytes)
                    } else {
                        try addFloatMatrix(&writer, ggufName, hfName, dimensions: dimensions, rows: rows, type: type)
                    }
                }
            }
        }
        return (writer, type, notes)
    }

    /// The checkpoint's format label with its storage part replaced and any pruning part kept:
    /// `F32-s90` as Q8_0 → `Q8_0-s90`, `Q4_0` as F16 → `F16`.
    static func exportedFormat(_ format: String, as type: GGUFExportType) -> String {
        let storage = ["INT8-ASYM", "INT8", "Q8_0", "Q4_0", "Q4_1", "F32", "F16"].first { format.hasPrefix($0) }
        return type.label + (storage.map { String(format.dropFirst($0.count)) } ?? "")
    }

    /// Throws unless every value is finite in F16 (|v| < 65520, which rounds to 65504 at most):
    /// a larger weight would be written as an infinity that llama.cpp would then compute with.
    static func checkHalfRange(_ values: [Float], _ ggufName: String, _ hfName: String) throws {
        guard let bad = values.firstIndex(where: { !Float16($0).isFinite }) else { return }
        throw InteropError("\(hfName) (\(ggufName)): value \(values[bad]) at element \(bad) does not fit F16 (largest 65504); export this checkpoint with --type f32")
    }

    private static func addFloatMatrix(_ writer: inout GGUFWriter, _ name: String, _ hfName: String, dimensions: [Int],
                                       rows: [Float], type: GGUFExportType) throws {
        if type == .f16 {
            try checkHalfRange(rows, name, hfName)
            try writer.addTensor(name, dimensions: dimensions, halves: rows)
        } else {
            try writer.addTensor(name, dimensions: dimensions, floats: rows)
        }
    }

    /// The Modelfile that `ollama create <name> -f <file>` reads: the GGUF beside it, the raw
    /// prompt as template (a language model, not a chat model), the context length.
    public static func modelfile(ggufFileName: String, contextLength: Int) -> String {
        """
        # ollama create <name> -f <this file>, then: ollama run <name> "ROMEO:"
        FROM ./\(ggufFileName)
        TEMPLATE \"\"\"{{ .Prompt }}\"\"\"
        PARAMETER num_ctx \(contextLength)
        PARAMETER temperature 0.8
        PARAMETER num_predict 200

        """
    }

    // MARK: Import

    /// The ggml dimensions (innermost first) of parameter `hfName` for `config`: a Conv1D weight
    /// [in, out] keeps that order (it is stored transposed), everything else is reversed.
    static func expectedDimensions(_ hfName: String, _ config: GPTConfig) -> [Int] {
        let c = config.embeddingSize, m = config.mlpWidth
        if hfName == "transformer.wte.weight" { return [c, config.vocabularySize] }
        if hfName == "transformer.wpe.weight" { return [c, config.contextLength] }
        let linear: [(String, [Int], Int)] = [("attn.c_attn", [c, 3 * c], 3 * c), ("attn.c_proj", [c, c], c),
                                              ("mlp.c_fc", [c, m], m), ("mlp.c_proj", [m, c], c)]
        for (part, weight, bias) in linear where hfName.hasSuffix(part + ".weight") || hfName.hasSuffix(part + ".bias") {
            return hfName.hasSuffix(".weight") ? weight : [bias]
        }
        return [c]  // layer norms
    }

    /// A model read from a GGUF file.
    public struct Imported {
        public let config: GPTConfig
        public let model: GPT
        public let tokenizer: any Tokenizer
        public let info: CheckpointInfo
        /// What was converted on the way (F16 widened, quantized embeddings decoded, …).
        public let notes: [String]
    }

    /// The ggml coordinates (innermost first) of element `index` of a tensor of `dimensions`.
    static func ggmlIndex(_ index: Int, _ dimensions: [Int]) -> [Int] {
        var rest = index
        return dimensions.map { size in
            defer { rest /= max(size, 1) }
            return rest % max(size, 1)
        }
    }

    /// A tensor's blocks as a quantized matrix; a block with a NaN or infinite fp16 scale is a
    /// `GGUFError` naming the file and the tensor.
    private static func blocks(_ file: GGUFFile, _ tensor: GGUFTensorInfo, scheme: QuantizationScheme,
                               rows: Int, columns: Int) throws -> QuantizedMatrix {
        do {
            return try QuantizedMatrix.fromBlocks(file.data(of: tensor), scheme: scheme, rows: rows, columns: columns,
                                                  name: "tensor \"\(tensor.name)\"")
        } catch let error as CompressionError {
            throw GGUFError(source: file.source, error.message)
        }
    }

    /// Reads a gpt2 GGUF (F32, F16, Q8_0, Q4_0, Q4_1 tensors) into a model: float tensors as
    /// float32, quantized weight matrices as packed quantized layers (their blocks unchanged),
    /// quantized embeddings decoded to float32.
    /// - Throws: `GGUFError` naming the file and the key or tensor (unknown architecture,
    ///   missing or extra tensor, wrong dimensions, a head not tied to the embeddings, a NaN or
    ///   infinite weight or block scale, …).
    public static func load(_ file: GGUFFile) throws -> Imported {
        let source = file.source
        func fail(_ message: String) -> GGUFError { GGUFError(source: source, message) }
        let architecture = try file.required("general.architecture", "a string", \.string)
        guard architecture == "gpt2" else {
            throw fail("general.architecture is \"\(architecture)\"; this lab imports only \"gpt2\" models")
        }
        func integer(_ key: String) throws -> Int {
            try file.required(key, "a positive integer") { $0.integer.flatMap { $0 > 0 ? $0 : nil } }
        }
        let context = try integer("gpt2.context_length"), embedding = try integer("gpt2.embedding_length")
        let feedForward = try integer("gpt2.feed_forward_length"), layers = try integer("gpt2.block_count")
        let heads = try integer("gpt2.attention.head_count")
        let epsilon = try file.required("gpt2.attention.layer_norm_epsilon", "a positive float") { $0.float.flatMap { $0 > 0 ? $0 : nil } }
        guard let tokenEmbedding = file.tensor(named: "token_embd.weight") else { throw fail("no tensor \"token_embd.weight\"") }
        guard tokenEmbedding.dimensions.count == 2, tokenEmbedding.dimensions[0] == embedding else {
            throw fail("tensor \"token_embd.weight\" has dimensions \(tokenEmbedding.dimensions); expected [\(embedding), vocabulary size]")
        }
        let config = GPTConfig(vocabularySize: tokenEmbedding.dimensions[1], contextLength: context, layers: layers,
                               heads: heads, embeddingSize: embedding, layerNormEpsilon: epsilon,
                               innerSize: feedForward == 4 * embedding ? nil : feedForward)
        do { try config.validate() } catch { throw fail("the gpt2.* metadata do not form a valid model: \(error)") }
        guard embedding % heads == 0 else {
            throw fail("gpt2.embedding_length \(embedding) is not a multiple of gpt2.attention.head_count \(heads)")
        }
        // The tensors: all expected, none other (a tied output head is accepted), dimensions checked
        // before the model is allocated (so a corrupted size cannot ask for gigabytes).
        let map = tensorMap(layers: layers)
        for (ggufName, hfName, _) in map {
            guard let tensor = file.tensor(named: ggufName) else { throw fail("no tensor \"\(ggufName)\"") }
            let expected = expectedDimensions(hfName, config)
            guard tensor.dimensions == expected else {
                throw fail("tensor \"\(ggufName)\" has dimensions \(tensor.dimensions); \(hfName) of this config needs \(expected) (ggml order)")
            }
        }
        let expectedNames = Set(map.map(\.gguf))
        if let extra = file.tensors.first(where: { !expectedNames.contains($0.name) && $0.name != "output.weight" }) {
            throw fail("tensor \"\(extra.name)\" is not part of a gpt2 model (unknown tensor)")
        }
        if let output = file.tensor(named: "output.weight") {
            guard output.type == tokenEmbedding.type, output.dimensions == tokenEmbedding.dimensions,
                  file.data(of: output) == file.data(of: tokenEmbedding) else {
                throw fail("tensor \"output.weight\" differs from \"token_embd.weight\"; this lab's GPT-2 ties the output head to the token embeddings")
            }
        }
        let tokenizer = try GGUFTokenizer.tokenizer(from: file)
        guard tokenizer.vocabularySize == config.vocabularySize else {
            throw fail("the tokenizer has \(tokenizer.vocabularySize) tokens, token_embd.weight \(config.vocabularySize) rows")
        }

        let model = try GPT(config: config, seed: 0)
        let shapes = Dictionary(model.namedParameters().map { ($0.name, $0.tensor.shape) }, uniquingKeysWith: { a, _ in a })
        let linears = Dictionary(CompressedCheckpoint.linearLayers(of: model).map { ($0.weightName, $0.linear) }, uniquingKeysWith: { a, _ in a })
        var values: [String: ParameterValues] = [:]
        var notes: [String] = [], matrixTypes = Set<GGMLType>()
        var packed: [(Linear, QuantizedMatrix)] = []
        for (ggufName, hfName, role) in map {
            let tensor = file.tensor(named: ggufName)!
            // ggml dimensions of the HF shape: reversed, except a Conv1D weight [in, out] is stored transposed.
            guard let shape = shapes[hfName], tensor.dimensions == (role == .linear ? shape : Array(shape.reversed())) else {
                throw fail("internal: the model's \(hfName) is \(shapes[hfName] ?? []), not what \(ggufName) holds")
            }
            let scheme: QuantizationScheme? = switch tensor.type {
            case .q8_0: .q8_0
            case .q4_0: .q4_0
            case .q4_1: .q4_1
            case .f32, .f16: nil
            }
            if role == .linear { matrixTypes.insert(tensor.type) }
            if let scheme, role == .linear {
                let (inputs, outputs) = (tensor.dimensions[0], tensor.dimensions[1])
                let matrix = try blocks(file, tensor, scheme: scheme, rows: outputs, columns: inputs)
                packed.append((linears[hfName]!, matrix))
                values[hfName] = ParameterValues(shape: [0, 0], values: [])
                continue
            }
            var floats: [Float]
            if let scheme {
                let rows = tensor.elementCount / tensor.dimensions[0]
                floats = try blocks(file, tensor, scheme: scheme, rows: rows, columns: tensor.dimensions[0]).dequantized()
                notes.append("\(ggufName): \(tensor.type.name) decoded to F32 (the lab keeps \(role == .embedding ? "embeddings" : "vectors") in float)")
            } else {
                floats = try file.floats(of: tensor)
                if let bad = floats.withUnsafeBufferPointer(ParameterValues.firstNonFiniteIndex) {
                    throw fail("tensor \"\(ggufName)\" (\(tensor.type.name)) holds \(floats[bad]) at element \(bad) "
                               + "(ggml index \(ggmlIndex(bad, tensor.dimensions))); weights must be finite")
                }
                if tensor.type == .f16, role != .linear { notes.append("\(ggufName): F16 widened to F32") }
            }
            if role == .linear {  // [out, in] rows → HF's [in, out]
                let (inputs, outputs) = (tensor.dimensions[0], tensor.dimensions[1])
                var transposed = [Float](repeating: 0, count: floats.count)
                for o in 0..<outputs { for i in 0..<inputs { transposed[i * outputs + o] = floats[o * inputs + i] } }
                floats = transposed
            }
            values[hfName] = ParameterValues(shape: shape, values: floats)
        }
        for (linear, matrix) in packed { try linear.pack(matrix) }
        try model.loadParameters(values, source: source)
        if matrixTypes.contains(.f16) { notes.append("F16 weight matrices widened to F32") }

        let format: String
        if matrixTypes.count == 1, let only = matrixTypes.first, only.blockSize == 32 {
            format = only.name
        } else if matrixTypes.isSubset(of: [.f32, .f16]) {
            format = "F32"
        } else {
            throw fail("weight matrices of several block types (\(matrixTypes.map(\.name).sorted().joined(separator: ", "))); a checkpoint holds one quantization scheme")
        }
        var info: CheckpointInfo
        if let json = file[checkpointInfoKey]?.string, let decoded = try? JSONDecoder().decode(CheckpointInfo.self, from: Data(json.utf8)) {
            info = decoded
            info.name = CompressedCheckpoint.renamed(info.name, from: info.format, to: format)
        } else {
            let name = file["general.name"]?.string ?? URL(fileURLWithPath: source).deletingPathExtension().lastPathComponent
            info = CheckpointInfo(name: name, role: "imported", corpus: "unknown")
        }
        info.format = format
        // The name becomes the default checkpoint folder, and every later default output name.
        try PathComponent.validate(info.name, field: "\(source): " + (file[checkpointInfoKey] != nil ? checkpointInfoKey : "general.name"))
        return Imported(config: config, model: model, tokenizer: tokenizer, info: info, notes: notes)
    }
}
