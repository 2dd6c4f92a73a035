// A safetensors file memory-mapped copy-on-write, for loading weights without reading the file into
// memory first. A float32 tensor is used where it lies in the map (`floatPointer`): no copy, and a
// page is read from the page cache only when touched; a write (training) copies that page for this
// process and never reaches the file. F16 and BF16 tensors are widened straight from the map into
// the storage that keeps them, and their pages handed back to the kernel at once.

import Foundation
import Tokenizers

/// A validated safetensors header over a private (copy-on-write) memory map of the same file.
public final class MappedSafeTensors: @unchecked Sendable {
    /// The header, checked against the file's length (every tensor's byte range is inside the map).
    public let header: SafeTensorsHeader
    private let base: UnsafeRawPointer?
    private let length: Int
    private let byName: [String: SafeTensorsTensorInfo]

    /// Maps `url` after reading and validating its header.
    /// - Throws: `SafeTensorsError` naming the file (malformed header, unreadable, not a regular file).
    public init(contentsOf url: URL) throws {
        header = try SafeTensors.readHeader(contentsOf: url)
        byName = header.tensorsByName
        length = header.fileLength
        let descriptor = open(url.path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else {
            throw SafeTensorsError(.unreadableFile, source: url.path,
                                   "cannot open the file (\(FileErrorReason.describe(posixCode: errno)))")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, Int(status.st_size) == length else {
            throw SafeTensorsError(.unreadableFile, source: url.path,
                                   "the file changed size while being opened (expected \(length) bytes)")
        }
        guard length > 0 else { base = nil; return }
        let mapped = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE, descriptor, 0)
        guard let mapped, mapped != MAP_FAILED else {
            throw SafeTensorsError(.unreadableFile, source: url.path,
                                   "cannot map the file (\(FileErrorReason.describe(posixCode: errno)))")
        }
        base = UnsafeRawPointer(mapped)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), length) }
    }

    /// The file's path.
    public var source: String { header.source }

    /// The tensor called `name`, or nil.
    public subscript(name: String) -> SafeTensorsTensorInfo? { byName[name] }

    /// Where float32 tensor `name`'s elements lie in the map, when they can be used in place: stored
    /// as F32, not empty, and aligned for Float. The pointer is valid for as long as this object lives
    /// (a `Tensor.borrowing` tensor keeps it alive); writes through it stay in this process.
    public func floatPointer(_ name: String) -> UnsafeMutablePointer<Float>? {
        guard let tensor = byName[name], tensor.dataType == .float32, tensor.elementCount > 0, let base else { return nil }
        let address = UnsafeMutableRawPointer(mutating: base) + header.dataStart + tensor.dataOffsets.lowerBound
        guard Int(bitPattern: address) % MemoryLayout<Float>.alignment == 0 else { return nil }
        return address.assumingMemoryBound(to: Float.self)
    }

    /// Writes tensor `name`'s elements as float32 to `destination` (F32 copied, F16 and BF16 widened
    /// exactly), then drops the tensor's pages from this process (they stay in the page cache).
    /// - Parameter count: the destination's element count, which must be the tensor's.
    /// - Throws: `SafeTensorsError` naming the file and the tensor (missing, element type, size).
    public func copyFloats(_ name: String, into destination: UnsafeMutablePointer<Float>, count: Int) throws {
        guard let tensor = byName[name] else {
            throw SafeTensorsError(.missingTensor, source: source, tensor: name,
                                   "not in the file (it has \(header.tensors.count) tensors)")
        }
        guard tensor.elementCount == count else {
            throw SafeTensorsError(.sizeMismatch, source: source, tensor: name,
                                   "holds \(tensor.elementCount) elements, expected \(count)")
        }
        guard count > 0, let base else { return }
        let start = base + header.dataStart + tensor.dataOffsets.lowerBound
        switch tensor.dataType {
        case .float32:
            // Byte-wise: a tensor's offset in the file need not be aligned for Float.
            UnsafeMutableRawPointer(destination).copyMemory(from: start, byteCount: count * 4)
        case .float16:
            for i in 0 ..< count { destination[i] = Float(start.loadUnaligned(fromByteOffset: 2 * i, as: Float16.self)) }
        case .bfloat16:
            // bfloat16 is the upper half of a float32's bit pattern.
            for i in 0 ..< count {
                let pattern = UInt32(start.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                destination[i] = Float(bitPattern: pattern << 16)
            }
        default:
            throw SafeTensorsError(.dataTypeMismatch, source: source, tensor: name,
                                   "stored as \(tensor.dataType.rawValue), expected a floating-point type (F32, F16 or BF16)")
        }
        release(tensor)
    }

    /// Hands the whole pages inside `tensor`'s byte range back to the kernel (MAP_PRIVATE, read-only:
    /// they are clean, and a later read would fault them in again from the page cache).
    private func release(_ tensor: SafeTensorsTensorInfo) {
        guard let base else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let begin = header.dataStart + tensor.dataOffsets.lowerBound
        let end = header.dataStart + tensor.dataOffsets.upperBound
        let first = (begin + page - 1) / page * page, last = end / page * page
        guard last > first else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + first), last - first, Int32(MADV_DONTNEED))
    }
}
