// Sparse tensors in safetensors (DESIGN §6): a pruned tensor `<name>` is stored as two entries,
//
//   <name>.mask    U8, shape [⌈n/8⌉]: bit i of the tensor's row-major elements is bit (i mod 8) of
//                  byte i/8, least significant bit first; 1 = kept. Bits past n are 0.
//   <name>.values  F32 (or F16), shape [kept]: the kept values in row-major order.
//
// The dense shape is not in these entries; the reader takes it from the model's config (strict
// loading: the expected shape is known), and checks the mask length and the kept count against it.
// At 90% sparsity a tensor takes n/8 + 0.4·n bytes (13% of 4n); dense storage wins below ~3% sparsity.

import Foundation
import Models
import Store

/// Encoding and decoding of mask + values entries.
public enum SparseTensorStorage {
    /// The mask entry's name for tensor `name`.
    public static func maskName(_ name: String) -> String { name + ".mask" }
    /// The values entry's name for tensor `name`.
    public static func valuesName(_ name: String) -> String { name + ".values" }

    /// The two entries for `values` (row-major, any shape): zeros are dropped, everything else kept.
    /// With `halfPrecision` the values are stored F16 (rounded to nearest even).
    public static func encode(name: String, values: UnsafeBufferPointer<Float>, halfPrecision: Bool = false) -> [SafeTensorsEntry] {
        let n = values.count
        var mask = [UInt8](repeating: 0, count: (n + 7) / 8)
        var kept: [Float] = []
        kept.reserveCapacity(n / 4)
        for i in 0..<n where values[i] != 0 {
            mask[i >> 3] |= 1 << UInt8(i & 7)
            kept.append(values[i])
        }
        let valuesEntry = halfPrecision
            ? SafeTensorsEntry.float16(name: valuesName(name), shape: [kept.count], converting: kept)
            : SafeTensorsEntry(name: valuesName(name), shape: [kept.count], values: kept)
        return [SafeTensorsEntry(name: maskName(name), shape: [mask.count], values: mask), valuesEntry]
    }

    /// The two entries for `tensor`.
    public static func encode(name: String, tensor: Tensor, halfPrecision: Bool = false) -> [SafeTensorsEntry] {
        encode(name: name, values: UnsafeBufferPointer(start: tensor.data, count: tensor.count), halfPrecision: halfPrecision)
    }

    /// The entries of every tensor in `tensors`.
    public static func encode(_ tensors: [(name: String, tensor: Tensor)], halfPrecision: Bool = false) -> [SafeTensorsEntry] {
        tensors.flatMap { encode(name: $0.name, tensor: $0.tensor, halfPrecision: halfPrecision) }
    }

    /// The dense row-major values of tensor `name` with `shape`, from its mask and values entries
    /// in `file` (F32 values come back bit for bit; F16 ones widened exactly).
    /// - Throws: `CompressionError` naming the tensor when either entry is missing, the mask is not
    ///   U8 of ⌈n/8⌉ bytes, a bit past n is set, or the kept count differs from the values count.
    public static func decode(name: String, shape: [Int], file: SafeTensorsFile) throws -> [Float] {
        try decode(name: name, shape: shape, mask: file[maskName(name)], values: file[valuesName(name)])
    }

    /// As `decode(name:shape:file:)`, from entries in any order.
    public static func decode(name: String, shape: [Int], entries: [SafeTensorsEntry]) throws -> [Float] {
        try decode(name: name, shape: shape,
                   mask: entries.first { $0.name == maskName(name) }, values: entries.first { $0.name == valuesName(name) })
    }

    static func decode(name: String, shape: [Int], mask maskEntry: SafeTensorsEntry?, values valuesEntry: SafeTensorsEntry?) throws -> [Float] {
        guard let maskEntry else { throw CompressionError("\(name): sparse tensor without its mask entry \(maskName(name))") }
        guard let valuesEntry else { throw CompressionError("\(name): sparse tensor without its values entry \(valuesName(name))") }
        let n = shape.reduce(1, *)
        guard maskEntry.dataType == .uint8, maskEntry.shape == [(n + 7) / 8] else {
            throw CompressionError("\(name): mask \(maskName(name)) is \(maskEntry.dataType.rawValue) \(maskEntry.shape); shape \(shape) needs U8 [\((n + 7) / 8)]")
        }
        let mask: [UInt8]
        let kept: [Float]
        do {
            mask = try maskEntry.values(as: UInt8.self)
            kept = try valuesEntry.floats()
        } catch {
            throw CompressionError("\(name): \(error)")
        }
        var keptCount = 0
        for byte in mask { keptCount += byte.nonzeroBitCount }
        guard keptCount == kept.count else {
            throw CompressionError("\(name): the mask keeps \(keptCount) elements but \(valuesName(name)) holds \(kept.count) values")
        }
        if n % 8 != 0, let last = mask.last, last >> UInt8(n % 8) != 0 {
            throw CompressionError("\(name): mask bits set past the tensor's \(n) elements")
        }
        var dense = [Float](repeating: 0, count: n)
        var next = 0
        for i in 0..<n where mask[i >> 3] & (1 << UInt8(i & 7)) != 0 {
            dense[i] = kept[next]
            next += 1
        }
        return dense
    }
}
