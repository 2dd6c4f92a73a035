// The one place Autodiff talks to OpenBLAS. Row-major throughout; transposes are flags,
// never copies. A single row goes to sgemv (sgemm at M = 1 is 4–7× slower, FACTS.md).
//
// One thread pool: OpenBLAS runs single-threaded on the calling thread, and large products are
// split into row (or column) bands across our own threads. With OpenBLAS's own pool, its worker
// spins (sched_yield) for a long while after every call and takes the cores from the
// elementwise kernels that follow: 15–25% of a training step went to the scheduler.

import CBLAS

/// Pins OpenBLAS to the calling thread, once, before its first use.
let blasSingleThreaded: Void = { openblas_set_num_threads(1) }()

/// Runs `body` with OpenBLAS using its own `threads` threads (benchmarks comparing against
/// plain `cblas_sgemm`), then pins it back to one.
public func withBLASThreads<R>(_ threads: Int, _ body: () throws -> R) rethrows -> R {
    _ = blasSingleThreaded
    return try OpenBLASWorkers.withThreads(threads, body)
}

/// Products below this many multiply-adds run on one thread.
private let parallelMultiplyAdds = 1 << 21
/// Products from this many multiply-adds use OpenBLAS's threads; smaller ones are split into
/// bands over our threads. Every product of teacher-small and student-tiny training (up to
/// 2²⁹) stays on our bands: each switch to OpenBLAS's pool and back costs a thread start and a
/// join (8 per student step), and its workers spin (sched_yield) until stopped. Interleaved
/// steps under load, 2²⁷ → 2³⁰: student 92.0 → 86.7 ms, teacher 670 → 568 ms per step.
private let openBLASThreadedMultiplyAdds = 1 << 30
/// A single row against a matrix of this many elements or more goes to threaded sgemv.
private let openBLASThreadedRowProduct = 1 << 17

/// C (m×n, leading dimension ldc) = alpha · op(A) · op(B) + beta · C, row-major.
/// `a` is m×k after op, `b` is k×n after op; lda/ldb are the stored row lengths.
/// `parallel: false` keeps it on the calling thread (callers that already split work).
/// `rowBias` (n values): C = alpha · op(A) · op(B) + 1 · rowBias in every row (beta is then
/// ignored); each thread copies the bias into its own band of C just before its product.
func sgemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
           _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
           beta betaIn: Float, _ c: UnsafeMutablePointer<Float>, ldc: Int, parallel: Bool = true,
           rowBias: UnsafePointer<Float>? = nil) {
    _ = blasSingleThreaded
    let beta: Float = rowBias == nil ? betaIn : 1
    let openBLASThreaded = m > 1 ? m * n * k >= openBLASThreadedMultiplyAdds : k * n >= openBLASThreadedRowProduct
    if parallel && Threads.count > 1 && openBLASThreaded {
        if let rowBias { copyRowBias(rowBias, into: c, ldc: ldc, rows: 0..<m, columns: 0..<n) }
        // Large products: OpenBLAS's own threads share packed panels and beat our bands. Its
        // workers then spin for a while; the next kernel of ours that goes parallel stops them
        // first (parallelChunks), so back-to-back products keep them warm.
        withBLASThreads(Threads.count) {
            if m == 1 && !transposeA {
                sgemvRow(transposeB: transposeB, n: n, k: k, alpha: alpha, a, b, ldb: ldb, beta: beta, c)
            } else {
                sgemmBand(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                          a, lda: lda, b, ldb: ldb, beta: beta, c, ldc: ldc)
            }
        }
        return
    }
    let chunks = parallel ? min(Threads.count, m * n * k / parallelMultiplyAdds) : 1
    guard chunks > 1, m > 1 else {
        if let rowBias { copyRowBias(rowBias, into: c, ldc: ldc, rows: 0..<m, columns: 0..<n) }
        OpenBLASWorkers.shared {
            sgemmBand(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                      a, lda: lda, b, ldb: ldb, beta: beta, c, ldc: ldc)
        }
        return
    }
    // Split C into row bands (each thread packs all of B, streams its part of A) when it is at
    // least as tall as wide, else into column bands; bands are aligned to 16 (whole tiles).
    let splitRows = m >= n || n < 16 * chunks * 4
    let extent = splitRows ? m : n
    let (pa, pb, pc, pbias) = (Unchecked(a), Unchecked(b), Unchecked(c), Unchecked(rowBias))
    parallelChunks(extent, chunks: chunks) { chunk, _ in
        let lower = (extent * chunk / chunks) / 16 * 16
        let upper = chunk == chunks - 1 ? extent : (extent * (chunk + 1) / chunks) / 16 * 16
        guard upper > lower else { return }
        if let rowBias = pbias.value {
            copyRowBias(rowBias, into: pc.value, ldc: ldc, rows: splitRows ? lower..<upper : 0..<m,
                        columns: splitRows ? 0..<n : lower..<upper)
        }
        OpenBLASWorkers.shared { if splitRows {  // rows lower..<upper of C and of op(A)
            sgemmBand(transposeA: transposeA, transposeB: transposeB, m: upper - lower, n: n, k: k, alpha: alpha,
                      pa.value + (transposeA ? lower : lower * lda), lda: lda, pb.value, ldb: ldb,
                      beta: beta, pc.value + lower * ldc, ldc: ldc)
        } else {        // columns lower..<upper of C and of op(B)
            sgemmBand(transposeA: transposeA, transposeB: transposeB, m: m, n: upper - lower, k: k, alpha: alpha,
                      pa.value, lda: lda, pb.value + (transposeB ? lower * ldb : lower), ldb: ldb,
                      beta: beta, pc.value + lower, ldc: ldc)
        } }
    }
}

