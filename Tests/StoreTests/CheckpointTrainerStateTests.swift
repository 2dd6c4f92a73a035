import Foundation
import Models
import Testing
import Tokenizers
@testable import Store

/// A model, its AdamW, and the data stream of a tiny training run.
private struct TinyRun {
    let model: GPT
    let optimizer: AdamW
    var data: RNG

    init(modelSeed: UInt64, dataSeed: UInt64 = 7, beta2: Float = 0.99) throws {
        model = try GPT(config: TinyCheckpoint.config, seed: modelSeed)
        optimizer = try AdamW(groups: model.parameterGroups(weightDecay: 0.1), learningRate: 1e-2,
                              beta1: 0.9, beta2: beta2)
        data = RNG(seed: dataSeed)
    }

    /// One AdamW step on a random batch of 2 windows of 8 tokens drawn from `data`.
    mutating func step() throws {
        let tokens = (0..<18).map { _ in Int32(data.nextInt(below: 11)) }
        let inputs = try IndexTensor(shape: [2, 8], values: Array(tokens[0..<8] + tokens[9..<17]))
        let targets = try IndexTensor(shape: [2, 8], values: Array(tokens[1..<9] + tokens[10..<18]))
        model.zeroGrad()
        try model.loss(inputs, targets: targets).backward()
        optimizer.step()
    }

    func save(to directory: URL, step: Int) throws {
        let state = TrainerState(step: step, dataOrderRNG: data, dropoutRNG: model.dropoutRNG,
                                 settingsHash: "abc123", bestValidationLoss: 2.5, elapsedSeconds: 1.25)
        try Checkpoint.save(module: model, config: TinyCheckpoint.config, tokenizer: TinyCheckpoint.tokenizer,
                            info: TinyCheckpoint.info, trainer: TrainerCheckpoint(state: state, optimizer: optimizer),
                            to: directory)
    }
}

@Suite("Checkpoint directories: trainer state") struct CheckpointTrainerStateTests {
    @Test("a resumed run takes exactly the step the uninterrupted run takes")
    func resume() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let directory = temporary.file("run")
        var original = try TinyRun(modelSeed: 1)
        try original.step()
        try original.step()
        try original.save(to: directory, step: 2)
        try original.step()

        var resumed = try TinyRun(modelSeed: 42, dataSeed: 1000)
        try Checkpoint.loadParameters(into: resumed.model, from: directory)
        let state = try Checkpoint.loadTrainerState(from: directory, optimizer: resumed.optimizer, module: resumed.model)
        #expect(state.step == 2 && state.settingsHash == "abc123" && state.bestValidationLoss == 2.5)
        #expect(state.elapsedSeconds == 1.25 && state.optimizer?.stepCount == 2)
        #expect(state.dropoutRNG == original.model.dropoutRNG)
        #expect(resumed.optimizer.stepCount == 2)
        resumed.data = state.dataOrderRNG
        try resumed.step()

        for ((name, a), (_, b)) in zip(original.model.namedParameters(), resumed.model.namedParameters()) {
            let differences = bitDifferences(a.toArray(), b.toArray())
            #expect(differences.count == 0, "\(name): \(differences.count) values differ, by up to \(differences.maximum)")
        }
        #expect(original.data == resumed.data)
    }

    @Test("the files: moments under exp_avg/exp_avg_sq names, RNG words as 16-digit hex strings")
    func files() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        var run = try TinyRun(modelSeed: 1)
        try run.step()
        try run.save(to: temporary.file("run"), step: 1)
        let moments = try SafeTensors.read(contentsOf: temporary.file("run/trainer_state.safetensors"))
        #expect(moments.names.count == 2 * run.model.namedParameters().count)
        #expect(moments["exp_avg.transformer.wte.weight"]?.shape == [11, 8])
        #expect(try moments.floats(named: "exp_avg_sq.transformer.h.0.attn.c_attn.bias") == run.optimizer.secondMoments[
            run.optimizer.groups.flatMap(\.parameters).firstIndex { $0 === run.model.transformer.h[0].attn.qkv.bias }!].toArray())
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: temporary.file("run/trainer_state.json"))) as! [String: Any]
        let words = try #require(json["data_order_rng"] as? [String])
        #expect(words.count == 4 && words.allSatisfy { $0.count == 16 && UInt64($0, radix: 16) != nil })
        #expect(words.map { UInt64($0, radix: 16)! } == run.data.state)
    }

    @Test("trainer state that does not fit is an error naming the file and field")
    func mismatches() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let directory = temporary.file("run")
        var run = try TinyRun(modelSeed: 1)
        try run.step()
        try run.save(to: directory, step: 1)

        let otherBetas = try TinyRun(modelSeed: 1, beta2: 0.999)
        let betaError = try #require(throws: CheckpointError.self) {
            try Checkpoint.loadTrainerState(from: directory, optimizer: otherBetas.optimizer, module: otherBetas.model)
        }
        #expect(betaError.kind == .trainerStateMismatch && betaError.field == "optimizer.beta2")

        let momentsURL = directory.appendingPathComponent("trainer_state.safetensors")
        var entries = try SafeTensors.read(contentsOf: momentsURL).entries
        entries.removeAll { $0.name == "exp_avg.transformer.ln_f.bias" }
        try SafeTensors.write(entries, to: momentsURL)
        let fresh = try TinyRun(modelSeed: 1)
        let missing = try #require(throws: CheckpointError.self) {
            try Checkpoint.loadTrainerState(from: directory, optimizer: fresh.optimizer, module: fresh.model)
        }
        #expect(missing.field == "exp_avg.transformer.ln_f.bias" && missing.path == momentsURL.path)
        #expect(missing.description.contains("shape [8]"))
        #expect(fresh.optimizer.stepCount == 0, "a failed load leaves the optimizer as it was")

        let jsonURL = directory.appendingPathComponent("trainer_state.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: jsonURL)) as! [String: Any]
        json["data_order_rng"] = ["0", "1", "2", "3"]
        try JSONSerialization.data(withJSONObject: json).write(to: jsonURL)
        let badRNG = try #require(throws: CheckpointError.self) {
            try Checkpoint.loadTrainerState(from: directory, optimizer: fresh.optimizer, module: fresh.model)
        }
        #expect(badRNG.field == "data_order_rng" && badRNG.path == jsonURL.path)
        #expect(badRNG.description.contains("16 hex digits"))

        try FileManager.default.removeItem(at: jsonURL)
        let absent = try #require(throws: CheckpointError.self) {
            try Checkpoint.loadTrainerState(from: directory, optimizer: fresh.optimizer, module: fresh.model)
        }
        #expect(absent.kind == .missingFile && absent.description.contains("trainer_state.json"))
    }
}
