// A pruned weight in compressed sparse row form (CSR) with its own batch-1 kernel.
//
// Rows are outputs, columns inputs (PackedMatrix's layout): row r holds output r's non-zero
// weights along the reduction dimension, so y[r] is one short dot product over that row's column
// indices — x (≤ 64 KB at these sizes) stays in L1 while values and indices stream from memory.
// Per non-zero: 4 bytes of value + 2 of index (UInt16 columns), against 4 bytes per weight dense:
// at 90% sparsity the kernel reads 0.1·6/4 = 15% of the dense matrix's bytes.
//
// Kernel: loads are the limit (value, index and x per non-zero; two loads per cycle), so values
// load 8 at a time, indices 4 at a time (one 8-byte load, split by shifts), and x's 8 scalars go
// into one vector for one FMA; two vector accumulators. A scalar form with 8 FMA accumulators
// measured ~0.65 ns per non-zero under load; this one ~0.25–0.45 ns. Above `parallelNonzeros`
// non-zeros the rows are split at the nnz midpoint over two threads.

import Dispatch
import Models

/// A CSR matrix, rows = outputs, columns = inputs (column indices stored as UInt16).
public final class SparseMatrix: PackedMatrix, @unchecked Sendable {
    /// Outputs.
    public let rows: Int
    /// Inputs.
    public let columns: Int
    /// Stored (non-zero) weights.
    public let nonzeroCount: Int
    /// `"CSR"`.
    public var format: String { "CSR" }
    /// Values, indices and row offsets.
    public var storedBytes: Int { nonzeroCount * 6 + (rows + 1) * 4 }
    /// Fraction of zero weights.
    public var sparsity: Double { rows * columns == 0 ? 0 : 1 - Double(nonzeroCount) / Double(rows * columns) }

    // Immutable after init; owned here and freed in deinit (pointers, not arrays, so kernels pay
    // no bounds checks or uniqueness tests).
    let rowStart: UnsafeMutablePointer<Int32>       // (rows + 1)
    let columnIndex: UnsafeMutablePointer<UInt16>   // (nnz)
    let values: UnsafeMutablePointer<Float>         // (nnz)
    /// The row where the second thread starts (half the non-zeros before it).
    let splitRow: Int

    /// Above this many non-zeros, `multiplyRow` uses two threads. Measured (`SparseKernelBenchmark`,
    /// 2-core machine shared with other jobs): at bench-medium's 90% shapes (26K–105K non-zeros,
    /// 7–30 µs) two threads gained nothing (dispatch cost, the other core busy), so only matrices
    /// far larger than those split.
    public static let parallelNonzeros = 256 * 1024

    /// Sparsity from which the CSR kernel beats the dense batch-1 kernel (`InferenceKernels.linearRow`)
    /// on bench-medium shapes; below it keep the weight dense. Measured (`SparseKernelBenchmark`,
    /// release, haswell flags, shared 2-core machine): CSR costs ~0.25–0.4 ns per non-zero, dense
    /// ~0.04–0.07 ns per weight, so they meet near 80% (0.9–1.2× there, 1.7–2.4× at 90%).
    public static let crossoverSparsity = 0.85

    /// Whether a weight of this sparsity should be packed as CSR for batch-1 inference.
    public static func shouldUseSparse(sparsity: Double) -> Bool { sparsity >= crossoverSparsity }