/// C[rows, columns] = bias[columns] in every row.
@inline(__always)
private func copyRowBias(_ bias: UnsafePointer<Float>, into c: UnsafeMutablePointer<Float>, ldc: Int,
                         rows: Range<Int>, columns: Range<Int>) {
    for r in rows { (c + r * ldc + columns.lowerBound).update(from: bias + columns.lowerBound, count: columns.count) }
}

/// One row of A: y(n) = op(B)ᵀ · a. op(B) = B (k×n stored) → sgemv Trans on k×n;
/// op(B) = Bᵀ (n×k stored) → sgemv NoTrans on n×k.
@inline(__always)
private func sgemvRow(transposeB: Bool, n: Int, k: Int, alpha: Float, _ a: UnsafePointer<Float>,
                      _ b: UnsafePointer<Float>, ldb: Int, beta: Float, _ c: UnsafeMutablePointer<Float>) {
    if transposeB {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), alpha, b, Int32(ldb), a, 1, beta, c, 1)
    } else {
        cblas_sgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(n), alpha, b, Int32(ldb), a, 1, beta, c, 1)
    }
}

/// One BLAS call on the calling thread.
@inline(__always)
private func sgemmBand(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                       _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
                       beta: Float, _ c: UnsafeMutablePointer<Float>, ldc: Int) {
    guard m > 0, n > 0 else { return }
    if k == 0 {  // BLAS may return early without touching C; the product is beta · C.
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
        return
    }
    if m == 1 && !transposeA && alpha == 1 && k * n <= largeMatrix && ldb == (transposeB ? k : n) {
        // One row against a matrix that fits in cache: our single-thread kernels beat sgemv
        // here (Kernels/Inference.swift measures it) and wake no BLAS threads.
        if beta == 0 { c.update(repeating: 0, count: n) } else if beta != 1 { for j in 0..<n { c[j] *= beta } }
        if transposeB {
            for j in 0..<n { c[j] += rowDot(b + j * k, a, k) }
        } else {
            transposedProductRow(a, b, c, k: k, n: n)
        }
        return
    }
    if m == 1 && !transposeA {
        sgemvRow(transposeB: transposeB, n: n, k: k, alpha: alpha, a, b, ldb: ldb, beta: beta, c)
        return
    }
    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// The same product through the textbook triple loop: the test oracle for `sgemm`.
public func naiveMatmul(_ a: [Float], _ b: [Float], m: Int, k: Int, n: Int,
                        transposeA: Bool = false, transposeB: Bool = false) -> [Float] {
    var c = [Float](repeating: 0, count: m * n)
    for i in 0..<m {
        for j in 0..<n {
            var s: Double = 0
            for p in 0..<k {
                let x = transposeA ? a[p * m + i] : a[i * k + p]
                let y = transposeB ? b[j * k + p] : b[p * n + j]
                s += Double(x) * Double(y)
            }
            c[i * n + j] = Float(s)
        }
    }
    return c
}

/// Direct BLAS access for benchmarks: C (m×n) = A (m×k) · B (k×n), row-major, straight to
/// `cblas_sgemm` (no sgemv switch, no allocation) — the baseline the matmul op is measured against.
/// Call inside `withBLASThreads(Threads.count)` for OpenBLAS's own threading.
public func directSgemm(m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                        _ c: UnsafeMutablePointer<Float>) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1,
                a, Int32(k), b, Int32(n), 0, c, Int32(n))
}
