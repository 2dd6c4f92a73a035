// The weights of a checkpoint directory as transformers writes them: one model.safetensors, or shards
// listed by model.safetensors.index.json (`weight_map`: tensor name → shard file). Only headers are
// read to open them; on load, float32 tensors are used in place in the maps, others widened from them. Pickled weights
// (pytorch_model.bin, .pt, .ckpt) are refused with the command that converts them: we never unpickle.

import Foundation
import NN
import Tokenizers

/// The safetensors file(s) of a checkpoint directory, mapped, with every tensor's header entry.
public final class CheckpointWeights: @unchecked Sendable {
    /// The index of a sharded checkpoint.
    public static let indexFileName = "model.safetensors.index.json"
    /// The mapped files, in shard order (one for an unsharded checkpoint).
    public let files: [MappedSafeTensors]
    /// model.safetensors, or the index for a sharded checkpoint: what error messages name.
    public let source: String
    /// Which file holds each tensor.
    private let fileIndexByName: [String: Int]

    /// Opens the weights of `directory`: model.safetensors when present, else the shards its index lists.
    /// - Throws: `CheckpointError` (no weights, pickled weights, a bad index: a shard name that is not a
    ///   plain file name, a missing shard, a tensor in the map that its shard lacks or the other way
    ///   round, a tensor in two shards) or `SafeTensorsError` for a malformed shard.
    public init(directory: URL) throws {
        let single = directory.appendingPathComponent(Checkpoint.modelFileName)
        let index = directory.appendingPathComponent(Self.indexFileName)
        if FileManager.default.fileExists(atPath: single.path) {
            files = [try MappedSafeTensors(contentsOf: single)]
            source = single.path
            fileIndexByName = Dictionary(files[0].header.tensors.map { ($0.name, 0) }, uniquingKeysWith: { a, _ in a })
            return
        }
        guard FileManager.default.fileExists(atPath: index.path) else {
            _ = try Checkpoint.requiredFile(Checkpoint.configFileName, in: directory)  // says when it is no directory
            throw Self.missingWeights(directory)
        }
        source = index.path
        let weightMap = try Self.parseIndex(Checkpoint.readData(index), source: index.path)
        let shardNames = Array(Set(weightMap.values)).sorted()
        var opened: [MappedSafeTensors] = []
        var byName: [String: Int] = [:]
        for (position, shard) in shardNames.enumerated() {
            let url = directory.appendingPathComponent(shard)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw CheckpointError(.missingFile, path: index.path, field: "weight_map",
                                      "names shard \(Excerpt.quote(shard)), which is not in \(directory.path)")
            }
            let file = try MappedSafeTensors(contentsOf: url)
            for tensor in file.header.tensors {
                guard weightMap[tensor.name] == shard else {
                    let listed = weightMap[tensor.name].map { "lists it in \(Excerpt.quote($0))" } ?? "does not list it"
                    throw CheckpointError(.invalidField, path: index.path, field: "weight_map",
                                          "shard \(Excerpt.quote(shard)) holds tensor \(Excerpt.quote(tensor.name)), "
                                              + "but the index \(listed)")
                }
                byName[tensor.name] = position
            }
            opened.append(file)
        }
        if let missing = weightMap.keys.sorted().first(where: { byName[$0] == nil }) {
            throw CheckpointError(.invalidField, path: index.path, field: "weight_map.\(Excerpt.clip(missing))",
                                  "the index lists this tensor in \(Excerpt.quote(weightMap[missing]!)), "
                                      + "but that shard does not hold it")
        }
        files = opened
        fileIndexByName = byName
    }

    /// Parses model.safetensors.index.json: an object whose `weight_map` maps tensor names to shard
    /// file names, each one plain path component (so no shard can be read from outside the folder).
    /// `metadata` and other keys are ignored.
    /// - Throws: `CheckpointError` naming the file, the field and what was found.
    public static func parseIndex(_ data: Data, source: String) throws -> [String: String] {
        let json: JSONValue
        do {
            json = try parseJSON([UInt8](data), keepingDuplicateKeys: true, maximumDepth: 16)
        } catch {
            throw CheckpointError(.unreadableFile, path: source, "not valid JSON at byte \(error.offset): \(error.reason)")
        }
        guard case .object(let members) = json else {
            throw CheckpointError(.invalidField, path: source, "expected a JSON object with \"weight_map\"")
        }
        guard let mapValue = members.last(where: { $0.0 == "weight_map" })?.1 else {
            throw CheckpointError(.invalidField, path: source, field: "weight_map", "missing")
        }
        guard case .object(let pairs) = mapValue else {
            throw CheckpointError(.invalidField, path: source, field: "weight_map",
                                  "expected an object of tensor name → shard file name")
        }
        var map: [String: String] = [:]
        for (name, value) in pairs {
            let field = "weight_map.\(Excerpt.clip(name))"
            guard case .string(let shard) = value else {
                throw CheckpointError(.invalidField, path: source, field: field, "expected a shard file name (a string)")
            }
            if let problem = PathComponent.problem(with: shard) {
                throw CheckpointError(.invalidField, path: source, field: field,
                                      "the shard name \(Excerpt.quote(shard, limit: 60)) is not a file in this folder: "
                                          + problem)
            }
            guard shard.hasSuffix(".safetensors") else {
                throw CheckpointError(.invalidField, path: source, field: field,
                                      "the shard \(Excerpt.quote(shard, limit: 60)) is not a .safetensors file")
            }
            guard map.updateValue(shard, forKey: name) == nil else {
                throw CheckpointError(.invalidField, path: source, field: field, "listed more than once")
            }
        }
        guard !map.isEmpty else {
            throw CheckpointError(.invalidField, path: source, field: "weight_map", "is empty (no tensors)")
        }
        return map
    }

    /// The SHA-256 of the weights as stored: of model.safetensors, or of the shards' bytes one after
    /// another in shard-name order. Read in 4 MB pieces, so hashing costs no memory beyond them.
    /// - Throws: `CheckpointError` naming the file that cannot be read.
    public static func sha256(of directory: URL) throws -> String {
        let weights = try CheckpointWeights(directory: directory)
        var hasher = SHA256Hasher()
        for file in weights.files {
            guard let handle = FileHandle(forReadingAtPath: file.source) else {
                throw CheckpointError(.unreadableFile, path: file.source, "cannot open the file to hash it")
            }
            defer { try? handle.close() }
            do {
                while let piece = try handle.read(upToCount: 4 << 20), !piece.isEmpty { hasher.update(piece) }
            } catch {
                throw CheckpointError(.unreadableFile, path: file.source, "cannot read the file (\(FileErrorReason.describe(error)))")
            }
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Every tensor's header entry, by name.
    public func tensor(_ name: String) -> SafeTensorsTensorInfo? {
        fileIndexByName[name].flatMap { files[$0][name] }
    }

    /// All tensors, shard by shard in file order.
    public var tensors: [SafeTensorsTensorInfo] { files.flatMap(\.header.tensors) }

    /// The bytes of all files.
    public var fileBytes: Int { files.reduce(0) { $0 + $1.header.fileLength } }

    /// The element types of the tensors, distinct, in SafeTensorsDataType order.
    public var dataTypes: [SafeTensorsDataType] {
        let found = Set(tensors.map(\.dataType))
        return SafeTensorsDataType.allCases.filter(found.contains)
    }

    /// The metadata of a single file (shards' metadata is transformers' `format` only); empty when sharded.
    public var metadata: [String: String] { files.count == 1 ? files[0].header.metadata : [:] }

    /// The tensors as one header (names, types and shapes; byte ranges are per shard) for checks
    /// against a config, named after `source`; `ignoring` names are left out.
    public func combinedHeader(ignoring ignored: Set<String> = []) -> SafeTensorsHeader {
        SafeTensorsHeader(source: source, metadata: metadata, tensors: tensors.filter { !ignored.contains($0.name) },
                          dataStart: 0, fileLength: fileBytes)
    }

    /// Gives `tensor` the values of the stored tensor `name`. With `inPlace`, a float32 tensor is used
    /// where it lies in the map (`MappedSafeTensors.floatPointer`; only for a tensor nothing else
    /// shares storage with yet, such as a freshly built model's); otherwise the values are copied or
    /// widened into the tensor's own storage.
    /// - Throws: `SafeTensorsError` naming the file and the tensor.
    public func fill(_ tensor: Tensor, from name: String, inPlace: Bool) throws {
        guard let file = fileIndexByName[name] else {
            throw SafeTensorsError(.missingTensor, source: source, tensor: name, "not in the checkpoint's weights")
        }
        if inPlace, let pointer = files[file].floatPointer(name), files[file][name]?.shape == tensor.shape {
            try tensor.useStorage(of: Tensor.borrowing(pointer, shape: tensor.shape, owner: files[file]))
        } else {
            try files[file].copyFloats(name, into: tensor.data, count: tensor.count)
        }
    }

    /// Copies tensor `name` as float32 into `destination` (see `MappedSafeTensors.copyFloats`).
    public func copyFloats(_ name: String, into destination: UnsafeMutablePointer<Float>, count: Int) throws {
        guard let file = fileIndexByName[name] else {
            throw SafeTensorsError(.missingTensor, source: source, tensor: name, "not in the checkpoint's weights")
        }
        try files[file].copyFloats(name, into: destination, count: count)
    }

    private static func missingWeights(_ directory: URL) -> CheckpointError {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        let pickled = names.sorted().first { ["bin", "pt", "pth", "ckpt"].contains(($0 as NSString).pathExtension) }
        guard let pickled else {
            let holds = [Checkpoint.configFileName, Checkpoint.modelFileName].joined(separator: ", ")
                + " and \(Checkpoint.tokenizerFileName)"
            return CheckpointError(.missingFile, path: directory.path,
                                   "the checkpoint directory has no \(Checkpoint.modelFileName) (nor \(indexFileName) "
                                       + "for a sharded one; a checkpoint holds \(holds))")
        }
        let python = directory.path.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
        return CheckpointError(.unreadableFile, path: directory.appendingPathComponent(pickled).path,
                               "pickled PyTorch weights are not read (unpickling can run code from the file); convert them "
                                   + "to safetensors with transformers: python -c \"from transformers import "
                                   + "AutoModelForCausalLM as M; p='\(python)'; M.from_pretrained(p).save_pretrained(p, "
                                   + "safe_serialization=True)\"")
    }
}
