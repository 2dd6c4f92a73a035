import ArgumentParser
import Evaluate

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A 10-second sanity check of the autodiff core: an MLP learns two spirals.",
        discussion: "The lab's demo proper is `make demo` (fetch the corpus, train a teacher, generate).")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Training steps.") var steps = 600
    @Option(help: "Random seed (data noise and initialisation).") var seed: UInt64 = 1

    func validate() throws {
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1, got \(steps)") }
    }

    func run() throws {
        try global.apply()
        print("Two spirals, 512 points; MLP 2 → 64 (tanh) → 2; AdamW, warmup + cosine, cross-entropy.")
        let report = try SpiralsDemo(steps: steps, seed: seed).run { print($0) }
        print(String(format: "loss %.4f → %.4f, training accuracy %.1f%%",
                     report.losses.first!, report.losses.last!, 100 * report.accuracy))
    }
}
