// A pruning mask: one byte per element of a tensor, 1 = kept, 0 = pruned, row-major in the
// tensor's own layout (for a Linear weight: (in, out), element (i, j) at i·out + j).

import Models

/// Which weights of one tensor are kept.
public struct PruningMask: Sendable, Equatable {
    /// The tensor's dotted name (`transformer.h.0.mlp.c_fc.weight`).
    public let name: String
    /// The tensor's shape.
    public let shape: [Int]
    /// One byte per element in row-major order: 1 = kept, 0 = pruned.
    public private(set) var kept: [UInt8]

    /// A mask over `shape` from explicit bytes (each 0 or 1).
    /// - Throws: `CompressionError` when the byte count is not the shape's element count or a byte is not 0/1.
    public init(name: String, shape: [Int], kept: [UInt8]) throws {
        let count = shape.reduce(1, *)
        guard kept.count == count else {
            throw CompressionError("\(name): a mask of \(kept.count) elements does not fit shape \(shape) (\(count) elements)")
        }
        guard kept.allSatisfy({ $0 <= 1 }) else { throw CompressionError("\(name): mask bytes must be 0 or 1") }
        self.name = name
        self.shape = shape
        self.kept = kept
    }

    /// A mask that keeps every element.
    public static func keepingAll(name: String, shape: [Int]) -> PruningMask {
        PruningMask(unchecked: name, shape: shape, kept: [UInt8](repeating: 1, count: shape.reduce(1, *)))
    }

    init(unchecked name: String, shape: [Int], kept: [UInt8]) {
        self.name = name
        self.shape = shape
        self.kept = kept
    }

    /// Elements covered.
    public var count: Int { kept.count }
    /// Elements kept.
    public var keptCount: Int { kept.reduce(0) { $0 + Int($1) } }
    /// Elements pruned.
    public var prunedCount: Int { count - keptCount }
    /// Fraction pruned (0 for an empty tensor).
    public var sparsity: Double { count == 0 ? 0 : Double(prunedCount) / Double(count) }

    /// Whether element `index` (row-major) is kept.
    public subscript(index: Int) -> Bool { kept[index] != 0 }

    /// Zeroes the pruned elements of `tensor`.
    /// - Throws: `CompressionError` when the tensor's shape is not the mask's.
    public func apply(to tensor: Tensor) throws {
        guard tensor.shape == shape else {
            throw CompressionError("\(name): mask of shape \(shape) applied to a tensor of shape \(tensor.shape)")
        }
        apply(to: tensor.data)
    }

    /// Zeroes the pruned elements of `count` floats at `pointer` (no shape check).
    func apply(to pointer: UnsafeMutablePointer<Float>) {
        kept.withUnsafeBufferPointer { k in
            for i in 0..<k.count where k[i] == 0 { pointer[i] = 0 }
        }
    }

    /// Marks element `index` pruned.
    mutating func prune(_ index: Int) { kept[index] = 0 }
}
