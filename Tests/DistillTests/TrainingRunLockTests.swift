import Dispatch
import Foundation
import Testing
@testable import Distill
import Models
import Store
import Tokenizers

@Suite("One training run per output folder") struct TrainingRunLockTests {
    @Test("a second run on the folder of a run in progress fails at once, naming the first; the first finishes")
    func secondRunRefused() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("alambique-lock-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: base) }
        let directory = base.appendingPathComponent("run")
        let tokens = (0 ..< 200).map { Int32(($0 * 7) % 256) }
        let firstLocked = DispatchSemaphore(value: 0), secondTried = DispatchSemaphore(value: 0)
        let firstOutcome = Locked<String>("not finished")
        Thread.detachNewThread {
            do {
                let first = TrainingRunTests.run(in: directory)
                let windows = try TokenWindows(tokens: tokens, context: 8, name: "tokens")
                let objective = try NextTokenObjective(train: windows, validation: windows, batchSize: 2,
                                                       validationBatches: 1)
                let summary = try first.run(objective: objective, resume: false, overwrite: false, prepare: { _ in
                    firstLocked.signal()
                    secondTried.wait()
                }, progress: { _ in })
                firstOutcome.set("finished \(summary.steps) steps")
            } catch {
                firstOutcome.set("failed: \(error)")
            }
            firstLocked.signal()
            secondTried.signal()
        }
        firstLocked.wait()
        let error = #expect(throws: OutputLockError.self) {
            try TrainingRunTests.run(in: directory).run(train: tokens, validation: tokens, resume: false,
                                                        overwrite: true) { _ in }
        }
        secondTried.signal()
        #expect(error?.description.contains("in use by another run (pid \(getpid()): ") == true,
                "\(String(describing: error))")
        #expect(error?.folder == directory.path)
        firstLocked.wait()
        #expect(firstOutcome.get() == "finished 2 steps")
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent(Checkpoint.modelFileName).path))
        // Once the first run is over, the folder is free again.
        try TrainingRunTests.run(in: directory).run(train: tokens, validation: tokens, resume: false,
                                                    overwrite: true) { _ in }
    }
}

/// A string shared between the test and its worker thread.
private final class Locked<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func get() -> Value { lock.withLock { value } }
    func set(_ newValue: Value) { lock.withLock { value = newValue } }
}
