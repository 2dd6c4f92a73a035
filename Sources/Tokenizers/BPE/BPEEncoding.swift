// Byte-level BPE encoding: added tokens matched in the raw text, GPT-2 pre-tokens between them,
// merges per pre-token (WordEncoder) — over several threads for long texts and many documents.
//
// Threads split the work at safe cuts, so the ids never depend on the thread count. A cut at
// byte p is safe when bytes p-2, p-1, p are "X\n Y" with X and Y printable ASCII: GPT-2's
// pattern ends a piece before the lone "\n" and after it in the whole text as in either part
// (the "\s+(?!\S)" rule needs a whitespace run of two or more to look past it), and no added
// token can straddle the cut unless its content holds a "\n" (then nothing is cut). Without
// the regex (`use_regex` false) a segment is one piece and is never cut.

import Dispatch
import Foundation

/// Added tokens as UTF-8 patterns for leftmost-longest matching (Hugging Face's rule).
struct AddedTokenPatterns: Sendable {
    /// Longest first; among equal lengths, file order (the first listed wins).
    let patterns: [(bytes: [UInt8], id: Int32)]
    /// `canStart[b]`: some pattern begins with byte b (most bytes are ruled out by one load).
    let canStart: [Bool]
    /// Whether some content holds a line feed, which would make a cut after "\n" unsafe.
    let containsLineFeed: Bool

    init(_ tokens: [AddedToken]) {
        let ordered = tokens.enumerated()
            .map { (bytes: Array($0.element.content.utf8), id: $0.element.id, order: $0.offset) }
            .sorted { $0.bytes.count != $1.bytes.count ? $0.bytes.count > $1.bytes.count : $0.order < $1.order }
        patterns = ordered.map { ($0.bytes, $0.id) }
        var canStart = [Bool](repeating: false, count: 256)
        for pattern in patterns { if let first = pattern.bytes.first { canStart[Int(first)] = true } }
        self.canStart = canStart
        containsLineFeed = patterns.contains { $0.bytes.contains(0x0A) }
    }

    var isEmpty: Bool { patterns.isEmpty }

    /// The longest pattern at `offset` of `bytes`, as (length, id).
    @inline(__always)
    func match(at offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> (length: Int, id: Int32)? {
        let remaining = bytes.count - offset
        for pattern in patterns where pattern.bytes.count <= remaining {
            let found = pattern.bytes.withUnsafeBufferPointer {
                memcmp($0.baseAddress!, bytes.baseAddress! + offset, $0.count) == 0
            }
            if found { return (pattern.bytes.count, pattern.id) }
        }
        return nil
    }
}

/// One stretch of one document: bytes `start..<end`; `atStart` when it begins the document.
struct EncodingItem {
    let document: Int
    let start: Int
    let end: Int
}

extension BPETokenizer {
    /// Texts below this size are encoded on the calling thread (threads would cost more than they save).
    static let parallelThreshold = 256 << 10

    /// Splits out added tokens, pre-tokenizes the rest with GPT-2's pattern and applies the
    /// merges to each piece's bytes. Never throws: every byte has an id. Long texts are
    /// encoded on all cores, with the same result.
    public func encode(_ text: String) throws -> [Int32] {
        if text.utf8.count >= BPETokenizer.parallelThreshold {
            let threads = ProcessInfo.processInfo.activeProcessorCount
            return encodeDocuments([text], threads: threads, chunkBytes: nil, progress: nil)[0]
        }
        var text = text
        text.makeContiguousUTF8()
        var ids: [Int32] = []
        ids.reserveCapacity(text.utf8.count / 3)
        let encoder = WordEncoder(tables: tables)
        text.utf8.withContiguousStorageIfAvailable {
            encodeChunk($0, atSegmentStart: true, encoder: encoder, into: &ids)
        }
        return ids
    }

    /// The ids of each document, encoded independently (as `encode` would) on up to `threads`
    /// threads. `progress` is called about twice a second and once at the end, from any thread
    /// but never from two at once.
    public func encodeDocuments(_ documents: [String], threads: Int,
                                progress: (@Sendable (EncodingProgress) -> Void)?) -> [[Int32]] {
        encodeDocuments(documents, threads: threads, chunkBytes: nil, progress: progress)
    }

