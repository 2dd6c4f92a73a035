// A weight matrix quantized with one of the schemes of QuantizationScheme, stored as
// rows = outputs × columns = inputs (DESIGN.md §6), read directly by the kernels in
// QuantizedKernels.swift. Storage:
// - int8: `rows × columns` Int8 quants, row-major, plus scales (and zero points) per row or one
//   for the whole matrix;
// - ggml: each row is `columns / 32` blocks of `bytesPerBlock` bytes, byte-for-byte ggml's.

import Foundation
import NN
import Store

/// A frozen, quantized weight matrix that multiplies float32 inputs without being expanded.
/// Immutable after creation (hence safely shared between threads).
public final class QuantizedMatrix: PackedMatrix, @unchecked Sendable {
    /// The quantization scheme.
    public let scheme: QuantizationScheme
    /// Which weights share a scale: `.tensor`/`.channel` for int8, `.block` for ggml schemes.
    public let granularity: QuantizationGranularity
    /// Outputs (the Linear's `outFeatures`).
    public let rows: Int
    /// Inputs (the Linear's `inFeatures`), the reduction dimension.
    public let columns: Int

    /// The quants: Int8 `[rows, columns]` for int8 schemes, the ggml blocks otherwise.
    let data: UnsafeMutableRawPointer
    /// Bytes of `data` per row.
    let rowBytes: Int
    /// int8 only: the stored scales, `[rows]` (channel) or `[1]` (tensor); empty for ggml.
    let scales: [Float]
    /// int8 asymmetric only: the stored zero points, same count as `scales`; empty otherwise.
    let zeroPoints: [Int8]
    /// int8 only: the scale and the zero point (as Float) of every row, for the kernels.
    let rowScale: UnsafeMutablePointer<Float>
    let rowZeroPoint: UnsafeMutablePointer<Float>

    /// Takes ownership of `data` (`rows × rowBytes` bytes, allocated with `allocateData`).
    init(scheme: QuantizationScheme, granularity: QuantizationGranularity, rows: Int, columns: Int,
         data: UnsafeMutableRawPointer, scales: [Float], zeroPoints: [Int8]) {
        self.scheme = scheme
        self.granularity = granularity
        self.rows = rows
        self.columns = columns
        self.data = data
        self.rowBytes = Self.rowBytes(scheme: scheme, columns: columns)
        self.scales = scales
        self.zeroPoints = zeroPoints
        rowScale = .allocate(capacity: max(rows, 1))
        rowZeroPoint = .allocate(capacity: max(rows, 1))
        for r in 0..<rows {
            let i = scales.count == 1 ? 0 : r
            rowScale[r] = scales.isEmpty ? 0 : scales[i]
            rowZeroPoint[r] = zeroPoints.isEmpty ? 0 : Float(zeroPoints[i])
        }
    }

    deinit {
        data.deallocate()
        rowScale.deallocate()
        rowZeroPoint.deallocate()
    }

    /// The format label of model names: `INT8`, `INT8-ASYM`, `Q8_0`, `Q4_0`, `Q4_1`.
    public var format: String { scheme.formatLabel }

    /// Bytes of quants, block headers, scales and zero points (what the file stores).
    public var storedBytes: Int { rows * rowBytes + scales.count * 4 + zeroPoints.count }

    /// Bytes per stored row: `columns` for int8, `columns / 32 · bytesPerBlock` for ggml.
    static func rowBytes(scheme: QuantizationScheme, columns: Int) -> Int {
        guard let perBlock = scheme.bytesPerBlock else { return columns }
        return columns / QuantizationScheme.blockSize * perBlock
    }

    /// 64-byte aligned storage for the quants (at least one byte).
    static func allocateData(byteCount: Int) -> UnsafeMutableRawPointer {
        .allocate(byteCount: max(byteCount, 1), alignment: 64)
    }

