import Foundation
import Testing

/// `bench forward` and `bench generate` refuse sizes below 1 before loading anything (a missing checkpoint
/// is not reached), naming the flag, and print the median of their rounds.
@Suite("bench forward / bench generate arguments") struct BenchCheckpointTests {
    @Test("sizes below 1 are refused with the flag's name", arguments: [
        ["bench", "forward", "/nonexistent", "--batch", "0"],
        ["bench", "forward", "/nonexistent", "--context", "0"],
        ["bench", "forward", "/nonexistent", "--runs", "0"],
        ["bench", "forward", "/nonexistent", "--rounds", "0"],
        ["bench", "generate", "/nonexistent", "--prompt-length", "0"],
        ["bench", "generate", "/nonexistent", "--new-tokens", "0"],
        ["bench", "generate", "/nonexistent", "--runs", "0"],
    ])
    func refusesSizes(_ arguments: [String]) throws {
        let result = try CorruptLogitFileTests.run(arguments)
        #expect(!result.signaled)
        #expect(result.status == 64, "\(result.stderr)")  // ArgumentParser's validation failure
        let flag = arguments[arguments.count - 2]
        #expect(result.stderr.contains("\(flag) must be ≥ 1"), "\(result.stderr)")
    }

    @Test("a missing checkpoint is an error naming it, not a crash")
    func missingCheckpoint() throws {
        for command in ["forward", "generate"] {
            let result = try CorruptLogitFileTests.run(["bench", command, "/nonexistent/ckpt", "--runs", "1",
                                                        "--rounds", "1", "--python", "none"])
            #expect(!result.signaled)
            #expect(result.status == 1, "\(command): \(result.stderr)")
            #expect(result.stderr.contains("/nonexistent/ckpt"), "\(command): \(result.stderr)")
        }
    }
}
