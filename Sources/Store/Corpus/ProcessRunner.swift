import Foundation

/// Runs a command to completion with its output captured in temporary files (not pipes, which
/// deadlock once a chatty child fills the pipe buffer while we wait for it to exit).
struct ProcessRunner {
    struct Outcome {
        var exitCode: Int32
        var standardOutput: String
        var standardError: String

        /// The last `lineCount` non-empty lines of standard error (or output, if error is empty).
        func tail(_ lineCount: Int = 12) -> String {
            let text = standardError.isEmpty ? standardOutput : standardError
            let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
            return lines.suffix(lineCount).joined(separator: "\n")
        }
    }

    /// Runs `arguments` through `/usr/bin/env` (so the program is looked up on PATH).
    /// Exit code 127 means env did not find the program.
    static func run(_ arguments: [String], workingDirectory: URL? = nil) throws -> Outcome {
        let scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("alambique-process-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outputURL = scratch.appendingPathComponent("stdout")
        let errorURL = scratch.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
        let output = try FileHandle(forWritingTo: outputURL)
        let error = try FileHandle(forWritingTo: errorURL)
        defer {
            try? output.close()
            try? error.close()
        }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = error
        if let workingDirectory { process.currentDirectoryURL = workingDirectory }
        try process.run()
        process.waitUntilExit()
        let read = { (url: URL) in String(decoding: (try? Data(contentsOf: url)) ?? Data(), as: UTF8.self) }
        return Outcome(exitCode: process.terminationStatus, standardOutput: read(outputURL), standardError: read(errorURL))
    }
}
