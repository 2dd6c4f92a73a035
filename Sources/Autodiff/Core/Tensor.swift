// The Tensor: Float32, contiguous, row-major, reference-counted storage.
//
// Legend used in comments across Autodiff: B batch, T time, C channels, V vocabulary,
// H heads, D head size, M/N/K matrix dimensions.

import Foundation

/// An error a tensor operation reports instead of trapping: a shape that does not fit,
/// an index out of range, a value an op cannot take. The message names the op and the shapes.
public struct TensorError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

#if canImport(Glibc)
/// glibc's mallopt and malloc_trim (malloc.h is not in the Glibc module map).
@_silgen_name("mallopt") private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
@_silgen_name("malloc_trim") private func glibcMallocTrim(_ pad: Int) -> Int32
#endif

/// The process's heap, as the tensors use it.
public enum Memory {
    /// Gives the heap's free pages back to the kernel. The allocator keeps freed memory for reuse
    /// (see `Storage`), right for training, which allocates the same activations every step. A
    /// forward-only pass over long windows frees as much as it allocates, but its activations land
    /// at other addresses window after window, and the pages kept add up to well over what one
    /// window needs; releasing them between windows costs a few page faults per window.
    public static func releaseFreed() {
        #if canImport(Glibc)
        _ = glibcMallocTrim(0)
        #endif
    }
}

/// Owns one 64-byte-aligned Float32 buffer, or uses memory another object owns (weights mapped from
/// a file), keeping that object alive. Shared by tensors that are reshapes of each other.
final class Storage: @unchecked Sendable {
    /// glibc serves large blocks with mmap and gives freed memory back to the kernel, so every
    /// training step (or benchmark call) that allocates its activations again pays page faults
    /// and the kernel's zeroing — 77K faults in one `bench core`. Blocks up to 32 MB come from
    /// the heap instead, and freed heap memory is kept for reuse.
    private static let tuneAllocator: Void = {
        #if canImport(Glibc)
        _ = glibcMallopt(-3, 32 << 20)   // M_MMAP_THRESHOLD (its maximum on 64-bit)
        _ = glibcMallopt(-1, 1 << 30)    // M_TRIM_THRESHOLD
        #endif
    }()

    let base: UnsafeMutablePointer<Float>
    let count: Int
    /// The owner of borrowed memory; nil when this storage allocated `base` and frees it.
    private let owner: AnyObject?

    /// Memory of `count` floats that `owner` keeps valid for as long as it lives.
    init(borrowing base: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject) {
        self.base = base
        self.count = count
        self.owner = owner
    }

    init(count: Int, zeroed: Bool) {
        _ = Storage.tuneAllocator
        self.count = count
        self.owner = nil
        var raw: UnsafeMutableRawPointer?
        // Allocate at least one element so `base` is always valid (0-element tensors exist).
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        guard posix_memalign(&raw, 64, bytes) == 0, let raw else {
            fatalError("Autodiff: out of memory allocating \(bytes) bytes")
        }
        base = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        if zeroed { base.initialize(repeating: 0, count: max(count, 1)) }
    }

    deinit { if owner == nil { free(base) } }
}

/// A Float32 tensor: contiguous, row-major, with an optional gradient and the record of the
/// op that made it (when gradients are being recorded).
///
/// Tensors are reference types so that optimizers can update parameters in place and the
/// tape can hold on to the values an op's backward needs. `reshaped(_:)` shares storage.
public final class Tensor: @unchecked Sendable {
    /// The shape, outermost dimension first.
    public let shape: [Int]
    /// Number of elements (product of `shape`; 1 for a scalar of shape `[]`).
    public let count: Int
    private(set) var storage: Storage

    /// The accumulated gradient after `backward()`; nil until something flows into it.
    public var grad: Tensor?
    /// Whether ops on this tensor are recorded for differentiation. Parameters set it.
    public var requiresGrad: Bool
    /// The op that produced this tensor, when it was recorded; nil for leaves.
    var node: Node?

    /// Pointer to the first element. Valid for as long as the tensor (or a reshape of it) lives.
    @inlinable public var data: UnsafeMutablePointer<Float> { _data }
    @usableFromInline internal(set) var _data: UnsafeMutablePointer<Float>

    /// Rank (number of dimensions).
    public var rank: Int { shape.count }

    init(shape: [Int], storage: Storage, requiresGrad: Bool = false) {
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.storage = storage
        self._data = storage.base
        self.requiresGrad = requiresGrad
    }

