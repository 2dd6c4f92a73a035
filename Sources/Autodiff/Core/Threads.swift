// Both cores: one setting for our own kernels and OpenBLAS, and a parallel-for over ranges.

import CBLAS
import Dispatch
import Foundation

/// The number of threads kernels use. Set once at start-up (the CLI's `--threads`).
public enum Threads {
    nonisolated(unsafe) private static var current = defaultCount

    /// Cores available to this process (at least 1).
    public static var defaultCount: Int { max(1, System.activeProcessorCount) }

    /// The thread count in use: the setting, or less inside `limited(to:)` on this thread.
    public static var count: Int {
        let limit = Int(bitPattern: pthread_getspecific(limitKey))
        return limit == 0 ? current : min(limit, current)
    }

    /// A lower count for the kernels run by one thread (a data-parallel shard, NN/Training), which
    /// must not split its ops over the threads the other shards are using; 0 (nil) when unset.
    /// A pthread key rather than a task-local: every op reads it (generation runs hundreds of small
    /// ops per token), and a key is one thread-local load.
    private static let limitKey: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "Threads: no pthread key left")
        return key
    }()

    /// Runs `body` with kernels on this thread using at most `threads` threads.
    public static func limited<R>(to threads: Int, _ body: () throws -> R) rethrows -> R {
        let previous = pthread_getspecific(limitKey)
        pthread_setspecific(limitKey, UnsafeRawPointer(bitPattern: max(1, threads)))
        defer { pthread_setspecific(limitKey, previous) }
        return try body()
    }

    /// Sets the thread count for our kernels, matrix products included (OpenBLAS itself runs
    /// on the calling thread; see Kernels/BLAS.swift).
    public static func configure(_ n: Int) throws {
        guard n >= 1, n <= 1024 else { throw TensorError("threads: need 1…1024, got \(n)") }
        current = n
    }

    /// Stops OpenBLAS's spinning workers now: call before single-threaded work that follows
    /// large matrix products (batch-1 generation), which they would otherwise compete with.
    public static func releaseBLASWorkers() { OpenBLASWorkers.stop() }
}

enum System {
    static var activeProcessorCount: Int {
        #if canImport(Glibc)
        return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
        return 1
        #endif
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A value handed to worker threads as-is. Used for pointers into buffers whose ranges the
/// workers split between them, so no two threads touch the same element.
struct Unchecked<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Runs `body` over `0..<count` split into contiguous ranges, one per thread, when the work is
/// large enough (`minimumPerThread` items or more per thread); inline otherwise.
@inline(__always)
func parallelRanges(_ count: Int, minimumPerThread: Int, _ body: (Range<Int>) -> Void) {
    let chunks = chunkCount(count, minimumPerThread: minimumPerThread)
    parallelChunks(count, chunks: chunks) { _, range in body(range) }
}

/// How many chunks `parallelRanges` splits `count` items into (1 = inline).
@inline(__always)
func chunkCount(_ count: Int, minimumPerThread: Int) -> Int {
    max(1, min(Threads.count, count / max(minimumPerThread, 1)))
}

/// Runs `body(chunk, range)` for `chunks` contiguous ranges covering `0..<count`, in parallel.
/// The chunk index lets a kernel keep per-thread partial results (e.g. parameter gradients).
@inline(__always)
func parallelChunks(_ count: Int, chunks: Int, _ body: (_ chunk: Int, _ range: Range<Int>) -> Void) {
    if chunks <= 1 { body(0, 0..<count); return }
    OpenBLASWorkers.stop()
    withoutActuallyEscaping(body) { body in
        let work = Unchecked(body)
        DispatchQueue.concurrentPerform(iterations: chunks) { i in
            work.value(i, (count * i / chunks)..<(count * (i + 1) / chunks))
        }
    }
}

/// OpenBLAS's worker threads, used only for large matrix products (Kernels/BLAS.swift). After a
/// call they spin (sched_yield) for up to ~0.1 s and would take the cores from our own threads:
/// 15–25% of a training step went to the scheduler. So they are stopped before our threads run;
/// OpenBLAS starts them again on its next threaded call. Touched only by the thread that runs ops.
///
/// Ops may be called from several threads at once (tests run in parallel; so may a user), and the
/// thread-count setting is global, so BLAS use is guarded by a readers–writer lock: single-threaded
/// calls share it; a threaded call and the shutdown hold it alone. A shutdown therefore never runs
/// under a call, and no single-threaded call runs while the setting is raised.
enum OpenBLASWorkers {
    nonisolated(unsafe) private static var running = false
    nonisolated(unsafe) private static let lock: UnsafeMutablePointer<pthread_rwlock_t> = {
        let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
        pthread_rwlock_init(lock, nil)
        return lock
    }()

    /// Runs a single-threaded BLAS call (shared access).
    @inline(__always) static func shared<R>(_ body: () throws -> R) rethrows -> R {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    /// Runs `body` with OpenBLAS using `threads` threads (exclusive access); the workers are then
    /// left running, warm for a following large product, until `stop()`.
    static func withThreads<R>(_ threads: Int, _ body: () throws -> R) rethrows -> R {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        openblas_set_num_threads(Int32(max(1, threads)))
        defer { openblas_set_num_threads(1) }
        running = true
        return try body()
    }

    @inline(__always) static func stop() {
        guard running else { return }  // a racy peek; decided again under the lock
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        guard running else { return }
        _ = blas_thread_shutdown_()
        running = false
    }
}

/// Elements per thread below which splitting costs more than it saves (memory-bound kernels).
let elementwiseGrain = 1 << 16

/// Runs `body(chunk, range)` over `0..<count` split into contiguous ranges, one per thread when
/// each gets at least `minimumPerThread` items, inline otherwise. For kernels outside Autodiff
/// (optimizers) that must share the threads with OpenBLAS's; the split depends only on the
/// count and the thread setting, and ranges never overlap.
public func parallelForRanges(_ count: Int, minimumPerThread: Int,
                              _ body: (_ chunk: Int, _ range: Range<Int>) -> Void) {
    parallelChunks(count, chunks: chunkCount(count, minimumPerThread: minimumPerThread), body)
}
