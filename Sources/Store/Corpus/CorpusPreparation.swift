import Foundation
import Tokenizers

/// The counts a prepared corpus must have; the real ones are `ShakespeareCorpus.expectations`,
/// tests pass small ones for a fake set of files.
struct CorpusExpectations: Equatable {
    var workCount: Int
    /// Counted in Unicode scalars (Python's `len(str)`); for this all-ASCII corpus the same as
    /// Characters and UTF-8 bytes.
    var characterCount: Int
    var distinctCharacterCount: Int
    /// The train split's size, when known; it must equal ⌊0.9 · characterCount⌋.
    var trainCharacterCount: Int?
}

/// The joined corpus and its split, before anything is written.
struct PreparedCorpus {
    var works: [String]
    var characterCount: Int
    var distinctCharacterCount: Int
    var train: String
    var validation: String
}

/// The text-processing half of the corpus fetch: pure functions of a directory of texts.
enum CorpusPreparation {
    /// The Gutenberg texts of the works (`*_gut.txt`; the `*_gut_f.txt` First-Folio duplicates
    /// end differently and are skipped), sorted by file name in byte order.
    static func workFiles(in textsDirectory: URL) throws -> [String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: textsDirectory.path)
        } catch {
            throw ShakespeareCorpusError.invalidText(file: textsDirectory.path, reason: FileErrorReason.describe(error))
        }
        return names.filter { $0.hasSuffix("_gut.txt") }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// Reads the works, converts `\r\n` to `\n`, joins them with one `\n`, checks every count
    /// against `expectations`, and splits off the first ⌊0.9 · N⌋ characters as train.
    /// - Throws: `ShakespeareCorpusError` naming what was found against what was expected.
    static func prepare(textsDirectory: URL, expectations: CorpusExpectations) throws -> PreparedCorpus {
        let works = try workFiles(in: textsDirectory)
        guard works.count == expectations.workCount else {
            throw ShakespeareCorpusError.unexpectedWorks(directory: textsDirectory.path, found: works,
                                                         expectedCount: expectations.workCount)
        }
        var joined: [UInt8] = []
        for (index, work) in works.enumerated() {
            let url = textsDirectory.appendingPathComponent(work)
            let bytes: Data
            do {
                bytes = try Data(contentsOf: url)
            } catch {
                throw ShakespeareCorpusError.invalidText(file: url.path, reason: FileErrorReason.describe(error))
            }
            if index > 0 { joined.append(0x0a) }
            appendNormalizingLineEnds(bytes, to: &joined)
        }
        guard let text = String(validating: joined, as: UTF8.self) else {
            throw ShakespeareCorpusError.invalidText(file: textsDirectory.path, reason: "the joined works are not valid UTF-8")
        }

        let scalars = text.unicodeScalars
        let characterCount = scalars.count
        guard characterCount == expectations.characterCount else {
            throw ShakespeareCorpusError.countMismatch(quantity: "characters", found: characterCount,
                                                       expected: expectations.characterCount)
        }
        let distinctCount = Set(scalars).count
        guard distinctCount == expectations.distinctCharacterCount else {
            throw ShakespeareCorpusError.countMismatch(quantity: "distinct characters", found: distinctCount,
                                                       expected: expectations.distinctCharacterCount)
        }
        // ⌊0.9 · N⌋ in integers: 5,057,239 → 4,551,515 train + 505,724 validation (the anchors' split).
        let trainCount = characterCount * 9 / 10
        if let expectedTrain = expectations.trainCharacterCount, trainCount != expectedTrain {
            throw ShakespeareCorpusError.countMismatch(quantity: "train characters", found: trainCount, expected: expectedTrain)
        }
        let boundary = scalars.index(scalars.startIndex, offsetBy: trainCount)
        return PreparedCorpus(works: works, characterCount: characterCount, distinctCharacterCount: distinctCount,
                              train: String(scalars[..<boundary]), validation: String(scalars[boundary...]))
    }

    /// Appends `bytes` with every CR LF pair turned into LF (a lone CR is kept).
    private static func appendNormalizingLineEnds(_ bytes: Data, to output: inout [UInt8]) {
        output.reserveCapacity(output.count + bytes.count)
        bytes.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            var index = 0
            while index < buffer.count {
                let byte = buffer[index]
                if byte == 0x0d, index + 1 < buffer.count, buffer[index + 1] == 0x0a {
                    index += 1  // drop the CR; the LF is appended next
                    continue
                }
                output.append(byte)
                index += 1
            }
        }
    }

    /// Writes `train.txt`, `val.txt` and then `manifest.json` (last, so its presence means the
    /// texts are complete) into `directory`, each atomically.
    @discardableResult
    static func write(_ corpus: PreparedCorpus, to directory: URL, source: String) throws -> ShakespeareCorpusManifest {
        let trainData = Data(corpus.train.utf8)
        let validationData = Data(corpus.validation.utf8)
        try AtomicFile.write(trainData, to: directory.appendingPathComponent(ShakespeareCorpus.trainFileName))
        try AtomicFile.write(validationData, to: directory.appendingPathComponent(ShakespeareCorpus.validationFileName))
        let manifest = ShakespeareCorpusManifest(
            source: source, works: corpus.works, characterCount: corpus.characterCount,
            distinctCharacterCount: corpus.distinctCharacterCount,
            train: .init(file: ShakespeareCorpus.trainFileName, characters: corpus.train.unicodeScalars.count,
                         bytes: trainData.count, sha256: sha256Hex(trainData)),
            validation: .init(file: ShakespeareCorpus.validationFileName, characters: corpus.validation.unicodeScalars.count,
                              bytes: validationData.count, sha256: sha256Hex(validationData)))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(try encoder.encode(manifest) + Data("\n".utf8),
                             to: directory.appendingPathComponent(ShakespeareCorpus.manifestFileName))
        return manifest
    }

    /// The manifest in `directory` if the prepared files match it (sizes and SHA-256) and it has
    /// the expected counts; otherwise why not.
    static func validatePrepared(in directory: URL, expectations: CorpusExpectations)
        -> Result<ShakespeareCorpusManifest, ShakespeareCorpusError> {
        let manifestURL = directory.appendingPathComponent(ShakespeareCorpus.manifestFileName)
        guard let manifestData = try? Data(contentsOf: manifestURL) else {
            return .failure(.notFetched(directory: directory.path, missing: ShakespeareCorpus.manifestFileName))
        }
        guard let manifest = try? JSONDecoder().decode(ShakespeareCorpusManifest.self, from: manifestData) else {
            return .failure(.corruptPreparedFiles(directory: directory.path, reason: "manifest.json is not a valid manifest"))
        }
        guard manifest.works.count == expectations.workCount, manifest.characterCount == expectations.characterCount,
              manifest.distinctCharacterCount == expectations.distinctCharacterCount,
              manifest.train.characters + manifest.validation.characters == expectations.characterCount
        else {
            return .failure(.corruptPreparedFiles(directory: directory.path, reason: "manifest counts differ from the expected corpus"))
        }
        for record in [manifest.train, manifest.validation] {
            guard let data = try? Data(contentsOf: directory.appendingPathComponent(record.file)) else {
                return .failure(.notFetched(directory: directory.path, missing: record.file))
            }
            guard data.count == record.bytes, sha256Hex(data) == record.sha256 else {
                return .failure(.corruptPreparedFiles(directory: directory.path,
                                                      reason: "\(record.file) has \(data.count) bytes or a SHA-256 other than the manifest's"))
            }
        }
        return .success(manifest)
    }
}