    /// An uninitialized tensor (for op outputs that are fully written). Shape must be valid.
    static func empty(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, storage: Storage(count: shape.reduce(1, *), zeroed: false))
    }

    /// A tensor whose elements are not set, for values about to be written in full (weights a
    /// checkpoint load copies in): its pages are not touched, so it costs no memory until written.
    public static func uninitialized(_ shape: [Int], requiresGrad: Bool = false) throws -> Tensor {
        try checkShape(shape, op: "uninitialized")
        return Tensor(shape: shape, storage: Storage(count: shape.reduce(1, *), zeroed: false), requiresGrad: requiresGrad)
    }

    /// A tensor over `count(shape)` floats at `base` that `owner` keeps valid (e.g. weights in a
    /// file mapped copy-on-write): nothing is copied, and writes stay in this process.
    public static func borrowing(_ base: UnsafeMutablePointer<Float>, shape: [Int], owner: AnyObject) throws -> Tensor {
        try checkShape(shape, op: "borrowing")
        return Tensor(shape: shape, storage: Storage(borrowing: base, count: shape.reduce(1, *), owner: owner))
    }

    /// Points this tensor at `other`'s memory, keeping its identity — so the optimizer's and a tied
    /// name's references stay valid — while its old storage is released. For a module built with
    /// uninitialised parameters whose values are then used where they lie (a mapped checkpoint).
    /// - Throws: `TensorError` when the shapes differ.
    public func useStorage(of other: Tensor) throws {
        guard other.shape == shape else {
            throw TensorError("useStorage: a tensor of shape \(shape) cannot use the storage of one of shape \(other.shape)")
        }
        storage = other.storage
        _data = other._data
    }

    /// A tensor of zeros.
    public static func zeros(_ shape: [Int], requiresGrad: Bool = false) throws -> Tensor {
        try checkShape(shape, op: "zeros")
        return Tensor(shape: shape, storage: Storage(count: shape.reduce(1, *), zeroed: true),
                      requiresGrad: requiresGrad)
    }

    /// A tensor with every element equal to `value`.
    public static func full(_ shape: [Int], _ value: Float, requiresGrad: Bool = false) throws -> Tensor {
        let t = try zeros(shape, requiresGrad: requiresGrad)
        t.data.update(repeating: value, count: t.count)
        return t
    }

    /// A tensor with the given values in row-major order.
    public convenience init(shape: [Int], values: [Float], requiresGrad: Bool = false) throws {
        try Tensor.checkShape(shape, op: "Tensor(shape:values:)")
        let n = shape.reduce(1, *)
        guard values.count == n else {
            throw TensorError("Tensor(shape:values:): shape \(shape) holds \(n) elements but \(values.count) values were given")
        }
        self.init(shape: shape, storage: Storage(count: n, zeroed: false), requiresGrad: requiresGrad)
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: n) }
    }

    /// A scalar (shape `[]`).
    public convenience init(scalar: Float, requiresGrad: Bool = false) {
        self.init(shape: [], storage: Storage(count: 1, zeroed: false), requiresGrad: requiresGrad)
        data[0] = scalar
    }

    /// The values in row-major order.
    public func toArray() -> [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// The single value of a one-element tensor.
    public func item() throws -> Float {
        guard count == 1 else { throw TensorError("item(): tensor of shape \(shape) has \(count) elements, expected 1") }
        return data[0]
    }

    /// A copy that shares nothing with this tensor and records nothing.
    public func copy() -> Tensor {
        let t = Tensor.empty(shape)
        t.data.update(from: data, count: count)
        return t
    }

    /// This tensor's values as a new leaf: same storage, no gradient history.
    public func detached() -> Tensor { Tensor(shape: shape, storage: storage) }

    /// A new leaf over the same storage that records like this one (same `requiresGrad`) but
    /// collects its own gradient: what a data-parallel replica trains through (NN/Training), so
    /// shards running at once never write the same gradient. Writes through either are seen by both.
    public func sharedLeaf() -> Tensor { Tensor(shape: shape, storage: storage, requiresGrad: requiresGrad) }

    /// Whether `other` is a view of the same storage (a reshape, a detached copy, a shared leaf).
    public func sharesStorage(with other: Tensor) -> Bool { storage === other.storage }

    /// Sets the gradient to nil (the next backward allocates and accumulates afresh).
    public func zeroGrad() { grad = nil }

    static func checkShape(_ shape: [Int], op: String) throws {
        if let d = shape.first(where: { $0 < 0 }) {
            throw TensorError("\(op): negative dimension \(d) in shape \(shape)")
        }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let preview = UnsafeBufferPointer(start: data, count: min(count, 8)).map { String(format: "%.4g", $0) }
        return "Tensor(\(shape), [\(preview.joined(separator: ", "))\(count > 8 ? ", …" : "")])"
    }
}

/// Integer tensor for token ids and targets: row-major `Int32` values with a shape.
public struct IndexTensor: Sendable, Equatable {
    public let shape: [Int]
    public let values: [Int32]

    public init(shape: [Int], values: [Int32]) throws {
        try Tensor.checkShape(shape, op: "IndexTensor")
        guard shape.reduce(1, *) == values.count else {
            throw TensorError("IndexTensor: shape \(shape) holds \(shape.reduce(1, *)) elements but \(values.count) values were given")
        }
        self.shape = shape
        self.values = values
    }

    public var count: Int { values.count }

    /// Rows `range` of the first axis (the windows of a batch); the whole tensor when it covers all.
    public func rows(_ range: Range<Int>) throws -> IndexTensor {
        guard let first = shape.first, range.lowerBound >= 0, range.upperBound <= first else {
            throw TensorError("IndexTensor.rows: rows \(range) are outside shape \(shape)")
        }
        if range == 0 ..< first { return self }
        let width = count / max(first, 1)
        return try IndexTensor(shape: [range.count] + shape.dropFirst(),
                               values: Array(values[(range.lowerBound * width) ..< (range.upperBound * width)]))
    }
}
