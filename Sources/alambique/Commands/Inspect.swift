import ArgumentParser
import Compress
import Foundation
import Lab
import Models
import Store

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what a logit file, a checkpoint directory or a GGUF file holds.",
        discussion: """
        A logit file (.h5, or any shard of a set): datasets with dtype, shape, chunking, filters and \
        compression ratio; every attribute; bytes per token; and one position decoded through the \
        tokenizer stored in the file — the context, the true next token and the teacher's top tokens \
        with their probabilities.

        A checkpoint directory: name, config, parameter count, and every tensor with dtype and shape.

        A GGUF file (alambique export gguf): the metadata (long arrays shortened) and every tensor with \
        its ggml type, dimensions and bytes.

        Examples:
          alambique inspect logits/shakespeare-teacher-3.2M-ctx128-char-F32-val-top32-f16.h5 --sequence 3 --position 100
          alambique inspect checkpoints/shakespeare-teacher-3.2M-ctx128-char-F32
        """)

    @Argument(help: "A logit file (.h5), a checkpoint directory or a .gguf file.") var path: String
    @Option(help: "Logit file: which sequence to decode.") var sequence = 0
    @Option(help: "Logit file: which position in it (default: the middle).") var position: Int?
    @Option(help: "Logit file: how many of the teacher's tokens to list.") var top = 5

    func validate() throws {
        guard sequence >= 0 else { throw ValidationError("--sequence must be ≥ 0, got \(sequence)") }
        if let position, position < 0 { throw ValidationError("--position must be ≥ 0, got \(position)") }
        guard top >= 1 else { throw ValidationError("--top must be ≥ 1, got \(top)") }
    }

    func run() throws {
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            print(try Inspection.checkpoint(url))
            if let compression = try CompressionSummary.describe(url) { print("\n" + compression) }
            // What the files hold is printed first; a checkpoint that will not load still ends in an error.
            if let problem = CheckpointInspection.loadProblem(url) { throw InspectionProblem(path: path, problem: problem) }
        } else if url.pathExtension == "h5" {
            print(try Inspection.logitsFile(url, sample: Inspection.Sample(sequence: sequence, position: position, top: top)))
        } else if url.pathExtension == "gguf" {
            print(try GGUFFile(contentsOf: url).summary())
        } else if FileManager.default.fileExists(atPath: path) {
            throw ValidationError("\(path): expected a logit file ending in .h5, a .gguf file or a checkpoint directory")
        } else {
            throw ValidationError("\(path): no such file or directory")
        }
    }
}

/// A checkpoint that `inspect` could describe but that will not load.
struct InspectionProblem: Error, CustomStringConvertible {
    let path: String
    let problem: String
    var description: String { "\(path): this checkpoint will not load: \(problem)" }
}
