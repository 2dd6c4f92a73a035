import Foundation
import Testing
@testable import Store

/// Attributes of a small full-logit file (float32, context 2 unless given).
func tinyLogitsAttributes(vocabularySize: Int = 5, context: Int = 2, sequences: Int = 1) -> LogitsFileAttributes {
    LogitsFileAttributes(teacher: "t", teacherSHA256: String(repeating: "a", count: 64),
                         tokenizerSHA256: String(repeating: "b", count: 64), vocabularySize: vocabularySize,
                         context: context, mode: .full, dtype: .float32, split: "val",
                         created: "2026-12-01T00:00:00Z", stride: context, sequenceCount: sequences)
}

/// Interrupted writers: SIGTERM/SIGINT remove the temporary files being written, a later run
/// removes what a kill -9 left, and a second writer of the same output folder is refused.
@Suite("Interruption, leftovers and output locks") struct InterruptionTests {
    /// A pid no process has: above Linux's largest pid_max (2^22).
    static let deadPID: pid_t = 1 << 30

    static func output(_ result: ExitTest.Result?) -> String {
        String(decoding: result?.standardOutputContent ?? [], as: UTF8.self)
    }

    @Test("SIGTERM while a logit file is half written removes it and exits with 128 + 15")
    func sigtermRemovesTemporaryFiles() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.url.path
        let result = await #expect(processExitsWith: .exitCode(128 + SIGTERM), observing: [\.standardOutputContent]) {
            [path = path as String] in
            TemporaryFiles.installSignalCleanup()
            let attributes = tinyLogitsAttributes(sequences: 4)
            let writer = try LogitsWriter(url: URL(fileURLWithPath: path + "/part.h5"), attributes: attributes,
                                          tokenizerJSON: Data("{}".utf8), layout: LogitsLayout(blockSequences: 1))
            try writer.append(tokens: [1, 2, 3], values: .full(logits: (0 ..< 10).map(Float.init)))
            let names = try FileManager.default.contentsOfDirectory(atPath: path)
            FileHandle.standardOutput.write(Data("before: \(names.count) \(names.first ?? "")\n".utf8))
            kill(getpid(), SIGTERM)
            sleep(30)  // the handler exits long before
            withExtendedLifetime(writer) {}
        }
        #expect(Self.output(result).contains("before: 1 .part.h5.tmp-"), "\(Self.output(result))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: path) == [])
    }

    @Test("the registry removes what is registered and forgets what was committed")
    func registry() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let kept = directory.file("kept"), removed = directory.file("removed")
        for url in [kept, removed] {
            TemporaryFiles.register(url)
            try Data("x".utf8).write(to: url)
        }
        try TemporaryFiles.commit(kept) {}
        #expect(!TemporaryFiles.livePaths.contains(kept.path))
        #expect(TemporaryFiles.livePaths.contains(removed.path))
        TemporaryFiles.discard(removed)
        #expect(!FileManager.default.fileExists(atPath: removed.path))
        #expect(FileManager.default.fileExists(atPath: kept.path))
        #expect(!TemporaryFiles.livePaths.contains(removed.path))
    }

    @Test("a temporary file a killed process left is removed by the next write of the same output; others stay")
    func staleTemporaryFiles() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let stale = directory.file(".out.json.tmp-\(Self.deadPID)-1f2e")
        let live = directory.file(".out.json.tmp-1-abc")  // pid 1 is alive
        let foreign = directory.file(".out.json.tmp-mine")
        let otherOutput = directory.file(".other.json.tmp-\(Self.deadPID)-1f2e")
        for url in [stale, live, foreign, otherOutput] { try Data("x".utf8).write(to: url) }
        try AtomicFile.write(Data("{}".utf8), to: directory.file("out.json"))
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: directory.url.path))
        #expect(names == [live.lastPathComponent, foreign.lastPathComponent, otherOutput.lastPathComponent, "out.json"])
    }

    @Test("a checkpoint's stale temporary folder is removed; a stale logit temporary file too")
    func staleTemporaryFolders() throws {
        let tiny = try TinyCheckpoint()
        defer { tiny.temporary.remove() }
        let parent = tiny.directory.deletingLastPathComponent()
        let half = parent.appendingPathComponent("tiny-teacher.tmp-\(Self.deadPID)-ab12")
        try FileManager.default.createDirectory(at: half, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: half.appendingPathComponent(Checkpoint.configFileName))
        let foreign = parent.appendingPathComponent("tiny-teacher.tmp-\(Self.deadPID)-cd34")
        try FileManager.default.createDirectory(at: foreign, withIntermediateDirectories: true)
        try Data("notes".utf8).write(to: foreign.appendingPathComponent("notes.txt"))
        try Checkpoint.save(module: tiny.model, config: TinyCheckpoint.config, tokenizer: TinyCheckpoint.tokenizer,
                            info: TinyCheckpoint.info, to: tiny.directory)
        let names = try FileManager.default.contentsOfDirectory(atPath: parent.path).sorted()
        #expect(names.count == 2, "\(names)")
        #expect(names.first == "tiny-teacher")
        #expect(names.last?.hasPrefix("tiny-teacher.old-") == true, "a folder of unknown files is kept aside: \(names)")

        let logits = parent.appendingPathComponent(".f.h5.tmp-\(Self.deadPID)-99")
        try Data("x".utf8).write(to: logits)
        let attributes = tinyLogitsAttributes()
        let writer = try LogitsWriter(url: parent.appendingPathComponent("f.h5"), attributes: attributes,
                                      tokenizerJSON: Data())
        writer.abandon()
        #expect(!FileManager.default.fileExists(atPath: logits.path))
    }

    @Test("a second lock on the same output folder fails at once, naming the holder's pid and command")
    func outputLock() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let folder = directory.file("checkpoints/run")
        var first: OutputLock? = try OutputLock(for: folder, command: "alambique train --out checkpoints/run")
        let error = #expect(throws: OutputLockError.self) {
            _ = try OutputLock(for: folder, command: "alambique distill --out checkpoints/run")
        }
        #expect(error?.description.contains("pid \(getpid()): alambique train --out checkpoints/run") == true,
                "\(String(describing: error))")
        #expect(error?.folder == folder.path)
        #expect(first?.lockFile.lastPathComponent == ".run.lock")
        #expect(!FileManager.default.fileExists(atPath: folder.path), "the lock lives beside the folder, not in it")
        // Through a symlink the folder is the same, and so is the lock.
        let link = directory.file("link")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "checkpoints/run")
        #expect(throws: OutputLockError.self) { _ = try OutputLock(for: link, command: "other") }
        first = nil
        let second = try OutputLock(for: folder, command: "alambique train")
        withExtendedLifetime(second) {}
        #expect(first == nil)
    }
}
