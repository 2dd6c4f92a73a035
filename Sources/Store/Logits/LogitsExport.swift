// Exporting a teacher's soft logits: cut the token stream into windows, run the teacher on batches
// of them (the caller's `forward`, with no gradient recording), keep the full logits or the top-k
// plus the log-normaliser, and write them. Writing (float16 conversion, shuffle + gzip inside
// libhdf5) runs on its own thread, overlapped with the next batch's forward pass.
// Legend: B batch, T context, V vocabulary, K top-k.

import Dispatch
import Foundation
import NN

/// How to cut and store an export.
public struct LogitsExportSettings: Sendable, Equatable {
    /// Positions per sequence (T); each window holds T + 1 tokens.
    public var context: Int
    /// Tokens between window starts (T: no overlap).
    public var stride: Int
    /// Sequences per forward pass.
    public var batchSize: Int
    /// Full logits or top-k.
    public var mode: LogitsMode
    /// float16 or float32 logits.
    public var dtype: HDF5ElementType
    /// Compression, block and shard sizes.
    public var layout: LogitsLayout
    /// Export at most this many sequences (the first ones); nil: all.
    public var maxSequences: Int?

    public init(context: Int, stride: Int? = nil, batchSize: Int = 16, mode: LogitsMode = .topK(32),
                dtype: HDF5ElementType = .float16, layout: LogitsLayout = LogitsLayout(), maxSequences: Int? = nil) {
        self.context = context
        self.stride = stride ?? context
        self.batchSize = batchSize
        self.mode = mode
        self.dtype = dtype
        self.layout = layout
        self.maxSequences = maxSequences
    }
}

/// What an export did.
public struct LogitsExportReport: Sendable {
    /// The files written.
    public let files: [URL]
    /// Sequences (N) and positions (N·T) exported.
    public let sequences: Int
    public let positions: Int
    /// Wall time of the whole export and the part spent in the teacher's forward passes.
    public let seconds: Double
    public let forwardSeconds: Double
    /// Bytes of the files on disk.
    public let bytes: Int

    /// Positions per second, end to end.
    public var tokensPerSecond: Double { Double(positions) / max(seconds, 1e-9) }
    /// Positions per second of the forward passes alone.
    public var forwardTokensPerSecond: Double { Double(positions) / max(forwardSeconds, 1e-9) }
    /// Bytes on disk per exported position.
    public var bytesPerToken: Double { Double(bytes) / Double(max(positions, 1)) }
}

public enum LogitsExport {
    /// A teacher's forward pass over ids (B, T) that hands its logits over a run of rows at a time:
    /// `emit(firstRow, logits)` for consecutive runs of the B·T rows (row b·T + t is window b,
    /// position t), in order and covering them all, each logits tensor (…, V) holding its rows.
    /// Only a run's logits need exist at once — at a 50k vocabulary, a window's are 190 MB.
    public typealias ChunkedForward = (_ ids: IndexTensor,
                                       _ emit: (_ firstRow: Int, _ logits: Tensor) throws -> Void) throws -> Void

    /// Windows of T + 1 tokens every `stride` tokens that fit in `tokenCount` tokens.
    public static func windowCount(tokenCount: Int, context: Int, stride: Int) -> Int {
        guard context >= 1, stride >= 1, tokenCount >= context + 1 else { return 0 }
        return (tokenCount - (context + 1)) / stride + 1
    }

    /// Exports `tokens` (one split's token stream) through `forward`.
    /// - Parameters:
    ///   - attributes: teacher, hashes, vocabulary size and split; context, mode, dtype, stride and
    ///     the sequence count are filled in from `settings`.
    ///   - forward: the teacher on `[B, T]` ids → `[B, T, V]` logits.
    ///   - progress: sequences done and total, after each batch.
    /// - Throws: `LogitsFileError` for settings that do not fit the data or non-finite teacher logits
    ///   (the partial files are removed); errors from `forward` and libhdf5.
    public static func run(tokens: [Int32], settings: LogitsExportSettings, attributes template: LogitsFileAttributes,
                           tokenizerJSON: Data, to url: URL,
                           forward: (IndexTensor) throws -> Tensor,
                           progress: (_ done: Int, _ total: Int) -> Void = { _, _ in }) throws -> LogitsExportReport {
        try run(tokens: TokenSequence(tokens), settings: settings, attributes: template, tokenizerJSON: tokenizerJSON,
                to: url, forward: forward, progress: progress)
    }

