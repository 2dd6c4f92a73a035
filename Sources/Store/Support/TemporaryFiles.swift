// The temporary files and folders this process writes before renaming them into place: their
// names, a registry of the live ones (removed when the process is interrupted), and the removal of
// those a killed process left behind. A temporary name is `<name>.tmp-<pid>-<hex>` (files hide it
// behind a leading dot), so a later run can tell whose it was and whether that process still lives.

import Dispatch
import Foundation

/// Temporary paths of this process's writers, and the clean-up of interrupted ones.
public enum TemporaryFiles {
    /// A fresh temporary name beside `destination`: `.<name>.tmp-<pid>-<hex>` (hidden) or
    /// `<name>.tmp-<pid>-<hex>`. The process id lets a later run recognise a dead writer's leftovers.
    public static func temporaryURL(for destination: URL, hidden: Bool) -> URL {
        let prefix = (hidden ? "." : "") + destination.lastPathComponent + ".tmp-"
        let suffix = "\(getpid())-\(String(UInt32.random(in: 0 ... .max), radix: 16))"
        return destination.deletingLastPathComponent().appendingPathComponent(prefix + suffix)
    }

    /// Records `url` as a live temporary path, removed if the process is interrupted. Register
    /// before creating the file, so that no moment exists where it is on disk but unknown.
    public static func register(_ url: URL) {
        registry.withLock { $0.insert(url.path) }
    }

    /// Forgets `url` (it was renamed into place or removed).
    public static func unregister(_ url: URL) {
        registry.withLock { $0.remove(url.path) }
    }

    /// Removes `url` (file or folder) and forgets it: the error path of a writer.
    public static func discard(_ url: URL) {
        registry.withLock { paths in
            try? FileManager.default.removeItem(atPath: url.path)
            paths.remove(url.path)
        }
    }

    /// Runs `move` (the renames that put `url` in place) so that an interruption never lands
    /// between the rename and forgetting the name: the clean-up would otherwise delete whatever
    /// the rename left under the temporary name. On success `url` is forgotten; on failure it
    /// stays registered for the caller to `discard`.
    public static func commit(_ url: URL, _ move: () throws -> Void) throws {
        try registry.withLock { paths in
            try move()
            paths.remove(url.path)
        }
    }

    /// The paths registered now (for tests and diagnostics).
    public static var livePaths: Set<String> { registry.withLock { $0 } }

    /// Removes every registered temporary path. Called on SIGINT/SIGTERM/SIGHUP.
    public static func removeAll() {
        registry.withLock { paths in
            for path in paths { try? FileManager.default.removeItem(atPath: path) }
            paths.removeAll()
        }
    }

    // MARK: - Leftovers of killed processes

    /// The temporary entries beside `destination` that a process no longer alive left behind
    /// (kill -9, power loss): names of ours, for this destination, whose pid is dead. Entries of
    /// this process count only if not registered (a live writer's are).
    public static func staleEntries(for destination: URL, hidden: Bool) -> [URL] {
        let directory = destination.deletingLastPathComponent()
        let prefix = (hidden ? "." : "") + destination.lastPathComponent + ".tmp-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        let live = livePaths
        return names.sorted().compactMap { name -> URL? in
            guard name.hasPrefix(prefix), let pid = ownerProcess(ofSuffix: name.dropFirst(prefix.count)) else {
                return nil
            }
            let url = directory.appendingPathComponent(name)
            let stale = pid == getpid() ? !live.contains(url.path) : !isAlive(pid)
            return stale ? url : nil
        }
    }

    /// Removes the stale temporary files beside `destination` (see `staleEntries`).
    public static func removeStale(for destination: URL, hidden: Bool) {
        for url in staleEntries(for: destination, hidden: hidden) { try? FileManager.default.removeItem(at: url) }
    }

    /// The pid in `<pid>-<hex>`, or nil when the suffix is not of that form (not our name).
    private static func ownerProcess(ofSuffix suffix: Substring) -> pid_t? {
        let parts = suffix.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let pid = pid_t(parts[0]), pid > 0,
              !parts[1].isEmpty, parts[1].allSatisfy(\.isHexDigit) else { return nil }
        return pid
    }

    /// Whether process `pid` exists (EPERM: it exists but belongs to another user).
    static func isAlive(_ pid: pid_t) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }

    // MARK: - Signals

    /// Installs, once, handlers for SIGINT, SIGTERM and SIGHUP that remove every registered
    /// temporary path and exit with 128 + the signal number (the shell's convention). Call at the
    /// start of a program; the handlers run on their own queue, so they fire while the main
    /// thread computes or writes.
    public static func installSignalCleanup() {
        signalSources.withLock { sources in
            guard sources.isEmpty else { return }
            for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
                signal(signalNumber, SIG_IGN)  // delivered to the dispatch source instead of killing at once
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: signalQueue)
                source.setEventHandler { terminate(signalNumber) }
                source.resume()
                sources.append(source)
            }
        }
    }

    /// Removes the temporary paths and exits. The registry's lock is taken and never released,
    /// so no writer registers (and so creates) a new temporary file after the clean-up.
    private static func terminate(_ signalNumber: Int32) -> Never {
        registry.lockForever { paths in
            for path in paths { try? FileManager.default.removeItem(atPath: path) }
        }
        // _exit, not exit: other threads are still running; atexit handlers (libhdf5's among
        // them) must not tear down libraries under them.
        _exit(128 + signalNumber)
    }

    private static let registry = Locked<Set<String>>([])
    private static let signalSources = Locked<[any DispatchSourceSignal]>([])
    private static let signalQueue = DispatchQueue(label: "alambique.signal-cleanup")
}

/// A value guarded by a lock (the package targets macOS 14, before `Synchronization.Mutex`).
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    /// Takes the lock for good: the process is about to end.
    func lockForever(_ body: (inout Value) -> Void) {
        lock.lock()
        body(&value)
    }
}
