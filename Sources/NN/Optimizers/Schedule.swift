// Learning-rate schedules as pure functions of the step (nanoGPT's get_lr).

import Foundation

/// Linear warmup to `maximum` over `warmupSteps` (step 0 gets maximum/warmupSteps), then a
/// cosine decay to `minimum` at `totalSteps`; `minimum` after that. Same as the PyTorch reference.
public func warmupCosineLearningRate(step: Int, warmupSteps: Int, totalSteps: Int,
                                     maximum: Float, minimum: Float) -> Float {
    if step < warmupSteps { return maximum * Float(step + 1) / Float(warmupSteps) }
    if step >= totalSteps { return minimum }
    let progress = Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps))
    return minimum + Float(0.5 * (1 + cos(Double.pi * progress))) * (maximum - minimum)
}
