import Compress
import Foundation
import Interop
import Store
import Testing
import Tokenizers

/// `export gguf` of one checkpoint gives the same bytes every time: in another process too, where
/// Swift's per-process hash seed reorders any dictionary that reaches the file.
@Suite("GGUF export is byte-for-byte reproducible") struct GGUFReproducibilityTests {
    /// The SHA-256 of the GGUF export of `checkpoint`.
    static func exportDigest(of checkpoint: URL) throws -> String {
        let loaded = try CompressedCheckpoint.load(from: checkpoint, packSparse: false)
        let (writer, _, _) = try GPT2GGUF.export(loaded, type: nil)
        return sha256Hex([UInt8](writer.encoded()))
    }

    @Test("the embedded checkpoint info is JSON with sorted keys")
    func embeddedInfoHasSortedKeys() throws {
        let checkpoint = try GPT2GGUFTests.checkpoint()
        defer { try? FileManager.default.removeItem(at: checkpoint.deletingLastPathComponent()) }
        let loaded = try CompressedCheckpoint.load(from: checkpoint, packSparse: false)
        let (writer, _, _) = try GPT2GGUF.export(loaded, type: nil)
        let json = try #require(writer.metadata.first { $0.key == GPT2GGUF.checkpointInfoKey }?.value.string)
        let info = try JSONDecoder().decode(CheckpointInfo.self, from: Data(json.utf8))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        #expect(String(decoding: try encoder.encode(info), as: UTF8.self) == json)
    }

    @Test("two processes export the same checkpoint to identical bytes")
    func identicalAcrossProcesses() async throws {
        let checkpoint = try GPT2GGUFTests.checkpoint()
        defer { try? FileManager.default.removeItem(at: checkpoint.deletingLastPathComponent()) }
        let path = checkpoint.path
        var digests: [String] = []
        for _ in 0 ..< 2 {
            let result = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
                [path = path as String] in
                let digest = try GGUFReproducibilityTests.exportDigest(of: URL(fileURLWithPath: path))
                FileHandle.standardOutput.write(Data("digest \(digest)\n".utf8))
            }
            let output = String(decoding: result?.standardOutputContent ?? [], as: UTF8.self)
            digests += output.split(separator: "\n").filter { $0.hasPrefix("digest ") }.map(String.init)
        }
        #expect(digests.count == 2)
        #expect(Set(digests).count == 1, "\(digests)")
        #expect(digests.first == "digest " + (try Self.exportDigest(of: checkpoint)))
    }
}
