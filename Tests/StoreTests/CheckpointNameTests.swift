import Foundation
import Testing
@testable import Store

/// config.json's `alambique.name` names every default output made from a checkpoint (checkpoints/<name>,
/// <name>.gguf): a name that could reach outside its folder is refused when the checkpoint is read.
@Suite("Checkpoint names") struct CheckpointNameTests {
    @Test("alambique.name must be one path component", arguments: ["../../x", "..", "a/b", "", ".x", "x\u{0}y"])
    func refused(name: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config: [String: Any] = ["vocab_size": 4, "alambique": [
            "format_version": 1, "name": name, "role": "teacher", "corpus": "c", "format": "F32",
            "parameter_count": 0, "tokenizer": "char", "tokenizer_sha256": "", "created": ""]]
        try JSONSerialization.data(withJSONObject: config).write(to: directory.file("config.json"))
        let error = #expect(throws: PathComponentError.self) { try Checkpoint.readInfo(from: directory.url) }
        #expect(error?.field == directory.file("config.json").path + ": alambique.name")
        #expect(PathComponent.isValid("shakespeare-teacher-3.2M-ctx128-char-F32"))
    }
}
