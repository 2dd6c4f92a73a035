// `alambique inspect`: what is in a logit file or a checkpoint directory, as readable text.

import Foundation
import Tokenizers

public enum Inspection {
    /// Which position of a logit file to show decoded.
    public struct Sample: Sendable {
        public var sequence: Int
        /// nil: the middle of the sequence.
        public var position: Int?
        /// How many of the teacher's tokens to list.
        public var top: Int

        public init(sequence: Int = 0, position: Int? = nil, top: Int = 5) {
            self.sequence = sequence
            self.position = position
            self.top = top
        }
    }

    /// A logit file (or shard set): layout, attributes, sizes, and one position decoded through the
    /// tokenizer stored in the file (the teacher's top tokens with probabilities).
    public static func logitsFile(_ url: URL, sample: Sample = Sample()) throws -> String {
        let reader = try LogitsReader(url: url)
        defer { try? reader.close() }
        let a = reader.attributes
        var lines: [String] = []
        let fileBytes = reader.urls.reduce(0) { $0 + fileSize($1) }
        lines.append("logit file \(reader.urls.count == 1 ? url.lastPathComponent : "set of \(reader.urls.count) shards: " + reader.urls.map(\.lastPathComponent).joined(separator: ", "))")
        lines.append("  teacher \(a.teacher) (model.safetensors sha256 \(a.teacherSHA256.prefix(16))…)")
        lines.append("  \(a.sequenceCount) sequences × \(a.context) positions = \(a.sequenceCount * a.context) tokens; stride \(a.stride); split \(a.split)")
        lines.append("  \(a.mode) logits as \(a.dtype), vocabulary \(a.vocabularySize), tokenizer sha256 \(a.tokenizerSHA256.prefix(16))…")
        lines.append(String(format: "  %.1f MB on disk, %.1f bytes/token", Double(fileBytes) / 1e6,
                            Double(fileBytes) / Double(max(1, a.sequenceCount * a.context))))
        lines.append("")
        lines.append("datasets (first file):")
        lines.append("  | path | dtype | shape | chunk | filters | stored MB | ratio |")
        lines.append("  |---|---|---|---|---|---:|---:|")
        let file = try HDF5File(url: reader.urls[0], mode: .readOnly)
        defer { try? file.close() }
        for path in try datasetPaths(in: file) {
            let dataset = try open(path, in: file)
            let stored = try dataset.storageBytes(), logical = try dataset.logicalBytes()
            lines.append(String(format: "  | %@ | %@ | %@ | %@ | %@ | %.2f | %.2f× |", path, dataset.elementType.rawValue,
                                "\(try dataset.shape())", (try dataset.chunkShape()).map { "\($0)" } ?? "contiguous",
                                try dataset.filterNames().joined(separator: "+").ifEmpty("none"),
                                Double(stored) / 1e6, Double(logical) / Double(max(stored, 1))))
        }
        lines.append("")
        lines.append("attributes:")
        for name in try file.attributeNames() {
            lines.append("  \(name) = \(try file.attribute(name))")
        }
        lines.append("")
        lines += try samplePosition(reader, sample)
        return lines.joined(separator: "\n")
    }

