// `AlambiqueFuzz`: libFuzzer harnesses over every parser (`make fuzz`), and in a plain build a
// replayer of saved inputs. The fuzz build passes `-D FUZZING`, coverage instrumentation and
// libFuzzer's no-main runtime (see the Makefile); everything else is the same code.
//
//     AlambiqueFuzz <target> [libFuzzer flags] [corpus folders]   (fuzz build)
//     AlambiqueFuzz seeds <folder>                 writes seed inputs to <folder>/<target>/
//     AlambiqueFuzz replay <target> <file|folder>…  feeds each file to the parser once

import Foundation

enum FuzzCommand {
    static let usage = """
        usage: AlambiqueFuzz seeds <folder>
               AlambiqueFuzz replay <target> <file or folder>...
               AlambiqueFuzz <target> [libFuzzer flags] [corpus folders]   (built with make fuzz)
        targets: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))
        """

    /// Runs `seeds` or `replay`; nil when the arguments are neither (the fuzz build then fuzzes).
    static func runTool(_ arguments: [String]) -> Int32? {
        switch arguments.first {
        case "seeds":
            guard arguments.count == 2 else { return fail(usage) }
            do {
                try FuzzSeeds.write(to: URL(fileURLWithPath: arguments[1]))
            } catch {
                return fail("seeds: \(error)")
            }
            print("seeds written to \(arguments[1])/{\(FuzzTarget.allCases.map(\.rawValue).joined(separator: ","))}")
            return 0
        case "replay":
            guard arguments.count >= 3, let target = FuzzTarget(rawValue: arguments[1]) else { return fail(usage) }
            var count = 0
            for path in arguments.dropFirst(2) {
                for file in files(at: path) {
                    guard let data = FileManager.default.contents(atPath: file) else {
                        return fail("cannot read \(file)")
                    }
                    target.run([UInt8](data))
                    count += 1
                }
            }
            print("\(target.rawValue): \(count) inputs replayed, none trapped")
            return 0
        default:
            return nil
        }
    }

    /// `path` itself, or the regular files inside it (sorted), skipping hidden ones.
    static func files(at path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return [path]
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { path + "/" + $0 }
    }

    static func fail(_ message: String) -> Int32 {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        return 2
    }
}

#if FUZZING
/// The target being fuzzed: named by the first argument, or inherited by libFuzzer's child processes
/// (-fork, -jobs) through ALAMBIQUE_FUZZ_TARGET, since their command lines lack it.
nonisolated(unsafe) private var fuzzedTarget: FuzzTarget?

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

// SwiftPM links an executable's entry point as `<module>_main`; in the fuzz build it starts libFuzzer.
@_cdecl("AlambiqueFuzz_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var arguments = (0 ..< Int(argc)).map { String(cString: argv[$0]!) }
    if let status = FuzzCommand.runTool(Array(arguments.dropFirst())) { return status }
    if arguments.count > 1, let target = FuzzTarget(rawValue: arguments[1]) {
        setenv("ALAMBIQUE_FUZZ_TARGET", target.rawValue, 1)
        arguments.remove(at: 1)
    }
    guard let name = ProcessInfo.processInfo.environment["ALAMBIQUE_FUZZ_TARGET"],
          let target = FuzzTarget(rawValue: name) else {
        return FuzzCommand.fail(FuzzCommand.usage)
    }
    fuzzedTarget = target
    // libFuzzer keeps argv for the whole run (and rewrites it for child processes): leak a copy.
    var count = CInt(arguments.count)
    let copied = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: arguments.count + 1)
    for (index, argument) in arguments.enumerated() { copied[index] = strdup(argument) }
    copied[arguments.count] = nil
    var vector: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = copied
    return LLVMFuzzerRunDriver(&count, &vector) { data, size in
        let bytes = size == 0 ? [] : [UInt8](UnsafeBufferPointer(start: data, count: size))
        fuzzedTarget!.run(bytes)
        return 0
    }
}
#else
@main
struct AlambiqueFuzz {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let status = FuzzCommand.runTool(arguments) { exit(status) }
        exit(FuzzCommand.fail(FuzzCommand.usage))
    }
}
#endif
