import Foundation
import Testing
@testable import Tokenizers

@Suite("File errors become sentences naming the file and the cause") struct FileErrorReasonTests {
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("alambique-file-errors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The message of loading a tokenizer from `url`, which must fail.
    static func loadFailure(_ url: URL) throws -> String {
        let error = try #require(throws: TokenizerError.self) { try loadTokenizer(from: url) }
        return "\(error)"
    }

    @Test("a missing tokenizer.json, or a directory in its place, is said in words with the path")
    func missingAndDirectory() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = directory.appendingPathComponent("tokenizer.json")
        #expect(try Self.loadFailure(missing) == "\(missing.path): cannot read the file (no such file or directory)")
        try FileManager.default.createDirectory(at: missing, withIntermediateDirectories: false)
        #expect(try Self.loadFailure(missing) == "\(missing.path): cannot read the file (it is a directory, expected a file)")
        // Foundation alone calls a FIFO a permission problem.
        let fifo = directory.appendingPathComponent("fifo.json")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        #expect(try Self.loadFailure(fifo) == "\(fifo.path): cannot read the file (it is a FIFO (named pipe), expected a file)")
    }

    @Test("Foundation's errors map to their cause, never to its domain and number", arguments: [
        (CocoaError(.fileReadNoPermission, userInfo: [NSUnderlyingErrorKey: POSIXError(.EACCES)]) as any Error, "permission denied"),
        (CocoaError(.fileReadNoPermission) as any Error, "permission denied"),
        (CocoaError(.fileReadUnknown, userInfo: [NSUnderlyingErrorKey: POSIXError(.EISDIR)]) as any Error,
         "it is a directory, expected a file"),
        (CocoaError(.fileWriteOutOfSpace) as any Error, "no space left on the device"),
        (CocoaError(.fileReadInapplicableStringEncoding) as any Error, "the contents are not valid UTF-8 text"),
        (POSIXError(.EROFS) as any Error, "the file system is read-only"),
        (CocoaError(.fileReadUnknown) as any Error, "the system gave no reason (Foundation file error 256)"),
    ])
    func reasons(error: any Error, expected: String) {
        #expect(FileErrorReason.describe(error) == expected)
    }

    @Test("real reads and writes: text that is not UTF-8, a file where a folder should be, a missing folder")
    func realFailures() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let latin1 = directory.appendingPathComponent("latin1.txt")
        try Data([0x63, 0x61, 0x66, 0xE9]).write(to: latin1)
        var reasons: [String] = []
        do { _ = try String(contentsOf: latin1, encoding: .utf8) } catch { reasons.append(FileErrorReason.describe(error)) }
        do { try Data("x".utf8).write(to: latin1.appendingPathComponent("inside")) } catch {
            reasons.append(FileErrorReason.describe(error))
        }
        do { try Data("x".utf8).write(to: directory.appendingPathComponent("no/such/folder")) } catch {
            reasons.append(FileErrorReason.describe(error))
        }
        #expect(reasons.count == 3)
        #expect(reasons.first?.contains("UTF-8") == true)
        #expect(reasons.dropFirst().first == "a part of the path is not a directory")
        #expect(reasons.last == "no such file or directory")
        #expect(reasons.allSatisfy { !$0.contains("NSCocoaErrorDomain") && !$0.contains("could not be completed") })
    }
}
