import ArgumentParser
import Compress
import Foundation
import Interop
import Store

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a checkpoint in another tool's format (GGUF for llama.cpp and ollama).",
        subcommands: [ExportGGUF.self])
}

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Read a model from another tool's format into a checkpoint (GGUF).",
        subcommands: [ImportGGUF.self])
}

struct ExportGGUF: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gguf",
        abstract: "Export a checkpoint as a GGUF v3 \"gpt2\" file, with an ollama Modelfile beside it.",
        discussion: """
        Types: f32, f16 (weight matrices and embeddings in half precision), q8_0, q4_0, q4_1 (the attention \
        and MLP matrices in ggml blocks; embeddings stay F32, as `alambique quantize` keeps them). 1-D tensors \
        are always F32. Without --type the checkpoint's own format is kept: a Q4_0 checkpoint exports its blocks \
        as they are, never re-quantized. Sparse checkpoints export their zeros densely.

        The tokenizer goes in as llama.cpp's gpt2 vocabulary (tokenizer.ggml.*), so llama.cpp tokenizes text \
        as we do — char and byte vocabularies included (docs/interop.md) — and whole as \
        tokenizer.huggingface.json, which `alambique import gguf` reads back.

        Examples:
          alambique export gguf checkpoints/<student> --type q8_0
          llama-cli -m checkpoints/<student>-Q8_0.gguf -p 'ROMEO:' -n 200
          ollama create shakespeare -f checkpoints/<student>-Q8_0.Modelfile && ollama run shakespeare 'ROMEO:'
        """)

    @Argument(help: "Checkpoint directory (dense, sparse or quantized).") var checkpoint: String
    @Option(help: "The tensor types (default: the checkpoint's own format).") var type: GGUFExportType?
    @Option(help: "Output .gguf file (default: beside the checkpoint, <name>.gguf).") var out: String?
    @Flag(help: "Replace an existing output file.") var force = false

    func run() throws {
        let requested = type
        let directory = URL(fileURLWithPath: checkpoint)
        let start = Date()
        let loaded = try CompressedCheckpoint.load(from: directory, packSparse: false)
        let (writer, exportType, notes) = try GPT2GGUF.export(loaded, type: requested)
        let name = try PathComponent.validate(
            writer.metadata.first { $0.key == "general.name" }?.value.string ?? loaded.info.name,
            field: "\(directory.appendingPathComponent(Checkpoint.configFileName).path): alambique.name")
        let output = out.map { URL(fileURLWithPath: $0) }
            ?? directory.standardizedFileURL.deletingLastPathComponent().appendingPathComponent("\(name).gguf")
        guard output.pathExtension == "gguf" else {
            throw ValidationError("--out \(output.path): expected a file name ending in .gguf")
        }
        if FileManager.default.fileExists(atPath: output.path), !force {
            throw ValidationError("\(output.path) exists; pass --force to replace it")
        }
        try writer.write(to: output)
        let modelfile = output.deletingPathExtension().appendingPathExtension("Modelfile")
        try AtomicFile.write(Data(GPT2GGUF.modelfile(ggufFileName: output.lastPathComponent,
                                                     contextLength: loaded.config.contextLength).utf8), to: modelfile)
        let bytes = (try? FileManager.default.attributesOfItem(atPath: output.path)[.size] as? Int) ?? 0
        for note in notes { printError("note: \(note)") }
        print(String(format: "%@ → %@ (%@, %d tensors, %.2f MB) in %.2fs", loaded.info.name, output.path, exportType.label,
                     writer.tensors.count, Double(bytes) / 1e6, Date().timeIntervalSince(start)))
        print("ollama Modelfile: \(modelfile.path)")
        print("Run it: llama-cli -m \(output.path) -p 'ROMEO:' -n 200   or   ollama create \(name.lowercased()) -f \(modelfile.path)")
    }
}

struct ImportGGUF: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gguf",
        abstract: "Import a GGUF \"gpt2\" file (F32, F16, Q8_0, Q4_0, Q4_1) as a checkpoint.",
        discussion: """
        Float tensors become float32 (F16 widened); quantized weight matrices stay in their blocks (a \
        quantized checkpoint, evaluated on those blocks); quantized embeddings are decoded to float32. The \
        tokenizer comes from tokenizer.huggingface.json when the file has it, else from the gpt2 tokens and \
        merges. An export followed by an import gives back the same tensors, bit for bit (F32 and blocks).

        Example: alambique import gguf model.gguf --out checkpoints/imported
        """)

    @Argument(help: "GGUF file.") var file: String
    @Option(help: "Output checkpoint directory (default: checkpoints/<name>).") var out: String?
    @Flag(help: "Replace an existing checkpoint directory.") var force = false

    func run() throws {
        let start = Date()
        let gguf = try GGUFFile(contentsOf: URL(fileURLWithPath: file))
        let imported = try GPT2GGUF.load(gguf)
        let output = URL(fileURLWithPath: out ?? "checkpoints/\(imported.info.name)")
        if FileManager.default.fileExists(atPath: output.path), !force {
            throw ValidationError("\(output.path) exists; pass --force to replace it")
        }
        let info = try CompressedCheckpoint.save(model: imported.model, tokenizer: imported.tokenizer, info: imported.info, to: output)
        for note in imported.notes { printError("note: \(note)") }
        print(String(format: "%@ → %@ (%@, %d parameters, %@ tokenizer) in %.2fs", file, output.path, info.format,
                     info.parameterCount, imported.tokenizer.kind.rawValue, Date().timeIntervalSince(start)))
    }
}
