import Foundation
import Models
import Testing
import Tokenizers
@testable import Store

/// Outputs that are not plain new files: symlinks are followed (the link stays), devices and
/// FIFOs are written in place (never replaced by a regular file), folders are refused.
@Suite("Outputs through symlinks, devices and FIFOs") struct OutputPathTests {
    static func isSymlink(_ url: URL) -> Bool {
        var info = stat()
        return lstat(url.path, &info) == 0 && info.st_mode & S_IFMT == S_IFLNK
    }

    static func fileType(_ path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & S_IFMT : 0
    }

    @Test("a symlink to /dev/full: the write fails with ENOSPC's sentence and the link stays a link",
          .enabled(if: FileManager.default.fileExists(atPath: "/dev/full"), "Linux's always-full device"))
    func symlinkToFullDevice() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let link = directory.file("logits.json")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "/dev/full")
        let error = #expect(throws: AtomicFileError.self) { try AtomicFile.write(Data("{}".utf8), to: link) }
        #expect(error?.description.contains("no space left on device") == true, "\(String(describing: error))")
        #expect(error?.path == link.path)
        #expect(Self.isSymlink(link))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link.path) == "/dev/full")
        #expect(Self.fileType("/dev/full") == S_IFCHR)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path) == ["logits.json"])
    }

    @Test("a symlink to /dev/null is written through, not replaced")
    func symlinkToNullDevice() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let link = directory.file("out.gguf")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "/dev/null")
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("gpt2"))
        try writer.write(to: link)
        #expect(Self.isSymlink(link))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path) == ["out.gguf"])
    }

    @Test("a link to /dev/stdout writes to the stream, after what the process printed, and stays a link")
    func standardOutput() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let link = directory.file("out.json")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "/dev/stdout")
        let path = link.path
        let result = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
            [path = path as String] in
            FileHandle.standardOutput.write(Data("printed\n".utf8))
            try AtomicFile.write(Data("{\"json\": 1}\n".utf8), to: URL(fileURLWithPath: path))
        }
        let output = String(decoding: result?.standardOutputContent ?? [], as: UTF8.self)
        #expect(output.contains("printed\n{\"json\": 1}\n"), "\(output)")
        #expect(Self.isSymlink(link))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path) == ["out.json"])
    }

    @Test("a FIFO gets the bytes in place and stays a FIFO")
    func fifo() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let fifo = directory.file("pipe.json")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        let payload = Data((0 ..< 5000).map { UInt8($0 % 251) })
        let path = fifo.path
        let reader = Task.detached { () -> Data in
            guard let handle = FileHandle(forReadingAtPath: path) else { return Data() }
            defer { try? handle.close() }
            return handle.readDataToEndOfFile()
        }
        try AtomicFile.write(payload, to: fifo)
        #expect(await reader.value == payload)
        #expect(Self.fileType(fifo.path) == S_IFIFO)
    }

    @Test("a symlink to a regular file: the file it names is replaced atomically, the link stays")
    func symlinkToRegularFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let realDirectory = directory.file("real")
        try FileManager.default.createDirectory(at: realDirectory, withIntermediateDirectories: true)
        let target = realDirectory.appendingPathComponent("report.md")
        try Data("old".utf8).write(to: target)
        #expect(chmod(target.path, 0o640) == 0)
        let link = directory.file("report.md")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "real/report.md")
        try AtomicFile.write(Data("new".utf8), to: link)
        #expect(Self.isSymlink(link))
        #expect(try Data(contentsOf: target) == Data("new".utf8))
        #expect(Self.fileType(target.path) == S_IFREG)
        #expect((try FileManager.default.attributesOfItem(atPath: target.path)[.posixPermissions] as? Int) == 0o640)
        #expect(try FileManager.default.contentsOfDirectory(atPath: realDirectory.path) == ["report.md"])
        // A dangling link creates the file it names.
        let dangling = directory.file("later.txt")
        try FileManager.default.createSymbolicLink(atPath: dangling.path, withDestinationPath: "real/later.txt")
        try AtomicFile.write(Data("x".utf8), to: dangling)
        #expect(Self.isSymlink(dangling))
        #expect(try Data(contentsOf: realDirectory.appendingPathComponent("later.txt")) == Data("x".utf8))
    }

    @Test("a folder given as a file is refused by name")
    func folderRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let error = #expect(throws: AtomicFileError.self) { try AtomicFile.write(Data("x".utf8), to: directory.url) }
        #expect(error?.description.contains("is a directory") == true)
    }

    @Test("a logit file output that is a device is refused; one that is a symlink is followed")
    func logitOutputs() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let attributes = tinyLogitsAttributes()
        let device = directory.file("null.h5")
        try FileManager.default.createSymbolicLink(atPath: device.path, withDestinationPath: "/dev/null")
        let error = #expect(throws: LogitsFileError.self) {
            _ = try LogitsWriter(url: device, attributes: attributes, tokenizerJSON: Data("{}".utf8))
        }
        #expect(error?.detail.contains("character device, not a regular file") == true)

        try FileManager.default.createDirectory(at: directory.file("store"), withIntermediateDirectories: true)
        let link = directory.file("linked.h5")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "store/real.h5")
        let writer = try LogitsWriter(url: link, attributes: attributes, tokenizerJSON: Data("{}".utf8))
        try writer.append(tokens: [1, 2, 3], values: .full(logits: (0 ..< 10).map(Float.init)))
        try writer.finish()
        #expect(Self.isSymlink(link))
        let reader = try LogitsReader(url: link)
        defer { try? reader.close() }
        #expect(reader.sequenceCount == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.file("store").path) == ["real.h5"])
    }

    @Test("a symlinked checkpoint folder: the folder it names is replaced, the link stays")
    func symlinkedCheckpointFolder() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let real = temporary.file("disk/run")
        try FileManager.default.createDirectory(at: real.deletingLastPathComponent(), withIntermediateDirectories: true)
        let link = temporary.file("run")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "disk/run")
        for seed in [1, 2] as [UInt64] {
            let model = try GPT(config: TinyCheckpoint.config, seed: seed)
            try Checkpoint.save(module: model, config: TinyCheckpoint.config, tokenizer: TinyCheckpoint.tokenizer,
                                info: TinyCheckpoint.info, to: link)
            #expect(Self.isSymlink(link))
            let loaded = try GPT(config: TinyCheckpoint.config, seed: 99)
            try Checkpoint.loadParameters(into: loaded, from: real)
            #expect(bitDifferences(try logits(loaded), try logits(model)).count == 0)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: real.deletingLastPathComponent().path) == ["run"])
        let file = temporary.file("plain")
        try Data().write(to: file)
        let error = #expect(throws: CheckpointError.self) {
            try Checkpoint.save(module: GPT(config: TinyCheckpoint.config, seed: 1), config: TinyCheckpoint.config,
                                tokenizer: TinyCheckpoint.tokenizer, info: TinyCheckpoint.info, to: file)
        }
        #expect("\(String(describing: error))".contains("a checkpoint is a directory"))
    }

    @Test("the data and folder fsync path runs for every atomic write and checkpoint save")
    func fsyncRuns() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let before = FileSync.syncCount.withLock { $0 }
        try AtomicFile.write(Data("x".utf8), to: directory.file("a.txt"))
        let afterFile = FileSync.syncCount.withLock { $0 }
        #expect(afterFile - before >= 2)  // the file, then its folder
        let model = try GPT(config: TinyCheckpoint.config, seed: 1)
        try Checkpoint.save(module: model, config: TinyCheckpoint.config, tokenizer: TinyCheckpoint.tokenizer,
                            info: TinyCheckpoint.info, to: directory.file("ckpt"))
        // config.json, model.safetensors, tokenizer.json, the temporary folder, the parent.
        #expect(FileSync.syncCount.withLock { $0 } - afterFile >= 5)
    }
}
