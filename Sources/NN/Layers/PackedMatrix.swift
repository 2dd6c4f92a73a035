// Weights in a compressed form that inference reads directly: quantized blocks, sparse rows. A
// packed matrix replaces a Linear layer's dense weight for inference (evaluation and generation);
// it is never expanded back to float32, and it is frozen (no gradient flows into it).

/// A weight matrix stored as `rows` outputs × `columns` inputs (the transpose of `Linear.weight`,
/// which is (in, out)): each row is one output's weights along the reduction dimension, the layout
/// ggml's blocks and CSR rows share. Implementations run their own kernels (SIMD, both cores).
public protocol PackedMatrix: AnyObject, Sendable {
    /// Outputs (the Linear's `outFeatures`).
    var rows: Int { get }
    /// Inputs (the Linear's `inFeatures`).
    var columns: Int { get }
    /// A short format label as in model names: `INT8`, `Q8_0`, `Q4_0`, `Q4_1`, `CSR`.
    var format: String { get }
    /// Bytes the packed data takes in memory.
    var storedBytes: Int { get }
    /// y[r] = Σ_c W[r, c] · x[c] for one input row x (columns) into y (rows); adds to y when `accumulate`.
    func multiplyRow(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, accumulate: Bool)
    /// Y = X · Wᵀ for `count` input rows X (count × columns) into Y (count × rows), overwriting Y.
    func multiply(rows count: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>)
}
