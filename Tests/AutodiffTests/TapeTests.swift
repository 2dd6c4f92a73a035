import Foundation
import Testing
@testable import Autodiff

@Suite("Tape, errors and RNG") struct TapeTests {
    @Test("noGrad records nothing; recording resumes after it")
    func noGradScope() throws {
        let w = try Tensor(shape: [2], values: [1, 2], requiresGrad: true)
        let y = try noGrad { try (w * w).sum() }
        #expect(!y.requiresGrad && y.node == nil)
        #expect(throws: TensorError.self) { try y.backward() }
        let z = try (w * w).sum()
        #expect(z.requiresGrad)
        try z.backward()
        #expect(w.grad?.toArray() == [2, 4])
    }

    @Test("gradients accumulate across backward calls until zeroed; intermediates are released")
    func accumulation() throws {
        let w = try Tensor(shape: [1], values: [3], requiresGrad: true)
        let h = w * 2
        try (h * h).sum().backward()   // d(4w²)/dw = 8w = 24
        try (w * 1).sum().backward()
        #expect(w.grad?.toArray() == [25])
        #expect(h.grad == nil && h.node == nil)
        w.zeroGrad()
        #expect(w.grad == nil)
    }

    @Test("a deep chain does not overflow the stack")
    func deepGraph() throws {
        let w = try Tensor(shape: [1], values: [1], requiresGrad: true)
        var x = w
        for _ in 0..<20_000 { x = x + 0 }
        try x.sum().backward()
        #expect(w.grad?.toArray() == [1])
    }

    @Test("shape errors name both shapes; bad indices name the index")
    func errors() throws {
        let a = try Tensor.zeros([2, 3]), b = try Tensor.zeros([4, 5])
        let matmulError = #expect(throws: TensorError.self) { try a.matmul(b) }
        #expect(matmulError?.message.contains("[2, 3]") == true && matmulError?.message.contains("[4, 5]") == true)
        let addError = #expect(throws: TensorError.self) { try a + b }
        #expect(addError?.message.contains("[2, 3]") == true && addError?.message.contains("[4, 5]") == true)
        let e = #expect(throws: TensorError.self) { try a.embedding(IndexTensor(shape: [1], values: [7])) }
        #expect(e?.message.contains("7") == true)
        #expect(throws: TensorError.self) { try Tensor(shape: [2, 2], values: [1, 2, 3]) }
        #expect(throws: TensorError.self) { try Tensor.zeros([-1]) }
        #expect(throws: TensorError.self) { try a.reshaped([5, -1]) }
        #expect(throws: TensorError.self) { try a.sum(axes: [2]) }
        #expect(throws: TensorError.self) { try a.sliced(axis: 0, 1..<3) }
        #expect(throws: TensorError.self) { try a.crossEntropy(targets: IndexTensor(shape: [2], values: [0, 3])) }
        #expect(throws: TensorError.self) { try a.layerNorm(weight: b, bias: b) }
        #expect(throws: TensorError.self) { try a.causalSelfAttention(heads: 2) }
        #expect(throws: TensorError.self) { try a.klDivergence(teacher: .logits(a), temperature: 0) }
        #expect(throws: TensorError.self) { try Tensor.concatenate([a, b], axis: 0) }
        var rng = RNG(seed: 1)
        #expect(throws: TensorError.self) { try a.dropout(1, rng: &rng) }
    }

    @Test("RNG: fixed stream for a seed (portable values), uniform and normal statistics")
    func rng() throws {
        var r = RNG(seed: 42)
        // xoshiro256** seeded by SplitMix64(42), computed independently (Python, 64-bit integers).
        #expect((0..<3).map { _ in r.next() } == [1546998764402558742, 6990951692964543102, 12544586762248559009])
        #expect(RNG(seed: 43).state != RNG(seed: 42).state)
        var u = RNG(seed: 7)
        let floats = (0..<20_000).map { _ in u.nextFloat() }
        #expect(floats.allSatisfy { $0 >= 0 && $0 < 1 })
        #expect(abs(floats.reduce(0, +) / 20_000 - 0.5) < 0.01)
        let normals = (0..<20_000).map { _ in u.nextNormal() }
        let mean = normals.reduce(0, +) / 20_000
        let variance = normals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 20_000
        #expect(abs(mean) < 0.03 && abs(variance - 1) < 0.03)
        let ints = (0..<1000).map { _ in u.nextInt(below: 7) }
        #expect(Set(ints) == Set(0..<7))
        let restored = try RNG(state: u.state)
        var copy = u
        var restoredCopy = restored
        #expect(copy.next() == restoredCopy.next())
    }

    @Test("portable logarithm agrees with libm")
    func portableLogarithm() {
        for x in [1e-300, 1e-10, 0.001, 0.5, 0.7071, 1, 1.5, 2, 10, 12345.678, 1e300] {
            #expect(abs(portableLog(x) - log(x)) <= 2e-16 * max(1, abs(log(x))), "x = \(x)")
        }
    }
}

@Suite("Limits") struct LimitTests {
    @Test("thread counts outside 1…1024 are errors")
    func threads() {
        #expect(throws: TensorError.self) { try Threads.configure(0) }
        #expect(throws: TensorError.self) { try Threads.configure(3_000_000_000) }
    }

    @Test("softmax at a huge scale (temperature near 0) is one-hot, not NaN")
    func tinyTemperature() {
        var x: [Float] = [1, 2, 3, -1, 0.5, 2.5, 1, 1, 0]
        x.withUnsafeMutableBufferPointer { InferenceKernels.softmaxInPlace($0.baseAddress!, count: 9, scale: 1e38) }
        #expect(x == [0, 0, 1, 0, 0, 0, 0, 0, 0], "\(x)")
    }
}