    /// Checks the shape, the scheme/granularity pair and (ggml) that columns is a multiple of 32.
    static func validate(name: String, rows: Int, columns: Int, scheme: QuantizationScheme,
                         granularity: QuantizationGranularity) throws {
        guard rows > 0, columns > 0 else {
            throw CompressionError("\(name): cannot quantize a \(rows) × \(columns) matrix (both dimensions must be positive)")
        }
        guard scheme.supports(granularity) else {
            let allowed = QuantizationGranularity.allCases.filter(scheme.supports).map(\.rawValue).joined(separator: " or ")
            throw CompressionError("\(name): scheme \(scheme.rawValue) does not support granularity \(granularity.rawValue) (use \(allowed))")
        }
        if scheme.isBlockFormat, columns % QuantizationScheme.blockSize != 0 {
            throw CompressionError("\(name): \(columns) columns (inputs) are not a multiple of \(QuantizationScheme.blockSize), which \(scheme.formatLabel) blocks need")
        }
    }

    /// Quantizes W, `[rows = out, columns = in]` row-major float32 (Linear.weight transposed).
    ///
    /// - Parameter granularity: `.channel` or `.tensor` for int8, `.block` for ggml schemes;
    ///   nil picks `scheme.defaultGranularity`.
    /// - Throws: `CompressionError` naming `name` for a non-positive shape, a granularity the
    ///   scheme does not support, columns not a multiple of 32 for a ggml scheme (with the count
    ///   and the scheme), a non-finite weight (with its position), a ggml block whose fp16 d (or
    ///   Q4_1 m) would be infinite (with the block and the value), or int8 asymmetric weights whose
    ///   range overflows float32.
    public static func quantize(_ weights: UnsafePointer<Float>, rows: Int, columns: Int,
                                scheme: QuantizationScheme, granularity: QuantizationGranularity? = nil,
                                name: String) throws -> QuantizedMatrix {
        let granularity = granularity ?? scheme.defaultGranularity
        try validate(name: name, rows: rows, columns: columns, scheme: scheme, granularity: granularity)
        if let i = ParameterValues.firstNonFiniteIndex(UnsafeBufferPointer(start: weights, count: rows * columns)) {
            throw CompressionError("\(name): weight [\(i / columns), \(i % columns)] is \(weights[i]); only finite weights can be quantized")
        }
        let rowBytes = Self.rowBytes(scheme: scheme, columns: columns)
        let data = allocateData(byteCount: rows * rowBytes)
        if scheme.isBlockFormat {
            for r in 0..<rows {
                let row = weights + r * columns
                guard let overflow = BlockCodec.encodeRow(row, columns: columns, scheme: scheme, into: data + r * rowBytes) else { continue }
                data.deallocate()
                let start = overflow.block * QuantizationScheme.blockSize
                let amax = (start ..< start + QuantizationScheme.blockSize).map { abs(row[$0]) }.max() ?? 0
                let formula = switch (scheme, overflow.field) {
                case (.q8_0, _): "d = amax/127"
                case (.q4_0, _): "d = −(signed extreme)/8"
                case (_, "m"): "m = the block's minimum"
                default: "d = (max − min)/15"
                }
                throw CompressionError("\(name): row \(r), columns \(start)..<\(start + QuantizationScheme.blockSize) (largest |w| \(amax)): "
                                       + "\(scheme.formatLabel)'s \(formula) = \(overflow.value) does not fit the block's fp16 "
                                       + "(largest 65504); weights this large need an int8 scheme (float32 scales) or float32")
            }
            return QuantizedMatrix(scheme: scheme, granularity: granularity, rows: rows, columns: columns,
                                   data: data, scales: [], zeroPoints: [])
        }
        let quants = data.bindMemory(to: Int8.self, capacity: rows * columns)
        let groups = granularity == .tensor ? [0..<(rows * columns)] : (0..<rows).map { $0 * columns ..< ($0 + 1) * columns }
        var scales: [Float] = [], zeroPoints: [Int8] = []
        for group in groups {
            let parameters = Int8Codec.parameters(weights, group, symmetric: scheme == .int8Symmetric)
            guard parameters.scale.isFinite else {
                data.deallocate()
                throw CompressionError("\(name): weights span too wide a range for an int8 scale (scale \(parameters.scale))")
            }
            Int8Codec.encode(weights, group, scale: parameters.scale, zeroPoint: parameters.zeroPoint,
                             symmetric: scheme == .int8Symmetric, into: quants)
            scales.append(parameters.scale)
            if scheme == .int8Asymmetric { zeroPoints.append(parameters.zeroPoint) }
        }
        return QuantizedMatrix(scheme: scheme, granularity: granularity, rows: rows, columns: columns,
                               data: data, scales: scales, zeroPoints: zeroPoints)
    }

