import Testing
@testable import Autodiff

/// A tensor of N(0, scale²) values that requires a gradient.
func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1, shift: Float = 0) throws -> Tensor {
    var rng = RNG(seed: seed)
    let n = shape.reduce(1, *)
    return try Tensor(shape: shape, values: (0..<n).map { _ in shift + scale * Float(rng.nextNormal()) },
                      requiresGrad: true)
}

/// Fails with the gradient check's report when its error exceeds `tolerance`.
func expectGradient(_ inputs: [Tensor], tolerance: Double = 5e-3, step: Float = 1e-2,
                    sourceLocation: SourceLocation = #_sourceLocation, _ f: () throws -> Tensor) throws {
    let result = try gradientCheck(inputs, step: step, f)
    #expect(result.maxError <= tolerance, "gradient check: \(result) > tolerance \(tolerance)",
            sourceLocation: sourceLocation)
    #expect(result.checked == inputs.reduce(0) { $0 + $1.count }, sourceLocation: sourceLocation)
}

/// Largest |a − b| over two equal-length arrays.
func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}
