// Writes a logit file (or a set of shards) through libhdf5. Sequences arrive in order, a batch at a
// time; they are gathered into whole blocks so that every HDF5 write fills complete chunks (a
// partial write of a compressed chunk would be decompressed and compressed again). Files are
// written under hidden temporary names (removed on any error and on SIGINT/SIGTERM), flushed to
// disk, and renamed into place only when every shard is complete. A write that libhdf5 reports as
// failed (a full disk) abandons the export at once: the file is unusable, and closing it normally
// would crash inside the library (`HDF5File.discard()`).
// Legend: N sequences, T context, V vocabulary, K top-k.

import Foundation

/// The values of consecutive sequences for a logit file, in Float32 (the writer converts).
public enum LogitsValues: Sendable {
    /// `[n, T, V]` logits.
    case full(logits: [Float])
    /// `[n, T, K]` indices and logits (descending) and `[n, T]` log-sum-exp.
    case topK(indices: [Int32], logits: [Float], logSumExp: [Float])
}

/// How a logit file is laid out on disk.
public struct LogitsLayout: Sendable, Equatable {
    /// gzip level 1–9 with byte shuffle, or nil for no compression.
    public var gzipLevel: Int?
    /// Sequences per chunk (and per block a reader fetches); nil: about 1 MiB of logits per chunk.
    public var blockSequences: Int?
    /// Sequences per shard file; nil: one file.
    public var shardSequences: Int?

    public init(gzipLevel: Int? = 4, blockSequences: Int? = nil, shardSequences: Int? = nil) {
        self.gzipLevel = gzipLevel
        self.blockSequences = blockSequences
        self.shardSequences = shardSequences
    }

    /// The block size for an export: whole sequences, about 1 MiB of the largest dataset per chunk.
    func resolvedBlockSequences(_ attributes: LogitsFileAttributes) -> Int {
        if let blockSequences { return max(1, min(blockSequences, max(1, attributes.sequenceCount))) }
        let perPosition = attributes.mode.storedTopK == 0 ? attributes.vocabularySize : attributes.mode.storedTopK
        let bytesPerSequence = attributes.context * perPosition * attributes.dtype.byteSize
        return max(1, min(1024, (1 << 20) / max(1, bytesPerSequence), max(1, attributes.sequenceCount)))
    }
}

/// Writes the sequences of one export, in order, to one file or a set of shards.
public final class LogitsWriter {
    /// The files that will exist once `finish()` returns.
    public let outputURLs: [URL]
    /// Where each output's data goes: its path with symlinks followed (the link stays).
    private let targetURLs: [URL]
    /// Sequences per block (= chunk rows).
    public let blockSequences: Int

    private var attributes: LogitsFileAttributes
    private let layout: LogitsLayout
    private let tokenizerJSON: Data
    private let shardSequences: Int
    private var temporaryURLs: [URL] = []
    private var shard: OpenShard?
    private var written = 0
    private var pendingTokens: [Int32] = []
    private var pendingValues: PendingValues
    private var finished = false