    /// The same over a token stream in memory or mapped from the corpus cache.
    public static func run(tokens: TokenSequence, settings: LogitsExportSettings, attributes template: LogitsFileAttributes,
                           tokenizerJSON: Data, to url: URL,
                           forward: (IndexTensor) throws -> Tensor,
                           progress: (_ done: Int, _ total: Int) -> Void = { _, _ in }) throws -> LogitsExportReport {
        try run(tokens: tokens, settings: settings, attributes: template, tokenizerJSON: tokenizerJSON, to: url,
                chunkedForward: { ids, emit in
                    let (b, t) = (ids.shape[0], ids.shape[1]), v = template.vocabularySize
                    let logits = try forward(ids)
                    guard logits.shape == [b, t, v] else {
                        throw LogitsFileError(path: url.path,
                                              "the teacher returned logits of shape \(logits.shape), expected \([b, t, v])")
                    }
                    try emit(0, logits)
                }, progress: progress)
    }

    /// The same with a forward pass that hands over its logits a run of rows at a time: what is
    /// stored per row (top-k and log-sum-exp, or the row itself) is taken from each run as it comes.
    public static func run(tokens: TokenSequence, settings: LogitsExportSettings,
                           attributes template: LogitsFileAttributes, tokenizerJSON: Data, to url: URL,
                           chunkedForward forward: ChunkedForward,
                           progress: (_ done: Int, _ total: Int) -> Void = { _, _ in }) throws -> LogitsExportReport {
        let t = settings.context
        func fail(_ detail: String) -> LogitsFileError { LogitsFileError(path: url.path, detail) }
        guard t >= 1, settings.stride >= 1, settings.batchSize >= 1 else {
            throw fail("context, stride and batch size must be ≥ 1 (got \(t), \(settings.stride), \(settings.batchSize))")
        }
        let available = windowCount(tokenCount: tokens.count, context: t, stride: settings.stride)
        guard available > 0 else {
            throw fail("the \(tokens.count) tokens of split \"\(template.split)\" do not fill one window of \(t + 1)")
        }
        let total = min(available, settings.maxSequences ?? available)
        guard total >= 1 else { throw fail("--max-sequences must be ≥ 1") }
        var attributes = template
        attributes.context = t
        attributes.stride = settings.stride
        attributes.mode = settings.mode
        attributes.dtype = settings.dtype
        attributes.sequenceCount = total
        let v = attributes.vocabularySize

        let writer = try BackgroundLogitsWriter(
            LogitsWriter(url: url, attributes: attributes, tokenizerJSON: tokenizerJSON, layout: settings.layout))
        let start = DispatchTime.now().uptimeNanoseconds
        var forwardNanoseconds: UInt64 = 0
        do {
            var done = 0
            while done < total {
                let b = min(settings.batchSize, total - done)
                // [B, T+1] windows; the teacher sees the first T of each.
                var windows = [Int32](repeating: 0, count: b * (t + 1))
                var inputs = [Int32](repeating: 0, count: b * t)
                for row in 0 ..< b {
                    let offset = (done + row) * settings.stride
                    for column in 0 ... t { windows[row * (t + 1) + column] = tokens[offset + column] }
                    for column in 0 ..< t { inputs[row * t + column] = tokens[offset + column] }
                }
                var values = RowValues(mode: settings.mode, rows: b * t, vocabularySize: v)
                var storing: UInt64 = 0
                let forwardStart = DispatchTime.now().uptimeNanoseconds
                try forward(IndexTensor(shape: [b, t], values: inputs)) { firstRow, logits in
                    let storeStart = DispatchTime.now().uptimeNanoseconds
                    defer { storing += DispatchTime.now().uptimeNanoseconds - storeStart }
                    let rows = logits.shape.last == v ? logits.count / v : 0
                    guard rows > 0, firstRow == values.filled, values.filled + rows <= b * t else {
                        throw fail("the teacher returned logits of shape \(logits.shape) for rows from \(firstRow); "
                                   + "expected the next rows of \(b * t) (from \(values.filled)) with \(v) logits each")
                    }
                    try values.take(logits, firstSequence: done, context: t, path: url.path)
                }
                // The forward's time alone: what storing the rows took is not the teacher's.
                forwardNanoseconds += DispatchTime.now().uptimeNanoseconds - forwardStart - storing
                guard values.filled == b * t else {
                    throw fail("the teacher returned logits for \(values.filled) rows, expected \(b * t)")
                }
                try writer.submit(tokens: windows, values: values.stored)
                done += b
                progress(done, total)
            }
            try writer.finish()
        } catch {
            writer.abandon()
            throw error
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let bytes = writer.outputURLs.reduce(0) { sum, file in
            sum + ((try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0)
        }
        return LogitsExportReport(files: writer.outputURLs, sequences: total, positions: total * t, seconds: seconds,
                                  forwardSeconds: Double(forwardNanoseconds) / 1e9, bytes: bytes)
    }
}

/// What a batch stores, filled a run of rows at a time: every logit, or the top-k and log-sum-exp
/// of each row.
struct RowValues {
    let mode: LogitsMode
    let vocabularySize: Int
    /// Rows taken so far.
    private(set) var filled = 0
    private var logits: [Float] = [], indices: [Int32] = [], top: [Float] = [], logSumExp: [Float] = []

    init(mode: LogitsMode, rows: Int, vocabularySize v: Int) {
        self.mode = mode
        self.vocabularySize = v
        switch mode {
        case .full: logits.reserveCapacity(rows * v)
        case .topK(let k):
            indices = [Int32](repeating: 0, count: rows * k)
            top = [Float](repeating: 0, count: rows * k)
            logSumExp = [Float](repeating: 0, count: rows)
        }
    }

    var stored: LogitsValues {
        switch mode {
        case .full: return .full(logits: logits)
        case .topK: return .topK(indices: indices, logits: top, logSumExp: logSumExp)
        }
    }

    /// Takes the next rows, logits (…, V) holding `count / V` of them; rows are numbered in the batch,
    /// row r being position r % T of sequence `firstSequence + r / T` (for the error).
    mutating func take(_ chunk: Tensor, firstSequence: Int, context t: Int, path: String) throws {
        let v = vocabularySize, rows = chunk.count / v, first = filled
        func nonFinite(_ row: Int) -> LogitsFileError {
            let row = first + row
            return LogitsFileError(path: path, "the teacher produced a non-finite logit at sequence "
                                   + "\(firstSequence + row / t), position \(row % t); the checkpoint is broken (NaN/Inf weights?)")
        }
        switch mode {
        case .full:
            let values = UnsafeBufferPointer(start: chunk.data, count: rows * v)
            if let bad = values.firstIndex(where: { !$0.isFinite }) { throw nonFinite(bad / v) }
            logits.append(contentsOf: values)
        case .topK(let k):
            indices.withUnsafeMutableBufferPointer { indices in
                top.withUnsafeMutableBufferPointer { top in
                    logSumExp.withUnsafeMutableBufferPointer { lse in
                        TopKSelection.select(chunk.data, rows: rows, vocabularySize: v, k: k,
                                             topIndices: indices.baseAddress! + first * k,
                                             topLogits: top.baseAddress! + first * k,
                                             logSumExp: lse.baseAddress! + first)
                    }
                }
            }
            // A NaN or ±∞ anywhere in a row makes its log-sum-exp non-finite.
            if let bad = logSumExp[first ..< first + rows].firstIndex(where: { !$0.isFinite }) {
                throw nonFinite(bad - first)
            }
        }
        filled += rows
    }
}

/// A `LogitsWriter` driven from a serial queue: the caller hands over a batch and goes on with the
/// next forward pass; at most two batches wait. The writer is touched only on the queue (libhdf5 is
/// serial), and errors surface at the next `submit` or at `finish`.
private final class BackgroundLogitsWriter: @unchecked Sendable {
    private let writer: LogitsWriter
    private let queue = DispatchQueue(label: "alambique.logits-writer")
    private let slots = DispatchSemaphore(value: 2)
    private var failure: Error?  // written and read on `queue` only

    var outputURLs: [URL] { writer.outputURLs }

    init(_ writer: LogitsWriter) { self.writer = writer }

    func submit(tokens: [Int32], values: LogitsValues) throws {
        try queue.sync { if let failure { throw failure } }
        slots.wait()
        queue.async {
            defer { self.slots.signal() }
            guard self.failure == nil else { return }
            do { try self.writer.append(tokens: tokens, values: values) } catch { self.failure = error }
        }
    }

    func finish() throws {
        try queue.sync {
            if let failure { throw failure }
            try writer.finish()
        }
    }

    func abandon() {
        queue.sync { writer.abandon() }
    }
}
