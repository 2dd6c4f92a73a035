import Foundation
import Testing

/// The command-line tool on the logit files `make fuzz` found crashing or hanging libhdf5 1.10 or our reader
/// (Tests/StoreTests/FuzzRegressions/logits/, all but the seeds): each must end in an error naming the file,
/// never on a signal.
@Suite("CLI on logit files that crashed libhdf5") struct CorruptLogitFileTests {
    /// The `alambique` built beside this test bundle.
    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("alambique")
    }

    static func run(_ arguments: [String]) throws -> (status: Int32, signaled: Bool, stderr: String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, process.terminationReason == .uncaughtSignal, text)
    }

    @Test("inspect ends in an error on every one of them")
    func inspect() throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.binary.path), "\(Self.binary.path)")
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../StoreTests/FuzzRegressions/logits")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasPrefix("seed-") }
        #expect(names.count >= 30)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cli-h5-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        for name in names {
            // inspect takes a logit file by its .h5 extension.
            let file = scratch.appendingPathComponent(name + ".h5")
            try FileManager.default.copyItem(at: folder.appendingPathComponent(name), to: file)
            let result = try Self.run(["inspect", file.path])
            #expect(!result.signaled, "\(name): killed by signal \(result.status)")
            #expect(result.status == 1, "\(name)")
            #expect(result.stderr.contains(file.lastPathComponent), "\(name): \(result.stderr.suffix(300))")
        }
    }
}
