import Foundation
import Testing
@testable import Store
import Tokenizers

/// The documents of a corpus by split, read as the cache reads them.
func documents(_ source: CorpusSource) throws -> (train: [String], validation: [String]) {
    var result: [CorpusSplit: [String]] = [.train: [], .validation: []]
    var open: [CorpusSplit: Bool] = [.train: false, .validation: false]
    _ = try CorpusWalk.run(source) { split, piece in
        if open[split]! { result[split]![result[split]!.count - 1] += piece.text } else { result[split]!.append(piece.text) }
        open[split] = !piece.endsDocument
        return true
    }
    return (result[.train]!, result[.validation]!)
}

func corpusError(_ body: () throws -> Void) -> CorpusError? {
    do { try body() } catch let error as CorpusError { return error } catch { return nil }
    return nil
}

@Suite("Corpus specs and readers")
struct CorpusReaderTests {
    @Test func specsAreParsedByName() {
        #expect(CorpusSpec(parsing: "shakespeare") == .shakespeare)
        #expect(CorpusSpec(parsing: "a/b.txt") == .textFile("a/b.txt"))
        #expect(CorpusSpec(parsing: "notes.MD") == .textFile("notes.MD"))
        #expect(CorpusSpec(parsing: "x.jsonl") == .jsonl("x.jsonl", compressed: false))
        #expect(CorpusSpec(parsing: "x.jsonl.gz") == .jsonl("x.jsonl.gz", compressed: true))
        #expect(CorpusSpec(parsing: "texts/") == .folder("texts/"))
        #expect(CorpusSpec(parsing: "dir/My Corpus.jsonl.gz").name == "My-Corpus")
        #expect(CorpusSpec.shakespeare.name == "shakespeare")
    }