    /// `chunkBytes` sets the size of a unit of work (tests make it tiny to force many cuts).
    func encodeDocuments(_ documents: [String], threads: Int, chunkBytes: Int?,
                         progress: (@Sendable (EncodingProgress) -> Void)?) -> [[Int32]] {
        let documents = documents.map { document -> String in
            if document.isContiguousUTF8 { return document }
            var copy = document
            copy.makeContiguousUTF8()
            return copy
        }
        let total = documents.reduce(0) { $0 + $1.utf8.count }
        let threads = max(1, threads)
        let target = max(1, chunkBytes ?? min(max(total / (threads * 16), 64 << 10), 1 << 20))
        let tasks = planTasks(documents, target: target)
        let job = EncodingJob(tasks: tasks, documents: documents, totalBytes: total, progress: progress)
        let workers = min(threads, tasks.count)
        if workers <= 1 {
            encodeTasks(of: job)
        } else {
            DispatchQueue.concurrentPerform(iterations: workers) { _ in self.encodeTasks(of: job) }
        }
        job.reportEnd()
        return assemble(job.takeResults(), tasks: tasks, documentCount: documents.count)
    }

    /// Takes tasks from `job` until none is left, with a word cache of its own.
    private func encodeTasks(of job: EncodingJob) {
        let encoder = WordEncoder(tables: tables)
        while let task = job.nextTask() {
            var outputs: [[Int32]] = []
            var bytes = 0
            for item in job.tasks[task] {
                var ids: [Int32] = []
                ids.reserveCapacity((item.end - item.start) / 3)
                job.documents[item.document].utf8.withContiguousStorageIfAvailable { utf8 in
                    let slice = UnsafeBufferPointer(rebasing: utf8[item.start..<item.end])
                    encodeChunk(slice, atSegmentStart: item.start == 0, encoder: encoder, into: &ids)
                }
                outputs.append(ids)
                bytes += item.end - item.start
            }
            job.finish(task, outputs: outputs, bytes: bytes)
        }
    }

    /// Groups whole small documents into tasks of about `target` bytes and cuts large ones at safe cuts.
    private func planTasks(_ documents: [String], target: Int) -> [[EncodingItem]] {
        var tasks: [[EncodingItem]] = []
        var current: [EncodingItem] = []
        var currentBytes = 0
        let canCut = options.useRegex && !addedPatterns.containsLineFeed
        for (index, document) in documents.enumerated() {
            let count = document.utf8.count
            guard count > target, canCut else {
                current.append(EncodingItem(document: index, start: 0, end: count))
                currentBytes += count
                if currentBytes >= target { tasks.append(current); current = []; currentBytes = 0 }
                continue
            }
            if !current.isEmpty { tasks.append(current); current = []; currentBytes = 0 }
            document.utf8.withContiguousStorageIfAvailable { bytes in
                var start = 0
                while start < count {
                    var end = count
                    if count - start > target { end = BPETokenizer.safeCut(in: bytes, from: start + target) ?? count }
                    tasks.append([EncodingItem(document: index, start: start, end: end)])
                    start = end
                }
            }
        }
        if !current.isEmpty { tasks.append(current) }
        return tasks
    }

    /// The first safe cut at or after `offset` (see the top of this file), or nil.
    static func safeCut(in bytes: UnsafeBufferPointer<UInt8>, from offset: Int) -> Int? {
        var position = max(offset, 2)
        while position < bytes.count {
            let printable: ClosedRange<UInt8> = 0x21...0x7E
            if bytes[position - 1] == 0x0A, printable.contains(bytes[position]),
               printable.contains(bytes[position - 2]) {
                return position
            }
            position += 1
        }
        return nil
    }

    private func assemble(_ results: [[[Int32]]], tasks: [[EncodingItem]], documentCount: Int) -> [[Int32]] {
        var documents = [[Int32]](repeating: [], count: documentCount)
        for (task, outputs) in zip(tasks, results) {
            for (item, ids) in zip(task, outputs) {
                if documents[item.document].isEmpty {
                    documents[item.document] = ids
                } else {
                    documents[item.document] += ids
                }
            }
        }
        return documents
    }

