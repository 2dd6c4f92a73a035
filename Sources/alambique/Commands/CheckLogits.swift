import ArgumentParser
import Foundation
import Store

/// The logit-file screen of `LogitsReader.screen`: every read `inspect` makes of a logit file, done in a
/// process of its own, so that a file that crashes libhdf5 takes down that process and not the command
/// that wanted to read it.
struct CheckLogits: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-logits", abstract: "Read a logit file's metadata and a sample (used internally).",
        shouldDisplay: false)

    @Argument var file: String

    func run() throws {
        LogitsReader.screen = nil
        _ = try Inspection.logitsFile(URL(fileURLWithPath: file))
    }

    /// Runs `check-logits` on `url` in a child process of this executable; throws when the child dies on a
    /// signal or does not finish. A child that ends with an error says nothing: reading in this process then
    /// gives that error with its own message.
    static func screen(_ url: URL) throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        child.arguments = ["check-logits", url.path]
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        do { try child.run() } catch { return }  // no child process here: read in-process, unscreened
        let deadline = Date().addingTimeInterval(60)
        while child.isRunning {
            if Date() > deadline {
                kill(child.processIdentifier, SIGKILL)  // a child stuck inside libhdf5 may not reach its handlers
                child.waitUntilExit()
                throw LogitsFileError(path: url.path, "libhdf5 did not finish reading this file's metadata in 60 s "
                    + "(a corrupted file can make it loop); the file is damaged: export it again")
            }
            usleep(2000)
        }
        if child.terminationReason == .uncaughtSignal {
            throw LogitsFileError(path: url.path, "libhdf5 crashed (signal \(child.terminationStatus)) reading this file: "
                + "it is damaged or not a logit file of ours; export it again")
        }
    }
}
