// Reads a logit file, or the set of shards of one export, a block of sequences at a time without
// loading the whole file: the distiller's data source. Every file is checked when opened (complete,
// format, attributes in agreement, dataset shapes); `validate` checks it against a student.
// Legend: N sequences, T context, V vocabulary, K top-k.

import Foundation
import NN

/// Consecutive sequences read from a logit file, as Float32 tensors ready for a loss.
public struct LogitsBlock {
    /// Index of the first sequence in the whole export.
    public let firstSequence: Int
    /// Sequences in the block (n).
    public let sequenceCount: Int
    /// `[n, T+1]` token ids: inputs are columns 0..<T, targets 1...T.
    public let tokens: IndexTensor
    /// `[n, T, V]` logits (full file) or `[n, T, K]` top-k logits, descending.
    public let logits: Tensor
    /// `[n, T, K]` vocabulary ids of the top-k logits; nil for a full file.
    public let topKIndices: IndexTensor?
    /// `[n, T]` log-sum-exp over the full vocabulary; nil for a full file.
    public let logSumExp: Tensor?
}

/// One export's logit files opened for reading.
public final class LogitsReader {
    /// The export's attributes (those of the first shard; `sequenceCount` is the whole set's).
    public let attributes: LogitsFileAttributes
    /// The files, in shard order.
    public let urls: [URL]
    /// Sequences per chunk: read blocks starting at multiples of this for the cheapest access.
    public let blockSequences: Int

    private let shards: [Shard]

    /// Total sequences (N).
    public var sequenceCount: Int { attributes.sequenceCount }
    /// Context (T).
    public var context: Int { attributes.context }
    /// Vocabulary size (V).
    public var vocabularySize: Int { attributes.vocabularySize }

    /// Opens `url`: a single logit file, any shard of a set (`<stem>-00002-of-00004.h5` opens all four),
    /// or `<stem>.h5` when only its shards exist.
    /// - Throws: `LogitsFileError` naming the file and what is wrong: missing, incomplete, a shard
    ///   missing or from another export, attributes or dataset shapes that disagree.
    public init(url: URL) throws {
        let files = try Self.resolveFiles(url)
        if let screen = Self.screen { try screen(url) }
        var shards: [Shard] = []
        for file in files {
            shards.append(try Shard(url: file))
        }
        let first = shards[0].attributes
        guard first.shardCount == files.count else {
            throw LogitsFileError(path: files[0].path, "says it is one of \(first.shardCount) shards, but \(files.count) file(s) were found")
        }
        var expectedStart = 0
        for (index, shard) in shards.enumerated() {
            let a = shard.attributes
            guard a.sameExport(as: first) else {
                throw LogitsFileError(path: shard.url.path, "belongs to another export than \(files[0].lastPathComponent) (attributes differ)")
            }
            guard a.shardIndex == index, a.firstSequence == expectedStart else {
                throw LogitsFileError(path: shard.url.path, "shard_index \(a.shardIndex), first_sequence \(a.firstSequence); expected \(index) and \(expectedStart)")
            }
            expectedStart += shard.rows
        }
        guard expectedStart == first.sequenceCount else {
            throw LogitsFileError(path: files[0].path, "the files hold \(expectedStart) sequences but the attribute \"sequences\" says \(first.sequenceCount)")
        }
        attributes = first
        urls = files
        self.shards = shards
        blockSequences = shards[0].blockSequences
    }

    /// Reads a file set in another process before this one opens it, and throws when that process dies:
    /// `HDF5StructureCheck` checks what libhdf5 1.10 trusts in the metadata it reads, but libhdf5
    /// still decodes the file itself, so a command also screens each file in a child process. The command-line tool sets this once at start (a fresh process, so no lock another
    /// thread holds is inherited); nil reads in-process only.
    nonisolated(unsafe) public static var screen: ((URL) throws -> Void)?

    /// The teacher's tokenizer.json stored in the file.
    public func tokenizerJSON() throws -> Data {
        Data(try shards[0].file.openDataset("tokenizer_json").readAll(as: UInt8.self))
    }