    /// Prepares an export of `attributes.sequenceCount` sequences to `url` (`<stem>.h5`; with shards,
    /// `<stem>-00001-of-0000n.h5` … beside it). Nothing appears under the final names until `finish()`.
    /// An output that is a symlink is followed; one that is a device, FIFO or folder is refused
    /// (libhdf5 needs a regular file it can seek in). Temporary files that a killed earlier export
    /// left beside the outputs are removed.
    /// - Throws: `LogitsFileError` when the attributes or layout are inconsistent, an output is not
    ///   a regular file, or the directory cannot be made.
    public init(url: URL, attributes: LogitsFileAttributes, tokenizerJSON: Data, layout: LogitsLayout = LogitsLayout()) throws {
        func fail(_ detail: String) -> LogitsFileError { LogitsFileError(path: url.path, detail) }
        guard url.pathExtension == "h5" else { throw fail("a logit file's name must end in .h5") }
        guard attributes.sequenceCount >= 1 else { throw fail("nothing to write: 0 sequences") }
        guard attributes.dtype == .float16 || attributes.dtype == .float32 else {
            throw fail("dtype must be float16 or float32, got \(attributes.dtype)")
        }
        if case .topK(let k) = attributes.mode, !(1 ... attributes.vocabularySize).contains(k) {
            throw fail("top-k \(k) must be in 1…\(attributes.vocabularySize) (the vocabulary size)")
        }
        if let level = layout.gzipLevel, !(1 ... 9).contains(level) {
            throw fail("gzip level \(level) must be in 1…9 (or no compression)")
        }
        if let shardSequences = layout.shardSequences, shardSequences < 1 {
            throw fail("a shard must hold at least one sequence")
        }
        self.layout = layout
        self.tokenizerJSON = tokenizerJSON
        blockSequences = layout.resolvedBlockSequences(attributes)
        shardSequences = layout.shardSequences.map { min($0, attributes.sequenceCount) } ?? attributes.sequenceCount
        let shardCount = (attributes.sequenceCount + shardSequences - 1) / shardSequences
        self.attributes = attributes
        self.attributes.shardCount = shardCount
        let directory = url.deletingLastPathComponent()
        let stem = url.deletingPathExtension().lastPathComponent
        outputURLs = shardCount == 1
            ? [url]
            : (0 ..< shardCount).map { directory.appendingPathComponent(LogitsShardNames.name(stem: stem, index: $0, count: shardCount)) }
        pendingValues = PendingValues(mode: attributes.mode, vocabularySize: attributes.vocabularySize)
        targetURLs = try outputURLs.map(Self.regularFileTarget)
        for target in targetURLs {
            let parent = target.deletingLastPathComponent()
            if let code = FileSync.createDirectories(parent) {
                throw LogitsFileError(path: target.path,
                                      "cannot create the directory \(parent.path): \(FileSync.reason(code))")
            }
            TemporaryFiles.removeStale(for: target, hidden: true)
        }
    }

    /// The file an output's data goes to, or an error when it cannot be a logit file.
    private static func regularFileTarget(_ url: URL) throws -> URL {
        let output: OutputPath
        do { output = try OutputPath.resolve(url) } catch { throw LogitsFileError(path: url.path, "\(error)") }
        switch output.kind {
        case .missing, .regularFile: return output.target
        case .directory: throw LogitsFileError(path: url.path, "is a directory; expected a file name ending in .h5")
        case .special(let description):
            throw LogitsFileError(path: url.path, "is a \(description), not a regular file; libhdf5 writes "
                                  + "a logit file in place with random access, so it must be a regular file "
                                  + "or a new name")
        }
    }

    deinit {
        if !finished { abandon() }
    }

    /// Appends the next sequences: `tokens` is `[n, T+1]`, `values` their logits.
    /// - Throws: `LogitsFileError` on a size mismatch or more sequences than announced; `HDF5Error` from libhdf5.
    public func append(tokens: [Int32], values: LogitsValues) throws {
        let t = attributes.context
        guard !finished else { throw LogitsFileError(path: outputURLs[0].path, "append after finish") }
        guard tokens.count % (t + 1) == 0 else {
            throw LogitsFileError(path: outputURLs[0].path, "\(tokens.count) token ids are not whole rows of \(t + 1)")
        }
        let n = tokens.count / (t + 1)
        guard written + pendingTokens.count / (t + 1) + n <= attributes.sequenceCount else {
            throw LogitsFileError(path: outputURLs[0].path, "more sequences than the \(attributes.sequenceCount) announced")
        }
        try pendingValues.append(values, sequences: n, context: t, path: outputURLs[0].path)
        pendingTokens += tokens
        try writing { try flushWholeBlocks() }
    }

    /// Writes what remains, marks every shard complete, closes them, flushes them to disk and
    /// renames them into place (then flushes their folder).
    /// - Throws: `LogitsFileError` if fewer sequences than announced were appended, or a write,
    ///   flush or rename failed (the temporary files are then removed).
    public func finish() throws {
        let t = attributes.context
        let pending = pendingTokens.count / (t + 1)
        guard written + pending == attributes.sequenceCount else {
            throw LogitsFileError(path: outputURLs[0].path,
                                  "only \(written + pending) of \(attributes.sequenceCount) sequences were written")
        }
        try writing {
            try flush(upTo: pending)
            if let shard { try close(shard) }
        }
        shard = nil
        // All shards are complete under their temporary names; now put them in place.
        for (index, (temporary, target)) in zip(temporaryURLs, targetURLs).enumerated() {
            var code: Int32 = 0
            do {
                try TemporaryFiles.commit(temporary) {
                    guard rename(temporary.path, target.path) == 0 else {
                        code = errno
                        throw LogitsFileError(path: target.path, "rename failed")
                    }
                }
            } catch {
                abandon()
                throw LogitsFileError(path: outputURLs[index].path, "cannot rename \(temporary.lastPathComponent) "
                                      + "into place: \(FileSync.reason(code))")
            }
        }
        for directory in Set(targetURLs.map { $0.deletingLastPathComponent().path }) {
            FileSync.syncDirectory(URL(fileURLWithPath: directory))
        }
        finished = true
    }

