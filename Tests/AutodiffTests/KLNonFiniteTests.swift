import Foundation
import Testing
@testable import Autodiff

/// KL(p ‖ q) where the teacher is not a distribution: a NaN or +∞ teacher logit leaves p undefined, and the
/// divergence must say so (NaN) rather than skip those terms and report a KL near 0. A zero probability is
/// defined and adds nothing.
@Suite("KL divergence with undefined teachers") struct KLNonFiniteTests {
    @Test("a NaN or +∞ teacher logit gives NaN; a zero teacher probability gives the KL over the others")
    func undefinedTeacher() throws {
        let student = try Tensor(shape: [2, 3], values: [0.1, 0.2, 0.3, 1, 0, -1])
        for bad in [Float.nan, .infinity] {
            let teacher = try Tensor(shape: [2, 3], values: [0.5, bad, 0.1, 0, 0, 0])
            #expect(try student.klDivergence(teacher: .logits(teacher), temperature: 1).item().isNaN)
        }
        // p = (0.5, 0, 0.5) in both rows: KL = Σ_{p>0} p (log p − log q), computed here in Double.
        let p = try Tensor(shape: [2, 3], values: [0.5, 0, 0.5, 0.5, 0, 0.5])
        let kl = try student.klDivergence(teacher: .probabilities(p), temperature: 1).item()
        var expected = 0.0
        for row in 0 ..< 2 {
            let z = (0 ..< 3).map { Double(student.data[row * 3 + $0]) }
            let logSum = log(z.map { exp($0) }.reduce(0, +))
            for i in [0, 2] { expected += 0.5 * (log(0.5) - (z[i] - logSum)) }
        }
        expected /= 2
        #expect(abs(Double(kl) - expected) < 1e-5, "\(kl) vs \(expected)")
    }
}