    /// The decoded weights Ŵ, `[rows, columns]` row-major: (q − zp)·scale for int8, ggml's
    /// block decoding (with the fp16 d and m) otherwise. For tests and reports; kernels never
    /// build it.
    public func dequantized() -> [Float] {
        [Float](unsafeUninitializedCapacity: rows * columns) { buffer, initialized in
            let out = buffer.baseAddress!
            for r in 0..<rows { dequantizeRow(r, into: out + r * columns) }
            initialized = rows * columns
        }
    }

    /// Decodes row `r` (`columns` values) into `out`.
    func dequantizeRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        let source = UnsafeRawPointer(data + r * rowBytes)
        if scheme.isBlockFormat {
            BlockCodec.decodeRow(source, columns: columns, scheme: scheme, into: out)
        } else {
            let q = source.assumingMemoryBound(to: Int8.self)
            let scale = rowScale[r], zeroPoint = rowZeroPoint[r]
            for c in 0..<columns { out[c] = (Float(q[c]) - zeroPoint) * scale }
        }
    }

    /// The stored scales, one per block (ggml: the fp16 d decoded), row or tensor (int8).
    public func storedScales() -> [Float] {
        guard let perBlock = scheme.bytesPerBlock else { return scales }
        let blocks = rows * columns / QuantizationScheme.blockSize
        return (0..<blocks).map { BlockCodec.loadHalf(UnsafeRawPointer(data + $0 * perBlock)) }
    }
}

/// int8 scales, zero points and quants over a group of weights (a row or the whole matrix).
enum Int8Codec {
    /// Symmetric: scale = amax/127, zero point 0. Asymmetric: the range [min, max] widened to
    /// include 0 (so 0 is exact and the zero point fits in int8), scale = (max − min)/255,
    /// zero point = −128 − round(min/scale), so min ↦ −128.
    ///
    /// Subnormal scales (weights below about 10^-36) lose precision when rounded, which could
    /// leave amax/scale well above 127 (or the range above 255 steps) and clamp the largest
    /// weights; such a scale is raised by an ulp until the range fits again (one step suffices),
    /// and a scale that rounds to 0 for non-zero weights becomes the smallest subnormal (which
    /// then represents them exactly). Normal scales never need it: their ratio is 127 or 255 to
    /// within float32 rounding, so ordinary weights keep the plain formula's bits.
    static func parameters(_ x: UnsafePointer<Float>, _ group: Range<Int>, symmetric: Bool) -> (scale: Float, zeroPoint: Int8) {
        var lowest: Float = 0, highest: Float = 0
        for i in group {
            lowest = min(lowest, x[i])
            highest = max(highest, x[i])
        }
        let span = symmetric ? max(-lowest, highest) : highest - lowest, steps: Float = symmetric ? 127 : 255
        var scale = span / steps
        guard scale.isFinite else { return (scale, 0) }
        if span > 0, scale == 0 { scale = .leastNonzeroMagnitude }
        while span > 0, span / scale >= steps + 0.5 { scale = scale.nextUp }
        if symmetric { return (scale, 0) }
        guard scale > 0 else { return (scale, 0) }
        let zeroPoint = min(127, max(-128, -128 - (lowest / scale).rounded()))
        return (scale, Int8(zeroPoint))
    }

    /// q = clamp(round(x/scale) + zp, −127 (symmetric) or −128, 127), rounding half away from
    /// zero (C `roundf`); scale 0 gives q = zp.
    static func encode(_ x: UnsafePointer<Float>, _ group: Range<Int>, scale: Float, zeroPoint: Int8,
                       symmetric: Bool, into q: UnsafeMutablePointer<Int8>) {
        let lowestQuant: Float = symmetric ? -127 : -128, zero = Float(zeroPoint)
        for i in group {
            let value = scale > 0 ? (x[i] / scale).rounded() + zero : zero
            q[i] = Int8(min(127, max(lowestQuant, value)))
        }
    }
}
