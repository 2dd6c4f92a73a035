// What a run needs to resume exactly where it stopped: trainer_state.json (step, RNG states,
// settings hash, best validation loss, the optimizer's hyperparameters and step count) and
// trainer_state.safetensors (AdamW's moments under the parameters' names, PyTorch's
// exp_avg/exp_avg_sq). RNG words are hex strings: JSON numbers lose UInt64 precision in many parsers.

import Foundation
import NN

/// The trainer's resumable state (trainer_state.json). The optimizer's moments live beside it in
/// trainer_state.safetensors; its step count and hyperparameters are recorded here.
public struct TrainerState: Codable, Sendable, Equatable {
    /// Version of this file's layout.
    public var formatVersion: Int = 1
    /// Training steps completed.
    public var step: Int
    /// The stream that draws training windows (the data position: batches are random offsets).
    public var dataOrderRNG: RNG
    /// The model's dropout stream, when it has one.
    public var dropoutRNG: RNG?
    /// A hash of the run's settings, so a resume with different settings can be refused.
    public var settingsHash: String
    /// The lowest validation loss seen so far.
    public var bestValidationLoss: Double?
    /// Wall-clock seconds spent training before this checkpoint.
    public var elapsedSeconds: Double
    /// The optimizer's hyperparameters and step count. Set by `Checkpoint.save` from the optimizer.
    public var optimizer: OptimizerRecord?

    /// AdamW's state apart from its moments; checked against the optimizer on load.
    public struct OptimizerRecord: Codable, Sendable, Equatable {
        public var name: String
        public var stepCount: Int
        public var beta1: Float
        public var beta2: Float
        public var epsilon: Float

        enum CodingKeys: String, CodingKey {
            case name, stepCount = "step_count", beta1, beta2, epsilon
        }
    }

    public init(step: Int, dataOrderRNG: RNG, dropoutRNG: RNG? = nil, settingsHash: String,
                bestValidationLoss: Double? = nil, elapsedSeconds: Double = 0) {
        self.step = step
        self.dataOrderRNG = dataOrderRNG
        self.dropoutRNG = dropoutRNG
        self.settingsHash = settingsHash
        self.bestValidationLoss = bestValidationLoss
        self.elapsedSeconds = elapsedSeconds
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", step, dataOrderRNG = "data_order_rng", dropoutRNG = "dropout_rng"
        case settingsHash = "settings_hash", bestValidationLoss = "best_val_loss", elapsedSeconds = "elapsed_s"
        case optimizer
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        formatVersion = try c.decode(Int.self, forKey: .formatVersion)
        guard formatVersion == 1 else {
            throw DecodingError.dataCorruptedError(forKey: .formatVersion, in: c,
                                                   debugDescription: "format_version \(formatVersion) is not supported (expected 1)")
        }
        step = try c.decode(Int.self, forKey: .step)
        dataOrderRNG = try Self.decodeRNG(c.decode([String].self, forKey: .dataOrderRNG), c, .dataOrderRNG)
        dropoutRNG = try c.decodeIfPresent([String].self, forKey: .dropoutRNG).map { try Self.decodeRNG($0, c, .dropoutRNG) }
        settingsHash = try c.decode(String.self, forKey: .settingsHash)
        bestValidationLoss = try c.decodeIfPresent(Double.self, forKey: .bestValidationLoss)
        elapsedSeconds = try c.decode(Double.self, forKey: .elapsedSeconds)
        optimizer = try c.decodeIfPresent(OptimizerRecord.self, forKey: .optimizer)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(formatVersion, forKey: .formatVersion)
        try c.encode(step, forKey: .step)
        try c.encode(Self.hexWords(dataOrderRNG), forKey: .dataOrderRNG)
        try c.encodeIfPresent(dropoutRNG.map(Self.hexWords), forKey: .dropoutRNG)
        try c.encode(settingsHash, forKey: .settingsHash)
        try c.encodeIfPresent(bestValidationLoss, forKey: .bestValidationLoss)
        try c.encode(elapsedSeconds, forKey: .elapsedSeconds)
        try c.encodeIfPresent(optimizer, forKey: .optimizer)
    }

    /// The four state words as 16-digit hex strings. (A cached spare normal is not part of the
    /// public state and is not saved; data order and dropout draw uniforms only.)
    private static func hexWords(_ rng: RNG) -> [String] {
        rng.state.map { word in
            let hex = String(word, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }
    }

    private static func decodeRNG(_ words: [String], _ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> RNG {
        let values = words.compactMap { $0.count == 16 ? UInt64($0, radix: 16) : nil }
        guard words.count == 4, values.count == 4, let rng = try? RNG(state: values) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: c,
                debugDescription: "expected 4 words of 16 hex digits, not all zero; found \(words)")
        }
        return rng
    }
}

/// The optimizer and trainer state to save with a checkpoint so a run can resume.
public struct TrainerCheckpoint {
    public var state: TrainerState
    public var optimizer: AdamW

    public init(state: TrainerState, optimizer: AdamW) {
        self.state = state
        self.optimizer = optimizer
    }
}

extension Checkpoint {
    /// The trainer's JSON state.
    public static let trainerStateFileName = "trainer_state.json"
    /// The optimizer's moments: `exp_avg.<parameter>` and `exp_avg_sq.<parameter>`, F32.
    public static let trainerMomentsFileName = "trainer_state.safetensors"