    /// Checks that a student with this tokenizer, vocabulary and context can learn from the file.
    /// - Throws: `LogitsFileError` naming the field, the file's value and the student's.
    public func validate(tokenizerSHA256: String, vocabularySize: Int, context: Int) throws {
        let path = urls[0].path
        guard tokenizerSHA256 == attributes.tokenizerSHA256 else {
            throw LogitsFileError(path: path, "tokenizer differs: the file was written with tokenizer_sha256 \(attributes.tokenizerSHA256.prefix(12))…, the student's tokenizer.json has \(tokenizerSHA256.prefix(12))…; use the teacher's tokenizer for the student")
        }
        guard vocabularySize == attributes.vocabularySize else {
            throw LogitsFileError(path: path, "vocab_size is \(attributes.vocabularySize) in the file but \(vocabularySize) in the student")
        }
        guard context <= attributes.context else {
            throw LogitsFileError(path: path, "the student's context \(context) is longer than the file's sequences (context \(attributes.context)); use a context ≤ \(attributes.context)")
        }
    }

    /// Reads sequences `range` (they may span shards).
    /// - Throws: `LogitsFileError` for a range outside 0..<N; `HDF5Error` from libhdf5.
    public func read(_ range: Range<Int>) throws -> LogitsBlock {
        let raw = try readRaw(range, includeTeacher: true)
        let (n, t) = (range.count, context)
        let perPosition = attributes.mode.storedTopK == 0 ? vocabularySize : attributes.mode.storedTopK
        let isTopK = attributes.mode.storedTopK > 0
        return LogitsBlock(
            firstSequence: range.lowerBound, sequenceCount: n,
            tokens: try IndexTensor(shape: [n, t + 1], values: raw.tokens),
            logits: try Tensor(shape: [n, t, perPosition], values: raw.logits),
            topKIndices: isTopK ? try IndexTensor(shape: [n, t, perPosition], values: raw.indices) : nil,
            logSumExp: isTopK ? try Tensor(shape: [n, t], values: raw.logSumExp) : nil)
    }

    /// Sequences `range` as flat arrays: tokens `[n, T+1]`; with `includeTeacher`, logits `[n, T, V|K]`
    /// and for top-k files indices `[n, T, K]` and log-sum-exp `[n, T]` (else empty).
    func readRaw(_ range: Range<Int>, includeTeacher: Bool) throws
        -> (tokens: [Int32], logits: [Float], indices: [Int32], logSumExp: [Float]) {
        guard range.lowerBound >= 0, range.upperBound <= sequenceCount, !range.isEmpty else {
            throw LogitsFileError(path: urls[0].path, "sequences \(range) are outside 0..<\(sequenceCount) or empty")
        }
        var tokens: [Int32] = [], logits: [Float] = [], indices: [Int32] = [], logSumExp: [Float] = []
        for shard in shards {
            let start = shard.attributes.firstSequence
            let lower = max(range.lowerBound, start) - start, upper = min(range.upperBound, start + shard.rows) - start
            guard lower < upper else { continue }
            let local = lower ..< upper
            tokens += try shard.tokens.readRows(local, as: Int32.self)
            guard includeTeacher else { continue }
            logits += try shard.logits.readRows(local, as: Float.self)
            if let indexDataset = shard.indices, let lseDataset = shard.logSumExp {
                if indexDataset.elementType == .uint16 {
                    indices += try indexDataset.readRows(local, as: UInt16.self).map { Int32($0) }
                } else {
                    indices += try indexDataset.readRows(local, as: Int32.self)
                }
                logSumExp += try lseDataset.readRows(local, as: Float.self)
            }
        }
        return (tokens, logits, indices, logSumExp)
    }

    /// Bytes the sequences' data takes on disk over all shards (tokens, logits, indices, log-sum-exp;
    /// not the stored tokenizer), after compression.
    public func dataBytes() throws -> Int {
        try shards.reduce(0) { sum, shard in
            try sum + shard.tokens.storageBytes() + shard.logits.storageBytes()
                + (shard.indices?.storageBytes() ?? 0) + (shard.logSumExp?.storageBytes() ?? 0)
        }
    }

