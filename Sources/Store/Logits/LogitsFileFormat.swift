// The soft-logit file (DESIGN.md §6): the contract between a teacher and every student, readable by
// h5py and pandas. Legend: N sequences, T context, V vocabulary, K stored top-k entries.
//
//   /tokens          int32              [N, T+1]   windows; position t's target is token t+1
//   /logits          float16|float32    [N, T, V]  full mode
//   /topk/indices    uint16|int32       [N, T, K]  top-k mode, sorted by logit, descending
//   /topk/logits     float16|float32    [N, T, K]
//   /logsumexp       float32            [N, T]     over the full vocabulary: p_i = exp(l_i − lse)
//   /tokenizer_json  uint8              [bytes]    the teacher's tokenizer.json (ours, beyond §6)
//
// Every dataset is chunked by the same block of whole sequences, so one block read touches one
// chunk of each. Root attributes are listed in `LogitsFileAttributes`; `complete = 1` comes last.

import Foundation

/// What a logit file stores per position.
public enum LogitsMode: Sendable, Equatable, CustomStringConvertible {
    /// Every logit: `/logits [N, T, V]`.
    case full
    /// The K largest logits with their indices, plus the log-normaliser.
    case topK(Int)

    /// `top_k` as stored: 0 for full.
    public var storedTopK: Int {
        switch self {
        case .full: 0
        case .topK(let k): k
        }
    }

    public var description: String {
        switch self {
        case .full: "full"
        case .topK(let k): "top-\(k)"
        }
    }
}

/// The root attributes of a logit file (DESIGN.md §6) and the few of ours beside them.
public struct LogitsFileAttributes: Sendable, Equatable {
    /// `format`: always `alambique.logits`.
    public static let formatName = "alambique.logits"
    /// `format_version` this code writes and reads.
    public static let formatVersion = 1

    /// `teacher`: the teacher checkpoint's model name.
    public var teacher: String
    /// `teacher_sha256`: SHA-256 of the teacher's model.safetensors.
    public var teacherSHA256: String
    /// `tokenizer_sha256`: SHA-256 of the teacher's tokenizer.json bytes.
    public var tokenizerSHA256: String
    /// `vocab_size` (V).
    public var vocabularySize: Int
    /// `context` (T): positions per sequence; `/tokens` rows hold T + 1 ids.
    public var context: Int
    /// `top_k` (0: full logits).
    public var mode: LogitsMode
    /// `dtype`: `float16` or `float32`, the stored logits' type.
    public var dtype: HDF5ElementType
    /// `split`: `train` or `val` (or another name).
    public var split: String
    /// `temperature`: always 1 — raw logits are stored; students choose their own T.
    public var temperature: Double = 1
    /// `created`: ISO-8601 time of writing.
    public var created: String
    /// `stride`: tokens between the starts of consecutive windows (ours).
    public var stride: Int
    /// `sequences`: N over all shards (ours).
    public var sequenceCount: Int
    /// `shard_index` (0-based) and `shard_count` (ours; 0 and 1 for a single file).
    public var shardIndex: Int = 0
    public var shardCount: Int = 1
    /// `first_sequence`: index of this shard's first sequence in the whole set (ours).
    public var firstSequence: Int = 0

    public init(teacher: String, teacherSHA256: String, tokenizerSHA256: String, vocabularySize: Int, context: Int,
                mode: LogitsMode, dtype: HDF5ElementType, split: String, created: String, stride: Int, sequenceCount: Int) {
        self.teacher = teacher
        self.teacherSHA256 = teacherSHA256
        self.tokenizerSHA256 = tokenizerSHA256
        self.vocabularySize = vocabularySize
        self.context = context
        self.mode = mode
        self.dtype = dtype
        self.split = split
        self.created = created
        self.stride = stride
        self.sequenceCount = sequenceCount
    }

    /// Stored `/topk/indices` type: uint16 while every id fits, else int32.
    public var indexType: HDF5ElementType { vocabularySize <= 65_535 ? .uint16 : .int32 }

    /// Writes every attribute except `complete`.
    func write(to file: HDF5Object) throws {
        try file.setAttribute("format", .string(Self.formatName))
        try file.setAttribute("format_version", .int64(Int64(Self.formatVersion)))
        try file.setAttribute("teacher", .string(teacher))
        try file.setAttribute("teacher_sha256", .string(teacherSHA256))
        try file.setAttribute("tokenizer_sha256", .string(tokenizerSHA256))
        try file.setAttribute("vocab_size", .int64(Int64(vocabularySize)))
        try file.setAttribute("context", .int64(Int64(context)))
        try file.setAttribute("top_k", .int64(Int64(mode.storedTopK)))
        try file.setAttribute("dtype", .string(dtype.rawValue))
        try file.setAttribute("split", .string(split))
        try file.setAttribute("temperature", .double(temperature))
        try file.setAttribute("created", .string(created))
        try file.setAttribute("stride", .int64(Int64(stride)))
        try file.setAttribute("sequences", .int64(Int64(sequenceCount)))
        try file.setAttribute("shard_index", .int64(Int64(shardIndex)))
        try file.setAttribute("shard_count", .int64(Int64(shardCount)))
        try file.setAttribute("first_sequence", .int64(Int64(firstSequence)))
    }

