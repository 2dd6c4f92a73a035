// Documents read piece by piece from one file, in bounded memory: a text file is one document, cut into
// pieces of about `pieceBytes` at line starts; a JSONL file gives one document per line (the string in the
// text field). Bad bytes, lines and fields are errors naming the file and the byte offset or line.

import Tokenizers

/// Part of a document's text.
struct TextPiece: Equatable {
    var text: String
    /// The last piece of its document.
    var endsDocument: Bool
    /// The piece ends at the line boundary chosen for the validation cut (one-document corpora).
    var cutHere = false
}

protocol PieceReader {
    mutating func next() throws(CorpusError) -> TextPiece?
    /// How far into the file (bytes on disk) the pieces returned so far reach.
    var position: Int { get }
    /// SHA-256 of the file's bytes (complete once `next` returned nil).
    var hasher: SHA256Hasher { get }
    /// Ill-formed UTF-8 sequences read as U+FFFD.
    var replaced: Int { get }
}

/// A growable byte window over a source, consumed from the front.
struct ByteWindow {
    var bytes: [UInt8] = []
    var start = 0
    var count: Int { bytes.count - start }

    mutating func consume(_ length: Int) {
        start += length
        if start > (1 << 22), start * 2 > bytes.count {
            bytes.removeSubrange(0 ..< start)
            start = 0
        }
    }
}

/// One text file as one document.
struct TextFileReader: PieceReader {
    /// Larger pieces tokenize in fewer calls; smaller ones bound memory. A file below this is one piece,
    /// which keeps the tokens of small files (the Shakespeare splits) those of the whole text.
    static let pieceBytes = 8 << 20
    static let maximumPieceBytes = 64 << 20
    let path: String
    let policy: InvalidTextPolicy
    /// A file offset: the first piece ending at or after it ends at a line start and is marked `cutHere`.
    var cutTarget: Int?
    private var source: FileByteSource
    private var window = ByteWindow()
    private var windowOffset = 0
    private var atEnd = false
    private var ended = false
    private(set) var replaced = 0
    var position: Int { windowOffset }
    var hasher: SHA256Hasher { source.hasher }

    init(path: String, policy: InvalidTextPolicy, cutTarget: Int? = nil) throws(CorpusError) {
        self.path = path
        self.policy = policy
        self.cutTarget = cutTarget
        source = try FileByteSource(path: path)
    }

    mutating func next() throws(CorpusError) -> TextPiece? {
        guard !ended else { return nil }
        while !atEnd && window.count < Self.pieceBytes { try fill() }
        while true {
            if let target = cutTarget, target >= windowOffset,
               let end = Self.lineStart(in: window, from: max(target - windowOffset, 1)) {
                cutTarget = nil
                var piece = try take(end, endsDocument: false)
                piece.cutHere = true
                return piece
            }
            if atEnd {
                ended = true
                return try take(window.count, endsDocument: true)
            }
            if let end = Self.lastLineStart(in: window) { return try take(end, endsDocument: false) }
            if window.count >= Self.maximumPieceBytes { return try take(Self.scalarStart(in: window), endsDocument: false) }
            try fill()
        }
    }

    private mutating func fill() throws(CorpusError) {
        let block = try source.read()
        if block.isEmpty { atEnd = true } else { window.bytes.append(contentsOf: block) }
    }

    private mutating func take(_ length: Int, endsDocument: Bool) throws(CorpusError) -> TextPiece {
        let start = window.start
        let decoded = try window.bytes.withUnsafeBufferPointer { all throws(CorpusError) in
            try UTF8Text.decode(UnsafeBufferPointer(rebasing: all[start ..< start + length]), policy: policy,
                                source: path, baseOffset: windowOffset)
        }
        replaced += decoded.replaced
        window.consume(length)
        windowOffset += length
        return TextPiece(text: decoded.text, endsDocument: endsDocument)
    }

    /// A place where a piece may end without changing how GPT-2's pre-tokenizer splits the text: after a
    /// newline and before a printable ASCII character that is not a space.
    static func isLineStart(_ bytes: UnsafeBufferPointer<UInt8>, _ index: Int) -> Bool {
        bytes[index - 1] == 0x0A && bytes[index] > 0x20 && bytes[index] < 0x7F
    }

    static func lineStart(in window: ByteWindow, from offset: Int) -> Int? {
        window.bytes.withUnsafeBufferPointer { all in
            let bytes = UnsafeBufferPointer(rebasing: all[window.start...])
            var index = offset
            while index < bytes.count {
                if isLineStart(bytes, index) { return index }
                index += 1
            }
            return nil
        }
    }

    static func lastLineStart(in window: ByteWindow) -> Int? {
        window.bytes.withUnsafeBufferPointer { all in
            let bytes = UnsafeBufferPointer(rebasing: all[window.start...])
            var index = bytes.count - 1
            while index > 0 {
                if isLineStart(bytes, index) { return index }
                index -= 1
            }
            return nil
        }
    }

    /// The last UTF-8 scalar start (for a huge file without line starts).
    static func scalarStart(in window: ByteWindow) -> Int {
        var index = window.count - 1
        while index > 0, window.bytes[window.start + index] & 0xC0 == 0x80 { index -= 1 }
        return max(index, 1)
    }
}