    /// A checkpoint directory: its name and config, then every tensor with shape, dtype and size —
    /// all from config.json and model.safetensors' header; no model is built and no weight is read,
    /// so a checkpoint of any size (or one whose config and weights disagree) is shown at once.
    public static func checkpoint(_ directory: URL) throws -> String {
        let info = try Checkpoint.readInfo(from: directory)
        _ = try Checkpoint.requiredFile(Checkpoint.configFileName, in: directory)
        let files = try CheckpointWeights(directory: directory)
        let weights = files.combinedHeader()
        var lines: [String] = []
        let stored = files.dataTypes.map(\.rawValue).joined(separator: "+")
        let format = info.tokenizerSHA256.isEmpty ? stored : Excerpt.clip(info.format)
        let tokenizer = info.tokenizerKind.isEmpty ? "tokenizer.json, hashed on load" : "tokenizer \(Excerpt.clip(info.tokenizerKind))"
        lines.append("checkpoint \(Excerpt.clip(info.name)) (\(Excerpt.clip(info.role)), \(format), \(tokenizer))")
        if files.dataTypes.contains(where: { $0 != .float32 }) {
            lines.append("  weights stored as \(stored), widened to F32 on load")
        }
        let configURL = directory.appendingPathComponent(Checkpoint.configFileName)
        let config = try Checkpoint.readData(configURL)
        if let object = (try? JSONSerialization.jsonObject(with: config)) as? [String: Any] {
            let keys = ["model_type", "n_layer", "n_head", "n_embd", "n_positions", "vocab_size", "layer_norm_epsilon"]
            lines.append("  " + keys.compactMap { key in object[key].map { "\(key) \(Excerpt.clip("\($0)"))" } }.joined(separator: ", "))
            // Structured pruning: the MLP width and the removed heads (HF's n_inner and pruned_heads).
            let inner = (object["n_inner"] as? Int).map(String.init) ?? "null (4·n_embd)"
            var structure = "  n_inner \(inner)"
            if let pruned = object["pruned_heads"] as? [String: [Int]], !pruned.isEmpty {
                let layers = pruned.keys.sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }
                structure += ", pruned_heads {" + layers.map { "\($0): \(pruned[$0]!.sorted())" }.joined(separator: ", ") + "}"
                if let heads = object["n_head"] as? Int {
                    // n_layer is unchecked here (inspect shows broken configs too); 1024 is the model's own limit.
                    structure += " (heads per layer: " + (0..<min(1024, max(0, (object["n_layer"] as? Int) ?? 0))).map {
                        String(heads - (pruned[String($0)]?.count ?? 0))
                    }.joined(separator: ", ") + ")"
                }
            } else {
                structure += ", pruned_heads none"
            }
            lines.append(Excerpt.clip(structure, limit: 4 * Excerpt.limit))
        }
        let parameters = weights.totalElementCount
        let bytes = weights.fileLength
        let fileNames = files.files.count == 1 ? Checkpoint.modelFileName
            : "\(files.files.count) shards (" + files.files.map { URL(fileURLWithPath: $0.source).lastPathComponent }
                .joined(separator: ", ") + ")"
        lines.append(String(format: "  %d parameters (%@), %@ %.2f MB", parameters,
                            CheckpointInfo.parameterCountLabel(parameters), fileNames, Double(bytes) / 1e6))
        if FileManager.default.fileExists(atPath: directory.appendingPathComponent("trainer_state.json").path) {
            lines.append("  resumable: trainer_state.json present")
        }
        lines.append("")
        lines.append("  | tensor | dtype | shape | parameters |")
        lines.append("  |---|---|---|---:|")
        for tensor in weights.tensors.sorted(by: { $0.name.localizedStandardCompare($1.name) == .orderedAscending }) {
            lines.append("  | \(Excerpt.clip(tensor.name)) | \(tensor.dataType.rawValue) | \(shapeText(tensor.shape)) | \(tensor.elementCount) |")
        }
        return lines.joined(separator: "\n")
    }

    // MARK: - Helpers

    private static func samplePosition(_ reader: LogitsReader, _ sample: Sample) throws -> [String] {
        let t = reader.context
        guard (0 ..< reader.sequenceCount).contains(sample.sequence) else {
            throw LogitsFileError(path: reader.urls[0].path, "--sequence \(sample.sequence) is outside 0..<\(reader.sequenceCount)")
        }
        let position = sample.position ?? t / 2
        guard (0 ..< t).contains(position) else {
            throw LogitsFileError(path: reader.urls[0].path, "--position \(position) is outside 0..<\(t)")
        }
        let tokenizer = try loadTokenizer(jsonBytes: [UInt8](reader.tokenizerJSON()), fileName: "\(reader.urls[0].lastPathComponent):/tokenizer_json")
        let block = try reader.read(sample.sequence ..< sample.sequence + 1)
        let ids = Array(block.tokens.values)
        // Probabilities of the stored entries: softmax over the full row, or exp(l − lse) for top-k.
        var entries: [(id: Int, probability: Double)] = []
        let stored = reader.attributes.mode.storedTopK == 0 ? reader.vocabularySize : reader.attributes.mode.storedTopK
        let row = (0 ..< stored).map { Double(block.logits.data[position * stored + $0]) }
        if let indices = block.topKIndices, let lse = block.logSumExp {
            let normaliser = Double(lse.data[position])
            entries = (0 ..< stored).map { (Int(indices.values[position * stored + $0]), exp(row[$0] - normaliser)) }
        } else {
            let maximum = row.max() ?? 0
            let normaliser = maximum + log(row.reduce(0) { $0 + exp($1 - maximum) })
            entries = row.enumerated().map { ($0.offset, exp($0.element - normaliser)) }.sorted { $0.probability > $1.probability }
        }
        let target = Int(ids[position + 1])
        var lines = ["sample: sequence \(sample.sequence), position \(position)"]
        let context = try tokenizer.decode(Array(ids[max(0, position - 63) ... position]))
        lines.append("  context …\(quoted(context))")
        let targetProbability = entries.first { $0.id == target }?.probability
        lines.append("  true next token \(quoted(try tokenizer.decode([Int32(target)]))) (id \(target))"
                     + (targetProbability.map { String(format: ", teacher p = %.4f", $0) } ?? ", not among the stored top-k"))
        lines.append("  teacher's top tokens:")
        for entry in entries.prefix(sample.top) {
            lines.append(String(format: "    %@  %.4f%@", quoted(try tokenizer.decode([Int32(entry.id)])).padding(toLength: 12, withPad: " ", startingAt: 0),
                                entry.probability, entry.id == target ? "  ← true" : ""))
        }
        if reader.attributes.mode.storedTopK > 0 {
            let mass = entries.reduce(0) { $0 + $1.probability }
            lines.append(String(format: "  top-%d mass %.4f, tail %.4f", stored, mass, max(0, 1 - mass)))
        }
        return lines
    }

    /// Visible control characters, in quotes.
    private static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\t", with: "\\t") + "\""
    }

    private static func fileSize(_ url: URL) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
    }

    /// Paths of every dataset, depth first, in name order.
    private static func datasetPaths(in group: HDF5Group, prefix: String = "") throws -> [String] {
        var paths: [String] = []
        for name in try group.memberNames() {
            switch try group.memberKind(name) {
            case .dataset: paths.append(prefix + name)
            case .group: paths += try datasetPaths(in: try group.openGroup(name), prefix: prefix + name + "/")
            case .other: continue
            }
        }
        return paths
    }

    private static func open(_ path: String, in file: HDF5File) throws -> HDF5Dataset {
        let parts = path.split(separator: "/").map(String.init)
        var group: HDF5Group = file
        for part in parts.dropLast() { group = try group.openGroup(part) }
        return try group.openDataset(parts.last!)
    }
}

private extension String {
    func ifEmpty(_ replacement: String) -> String { isEmpty ? replacement : self }
}