    /// Removes the temporary files of an export that will not finish. The open shard is
    /// discarded, not closed: its writes may be failing, and what it still buffers is not wanted.
    public func abandon() {
        shard?.file.discard()
        shard = nil
        for url in temporaryURLs { TemporaryFiles.discard(url) }
        finished = true
    }

    /// Runs a step that writes through libhdf5. A failure there leaves the file unusable, so the
    /// export is abandoned at once and the error names the output and the system's reason.
    private func writing(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as HDF5Error {
            let index = min(outputURLs.count - 1, temporaryURLs.count - 1)
            abandon()
            let reason = error.systemErrorCode.map(FileSync.reason) ?? String(error.detail.prefix(200))
            throw LogitsFileError(path: outputURLs[max(0, index)].path,
                                  "could not write the logit file (\(error.operation) of \(error.object)): \(reason); "
                                  + "the temporary file was removed and nothing was written under this name")
        }
    }

    // MARK: - Blocks and shards

    private func flushWholeBlocks() throws {
        // A block never straddles a shard: the rows up to the shard's end count as a whole block.
        while true {
            let shardRemaining = shardSequences - written % shardSequences
            let want = min(blockSequences, shardRemaining)
            guard pendingTokens.count / (attributes.context + 1) >= want else { break }
            try flush(upTo: want)
        }
    }

    /// Writes the first `count` pending sequences (possibly across a shard boundary).
    private func flush(upTo count: Int) throws {
        var remaining = count
        while remaining > 0 {
            let shard = try currentShard()
            let rowsHere = min(remaining, shard.end - written)
            try write(rows: rowsHere, to: shard)
            remaining -= rowsHere
            if written == shard.end {
                try close(shard)
                self.shard = nil
            }
        }
    }

    private func write(rows: Int, to shard: OpenShard) throws {
        let t = attributes.context
        let row = written - shard.start
        let tokenCount = rows * (t + 1)
        try shard.tokens.writeRows(Array(pendingTokens.prefix(tokenCount)), startingAt: row)
        pendingTokens.removeFirst(tokenCount)
        try pendingValues.write(rows: rows, context: t, at: row, to: shard, dtype: attributes.dtype)
        written += rows
    }

    private func currentShard() throws -> OpenShard {
        if let shard { return shard }
        let index = written / shardSequences
        let temporary = TemporaryFiles.temporaryURL(for: targetURLs[index], hidden: true)
        TemporaryFiles.register(temporary)
        temporaryURLs.append(temporary)
        let start = index * shardSequences
        let end = min(attributes.sequenceCount, start + shardSequences)
        var shardAttributes = attributes
        shardAttributes.shardIndex = index
        shardAttributes.firstSequence = start
        let opened = try OpenShard(url: temporary, rows: end - start, start: start, end: end, attributes: shardAttributes,
                                   blockSequences: blockSequences, gzipLevel: layout.gzipLevel, tokenizerJSON: tokenizerJSON)
        shard = opened
        return opened
    }

    private func close(_ shard: OpenShard) throws {
        try shard.attributes.write(to: shard.file)
        try shard.file.flush()
        try shard.file.setAttribute("complete", .int64(1))  // last: a reader refuses a file without it
        try shard.file.close()
        if let code = FileSync.sync(path: shard.file.filePath) {
            throw LogitsFileError(path: shard.file.filePath,
                                  "could not flush the logit file to disk (fsync): \(FileSync.reason(code))")
        }
    }
}

/// One shard file being written.
private final class OpenShard {
    let file: HDF5File
    let tokens: HDF5Dataset
    let logits: HDF5Dataset
    let indices: HDF5Dataset?
    let logSumExp: HDF5Dataset?
    let start: Int
    let end: Int
    let attributes: LogitsFileAttributes

