import ArgumentParser
import Distill
import Foundation
import Lab
import Models
import Store
import Tokenizers

struct DistillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distill",
        abstract: "Train a student from a teacher's stored soft logits (the teacher is never loaded).",
        discussion: """
        Loss = α · s(T) · D(p_teacher^T ‖ q_student^T) + (1 − α) · CE(student, next token), with s(T) = T² \
        (Hinton) unless --t2-scaling off. D: forward-kl (default), reverse-kl, js or mse. With a top-k file \
        the teacher's distribution is its K stored probabilities plus one "rest" bucket holding the tail \
        mass 1 − Σp; the student's rest bucket is its probability outside those K tokens (DESIGN.md §6).

        --alpha 0 is the baseline: the same student on hard labels only, with the same data order, steps \
        and schedule — what distillation bought is the difference.

        Tokens, targets and teacher logits come from --logits; validation (cross-entropy, KL to the teacher, \
        top-1 agreement) from --val-logits, by default the file of the same name with -val- for -train-. \
        The recipe flags are those of `train`; checkpoints, metrics.jsonl and --resume work the same way.

        Example:
          alambique logits checkpoints/T --split train && alambique logits checkpoints/T --split val
          alambique distill --logits logits/T-train-top32-f16.h5 --student student-tiny --temperature 2 --alpha 0.5
        """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var inputs: DistillInputs
    @Option(help: "Temperature T of both distributions in the divergence.") var temperature: Float = 2
    @Option(help: "Weight α of the divergence (1 − α on the hard labels); 0: the from-scratch baseline.") var alpha: Float = 0.5
    @Option(help: "Run directory (default: checkpoints/<name>-T<T>-a<α>-seed<seed>).") var out: String?
    @Flag(help: "Continue the run saved in --out from its last checkpoint (same settings).") var resume = false
    @Flag(help: "Start over even if --out already holds a checkpoint.") var force = false
    @Option(help: "End this session after step N with a checkpoint (continue later with --resume).") var stopAfter: Int?

    func validate() throws {
        guard temperature > 0, temperature.isFinite else { throw ValidationError("--temperature must be > 0, got \(temperature)") }
        guard (0 ... 1).contains(alpha) else { throw ValidationError("--alpha must be in [0, 1], got \(alpha)") }
        guard !(resume && force) else { throw ValidationError("--resume and --force contradict each other") }
    }

    func run() throws {
        try global.apply()
        var settings = inputs.settings
        settings.temperature = temperature
        settings.alpha = alpha
        let job = try inputs.makeJob(settings: settings, seed: nil, out: out)
        let summary = try job.run(resume: resume, overwrite: force, stopAfter: stopAfter) { printError($0) }
        print(String(format: "done: %d steps, validation loss %.4f, %@ in all; checkpoint %@", summary.steps,
                     summary.finalValidationLoss ?? .nan, formatDuration(summary.elapsedSeconds), summary.directory.path))
    }
}

/// What `distill` and `sweep distill` share: the files, the student, the divergence and the recipe.
struct DistillInputs: ParsableArguments {
    @Option(help: "Training logit file (or any shard of a set).") var logits: String
    @Option(help: "Validation logit file (default: --logits with -val- for -train-).") var valLogits: String?
    @Option(help: "Student size: \(GPTConfig.presetNames.joined(separator: ", ")), or a YAML training config (model: and training: sections).")
    var student = "student-tiny"
    @Option(help: "The divergence between teacher and student.") var loss = Divergence.forwardKL
    @Option(help: "Multiply the divergence by T².") var t2Scaling = OnOff.on
    @Option(help: "The student's tokenizer.json (default: the teacher's, stored in the logit file).") var tokenizer: String?
    @OptionGroup var recipeFlags: RecipeFlags

    func validate() throws {
    }

    /// The divergence and T² choice (temperature and α are set by the caller).
    var settings: DistillationSettings {
        var settings = DistillationSettings()
        settings.divergence = loss
        settings.t2Scaling = t2Scaling == .on
        return settings
    }

    /// The job for these flags; `seed` overrides the recipe's.
    func makeJob(settings: DistillationSettings, seed: UInt64?, out: String?) throws -> DistillationJob {
        let logitsURL = URL(fileURLWithPath: logits)
        guard let validationURL = valLogits.map({ URL(fileURLWithPath: $0) }) ?? DistillationJob.companionValidationFile(for: logitsURL) else {
            throw ValidationError("--val-logits is needed: \(logitsURL.lastPathComponent) has no -train- in its name to find the validation file by")
        }
        guard FileManager.default.fileExists(atPath: validationURL.path) || valLogits != nil else {
            throw ValidationError("validation logits \(validationURL.path) not found; export them with `alambique logits <teacher> --split val`, or pass --val-logits")
        }
        // The vocabulary comes from the file; the tokenizer from --tokenizer or the file.
        let vocabulary = try LogitsReader(url: logitsURL).vocabularySize
        let studentTokenizer = try tokenizer.map { try loadTokenizer(from: URL(fileURLWithPath: $0)) }
        var config: GPTConfig
        var recipe: TrainingRecipe
        if student.hasSuffix(".yaml") || student.hasSuffix(".yml") {
            let file = try TrainingConfigFile(contentsOf: URL(fileURLWithPath: student))
            config = try file.modelConfig(preset: file.preset ?? "student-tiny", vocabularySize: vocabulary, source: student)
            recipe = recipeFlags.recipe(from: file.recipe)
        } else {
            guard GPTConfig.presetNames.contains(student) else {
                throw ValidationError("--student must be one of \(GPTConfig.presetNames.joined(separator: ", ")) or a .yaml config, got \(student)")
            }
            config = try GPTConfig.preset(student, vocabularySize: vocabulary)
            recipe = recipeFlags.recipe(from: nil)
        }
        if let seed { recipe.seed = seed }
        try config.validate()
        try recipe.validate()
        return DistillationJob(logits: logitsURL, validationLogits: validationURL, student: config, recipe: recipe,
                               settings: settings, tokenizer: studentTokenizer, directory: out.map { URL(fileURLWithPath: $0) })
    }
}