    /// Encodes one stretch of text: added tokens, then the segments between them.
    /// `atSegmentStart` is false for a stretch cut from the middle of a segment (no prefix space).
    func encodeChunk(_ bytes: UnsafeBufferPointer<UInt8>, atSegmentStart: Bool, encoder: WordEncoder,
                     into ids: inout [Int32]) {
        var segmentStart = 0, atStart = atSegmentStart
        if !addedPatterns.isEmpty {
            var position = 0
            while position < bytes.count {
                if addedPatterns.canStart[Int(bytes[position])],
                   let (length, id) = addedPatterns.match(at: position, in: bytes) {
                    let segment = UnsafeBufferPointer(rebasing: bytes[segmentStart..<position])
                    encodeSegment(segment, atStart: atStart, encoder: encoder, into: &ids)
                    ids.append(id)
                    position += length
                    segmentStart = position
                    atStart = true
                } else {
                    position += 1
                }
            }
        }
        let rest = UnsafeBufferPointer(rebasing: bytes[segmentStart...])
        encodeSegment(rest, atStart: atStart, encoder: encoder, into: &ids)
    }

    private func encodeSegment(_ bytes: UnsafeBufferPointer<UInt8>, atStart: Bool, encoder: WordEncoder,
                               into ids: inout [Int32]) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        if options.addPrefixSpace, atStart, bytes[0] != 0x20 {
            let prefixed = [0x20] + Array(bytes)
            prefixed.withUnsafeBufferPointer { encodePieces($0, encoder: encoder, into: &ids) }
            return
        }
        encodePieces(UnsafeBufferPointer(start: base, count: bytes.count), encoder: encoder, into: &ids)
    }

    @inline(__always)
    private func encodePieces(_ bytes: UnsafeBufferPointer<UInt8>, encoder: WordEncoder, into ids: inout [Int32]) {
        let base = bytes.baseAddress!
        guard options.useRegex else { encoder.encode(base, bytes.count, into: &ids); return }
        GPT2PreTokenizer.forEachPiece(in: bytes) { start, end in encoder.encode(base + start, end - start, into: &ids) }
    }
}

/// The shared state of one `encodeDocuments` call: the next task, the results, the progress.
final class EncodingJob: @unchecked Sendable {
    let tasks: [[EncodingItem]]
    let documents: [String]
    private let lock = NSLock()
    private var next = 0
    private var results: [[[Int32]]]
    private var bytesDone = 0
    private let totalBytes: Int
    private let progress: (@Sendable (EncodingProgress) -> Void)?
    private let started = DispatchTime.now().uptimeNanoseconds
    private var lastReport: UInt64 = 0

    init(tasks: [[EncodingItem]], documents: [String], totalBytes: Int,
         progress: (@Sendable (EncodingProgress) -> Void)?) {
        self.tasks = tasks
        self.documents = documents
        results = [[[Int32]]](repeating: [], count: tasks.count)
        self.totalBytes = totalBytes
        self.progress = progress
        lastReport = started
    }

    func nextTask() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard next < results.count else { return nil }
        next += 1
        return next - 1
    }

    func finish(_ task: Int, outputs: [[Int32]], bytes: Int) {
        lock.lock()
        defer { lock.unlock() }
        results[task] = outputs
        bytesDone += bytes
        let now = DispatchTime.now().uptimeNanoseconds
        if let progress, now - lastReport >= 500_000_000 {
            lastReport = now
            let seconds = Double(now - started) / 1e9
            progress(EncodingProgress(bytesDone: bytesDone, bytesTotal: totalBytes, seconds: seconds))
        }
    }

    func reportEnd() {
        lock.lock()
        defer { lock.unlock() }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        progress?(EncodingProgress(bytesDone: bytesDone, bytesTotal: totalBytes, seconds: seconds))
    }

    func takeResults() -> [[[Int32]]] {
        lock.lock()
        defer { lock.unlock() }
        return results
    }
}
