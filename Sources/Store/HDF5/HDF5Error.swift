import CHDF5
import Foundation

/// A failed HDF5 operation: which file and object, what was being done, and why (the library's
/// own error-stack descriptions, outermost first, or the wrapper's reason for refusing).
public struct HDF5Error: Error, CustomStringConvertible, LocalizedError {
    /// The file's path on disk.
    public let file: String
    /// The object's path inside the file (`/`, `/topk/indices`), or the attribute or member concerned.
    public let object: String
    /// What was being done, e.g. `write rows [0, 16)`.
    public let operation: String
    /// Why it failed.
    public let detail: String

    public var description: String { "HDF5 \(file) \(object): \(operation) failed: \(detail)" }

    /// The system's error number when the operating system refused a read or write (ENOSPC for a
    /// full disk, EFBIG past a file-size limit), as libhdf5's file driver reports it
    /// (`…, errno = 28, error message = 'No space left on device', …`).
    public var systemErrorCode: Int32? {
        guard let range = detail.range(of: "errno = ") else { return nil }
        return Int32(detail[range.upperBound...].prefix { $0.isNumber })
    }
    public var errorDescription: String? { description }
}

/// Silences libhdf5's printing of its error stack to stderr; the wrapper reads the stack itself and
/// puts it into `HDF5Error`. Called on entry to every operation, not once per process: a thread-safe
/// libhdf5 (Debian's is) keeps this setting per thread, and callers may run on any thread.
/// The first call also tells libhdf5 not to tear itself down at exit: every file the wrapper
/// writes is closed (or discarded) explicitly, and the teardown would otherwise walk a file that a
/// full disk left unclosable and crash the process after a clean error.
@inline(__always)
func silenceHDF5ErrorPrinting() {
    _ = hdf5ProcessSetup
    h5_silence_errors()
}

/// Runs once, before any other libhdf5 call of the process (H5dont_atexit must come first).
private let hdf5ProcessSetup: Void = { _ = H5dont_atexit() }()

/// The descriptions on libhdf5's current error stack, outermost call first, joined by "; ".
/// Must run right after the failing call: the next API call clears the stack.
func hdf5ErrorStackDescription() -> String {
    final class Collector { var descriptions: [String] = [] }
    let collector = Collector()
    let context = Unmanaged.passUnretained(collector).toOpaque()
    // H5E_DEFAULT is 0: the calling thread's default error stack.
    _ = H5Ewalk2(0, H5E_WALK_DOWNWARD, { _, error, context in
        guard let error, let context, let description = error.pointee.desc else { return 0 }
        let collector = Unmanaged<Collector>.fromOpaque(context).takeUnretainedValue()
        let text = String(cString: description)
        if !text.isEmpty, collector.descriptions.last != text { collector.descriptions.append(text) }
        return 0
    }, context)
    return withExtendedLifetime(collector) {
        collector.descriptions.isEmpty ? "no detail on the HDF5 error stack" : collector.descriptions.joined(separator: "; ")
    }
}

/// Turns a negative libhdf5 return value into an `HDF5Error`; returns non-negative values unchanged.
@discardableResult
func hdf5Check<Result: BinaryInteger>(_ result: Result, file: String, object: String,
                                      _ operation: @autoclosure () -> String) throws -> Result {
    guard result >= 0 else {
        throw HDF5Error(file: file, object: object, operation: operation(), detail: hdf5ErrorStackDescription())
    }
    return result
}
