// The `alambique` command: parse, call a library, print. Progress and logs go to stderr,
// results to stdout.

import ArgumentParser
import NN
import Store

@main
struct Alambique: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alambique",
        abstract: "A lab for knowledge distillation, pruning and quantization of transformer language models.",
        discussion: """
        Train a teacher, store its soft logits, distil a student, prune and quantize it, and compare \
        what was kept and what was lost — on an ordinary CPU, with no Python in the loop.
        """,
        subcommands: [DataCommand.self, TokenizerCommand.self, Train.self, Generate.self, Chat.self, Logits.self, Inspect.self, DistillCommand.self, SweepCommand.self, Prune.self, Quantize.self, Eval.self, Compare.self, Run.self, ExportCommand.self, ImportCommand.self, Bench.self, Demo.self, CheckLogits.self])

    /// Every command runs with the interruption clean-up in place (SIGINT, SIGTERM and SIGHUP remove
    /// the temporary files being written and exit with 128 + the signal number) and with logit files read
    /// in a child process first, so a file that crashes libhdf5 is an error, never this process's crash.
    static func main() {
        TemporaryFiles.installSignalCleanup()
        LogitsReader.screen = CheckLogits.screen
        main(nil)
    }
}

/// Options every command shares.
struct GlobalOptions: ParsableArguments {
    @Option(help: "Threads for our kernels and OpenBLAS (default: all cores).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    /// Applies the settings; call first in every `run()`.
    func apply() throws {
        try Threads.configure(threads ?? Threads.defaultCount)
    }
}
