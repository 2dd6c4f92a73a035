import Testing
@testable import NN

@Suite("Module loading") struct ModuleLoadingTests {
    /// The snapshot of one module, as a dictionary to load into another.
    static func values(of module: Module) -> [String: ParameterValues] {
        Dictionary(uniqueKeysWithValues: module.parameterSnapshot().map { ($0.name, $0.values) })
    }

    @Test("a snapshot loads into a differently initialised module bit for bit, in place")
    func roundTrip() throws {
        var rng1 = RNG(seed: 1), rng2 = RNG(seed: 2)
        let source = try Block(rng: &rng1), target = try Block(rng: &rng2)
        let tensorsBefore = target.parameters().map(ObjectIdentifier.init)
        #expect(source.fc.weight.toArray() != target.fc.weight.toArray())
        try target.loadParameters(Self.values(of: source), source: "<memory>")
        for ((name, a), (_, b)) in zip(source.namedParameters(), target.namedParameters()) {
            let differing = zip(a.toArray(), b.toArray()).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "\(name): \(differing) of \(a.count) values differ")
        }
        #expect(target.parameters().map(ObjectIdentifier.init) == tensorsBefore)
        #expect(target.fc.weight.requiresGrad)
    }

    @Test("a tied tensor is listed once and loads under its first name")
    func tied() throws {
        var rng = RNG(seed: 3)
        let module = try Tied(rng: &rng)
        let snapshot = module.parameterSnapshot()
        #expect(snapshot.map(\.name) == ["wte.weight"])
        var values = Self.values(of: module)
        values["wte.weight"]!.values = Array(repeating: 0.5, count: 15)
        try module.loadParameters(values, source: "<memory>")
        #expect(module.head.toArray() == Array(repeating: 0.5, count: 15))
        values["head"] = ParameterValues(shape: [5, 3], values: Array(repeating: 0, count: 15))
        #expect(throws: LoadError.self) { try module.loadParameters(values, source: "<memory>") }
    }

    @Test("unknown, missing and misshapen parameters are errors naming the parameter and source; nothing is copied")
    func strict() throws {
        var rng1 = RNG(seed: 1), rng2 = RNG(seed: 2)
        let source = try Block(rng: &rng1), target = try Block(rng: &rng2)
        let before = target.parameterSnapshot().map(\.values)
        let good = Self.values(of: source)

        var unknown = good
        unknown["c_fc.extra"] = ParameterValues(shape: [1], values: [0])
        let unknownError = try #require(throws: LoadError.self) { try target.loadParameters(unknown, source: "w.safetensors") }
        #expect(unknownError.kind == .unknownParameter && unknownError.parameter == "c_fc.extra")
        #expect(unknownError.description.contains("w.safetensors"))

        var missing = good
        missing["layers.1.bias"] = nil
        let missingError = try #require(throws: LoadError.self) { try target.loadParameters(missing, source: "w.safetensors") }
        #expect(missingError.kind == .missingParameter && missingError.parameter == "layers.1.bias")
        #expect(missingError.description.contains("[2]"))

        var misshapen = good
        misshapen["c_fc.weight"] = ParameterValues(shape: [3, 4], values: Array(repeating: 0, count: 12))
        let shapeError = try #require(throws: LoadError.self) { try target.loadParameters(misshapen, source: "w.safetensors") }
        #expect(shapeError.kind == .shapeMismatch && shapeError.parameter == "c_fc.weight")
        #expect(shapeError.description == "w.safetensors: parameter \"c_fc.weight\": expected shape [4, 3], found [3, 4]")

        var shortValues = good
        shortValues["scale"] = ParameterValues(shape: [2], values: [1])
        let countError = try #require(throws: LoadError.self) { try target.loadParameters(shortValues, source: "w") }
        #expect(countError.kind == .valueCountMismatch)

        #expect(target.parameterSnapshot().map(\.values) == before, "a failed load must not modify the module")
    }
}