    /// Restores `optimizer` (moments and step count) from a checkpoint saved with `trainer:` and
    /// returns the trainer state. The moments are matched to the optimizer's parameters by the
    /// names `module` gives them, strictly (unknown, missing or misshapen moments are errors), and
    /// the optimizer's betas and epsilon must be those it was saved with.
    /// - Throws: `CheckpointError` naming the file and the field or tensor, `SafeTensorsError`.
    public static func loadTrainerState(from directory: URL, optimizer: AdamW, module: Module) throws -> TrainerState {
        let jsonURL = try requiredFile(trainerStateFileName, in: directory)
        let state: TrainerState
        do {
            state = try JSONDecoder().decode(TrainerState.self, from: readData(jsonURL))
        } catch let error as CheckpointError {
            throw error
        } catch {
            throw CheckpointError.decoding(error, path: jsonURL.path)
        }
        guard let record = state.optimizer else {
            throw CheckpointError(.invalidField, path: jsonURL.path, field: "optimizer", "missing")
        }
        let expected = optimizerRecord(optimizer)
        for (field, saved, current) in [("beta1", record.beta1, expected.beta1), ("beta2", record.beta2, expected.beta2),
                                        ("epsilon", record.epsilon, expected.epsilon)] where saved != current {
            throw CheckpointError(.trainerStateMismatch, path: jsonURL.path, field: "optimizer.\(field)",
                                  "saved \(saved), but the optimizer has \(current)")
        }
        guard record.name == expected.name else {
            throw CheckpointError(.trainerStateMismatch, path: jsonURL.path, field: "optimizer.name",
                                  "saved \"\(record.name)\", expected \"\(expected.name)\"")
        }

        let momentsURL = try requiredFile(trainerMomentsFileName, in: directory)
        let file = try SafeTensors.read(contentsOf: momentsURL)
        let names = try momentNames(optimizer, module: module, path: momentsURL.path)
        let known = Set(names.flatMap { ["exp_avg.\($0)", "exp_avg_sq.\($0)"] })
        if let unknown = file.names.first(where: { !known.contains($0) }) {
            throw CheckpointError(.trainerStateMismatch, path: momentsURL.path, field: unknown,
                                  "is not a moment of any parameter the optimizer updates")
        }
        var first: [[Float]] = [], second: [[Float]] = []
        for (name, moment) in zip(names, optimizer.firstMoments) {
            first.append(try momentValues("exp_avg.\(name)", shape: moment.shape, file: file))
            second.append(try momentValues("exp_avg_sq.\(name)", shape: moment.shape, file: file))
        }
        try optimizer.restore(stepCount: record.stepCount, firstMoments: first, secondMoments: second)
        return state
    }

    /// Writes trainer_state.json and trainer_state.safetensors into `directory` (a temporary
    /// directory that `save` then renames into place).
    static func writeTrainerState(_ trainer: TrainerCheckpoint, module: Module, into directory: URL) throws {
        let momentsURL = directory.appendingPathComponent(trainerMomentsFileName)
        let names = try momentNames(trainer.optimizer, module: module, path: momentsURL.path)
        var entries: [SafeTensorsEntry] = []
        for (index, name) in names.enumerated() {
            for (prefix, tensor) in [("exp_avg", trainer.optimizer.firstMoments[index]),
                                     ("exp_avg_sq", trainer.optimizer.secondMoments[index])] {
                entries.append(SafeTensorsEntry(name: "\(prefix).\(name)", dataType: .float32, shape: tensor.shape,
                                                bytes: Data(bytes: tensor.data, count: tensor.count * MemoryLayout<Float>.stride)))
            }
        }
        try SafeTensors.write(entries, metadata: ["format": "pt", "optimizer": "AdamW"], to: momentsURL)
        var state = trainer.state
        state.optimizer = optimizerRecord(trainer.optimizer)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try write(encoder.encode(state), to: directory.appendingPathComponent(trainerStateFileName))
    }

    private static func optimizerRecord(_ optimizer: AdamW) -> TrainerState.OptimizerRecord {
        TrainerState.OptimizerRecord(name: "AdamW", stepCount: optimizer.stepCount, beta1: optimizer.beta1,
                                     beta2: optimizer.beta2, epsilon: optimizer.epsilon)
    }

    /// The module-walk name of each parameter the optimizer updates, in the optimizer's order.
    private static func momentNames(_ optimizer: AdamW, module: Module, path: String) throws -> [String] {
        let nameOf = Dictionary(module.namedParameters().map { (ObjectIdentifier($0.tensor), $0.name) },
                                uniquingKeysWith: { first, _ in first })
        return try optimizer.groups.flatMap(\.parameters).enumerated().map { index, tensor in
            guard let name = nameOf[ObjectIdentifier(tensor)] else {
                throw CheckpointError(.trainerStateMismatch, path: path, field: "parameter \(index)",
                                      "the optimizer updates a tensor of shape \(tensor.shape) that is not a parameter of the module")
            }
            return name
        }
    }

    private static func momentValues(_ name: String, shape: [Int], file: SafeTensorsFile) throws -> [Float] {
        guard let entry = file[name] else {
            throw CheckpointError(.trainerStateMismatch, path: file.source, field: name,
                                  "missing (expected an F32 tensor of shape \(shape))")
        }
        guard entry.shape == shape else {
            throw CheckpointError(.trainerStateMismatch, path: file.source, field: name,
                                  "expected shape \(shape), found \(entry.shape)")
        }
        return try file.values(named: name, as: Float.self)
    }
}
