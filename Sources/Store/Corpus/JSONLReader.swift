// One document per line of a JSONL file (plain or gzip): each non-blank line is a JSON object whose text
// field is a string. Lines are bounded, so a file without newlines cannot take all memory.

import Tokenizers

struct JSONLReader: PieceReader {
    static let maximumLineBytes = 64 << 20
    let path: String
    let field: String
    let policy: InvalidTextPolicy
    let compressed: Bool
    private var source: any ByteSource
    private var window = ByteWindow()
    /// Bytes of the (decompressed) stream before the window.
    private var windowOffset = 0
    private var scanned = 0
    private var atEnd = false
    private(set) var line = 0
    private(set) var replaced = 0
    /// For gzip, the line's place in the decompressed bytes read so far, scaled to the compressed bytes they
    /// came from: inflate reads ahead in large blocks, so its own input position would jump.
    var position: Int {
        guard compressed else { return windowOffset }
        let produced = windowOffset + window.count
        return produced == 0 ? 0 : Int(Double(windowOffset) * Double(source.fileOffset) / Double(produced))
    }
    var hasher: SHA256Hasher { source.hasher }

    init(path: String, compressed: Bool, field: String, policy: InvalidTextPolicy) throws(CorpusError) {
        self.path = path
        self.field = field
        self.policy = policy
        self.compressed = compressed
        source = compressed ? try GzipByteSource(FileByteSource(path: path), path: path) : try FileByteSource(path: path)
    }

    /// Reads from any byte source (the fuzz target's in-memory bytes); `compressed` says it inflates.
    init(source: any ByteSource, compressed: Bool = false, path: String, field: String, policy: InvalidTextPolicy) {
        self.path = path
        self.field = field
        self.policy = policy
        self.compressed = compressed
        self.source = source
    }

    mutating func next() throws(CorpusError) -> TextPiece? {
        while let range = try nextLine() {
            line += 1
            let lineOffset = windowOffset
            // The newline is consumed with its line; the last line may have none.
            let consumed = range.upperBound - window.start + (range.upperBound < window.bytes.count ? 1 : 0)
            var end = range.upperBound
            if end > range.lowerBound, window.bytes[end - 1] == 0x0D { end -= 1 }
            let blank = window.bytes[range.lowerBound ..< end].allSatisfy { $0 == 0x20 || $0 == 0x09 }
            let piece = blank ? nil : try document(range.lowerBound ..< end, lineOffset: lineOffset)
            window.consume(consumed)
            windowOffset += consumed
            scanned = 0
            if let piece { return piece }
        }
        return nil
    }

    /// The next line's range in `window.bytes` (without its newline), or nil at the end.
    private mutating func nextLine() throws(CorpusError) -> Range<Int>? {
        while true {
            let searchFrom = window.start + scanned
            if let newline = window.bytes[searchFrom...].firstIndex(of: 0x0A) { return window.start ..< newline }
            scanned = window.count
            if window.count > Self.maximumLineBytes {
                throw CorpusError(source: "\(path):\(line + 1)", "the line is longer than \(Self.maximumLineBytes >> 20) MiB "
                    + "(one JSON object per line is expected)")
            }
            if atEnd { return window.count > 0 ? window.start ..< window.bytes.count : nil }
            let block = try source.read()
            if block.isEmpty { atEnd = true } else { window.bytes.append(contentsOf: block) }
        }
    }

    private mutating func document(_ range: Range<Int>, lineOffset: Int) throws(CorpusError) -> TextPiece {
        let here = "\(path):\(line)"
        var bytes = Array(window.bytes[range])
        let decoded = try bytes.withUnsafeBufferPointer { buffer throws(CorpusError) in
            try UTF8Text.decode(buffer, policy: policy, source: path, baseOffset: lineOffset, line: line)
        }
        if decoded.replaced > 0 {
            replaced += decoded.replaced
            bytes = Array(decoded.text.utf8)
        }
        let value: JSONValue
        do { value = try parseJSON(bytes, maximumDepth: 64) } catch {
            throw CorpusError(source: here, "not a JSON object (\(error.reason) at byte \(error.offset) of the line)")
        }
        guard case .object = value else {
            throw CorpusError(source: here, "expected a JSON object with a \"\(field)\" string, found \(value.typeDescription)")
        }
        guard let text = value[field] else {
            throw CorpusError(source: here, "the object has no \"\(field)\" field (choose another with --text-field)")
        }
        guard case .string(let string) = text else {
            throw CorpusError(source: here, "\"\(field)\" is \(text.typeDescription); expected a string")
        }
        return TextPiece(text: string, endsDocument: true)
    }
}

/// Bytes held in memory, handed out in small blocks so that lines span blocks as they do in a file.
struct MemoryByteSource: ByteSource {
    let bytes: [UInt8]
    let blockSize: Int
    private(set) var fileOffset = 0
    private(set) var hasher = SHA256Hasher()

    init(_ bytes: [UInt8], blockSize: Int = 4096) {
        self.bytes = bytes
        self.blockSize = max(blockSize, 1)
    }

    mutating func read() throws(CorpusError) -> [UInt8] {
        let end = min(fileOffset + blockSize, bytes.count)
        let block = Array(bytes[fileOffset ..< end])
        fileOffset = end
        hasher.update(block)
        return block
    }
}

public enum JSONLDocuments {
    /// The documents of JSONL `bytes` (the fuzz target's and the tests' entry): the reader a `.jsonl` corpus
    /// goes through, over memory instead of a file.
    /// - Throws: `CorpusError` naming `source:line` for a line that is not a JSON object with a string `field`,
    ///   invalid UTF-8 (under `.error`), or a line longer than the bound.
    public static func read(_ bytes: [UInt8], source: String = "input.jsonl", field: String = CorpusOptions.defaultTextField,
                            policy: InvalidTextPolicy = .error) throws -> (documents: [String], replaced: Int) {
        try read(JSONLReader(source: MemoryByteSource(bytes), path: source, field: field, policy: policy))
    }

    /// The same for gzip `bytes`, through the inflating source a `.jsonl.gz` corpus goes through.
    /// - Throws: also `CorpusError` for data that is not gzip or ends inside a member.
    public static func read(gzip bytes: [UInt8], source: String = "input.jsonl.gz",
                            field: String = CorpusOptions.defaultTextField,
                            policy: InvalidTextPolicy = .error) throws -> (documents: [String], replaced: Int) {
        let inflating = try GzipByteSource(MemoryByteSource(bytes), path: source, blockSize: 1 << 16)
        return try read(JSONLReader(source: inflating, compressed: true, path: source, field: field, policy: policy))
    }

    private static func read(_ reader: JSONLReader) throws -> (documents: [String], replaced: Int) {
        var reader = reader
        var documents: [String] = []
        while let piece = try reader.next() { documents.append(piece.text) }
        return (documents, reader.replaced)
    }
}