    init(url: URL, rows: Int, start: Int, end: Int, attributes: LogitsFileAttributes, blockSequences: Int,
         gzipLevel: Int?, tokenizerJSON: Data) throws {
        self.start = start
        self.end = end
        self.attributes = attributes
        let t = attributes.context
        let block = min(blockSequences, rows)
        let compression = gzipLevel.map { HDF5Compression.shuffleGzip(level: $0) } ?? .none
        file = try HDF5File(url: url, mode: .truncate)
        tokens = try file.createDataset("tokens", elementType: .int32, shape: [rows, t + 1],
                                        chunkShape: [block, t + 1], compression: compression, writeThrough: true)
        switch attributes.mode {
        case .full:
            logits = try file.createDataset("logits", elementType: attributes.dtype, shape: [rows, t, attributes.vocabularySize],
                                            chunkShape: [block, t, attributes.vocabularySize], compression: compression,
                                            writeThrough: true)
            indices = nil
            logSumExp = nil
        case .topK(let k):
            let group = try file.createGroup("topk")
            indices = try group.createDataset("indices", elementType: attributes.indexType, shape: [rows, t, k],
                                              chunkShape: [block, t, k], compression: compression, writeThrough: true)
            logits = try group.createDataset("logits", elementType: attributes.dtype, shape: [rows, t, k],
                                             chunkShape: [block, t, k], compression: compression, writeThrough: true)
            logSumExp = try file.createDataset("logsumexp", elementType: .float32, shape: [rows, t],
                                               chunkShape: [block, t], compression: compression, writeThrough: true)
        }
        let json = try file.createDataset("tokenizer_json", elementType: .uint8, shape: [tokenizerJSON.count])
        try json.writeRows([UInt8](tokenizerJSON), startingAt: 0)
    }
}

/// Values appended but not yet written, in Float32 (converted to the file's types on write).
private struct PendingValues {
    var logits: [Float] = []
    var indices: [Int32] = []
    var logSumExp: [Float] = []
    let mode: LogitsMode
    /// Stored values per position: V for full logits, K for top-k.
    let perPosition: Int

    init(mode: LogitsMode, vocabularySize: Int) {
        self.mode = mode
        perPosition = mode.storedTopK == 0 ? vocabularySize : mode.storedTopK
    }

    mutating func append(_ values: LogitsValues, sequences n: Int, context t: Int, path: String) throws {
        let positions = n * t
        switch (mode, values) {
        case (.full, .full(let newLogits)):
            guard newLogits.count == positions * perPosition else {
                throw LogitsFileError(path: path, "\(newLogits.count) logits for \(n) sequences; expected \(positions) positions × \(perPosition)")
            }
            logits += newLogits
        case (.topK(let k), .topK(let newIndices, let newLogits, let newLogSumExp)):
            guard newIndices.count == positions * k, newLogits.count == positions * k, newLogSumExp.count == positions else {
                throw LogitsFileError(path: path, "top-\(k) values for \(n) sequences: \(newIndices.count) indices, \(newLogits.count) logits, \(newLogSumExp.count) log-sum-exps; expected \(positions * k), \(positions * k), \(positions)")
            }
            indices += newIndices
            logits += newLogits
            logSumExp += newLogSumExp
        default:
            throw LogitsFileError(path: path, "values do not match the file's mode (\(mode))")
        }
    }

    /// Writes the first `rows` sequences' values at `row` of the shard and drops them.
    mutating func write(rows: Int, context t: Int, at row: Int, to shard: OpenShard, dtype: HDF5ElementType) throws {
        let positions = rows * t
        let count = positions * perPosition
        try Self.writeFloats(logits[..<count], row: row, to: shard.logits, dtype: dtype)
        logits.removeFirst(count)
        guard case .topK = mode, let indexDataset = shard.indices, let lseDataset = shard.logSumExp else { return }
        if indexDataset.elementType == .uint16 {
            try indexDataset.writeRows(indices[..<count].map { UInt16(truncatingIfNeeded: $0) }, startingAt: row)
        } else {
            try indexDataset.writeRows(Array(indices[..<count]), startingAt: row)
        }
        try lseDataset.writeRows(Array(logSumExp[..<positions]), startingAt: row)
        indices.removeFirst(count)
        logSumExp.removeFirst(positions)
    }

    private static func writeFloats(_ values: ArraySlice<Float>, row: Int, to dataset: HDF5Dataset, dtype: HDF5ElementType) throws {
        if dtype == .float16 {
            // Converted here, never by libhdf5 (its float32→float16 conversion is wrong for some values: FACTS.md).
            try dataset.writeRows(values.map { Float16($0) }, startingAt: row)
        } else {
            try dataset.writeRows(Array(values), startingAt: row)
        }
    }
}
