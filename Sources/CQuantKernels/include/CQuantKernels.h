// Integer dot products of quantized weight rows with an activation vector quantized to int8
// blocks of 32 (ggml's Q8_0/Q8_1 idea; our own code and activation layout). Used by
// Compress.QuantizedMatrix.multiplyRow, which owns the weight layout and picks the thread count;
// cqk_rows does one range of rows on the calling thread, cqk_rows_parallel splits the rows over a
// small persistent thread pool (see below; GCD's wake-up cost as much as a 5–40 µs product).
//
// Activations: x (n floats, n a multiple of 32) becomes, per block b of 32,
//   d[b] = fp16(amax_b / 127),  q[32b + j] = nearest-even(x · 127/amax_b) ∈ [−127, 127],
//   s[b] = d[b] · Σ_j q[32b + j]   (x̂ = q·d exactly, and s = Σ x̂ over the block).
// d is rounded to fp16 precision (nearest even) and kept as a float, as ggml's q8_0/q8_1 blocks
// store it, so our products follow llama.cpp's (make interop compares them). (ggml's q8_1 also
// rounds s to fp16; we keep s = Σ x̂ exact, which the Q4_0 kernel's −8·Σ d_w·s relies on.)
// Total over floats, unlike ggml's: a d beyond fp16 (amax > 65504·127) stays float32 instead of
// becoming ∞; a block so small that 127/amax overflows (amax < 3.7e-37, where fp16 d is 0 anyway)
// gets q = 0; a block holding a NaN or ±∞ gets q = 0 and d = s = NaN, so every row's result is
// NaN, as the float product's would be.
// A row's result is then exactly Ŵ[r]·x̂ up to float32 rounding (block partial sums are exact
// int32; they are scaled by d_w·d_x and accumulated in float32).
//
// Paths: CQK_PATH_BEST uses AVX2+FMA+F16C (functions compiled with a target attribute, so no
// global flags) when the CPU has them, else the portable C code; CQK_PATH_PORTABLE forces the
// portable code (for tests). Both quantize x bit-identically.

#ifndef CQUANTKERNELS_H
#define CQUANTKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Kernel selection.
#define CQK_PATH_BEST 0
#define CQK_PATH_PORTABLE 1

/// Weight formats. Q8_0 (34-byte blocks), Q4_0 (18), Q4_1 (20): ggml's bytes. INT8: `columns`
/// int8 quants per row, value (q − zero_point)·scale with one scale and zero point per row.
#define CQK_FORMAT_Q8_0 0
#define CQK_FORMAT_Q4_0 1
#define CQK_FORMAT_Q4_1 2
#define CQK_FORMAT_INT8 3

/// 1 when the AVX2+FMA+F16C kernels are compiled in and the CPU runs them, else 0.
int cqk_has_avx2(void);

/// Quantizes `n` floats at `x` (n a multiple of 32) into `q` (n int8), `d` and `s` (n/32 floats
/// each), as described above.
void cqk_quantize_activations(const float *x, int n, int8_t *q, float *d, float *s, int path);

/// y[i] (+)= Ŵ[i]·x̂ for i in 0..<rows, the rows `row_bytes` apart from `w`; `columns` (a multiple
/// of 32) inputs; `xq`, `xd`, `xs` from cqk_quantize_activations. INT8 reads `row_scale[i]` and
/// `row_zero_point[i]` (ignored, may be NULL, otherwise). `accumulate` non-zero adds to y.
void cqk_rows(int format, const void *w, size_t row_bytes, int rows, int columns,
              const int8_t *xq, const float *xd, const float *xs,
              const float *row_scale, const float *row_zero_point,
              float *y, int accumulate, int path);

/// cqk_rows over `threads` threads: the caller and threads − 1 workers of a persistent pool
/// (pthreads, created on first use and when more are asked for), each on a range of rows starting
/// at a multiple of 8. Idle workers spin ~100 µs on an atomic, then sleep on a condition variable.
/// One call at a time owns the pool; a call that finds it busy (another thread's product) runs
/// all rows on its own thread, so concurrent callers never wait for each other. The result does
/// not depend on the split (each row is computed by the same code). Returns the threads used.
int cqk_rows_parallel(int threads, int format, const void *w, size_t row_bytes, int rows, int columns,
                      const int8_t *xq, const float *xd, const float *xs,
                      const float *row_scale, const float *row_zero_point,
                      float *y, int accumulate, int path);

#ifdef __cplusplus
}
#endif

#endif
