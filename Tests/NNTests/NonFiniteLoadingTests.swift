import Testing
@testable import NN

@Suite("Loading refuses NaN and infinite values") struct NonFiniteLoadingTests {
    @Test("one NaN or ±∞ anywhere is found at its first position (chunk edges, vector body and tail)")
    func firstNonFiniteIndex() {
        func first(_ values: [Float]) -> Int? { values.withUnsafeBufferPointer(ParameterValues.firstNonFiniteIndex) }
        #expect(first([]) == nil)
        #expect(first([1, 2, 3]) == nil)
        #expect(first([Float](repeating: .greatestFiniteMagnitude, count: 10_000) + [-.greatestFiniteMagnitude, .leastNonzeroMagnitude]) == nil)
        for count in [1, 15, 16, 17, 4095, 4096, 4097, 9000] {
            for position in Set([0, count / 2, count - 1, min(count - 1, 4095), min(count - 1, 4096)]) {
                for bad in [Float.nan, .infinity, -.infinity, -Float.nan, Float(bitPattern: 0x7FC0_0001)] {
                    var values = [Float](repeating: 0.5, count: count)
                    values[position] = bad
                    if position + 1 < count { values[count - 1] = .nan }  // a later one is not reported
                    #expect(first(values) == position, "count \(count), position \(position), \(bad)")
                }
            }
        }
    }

    @Test("element indices: row-major, outermost first")
    func elementIndices() {
        #expect(ParameterValues.elementIndex(0, shape: [3, 4]) == [0, 0])
        #expect(ParameterValues.elementIndex(7, shape: [3, 4]) == [1, 3])
        #expect(ParameterValues.elementIndex(23, shape: [2, 3, 4]) == [1, 2, 3])
        #expect(ParameterValues.elementIndex(5, shape: [9]) == [5])
        #expect(ParameterValues.elementIndex(5, shape: []) == [5])
    }

    @Test("a NaN or infinite value is an error naming the source, the parameter, the index and the value; nothing is copied")
    func nonFiniteValuesAreRefused() throws {
        var rng1 = RNG(seed: 1), rng2 = RNG(seed: 2)
        let source = try Block(rng: &rng1), target = try Block(rng: &rng2)
        let before = target.parameterSnapshot().map(\.values)
        for bad in [Float.nan, .infinity, -.infinity] {
            var values = Dictionary(uniqueKeysWithValues: source.parameterSnapshot().map { ($0.name, $0.values) })
            values["c_fc.weight"]!.values[2 * 3 + 1] = bad  // shape [4, 3]: element [2, 1]
            let error = try #require(throws: LoadError.self) { try target.loadParameters(values, source: "w.safetensors") }
            #expect(error.kind == .nonFiniteValue && error.parameter == "c_fc.weight")
            #expect(error.description.hasPrefix("w.safetensors: parameter \"c_fc.weight\": value [2, 1] is \(bad)"), "\(error.description)")
            #expect(target.parameterSnapshot().map(\.values) == before, "a failed load must not modify the module")
        }
    }
}