    /// Reads and checks the attributes of an open file.
    /// - Throws: `LogitsFileError` naming the file and the attribute that is missing, of the wrong
    ///   kind or out of range — an incomplete file (no `complete = 1`) first of all.
    init(reading file: HDF5File) throws {
        let path = file.filePath
        func fail(_ detail: String) -> LogitsFileError { LogitsFileError(path: path, detail) }
        func integer(_ name: String, atLeast minimum: Int) throws -> Int {
            guard try file.hasAttribute(name) else { throw fail("attribute \"\(name)\" is missing") }
            guard case .int64(let value) = try file.attribute(name) else {
                throw fail("attribute \"\(name)\" should be an integer, found \(try file.attribute(name))")
            }
            guard value >= minimum, value <= Int64(Int32.max) else {
                throw fail("attribute \"\(name)\" = \(value), expected an integer ≥ \(minimum)")
            }
            return Int(value)
        }
        func string(_ name: String) throws -> String {
            guard try file.hasAttribute(name) else { throw fail("attribute \"\(name)\" is missing") }
            guard case .string(let value) = try file.attribute(name) else {
                throw fail("attribute \"\(name)\" should be a string, found \(try file.attribute(name))")
            }
            return value
        }

        let format = try file.hasAttribute("format") ? try string("format") : "(none)"
        guard format == Self.formatName else {
            throw fail("not a logit file: attribute \"format\" is \(format), expected \"\(Self.formatName)\"")
        }
        guard try file.hasAttribute("complete"), case .int64(1) = try file.attribute("complete") else {
            throw fail("the file is incomplete (no \"complete = 1\"): its export was interrupted or is still running; export it again")
        }
        let version = try integer("format_version", atLeast: 1)
        guard version == Self.formatVersion else {
            throw fail("format_version \(version) is not supported (this build reads version \(Self.formatVersion))")
        }
        teacher = try string("teacher")
        teacherSHA256 = try string("teacher_sha256")
        tokenizerSHA256 = try string("tokenizer_sha256")
        vocabularySize = try integer("vocab_size", atLeast: 1)
        context = try integer("context", atLeast: 1)
        let topK = try integer("top_k", atLeast: 0)
        guard topK <= vocabularySize else { throw fail("top_k = \(topK) exceeds vocab_size = \(vocabularySize)") }
        mode = topK == 0 ? .full : .topK(topK)
        let dtypeName = try string("dtype")
        guard let dtype = HDF5ElementType(rawValue: dtypeName), dtype == .float16 || dtype == .float32 else {
            throw fail("attribute \"dtype\" is \"\(dtypeName)\", expected \"float16\" or \"float32\"")
        }
        self.dtype = dtype
        split = try string("split")
        temperature = try file.doubleAttribute("temperature")
        guard temperature == 1 else { throw fail("temperature = \(temperature); stored logits must be raw (temperature 1)") }
        created = try string("created")
        stride = try integer("stride", atLeast: 1)
        sequenceCount = try integer("sequences", atLeast: 0)
        shardIndex = try integer("shard_index", atLeast: 0)
        shardCount = try integer("shard_count", atLeast: 1)
        firstSequence = try integer("first_sequence", atLeast: 0)
        guard shardIndex < shardCount else { throw fail("shard_index \(shardIndex) is not below shard_count \(shardCount)") }
    }

    /// True when two shards belong to the same export (everything but the shard fields agrees).
    func sameExport(as other: LogitsFileAttributes) -> Bool {
        var a = self, b = other
        (a.shardIndex, a.firstSequence, b.shardIndex, b.firstSequence) = (0, 0, 0, 0)
        return a == b
    }
}

/// A logit file that cannot be written, read or used: the file, and what was wrong.
public struct LogitsFileError: Error, CustomStringConvertible, LocalizedError {
    public let path: String
    public let detail: String

    public init(path: String, _ detail: String) {
        self.path = path
        self.detail = detail
    }

    public var description: String { "\(path): \(detail)" }
    public var errorDescription: String? { description }
}

/// Names of the shards of an export: `<stem>-00001-of-00004.h5` (1-based, as DESIGN.md §6).
public enum LogitsShardNames {
    /// The file name of shard `index` (0-based) of `count`, for an output named `<stem>.h5`.
    public static func name(stem: String, index: Int, count: Int) -> String {
        "\(stem)-\(String(format: "%05d", index + 1))-of-\(String(format: "%05d", count)).h5"
    }

    /// `(stem, index, count)` when `fileName` is a shard name, else nil.
    public static func parse(_ fileName: String) -> (stem: String, index: Int, count: Int)? {
        guard fileName.hasSuffix(".h5") else { return nil }
        let base = fileName.dropLast(3)
        let parts = base.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[parts.count - 2] == "of",
              let index = Int(parts[parts.count - 3]), let count = Int(parts[parts.count - 1]),
              parts[parts.count - 3].count == 5, parts[parts.count - 1].count == 5,
              index >= 1, index <= count else { return nil }
        let stem = parts.dropLast(3).joined(separator: "-")
        return stem.isEmpty ? nil : (stem, index - 1, count)
    }
}