    /// The CSR form of a Linear weight stored (in, out): row r of the result is column r of the weight.
    /// - Throws: `CompressionError` when the weight is not 2-D or has more than 65,536 inputs.
    public init(linearWeight weight: Tensor, name: String = "weight") throws {
        guard weight.rank == 2 else { throw CompressionError("\(name): CSR needs a 2-D (in, out) weight, got shape \(weight.shape)") }
        let (inputs, outputs) = (weight.shape[0], weight.shape[1])
        guard inputs <= 1 << 16 else {
            throw CompressionError("\(name): shape \(weight.shape): CSR column indices are 16-bit, at most 65,536 inputs")
        }
        rows = outputs
        columns = inputs
        let w = weight.data
        // Count per output, prefix sums, then fill in input order so each row's indices ascend.
        var counts = [Int](repeating: 0, count: outputs + 1)
        for i in 0..<inputs { for j in 0..<outputs where w[i * outputs + j] != 0 { counts[j + 1] += 1 } }
        for j in 0..<outputs { counts[j + 1] += counts[j] }
        nonzeroCount = counts[outputs]
        guard nonzeroCount < Int(Int32.max) else { throw CompressionError("\(name): too many non-zeros for 32-bit row offsets") }
        rowStart = .allocate(capacity: outputs + 1)
        columnIndex = .allocate(capacity: max(nonzeroCount, 1))
        values = .allocate(capacity: max(nonzeroCount, 1))
        for j in 0...outputs { rowStart[j] = Int32(counts[j]) }
        var next = counts
        for i in 0..<inputs {
            for j in 0..<outputs {
                let v = w[i * outputs + j]
                if v != 0 { columnIndex[next[j]] = UInt16(i); values[next[j]] = v; next[j] += 1 }
            }
        }
        var split = 0
        while split < outputs, Int(rowStart[split]) < nonzeroCount / 2 { split += 1 }
        splitRow = split
    }

    /// The CSR form of `linear`'s dense weight.
    /// - Throws: `CompressionError` when the layer is already packed or its weight does not fit.
    public convenience init(linear: Linear, name: String = "weight") throws {
        guard linear.packed == nil else { throw CompressionError("\(name): the layer is already packed (\(linear.packed!.format))") }
        try self.init(linearWeight: linear.weight, name: name)
    }

    deinit {
        rowStart.deallocate()
        columnIndex.deallocate()
        values.deallocate()
    }

    /// The dense (in, out) weight back, zeros included (for tests and inspection).
    public func denseLinearWeight() -> [Float] {
        var w = [Float](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            for k in Int(rowStart[r])..<Int(rowStart[r + 1]) { w[Int(columnIndex[k]) * rows + r] = values[k] }
        }
        return w
    }

    /// y[r] (+)= Σ_k values[k]·x[col[k]] over row r's non-zeros, for one input row x.
    public func multiplyRow(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        multiplyRow(x, into: y, accumulate: accumulate, parallel: nonzeroCount >= Self.parallelNonzeros)
    }

    /// `multiplyRow` with the thread choice made by the caller (the benchmark measures both).
    func multiplyRow(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, accumulate: Bool, parallel: Bool) {
        if parallel, rows >= 2 {
            let (xp, yp) = (SendablePointer(UnsafeMutablePointer(mutating: x)), SendablePointer(y))
            let split = splitRow
            DispatchQueue.concurrentPerform(iterations: 2) { part in
                let range = part == 0 ? 0..<split : split..<self.rows
                self.rowKernel(xp.base, yp.base, rows: range, accumulate: accumulate)
            }
        } else {
            rowKernel(x, y, rows: 0..<rows, accumulate: accumulate)
        }
    }

    /// Y = X · Wᵀ for `count` input rows (count × columns) into Y (count × rows): four input rows
    /// share each load of a value and index; output rows are split over two threads when large.
    public func multiply(rows count: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        guard count > 1 else {
            if count == 1 { multiplyRow(x, into: y, accumulate: false) }
            return
        }
        let (xp, yp) = (SendablePointer(UnsafeMutablePointer(mutating: x)), SendablePointer(y))
        if nonzeroCount * count >= Self.parallelNonzeros, rows >= 2 {
            let split = splitRow
            DispatchQueue.concurrentPerform(iterations: 2) { part in
                let range = part == 0 ? 0..<split : split..<self.rows
                self.batchKernel(xp.base, yp.base, count: count, rows: range)
            }
        } else {
            batchKernel(x, y, count: count, rows: 0..<rows)
        }
    }

