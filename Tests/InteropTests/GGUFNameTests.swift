import Foundation
import Store
import Testing
@testable import Interop

/// A GGUF file's model name becomes the default checkpoint folder of `import gguf`: a name that is not one
/// path component is refused, naming the file and the key it came from.
@Suite("GGUF model names", .serialized) struct GGUFNameTests {
    static func importError(name: String, key: String) throws -> String {
        let data = try GPT2GGUFTests.modifiedExport { writer in
            var copy = GGUFWriter()
            for (existing, value) in writer.metadata where existing != GPT2GGUF.checkpointInfoKey || key == existing {
                copy.set(existing, value)
            }
            for t in writer.tensors { try copy.addTensor(t.name, dimensions: t.dimensions, type: t.type, bytes: t.bytes) }
            if key == GPT2GGUF.checkpointInfoKey {
                let json = writer.metadata.first { $0.key == key }!.value.string!
                var info = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
                info["name"] = name
                copy.set(key, .string(String(decoding: try JSONSerialization.data(withJSONObject: info), as: UTF8.self)))
            } else {
                copy.set(key, .string(name))
            }
            writer = copy
        }
        do { _ = try GPT2GGUF.load(GGUFFile(data: data, source: "bad.gguf")); return "no error" } catch { return "\(error)" }
    }

    @Test("general.name and the embedded checkpoint name must be one path component",
          arguments: ["../../x", "..", "a/b", ".hidden"])
    func refused(name: String) throws {
        for key in ["general.name", GPT2GGUF.checkpointInfoKey] {
            let message = try Self.importError(name: name, key: key)
            #expect(message.hasPrefix("bad.gguf: \(key): the name"), "\(message)")
            #expect(message.contains("cannot be a file or folder name"))
        }
    }

    @Test("an ordinary name imports")
    func accepted() throws {
        #expect(try Self.importError(name: "my-model_v1.2", key: "general.name") == "no error")
        #expect(try Self.importError(name: "", key: "general.name").contains("it is empty"))
    }
}
