import Foundation
import Testing
import Tokenizers

/// Outputs given as a symlink are written through it: the link stays and its target gets the bytes.
@Suite("CLI outputs through symlinks") struct SymlinkOutputTests {
    @Test("tokenizer encode --out <symlink> keeps the link and writes its target")
    func encodeThroughSymlink() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cli-link-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let tokenizer = folder.appendingPathComponent("tokenizer.json")
        try CharTokenizer(corpus: "to be or not\n").save(to: tokenizer)
        let text = folder.appendingPathComponent("text.txt")
        try Data("to be\nor not\n".utf8).write(to: text)
        let target = folder.appendingPathComponent("ids.target"), link = folder.appendingPathComponent("ids.link")
        try Data("old".utf8).write(to: target)
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: target)
        let result = try CorruptLogitFileTests.run(["tokenizer", "encode", tokenizer.path, text.path, "--out", link.path])
        #expect(result.status == 0 && !result.signaled, "\(result.stderr)")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: link.path)) == target.path)
        #expect(String(decoding: try Data(contentsOf: target), as: UTF8.self).hasPrefix("{\"format\": \"alambique.token-ids\""))
    }
}
