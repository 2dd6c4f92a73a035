import Testing
@testable import Distill

/// Settings are printed into progress lines and run names; a value that passes validation (any finite,
/// positive temperature) must print, however large.
@Suite("Numbers in run names") struct RunNamingTests {
    @Test("whole, fractional and huge values print without trapping")
    func numbers() {
        #expect(DistillationJob.number(2) == "2" && DistillationJob.number(0.5) == "0.5")
        #expect(DistillationJob.number(1e30) == "1e+30" && DistillationJob.number(-3e20) == "-3e+20")
        #expect(DistillationJob.number(123_456) == "123456")
    }
}