    @Test func aTextFileIsOneDocumentCutAtALineStart() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let text = (0 ..< 20).map { "Line \($0) of the text." }.joined(separator: "\n") + "\n"
        try Data(text.utf8).write(to: directory.file("one.txt"))
        let split = try documents(CorpusSource(spec: .textFile(directory.file("one.txt").path), options: CorpusOptions()))
        #expect(split.train.count == 1 && split.validation.count == 1)
        #expect(split.train[0] + split.validation[0] == text)
        #expect(split.train[0].hasSuffix("\n") && split.validation[0].hasPrefix("Line "))
        // The first line start at or after 90% of the bytes.
        let target = text.utf8.count * 9 / 10
        #expect(split.train[0].utf8.count >= target && split.train[0].utf8.count < target + 24)
    }

    @Test func aFolderIsReadRecursivelyInPathByteOrderWithoutLeavingIt() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let root = directory.file("texts")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("b/c"), withIntermediateDirectories: true)
        try Data("outside".utf8).write(to: directory.file("outside.txt"))
        for (name, text) in [("b/c/z.txt", "bcz"), ("B.md", "B"), ("a.txt", "a"), ("b/a.md", "ba"), ("skip.json", "no"),
                             ("b.txt", "b")] {
            try Data(text.utf8).write(to: root.appendingPathComponent(name))
        }
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("link-out.txt").path,
                                                   withDestinationPath: directory.file("outside.txt").path)
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("link-in.txt").path,
                                                   withDestinationPath: root.appendingPathComponent("a.txt").path)
        let files = try CorpusFiles.list(.folder(root.path)).map { String($0.path.dropFirst(root.path.count + 1)) }
        #expect(files == ["B.md", "a.txt", "b.txt", "b/a.md", "b/c/z.txt", "link-in.txt"])
        var options = CorpusOptions()
        options.validationFraction = 0.2
        let split = try documents(CorpusSource(spec: .folder(root.path), options: options))
        // 9 bytes (the link counts its target's 1); 80% is reached after "bcz".
        #expect(split.train == ["B", "a", "b", "ba", "bcz"] && split.validation == ["a"])
    }

    @Test func theValidationCutFallsAtTheFirstDocumentBoundaryPastTheFraction() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // Ten lines of 20 bytes each (with the newline): 70% of 200 bytes is reached after line 7.
        let lines = (0 ..< 10).map { String(format: "{\"text\": \"doc %03d\"}", $0) }
        #expect(lines.allSatisfy { $0.utf8.count == 19 })
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: directory.file("c.jsonl"))
        var options = CorpusOptions()
        options.validationFraction = 0.3
        let split = try documents(CorpusSource(spec: .jsonl(directory.file("c.jsonl").path, compressed: false), options: options))
        #expect(split.train == (0 ..< 7).map { String(format: "doc %03d", $0) })
        #expect(split.validation == (7 ..< 10).map { String(format: "doc %03d", $0) })
    }

    @Test func jsonlErrorsNameTheFileAndLine() throws {
        let good = "{\"text\": \"fine\"}"
        let cases: [(String, String, String)] = [
            ("not json", "input.jsonl:2", "not a JSON object"),
            ("{\"body\": \"x\"}", "input.jsonl:2", "no \"text\" field"),
            ("{\"text\": 3}", "input.jsonl:2", "the number 3; expected a string"),
            ("[\"text\"]", "input.jsonl:2", "expected a JSON object"),
        ]
        for (line, source, reason) in cases {
            let error = corpusError { _ = try JSONLDocuments.read(Array((good + "\n" + line + "\n").utf8)) }
            #expect(error?.source == source, "\(line)")
            #expect(error?.reason.contains(reason) == true, "\(line): \(String(describing: error))")
        }
        let blank = try JSONLDocuments.read(Array((good + "\n\n  \r\n" + good + "\r\n").utf8))
        #expect(blank.documents == ["fine", "fine"])
        let other = try JSONLDocuments.read(Array("{\"body\": \"b\", \"text\": 1}".utf8), field: "body")
        #expect(other.documents == ["b"])
    }

    @Test func aLineLongerThanTheBoundIsAnError() {
        var bytes = Array("{\"text\": \"".utf8)
        bytes += [UInt8](repeating: 0x61, count: JSONLReader.maximumLineBytes + 10)
        let error = corpusError { _ = try JSONLDocuments.read(bytes) }
        #expect(error?.source == "input.jsonl:1" && error?.reason.contains("longer than 64 MiB") == true)
    }

    @Test func invalidUTF8IsAnErrorAtItsOffsetOrReplaced() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let bytes: [UInt8] = Array("hello\nwor".utf8) + [0xFF] + Array("ld\n".utf8) + [0xC3] + Array("\n".utf8)
        try Data(bytes).write(to: directory.file("bad.txt"))
        let source = CorpusSource(spec: .textFile(directory.file("bad.txt").path), options: CorpusOptions())
        let error = corpusError { _ = try documents(source) }
        #expect(error?.reason.hasPrefix("invalid UTF-8 at byte offset 9 of the file") == true, "\(String(describing: error))")
        var replacing = source
        replacing.options.onInvalid = .replace
        let summary = try CorpusWalk.run(replacing) { _, _ in true }
        #expect(summary.replaced == 2)
        let text = try documents(replacing)
        #expect((text.train + text.validation).joined() == "hello\nwor\u{FFFD}ld\n\u{FFFD}\n")

        let line: [UInt8] = Array("{\"text\": \"a\"}\n{\"text\": \"".utf8) + [0xFE] + Array("\"}\n".utf8)
        let jsonError = corpusError { _ = try JSONLDocuments.read(line) }
        #expect(jsonError?.source == "input.jsonl:2" && jsonError?.reason.contains("byte offset 24") == true,
                "\(String(describing: jsonError))")
        let replaced = try JSONLDocuments.read(line, policy: .replace)
        #expect(replaced.documents == ["a", "\u{FFFD}"] && replaced.replaced == 1)
    }

    @Test func gzipJSONLReadsLikeThePlainFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let text = (0 ..< 500).map { "{\"id\": \($0), \"text\": \"document \($0) " + String(repeating: "x", count: $0 % 37) + "\"}" }
            .joined(separator: "\n") + "\n"
        let plain = directory.file("c.jsonl"), packed = directory.file("c.jsonl.gz")
        try Data(text.utf8).write(to: plain)
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        gzip.arguments = ["gzip", "-k", "-9", plain.path]
        try gzip.run()
        gzip.waitUntilExit()
        #expect(gzip.terminationStatus == 0)
        var options = CorpusOptions()
        options.validation = .jsonl(plain.path, compressed: false)
        let fromPlain = try documents(CorpusSource(spec: .jsonl(plain.path, compressed: false), options: options))
        let fromGzip = try documents(CorpusSource(spec: .jsonl(packed.path, compressed: true), options: options))
        #expect(fromPlain.train.count == 500 && fromGzip.train == fromPlain.train)

        // Cut short: an error naming the file, not a crash or a silent end.
        let data = try Data(contentsOf: packed)
        try data.prefix(data.count / 2).write(to: directory.file("cut.jsonl.gz"))
        let error = corpusError { _ = try documents(CorpusSource(spec: .jsonl(directory.file("cut.jsonl.gz").path,
                                                                                    compressed: true), options: options)) }
        #expect(error?.source.hasSuffix("cut.jsonl.gz") == true && error?.reason.contains("ends early") == true,
                "\(String(describing: error))")
    }

    /// The in-memory gzip entry (the fuzz target's) reads what the file path reads: concatenated members in
    /// order, and errors, not crashes or silent ends, for cut or foreign data.
    @Test func gzipJSONLFromMemory() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        func gzipped(_ text: String, _ name: String) throws -> [UInt8] {
            let file = directory.file(name)
            try Data(text.utf8).write(to: file)
            let gzip = Process()
            gzip.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            gzip.arguments = ["gzip", "-9", file.path]
            try gzip.run()
            gzip.waitUntilExit()
            #expect(gzip.terminationStatus == 0)
            return [UInt8](try Data(contentsOf: directory.file(name + ".gz")))
        }
        let first = try gzipped("{\"text\": \"one\"}\n{\"text\": \"two\"}\n", "a.jsonl")
        let second = try gzipped("{\"text\": \"three\"}\n", "b.jsonl")
        #expect(try JSONLDocuments.read(gzip: first + second).documents == ["one", "two", "three"])
        let cut = corpusError { _ = try JSONLDocuments.read(gzip: Array(first.prefix(first.count - 4))) }
        #expect(cut?.source == "input.jsonl.gz" && cut?.reason.contains("ends early") == true, "\(String(describing: cut))")
        let foreign = corpusError { _ = try JSONLDocuments.read(gzip: Array("{\"text\": \"plain\"}\n".utf8)) }
        #expect(foreign?.reason.contains("not valid gzip data") == true, "\(String(describing: foreign))")
    }
}
