// `alambique logits`: a teacher checkpoint's soft logits over one split, written to HDF5. The glue
// between Models (the teacher) and Store (the file format and the export loop).

import Foundation
import Models
import Store
import Tokenizers

/// Exports a teacher checkpoint's logits.
public enum TeacherLogits {
    /// The default file name: `<teacher>-<split>-<top32|full>-<f16|f32>.h5`.
    public static func defaultFileName(teacher: String, split: String, mode: LogitsMode, dtype: HDF5ElementType) -> String {
        let modeLabel = mode.storedTopK == 0 ? "full" : "top\(mode.storedTopK)"
        return "\(teacher)-\(split)-\(modeLabel)-\(dtype == .float16 ? "f16" : "f32").h5"
    }

    /// The attributes an export of `teacher` carries (context, mode, dtype and counts are filled in by the export).
    public static func attributes(of teacher: Checkpoint.Loaded<GPTConfig, GPT>, directory: URL, split: String) throws
        -> LogitsFileAttributes {
        let weightsSHA256: String
        do { weightsSHA256 = try CheckpointWeights.sha256(of: directory) } catch {
            throw LogitsFileError(path: directory.path, "cannot read the teacher's weights to hash them: \(error)")
        }
        let formatter = ISO8601DateFormatter()
        return LogitsFileAttributes(
            teacher: teacher.info.name, teacherSHA256: weightsSHA256, tokenizerSHA256: teacher.tokenizer.fingerprint(),
            vocabularySize: teacher.config.vocabularySize, context: teacher.config.contextLength, mode: .full, dtype: .float32,
            split: split, created: formatter.string(from: Date()), stride: teacher.config.contextLength, sequenceCount: 0)
    }

    /// Runs `teacher` over `tokens` (already encoded with its tokenizer) and writes the file at `url`.
    /// - Parameter progress: a line with sequences done, tokens/s and ETA, about once a second.
    /// - Throws: `LogitsFileError` when the context exceeds the teacher's, or from the export.
    public static func export(teacher: Checkpoint.Loaded<GPTConfig, GPT>, directory: URL, tokens: [Int32], split: String,
                              settings: LogitsExportSettings, to url: URL,
                              progress: @escaping (String) -> Void = { _ in }) throws -> LogitsExportReport {
        try export(teacher: teacher, directory: directory, tokens: TokenSequence(tokens), split: split, settings: settings,
                   to: url, progress: progress)
    }

    /// The same over a token stream mapped from the corpus cache.
    public static func export(teacher: Checkpoint.Loaded<GPTConfig, GPT>, directory: URL, tokens: TokenSequence, split: String,
                              settings: LogitsExportSettings, to url: URL,
                              progress: @escaping (String) -> Void = { _ in }) throws -> LogitsExportReport {
        guard settings.context <= teacher.config.contextLength else {
            throw LogitsFileError(path: url.path, "context \(settings.context) exceeds the teacher's \(teacher.config.contextLength) positions")
        }
        let attributes = try attributes(of: teacher, directory: directory, split: split)
        let model = teacher.model
        // Soft labels come from the model as it predicts: no dropout. A loaded model starts in training
        // mode, and a transformers GPT-2's config says 0.1 dropout, which would otherwise be applied here.
        model.eval()
        let start = Date()
        var lastReport = Date.distantPast
        return try LogitsExport.run(
            tokens: tokens, settings: settings, attributes: attributes,
            tokenizerJSON: Data(teacher.tokenizer.tokenizerJSONBytes()), to: url,
            forward: { ids in try noGrad { try model(ids) } },  // (B, T, V)
            progress: { done, total in
                let now = Date()
                guard now.timeIntervalSince(lastReport) >= 1 || done == total else { return }
                lastReport = now
                let elapsed = now.timeIntervalSince(start)
                let rate = Double(done * settings.context) / max(elapsed, 1e-9)
                let remaining = Double((total - done) * settings.context) / max(rate, 1e-9)
                progress(String(format: "logits %d/%d sequences  %.0f tok/s  ETA %@", done, total, rate, formatDuration(remaining)))
            })
    }
}
