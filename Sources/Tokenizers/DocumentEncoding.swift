// Encoding many documents with progress: the progress report, and the one-thread default for
// the tokenizers that need nothing faster (char and byte encode at memory speed).

import Dispatch
import Foundation

/// How far an `encodeDocuments` call has come.
public struct EncodingProgress: Sendable, Equatable, CustomStringConvertible {
    /// UTF-8 bytes of the documents encoded so far.
    public var bytesDone: Int
    /// UTF-8 bytes of all the documents.
    public var bytesTotal: Int
    /// Seconds since the call started.
    public var seconds: Double

    public init(bytesDone: Int, bytesTotal: Int, seconds: Double) {
        self.bytesDone = bytesDone
        self.bytesTotal = bytesTotal
        self.seconds = seconds
    }

    /// Throughput so far, in 10⁶ bytes per second (0 before any time has passed).
    public var megabytesPerSecond: Double { seconds > 0 ? Double(bytesDone) / 1e6 / seconds : 0 }

    /// Seconds left at the rate so far (nil before anything is done).
    public var secondsRemaining: Double? {
        guard bytesDone > 0, seconds > 0 else { return nil }
        return Double(bytesTotal - bytesDone) / (Double(bytesDone) / seconds)
    }

    /// "12.3 / 45.6 MB (27%), 30.1 MB/s, ETA 1.1 s".
    public var description: String {
        let percent = bytesTotal > 0 ? 100 * bytesDone / bytesTotal : 100
        let eta = secondsRemaining.map { String(format: ", ETA %.1f s", $0) } ?? ""
        return String(format: "%.1f / %.1f MB (%d%%), %.1f MB/s", Double(bytesDone) / 1e6, Double(bytesTotal) / 1e6,
                      percent, megabytesPerSecond) + eta
    }
}

extension Tokenizer {
    /// No end-of-text token unless the tokenizer defines one.
    public var endOfTextID: Int32? { nil }

    /// One document after another on the calling thread.
    public func encodeDocuments(_ documents: [String], threads: Int,
                                progress: (@Sendable (EncodingProgress) -> Void)?) throws -> [[Int32]] {
        let total = documents.reduce(0) { $0 + $1.utf8.count }
        let started = DispatchTime.now().uptimeNanoseconds
        var lastReport = started, done = 0
        var result: [[Int32]] = []
        result.reserveCapacity(documents.count)
        for document in documents {
            result.append(try encode(document))
            done += document.utf8.count
            let now = DispatchTime.now().uptimeNanoseconds
            if let progress, now - lastReport >= 500_000_000 {
                lastReport = now
                progress(EncodingProgress(bytesDone: done, bytesTotal: total, seconds: Double(now - started) / 1e9))
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        progress?(EncodingProgress(bytesDone: done, bytesTotal: total, seconds: seconds))
        return result
    }

    /// `encodeDocuments` on every core.
    public func encodeDocuments(_ documents: [String],
                                progress: (@Sendable (EncodingProgress) -> Void)? = nil) throws -> [[Int32]] {
        try encodeDocuments(documents, threads: ProcessInfo.processInfo.activeProcessorCount, progress: progress)
    }
}