    /// Rows `range` of y = W·x: per 8 non-zeros one vector load of values, two 8-byte loads of
    /// four indices each (split by shifts, not loaded one by one), eight scalar loads of x into
    /// one vector and one FMA. Loads are the limit (two per cycle): this takes 11 per 8 non-zeros
    /// where the scalar form takes 24.
    @inline(__always)
    private func rowKernel(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows range: Range<Int>, accumulate: Bool) {
        let (v, c) = (values, columnIndex)
        @inline(__always) func gather(_ k: Int) -> SIMD8<Float> {
            let i0 = UnsafeRawPointer(c + k).loadUnaligned(as: UInt64.self)
            let i1 = UnsafeRawPointer(c + k + 4).loadUnaligned(as: UInt64.self)
            return SIMD8(x[Int(truncatingIfNeeded: i0 & 0xFFFF)], x[Int(truncatingIfNeeded: (i0 >> 16) & 0xFFFF)],
                         x[Int(truncatingIfNeeded: (i0 >> 32) & 0xFFFF)], x[Int(truncatingIfNeeded: i0 >> 48)],
                         x[Int(truncatingIfNeeded: i1 & 0xFFFF)], x[Int(truncatingIfNeeded: (i1 >> 16) & 0xFFFF)],
                         x[Int(truncatingIfNeeded: (i1 >> 32) & 0xFFFF)], x[Int(truncatingIfNeeded: i1 >> 48)])
        }
        @inline(__always) func load(_ k: Int) -> SIMD8<Float> { UnsafeRawPointer(v + k).loadUnaligned(as: SIMD8<Float>.self) }
        for r in range {
            var k = Int(rowStart[r])
            let end = Int(rowStart[r + 1])
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
            while k + 16 <= end {
                a0.addProduct(load(k), gather(k))
                a1.addProduct(load(k + 8), gather(k + 8))
                k += 16
            }
            if k + 8 <= end {
                a0.addProduct(load(k), gather(k))
                k += 8
            }
            var s = (a0 + a1).sum()
            while k < end { s.addProduct(v[k], x[Int(c[k])]); k += 1 }
            if accumulate { y[r] += s } else { y[r] = s }
        }
    }

    /// Rows `range` of Y = X·Wᵀ, four input rows at a time.
    private func batchKernel(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, rows range: Range<Int>) {
        let (v, c, n, m) = (values, columnIndex, columns, rows)
        var b = 0
        while b + 4 <= count {
            let (x0, x1, x2, x3) = (x + b * n, x + (b + 1) * n, x + (b + 2) * n, x + (b + 3) * n)
            for r in range {
                var (s0, s1, s2, s3): (Float, Float, Float, Float) = (0, 0, 0, 0)
                for k in Int(rowStart[r])..<Int(rowStart[r + 1]) {
                    let (value, i) = (v[k], Int(c[k]))
                    s0.addProduct(value, x0[i]); s1.addProduct(value, x1[i])
                    s2.addProduct(value, x2[i]); s3.addProduct(value, x3[i])
                }
                y[b * m + r] = s0; y[(b + 1) * m + r] = s1; y[(b + 2) * m + r] = s2; y[(b + 3) * m + r] = s3
            }
            b += 4
        }
        while b < count {
            rowKernel(x + b * n, y + b * m, rows: range, accumulate: false)
            b += 1
        }
    }
}

/// A pointer handed to `concurrentPerform`'s closure (FACTS.md "Threads"): each thread writes a
/// disjoint range.
struct SendablePointer: @unchecked Sendable {
    let base: UnsafeMutablePointer<Float>
    init(_ base: UnsafeMutablePointer<Float>) { self.base = base }
}

/// Packing pruned Linear layers as CSR for inference.
public enum SparsePacking {
    /// Packs every attention and MLP Linear of `model` (the prunable matrices, from the module
    /// walk) whose weight is at least `minimumSparsity` zero as a `SparseMatrix`; the others stay
    /// dense. Returns the names of the packed weights. Packed layers are frozen (inference only).
    /// - Throws: `CompressionError` when a weight cannot be packed.
    @discardableResult
    public static func pack(_ model: Module, minimumSparsity: Double = SparseMatrix.crossoverSparsity) throws -> [String] {
        var packed: [String] = []
        for (name, module) in model.namedModules() {
            guard let linear = module as? Linear, linear.packed == nil,
                  PrunableTensors.isPrunable(name: name + ".weight", rank: linear.weight.rank) else { continue }
            let zeros = (0..<linear.weight.count).reduce(0) { $0 + (linear.weight.data[$1] == 0 ? 1 : 0) }
            guard linear.weight.count > 0, Double(zeros) / Double(linear.weight.count) >= minimumSparsity else { continue }
            try linear.pack(SparseMatrix(linear: linear, name: name + ".weight"))
            packed.append(name + ".weight")
        }
        return packed
    }
}
