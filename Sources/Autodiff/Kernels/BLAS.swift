// The one place Autodiff talks to OpenBLAS. Row-major throughout; transposes are flags,
// never copies. A single row goes to sgemv (sgemm at M = 1 is 4–7× slower, FACTS.md).

import CBLAS

/// C (m×n, leading dimension ldc) = alpha · op(A) · op(B) + beta · C, row-major.
/// `a` is m×k after op, `b` is k×n after op; lda/ldb are the stored row lengths.
@inline(__always)
func sgemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
           _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
           beta: Float, _ c: UnsafeMutablePointer<Float>, ldc: Int) {
    guard m > 0, n > 0 else { return }
    if k == 0 {  // BLAS may return early without touching C; the product is beta · C.
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
        return
    }
    if m == 1 && !transposeA {
        // One row of A: y(n) = op(B)ᵀ · a. op(B) = B (k×n stored) → sgemv Trans on k×n;
        // op(B) = Bᵀ (n×k stored) → sgemv NoTrans on n×k.
        if transposeB {
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), alpha, b, Int32(ldb), a, 1, beta, c, 1)
        } else {
            cblas_sgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(n), alpha, b, Int32(ldb), a, 1, beta, c, 1)
        }
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
public func directSgemm(m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                        _ c: UnsafeMutablePointer<Float>) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1,
                a, Int32(k), b, Int32(n), 0, c, Int32(n))
}
