import Testing
@testable import NN

/// A small tree with every kind of property the walk must handle.
final class Block: Module {
    @Key("ln_1") var ln1: LayerNorm
    @Key("c_fc") var fc: Linear
    var layers: [Linear]
    var scale: Tensor
    var optionalMissing: Tensor? = nil
    let width: Int

    init(rng: inout RNG) throws {
        _ln1.wrappedValue = try LayerNorm(dimensions: 4)
        _fc.wrappedValue = try Linear(inFeatures: 4, outFeatures: 3, rng: &rng)
        layers = [try Linear(inFeatures: 3, outFeatures: 3, bias: false, rng: &rng),
                  try Linear(inFeatures: 3, outFeatures: 2, rng: &rng)]
        scale = try Tensor.full([2], 1, requiresGrad: true)
        width = 4
    }
}

final class Tied: Module {
    var wte: Embedding
    var head: Tensor
    init(rng: inout RNG) throws {
        wte = try Embedding(count: 5, dimensions: 3, rng: &rng)
        head = wte.weight  // the same tensor under a second name
    }
}

@Suite("Module") struct ModuleTests {
    @Test("parameters are discovered by dotted names, @Key names, arrays and optional biases")
    func discovery() throws {
        var rng = RNG(seed: 1)
        let block = try Block(rng: &rng)
        let names = block.namedParameters().map(\.name)
        #expect(names == ["ln_1.weight", "ln_1.bias", "c_fc.weight", "c_fc.bias",
                          "layers.0.weight", "layers.1.weight", "layers.1.bias", "scale"])
        #expect(block.parameterCount == 4 + 4 + 12 + 3 + 9 + 6 + 2 + 2)
        #expect(block.namedModules().map(\.name) == ["", "ln_1", "c_fc", "layers.0", "layers.1"])
    }

    @Test("a tied tensor is listed once, under its first name")
    func tied() throws {
        var rng = RNG(seed: 2)
        let model = try Tied(rng: &rng)
        #expect(model.namedParameters().map(\.name) == ["wte.weight"])
    }

    @Test("train/eval reach every submodule")
    func modes() throws {
        var rng = RNG(seed: 3)
        let block = try Block(rng: &rng)
        block.eval()
        #expect(block.namedModules().allSatisfy { !$0.module.isTraining })
        block.train()
        #expect(block.namedModules().allSatisfy { $0.module.isTraining })
    }

    @Test("weight-decay groups: matrices decay, vectors do not")
    func groups() throws {
        var rng = RNG(seed: 4)
        let block = try Block(rng: &rng)
        let groups = block.parameterGroups(weightDecay: 0.1)
        #expect(groups[0].parameters.allSatisfy { $0.rank == 2 } && groups[0].parameters.count == 3)
        #expect(groups[1].parameters.allSatisfy { $0.rank == 1 } && groups[1].weightDecay == 0)
        #expect(groups[0].parameters.count + groups[1].parameters.count == block.parameters().count)
    }

    @Test("GPT-2 initialisation statistics: N(0, 0.02) weights, zero bias, unit norm weight")
    func initialisation() throws {
        var rng = RNG(seed: 5)
        let linear = try Linear(inFeatures: 200, outFeatures: 100, rng: &rng)
        let w = linear.weight.toArray()
        let mean = w.reduce(0, +) / Float(w.count)
        let std = (w.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(w.count)).squareRoot()
        #expect(abs(mean) < 0.001 && abs(std - 0.02) < 0.0005, "mean \(mean), std \(std)")
        #expect(linear.bias!.toArray().allSatisfy { $0 == 0 })
        #expect(try LayerNorm(dimensions: 3).weight.toArray() == [1, 1, 1])
    }
}
