import Foundation
import Testing
@testable import Distill
import Models
import Store

/// A logit export whose head runs a few rows at a time stores what the whole (B, T, V) forward does.
///
/// The head's product for fewer rows may take other BLAS kernels, whose sums of K = n_embd products
/// run in another order: each of two orders is within γ_K·Σ|x_k w_k| of the exact dot product
/// (γ_K = K·u/(1 − K·u), u = 2⁻²⁴), so they differ by at most 2·γ_K·‖x‖·‖w‖ (Cauchy–Schwarz),
/// with ‖x‖ the largest normed hidden state and ‖w‖ the largest embedding row. A log-sum-exp moves by
/// no more than its largest input (its gradient is a probability vector), plus its own rounding.
@Suite("Teacher logits a run of rows at a time", .serialized) struct ChunkedLogitsTests {
    static let tiny = HuggingFaceCheckpointTests.tiny

    /// The bound above for `model`'s logits of `ids`.
    static func logitTolerance(_ model: GPT, _ ids: IndexTensor) throws -> Float {
        let c = model.config.embeddingSize
        func largestNorm(_ values: [Float]) -> Float {
            stride(from: 0, to: values.count, by: c).map { start in
                values[start ..< start + c].reduce(0) { $0 + $1 * $1 }.squareRoot()
            }.max() ?? 0
        }
        let x = try noGrad { try model.normedHiddenStates(ids) }.toArray()
        let w = model.transformer.wte.weight.toArray()
        let k = Float(c), u = Float.ulpOfOne / 2
        // ×1.01 for the norms' own rounding.
        return 2 * (k * u / (1 - k * u)) * largestNorm(x) * largestNorm(w) * 1.01
    }

    /// The stored top-k indices, logits and log-sum-exp (float32) of an export of the fixture.
    static func export(_ loaded: Checkpoint.Loaded<GPTConfig, GPT>, tokens: [Int32], settings: LogitsExportSettings,
                       rows: Int?, in directory: URL, name: String) throws -> (ids: [Int32], top: [Float], lse: [Float]) {
        let url = directory.appendingPathComponent(name)
        if let rows {
            _ = try TeacherLogits.export(teacher: loaded, directory: tiny, tokens: tokens, split: "val", settings: settings,
                                         to: url, rowsPerChunk: rows)
        } else {
            // The unchunked reference: the whole batch's (B, T, V) logits from one forward.
            let model = loaded.model
            let attributes = try TeacherLogits.attributes(of: loaded, directory: tiny, split: "val")
            _ = try LogitsExport.run(tokens: tokens, settings: settings, attributes: attributes,
                                     tokenizerJSON: Data(loaded.tokenizer.tokenizerJSONBytes()), to: url,
                                     forward: { ids in try noGrad { try model(ids) } })
        }
        let reader = try LogitsReader(url: url)
        defer { try? reader.close() }
        let block = try reader.read(0 ..< reader.sequenceCount)
        return (try #require(block.topKIndices).values, block.logits.toArray(), try #require(block.logSumExp).toArray())
    }

    @Test("top-k ids, logits and log-sum-exp are the unchunked export's, within the bound above", arguments: [1, 7, 13, 1000])
    func chunkedEqualsWhole(rows: Int) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alambique-chunked-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let loaded = try loadGPT(from: Self.tiny)
        loaded.model.eval()
        let v = loaded.config.vocabularySize
        let tokens: [Int32] = (0 ..< 200).map { Int32(($0 * 37 + 11) % v) }
        // 3 windows a batch of 10 positions: 30 rows, which 7 and 13 do not divide; the last batch has 2 windows.
        let settings = LogitsExportSettings(context: 10, batchSize: 3, mode: .topK(8), dtype: .float32, maxSequences: 5)
        let whole = try Self.export(loaded, tokens: tokens, settings: settings, rows: nil, in: directory, name: "whole.h5")
        let chunked = try Self.export(loaded, tokens: tokens, settings: settings, rows: rows, in: directory, name: "chunked.h5")
        #expect(whole.ids.count == 5 * 10 * 8 && whole.lse.count == 5 * 10)
        let ids = try IndexTensor(shape: [5, 10], values: (0 ..< 5).flatMap { s in (0 ..< 10).map { tokens[s * 10 + $0] } })
        let tolerance = try Self.logitTolerance(loaded.model, ids)
        #expect(tolerance > 0 && tolerance < 1e-4)
        // The same ids in the same order (no two of the fixture's top logits are within the bound).
        #expect(chunked.ids == whole.ids)
        #expect(zip(chunked.top, whole.top).allSatisfy { abs($0 - $1) <= tolerance })
        #expect(zip(chunked.lse, whole.lse).allSatisfy { abs($0 - $1) <= tolerance + 4 * $1.ulp })
        if rows >= 30 {  // one run a batch: the very product of the whole forward
            #expect(chunked.top.map(\.bitPattern) == whole.top.map(\.bitPattern))
            #expect(chunked.lse.map(\.bitPattern) == whole.lse.map(\.bitPattern))
        }
    }

    @Test("forEachLogitRows gives self(ids)'s logits row by row, within the bound above", arguments: [1, 5, 22, 50])
    func rowsEqualTheWholeForward(rows: Int) throws {
        let loaded = try loadGPT(from: Self.tiny)
        let model = loaded.model, v = loaded.config.vocabularySize
        model.eval()
        let ids = try IndexTensor(shape: [2, 11], values: (0 ..< 22).map { Int32(($0 * 53 + 7) % v) })
        let whole = try noGrad { try model(ids) }.toArray()
        let tolerance = try Self.logitTolerance(model, ids)
        var next = 0
        try noGrad {
            try model.forEachLogitRows(ids, rows: rows) { first, logits in
                #expect(first == next)
                #expect(logits.shape == [min(rows, 22 - first), v])
                let expected = whole[first * v ..< (first + logits.shape[0]) * v]
                #expect(zip(logits.toArray(), expected).allSatisfy { abs($0 - $1) <= tolerance })
                if rows >= 22 { #expect(logits.toArray().map(\.bitPattern) == expected.map(\.bitPattern)) }
                next += logits.shape[0]
            }
        }
        #expect(next == 22)
    }
}
