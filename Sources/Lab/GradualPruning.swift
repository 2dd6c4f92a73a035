// Gradual magnitude pruning with distillation fine-tuning (Zhu & Gupta): a dense student is
// fine-tuned from the teacher's logit file while its sparsity follows the cubic schedule; masks
// are recomputed at each pruning event and applied after every optimizer step — to the weights
// and to AdamW's moments — so pruned weights stay exactly zero and nothing brings them back.
// The run is resumable like any training run (its checkpoints are dense, with the zeros); the
// final model is written as a sparse checkpoint (mask + values).

import Compress
import Distill
import Foundation
import Models
import Store

public struct GradualPruningJob {
    /// The fine-tuning: logit files, recipe (its steps are the fine-tuning steps), distillation
    /// settings, the dense student as `initialCheckpoint`, and the run directory.
    public var fineTuning: DistillationJob
    public var schedule: GradualPruningSchedule
    public var scope: PruningScope
    public var options: PrunableTensorOptions

    public init(fineTuning: DistillationJob, schedule: GradualPruningSchedule, scope: PruningScope = .layer,
                options: PrunableTensorOptions = .default) {
        self.fineTuning = fineTuning
        self.schedule = schedule
        self.scope = scope
        self.options = options
    }

    /// Fine-tunes with the schedule, then writes the sparse checkpoint to `output`.
    /// - Returns: the run's summary and the final sparsity of the pruned tensors.
    public func run(output: URL, resume: Bool, overwrite: Bool, progress: (String) -> Void) throws -> (summary: RunSummary, sparsity: Double) {
        try schedule.validate()
        guard fineTuning.initialCheckpoint != nil else {
            throw CompressionError("gradual pruning fine-tunes a trained model: give the dense student checkpoint")
        }
        guard schedule.start + schedule.events * schedule.interval <= fineTuning.recipe.steps else {
            throw CompressionError("gradual pruning: the schedule ends at step \(schedule.start + schedule.events * schedule.interval), after the \(fineTuning.recipe.steps) fine-tuning steps")
        }
        var job = fineTuning
        job.roleOverride = job.roleOverride ?? "pruned"
        job.sparsity = schedule.finalSparsity
        var masks: MaskSet?
        var model: GPT?
        let schedule = self.schedule, scope = self.scope, options = self.options
        let summary = try job.run(resume: resume, overwrite: overwrite, prepare: { trainer in
            var set = MaskSet(model: trainer.model, options: options)
            // Fresh: prune now if the schedule starts at 0; resumed: the masks at the current target
            // are the zeros the checkpoint already holds.
            let target = trainer.step == 0 ? (schedule.isPruningStep(0) ? schedule.sparsity(at: 0) : 0) : schedule.sparsity(at: trainer.step)
            if target > 0 {
                try set.recompute(sparsity: target, scope: scope)
                set.applyToWeights()
                try set.apply(to: trainer.optimizer)
            }
            masks = set
            model = trainer.model
            trainer.afterStep = { trainer in
                guard var current = masks else { return }
                if schedule.isPruningStep(trainer.step) {
                    try current.recompute(sparsity: schedule.sparsity(at: trainer.step), scope: scope)
                    masks = current
                }
                current.applyToWeights()
                try current.apply(to: trainer.optimizer)
            }
        }, progress: progress)
        guard let model, let masks else { throw CompressionError("gradual pruning: the run did not start") }
        let loaded = try Checkpoint.readInfo(from: summary.directory)
        var info = loaded
        info.format = "F32-s\(Int((masks.sparsity * 100).rounded()))"
        try CompressedCheckpoint.save(model: model, tokenizer: try Checkpoint.loadTokenizer(from: summary.directory), info: info,
                                      sparse: Set(masks.tensors.map(\.name)), to: output)
        return (summary, masks.sparsity)
    }
}
