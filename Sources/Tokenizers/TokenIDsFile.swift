// The token-ids file that scripts/check_tokenizer.py compares against Hugging Face:
//   line 1: {"format": "alambique.token-ids", "version": 1, "lines_per_chunk": L, "tokenizer_sha256": "…"}
//   then one JSON array of ids per chunk of the text file.
// A chunk is L consecutive lines of the text, each keeping its "\n" (L = 0: the whole text
// is one chunk). Chunks let a mismatch be reported near where it happens without changing
// what is encoded much; both sides cut the text the same way.

import Foundation

/// Writes and cuts text for the token-ids interchange file (see scripts/check_tokenizer.py).
public enum TokenIDsFile {
    /// The text cut into chunks of `linesPerChunk` lines (0 = one chunk holding everything).
    public static func chunks(of text: String, linesPerChunk: Int) -> [String] {
        guard linesPerChunk > 0 else { return [text] }
        var chunks: [String] = []
        var current = Substring.UnicodeScalarView()
        var lines = 0
        for scalar in text.unicodeScalars {
            current.append(scalar)
            if scalar == "\n" {
                lines += 1
                if lines == linesPerChunk { chunks.append(String(current)); current = .init(); lines = 0 }
            }
        }
        if !current.isEmpty { chunks.append(String(current)) }
        return chunks
    }

    /// Encodes `text` chunk by chunk with `tokenizer` and writes the file atomically.
    public static func write(text: String, tokenizer: any Tokenizer, linesPerChunk: Int, to url: URL) throws {
        try writeAtomically(try encoded(text: text, tokenizer: tokenizer, linesPerChunk: linesPerChunk), to: url)
    }

    /// The file's bytes: the header line, then one JSON array of ids per chunk of `linesPerChunk` lines.
    public static func encoded(text: String, tokenizer: any Tokenizer, linesPerChunk: Int) throws -> [UInt8] {
        var output = Array("{\"format\": \"alambique.token-ids\", \"version\": 1, \"lines_per_chunk\": \(linesPerChunk), \"tokenizer_sha256\": \"\(tokenizer.fingerprint())\"}\n".utf8)
        for chunk in chunks(of: text, linesPerChunk: linesPerChunk) {
            let ids = try tokenizer.encode(chunk)
            output.append(UInt8(ascii: "["))
            for (index, id) in ids.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                output.append(contentsOf: String(id).utf8)
            }
            output.append(contentsOf: [UInt8(ascii: "]"), 0x0A])
        }
        return output
    }
}