    /// Closes the files.
    public func close() throws {
        for shard in shards { try shard.file.close() }
    }

    /// The files of the export `url` names.
    static func resolveFiles(_ url: URL) throws -> [URL] {
        let directory = url.deletingLastPathComponent()
        let manager = FileManager.default
        func shardSet(stem: String, count: Int) throws -> [URL] {
            let files = (0 ..< count).map { directory.appendingPathComponent(LogitsShardNames.name(stem: stem, index: $0, count: count)) }
            let missing = files.filter { !manager.fileExists(atPath: $0.path) }
            guard missing.isEmpty else {
                throw LogitsFileError(path: url.path, "shard set incomplete: missing \(missing.map(\.lastPathComponent).joined(separator: ", "))")
            }
            return files
        }
        if let parsed = LogitsShardNames.parse(url.lastPathComponent) {
            return try shardSet(stem: parsed.stem, count: parsed.count)
        }
        if manager.fileExists(atPath: url.path) { return [url] }
        // `<stem>.h5` given, shards on disk?
        let stem = url.deletingPathExtension().lastPathComponent
        let names = (try? manager.contentsOfDirectory(atPath: directory.path)) ?? []
        let counts = Set(names.compactMap { LogitsShardNames.parse($0) }.filter { $0.stem == stem }.map(\.count))
        if counts.count == 1, let count = counts.first { return try shardSet(stem: stem, count: count) }
        if counts.count > 1 {
            throw LogitsFileError(path: url.path, "shards of \(counts.count) different sets named \(stem)-…; name one shard file")
        }
        throw LogitsFileError(path: url.path, "no such logit file (nor shards \(stem)-00001-of-…h5); export one with `alambique logits`")
    }
}

/// One opened file of the set, checked against its attributes.
private final class Shard {
    let url: URL
    let file: HDF5File
    let attributes: LogitsFileAttributes
    let tokens: HDF5Dataset
    let logits: HDF5Dataset
    let indices: HDF5Dataset?
    let logSumExp: HDF5Dataset?
    let rows: Int
    let blockSequences: Int

    init(url: URL) throws {
        self.url = url
        file = try HDF5File(url: url, mode: .readOnly)
        let attributes = try LogitsFileAttributes(reading: file)
        self.attributes = attributes
        let t = attributes.context
        func fail(_ detail: String) -> LogitsFileError { LogitsFileError(path: url.path, detail) }
        func expect(_ dataset: HDF5Dataset, _ name: String, _ shape: [Int], _ types: [HDF5ElementType]) throws {
            let found = try dataset.shape()
            guard found == shape else { throw fail("/\(name) has shape \(found), expected \(shape)") }
            guard types.contains(dataset.elementType) else {
                throw fail("/\(name) is \(dataset.elementType), expected \(types.map(\.rawValue).joined(separator: " or "))")
            }
        }
        tokens = try file.openDataset("tokens")
        let tokenShape = try tokens.shape()
        guard tokenShape.count == 2, tokenShape[1] == t + 1 else {
            throw fail("/tokens has shape \(tokenShape), expected [N, \(t + 1)] for context \(t)")
        }
        rows = tokenShape[0]
        try expect(tokens, "tokens", [rows, t + 1], [.int32])
        switch attributes.mode {
        case .full:
            logits = try file.openDataset("logits")
            try expect(logits, "logits", [rows, t, attributes.vocabularySize], [attributes.dtype])
            indices = nil
            logSumExp = nil
        case .topK(let k):
            let group = try file.openGroup("topk")
            let indices = try group.openDataset("indices")
            try expect(indices, "topk/indices", [rows, t, k], [.uint16, .int32])
            logits = try group.openDataset("logits")
            try expect(logits, "topk/logits", [rows, t, k], [attributes.dtype])
            let lse = try file.openDataset("logsumexp")
            try expect(lse, "logsumexp", [rows, t], [.float32])
            self.indices = indices
            logSumExp = lse
        }
        blockSequences = try logits.chunkShape()?.first ?? max(1, rows)
    }
}
