// See include/CQuantKernels.h. Algorithm after ggml's ggml_vec_dot_q{8_0,4_0,4_1}_q8_{0,1}
// (AVX2: `pmaddubsw` multiplies unsigned by signed bytes into int16 pairs, `pmaddwd` by ones
// widens them to int32; signed·signed uses the sign trick |w|·(x·sign w)); our own code.

#include "CQuantKernels.h"

#include <float.h>
#include <math.h>
#include <string.h>

// MARK: - Portable code

/// IEEE fp16 (little-endian bits) → float, exact, without F16C.
static inline float cqk_half_to_float(const uint8_t *p) {
    const uint32_t h = (uint32_t)p[0] | ((uint32_t)p[1] << 8);
    const uint32_t sign = (h & 0x8000u) << 16, exponent = (h >> 10) & 0x1Fu, mantissa = h & 0x3FFu;
    uint32_t bits;
    if (exponent == 0x1F) {
        bits = sign | 0x7F800000u | (mantissa << 13);            // inf, NaN
    } else if (exponent != 0) {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);  // normal: rebias 15 → 127
    } else if (mantissa == 0) {
        bits = sign;                                              // ±0
    } else {                                                      // subnormal: m · 2^−24, exact
        float value = (float)mantissa * (1.0f / 16777216.0f);
        memcpy(&bits, &value, 4);
        bits |= sign;
    }
    float result;
    memcpy(&result, &bits, 4);
    return result;
}

/// `f` rounded to IEEE fp16 (nearest, ties to even) and widened back, without F16C: the activation
/// scales are kept at fp16 precision, as ggml's q8_0/q8_1 blocks store them.
static inline float cqk_round_half(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    const uint32_t sign = (x >> 16) & 0x8000u, magnitude = x & 0x7FFFFFFFu;
    uint16_t h;
    if (magnitude >= 0x7F800000u) {
        h = (uint16_t)(sign | 0x7C00u | (magnitude > 0x7F800000u ? 0x200u : 0));  // inf, NaN
    } else if (magnitude >= 0x477FF000u) {
        h = (uint16_t)(sign | 0x7C00u);                   // ≥ 65520 rounds to infinity
    } else if (magnitude < 0x38800000u) {                 // below 2^−14: subnormal (or zero)
        float value;
        memcpy(&value, &magnitude, 4);
        h = (uint16_t)(sign | (uint32_t)nearbyintf(value * 16777216.0f));  // units of 2^−24
    } else {
        uint32_t bits = (((magnitude >> 23) - 112) << 10) | ((magnitude & 0x7FFFFFu) >> 13);
        const uint32_t rest = magnitude & 0x1FFFu;
        if (rest > 0x1000u || (rest == 0x1000u && (bits & 1u))) bits += 1;  // a carry bumps the exponent
        h = (uint16_t)(sign | bits);
    }
    const uint8_t bytes[2] = {(uint8_t)(h & 0xFF), (uint8_t)(h >> 8)};
    return cqk_half_to_float(bytes);
}

/// 127/amax, or 0 when amax is 0 or so small (below 127/FLT_MAX ≈ 3.7e-37) that it overflows:
/// such a block's fp16 d is 0 anyway (everything below 2^-25 is), and a finite inverse keeps every
/// x·inverse within ±127 (so the float → int conversions below are always defined).
static inline float cqk_inverse(float amax) {
    const float inverse = amax != 0.f ? 127.f / amax : 0.f;
    return inverse <= FLT_MAX ? inverse : 0.f;
}

/// The block's d: amax/127 at fp16 precision (as ggml stores it), or at float32 precision when fp16
/// would overflow (amax above ~8.3e6, where ggml's block would hold ∞ and every product be ∞/NaN).
static inline float cqk_block_scale(float scale, float rounded) {
    return rounded <= 65504.f ? rounded : scale;
}

static void quantize_portable(const float *x, int n, int8_t *q, float *d, float *s) {
    for (int b = 0; b < n / 32; b++) {
        const float *xb = x + 32 * b;
        float amax = 0;
        int finite = 1;
        for (int j = 0; j < 32; j++) {
            const float a = fabsf(xb[j]);
            amax = a > amax ? a : amax;
            finite &= a <= FLT_MAX;  // false for ±∞ and NaN
        }
        if (!finite) {  // NaN or ∞ in x: d = s = NaN, so every row's result is NaN (as the float product)
            memset(q + 32 * b, 0, 32);
            d[b] = s[b] = NAN;
            continue;
        }
        const float scale = amax / 127.f, inverse = cqk_inverse(amax);
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            const int v = (int)nearbyintf(xb[j] * inverse);  // nearest-even, as vroundps
            q[32 * b + j] = (int8_t)v;
            sum += v;
        }
        d[b] = cqk_block_scale(scale, cqk_round_half(scale));
        s[b] = d[b] * (float)sum;
    }
}

static float row_q8_0_portable(const uint8_t *w, int blocks, const int8_t *xq, const float *xd) {
    float acc = 0;
    for (int b = 0; b < blocks; b++, w += 34) {
        const int8_t *qw = (const int8_t *)(w + 2), *qx = xq + 32 * b;
        int sum = 0;
        for (int j = 0; j < 32; j++) sum += qw[j] * qx[j];
        acc += (float)sum * (cqk_half_to_float(w) * xd[b]);
    }
    return acc;
}

static float row_q4_portable(const uint8_t *w, int blocks, const int8_t *xq, const float *xd,
                             const float *xs, int offset) {
    float acc = 0, m = 0;
    const int header = offset ? 4 : 2, bias = offset ? 0 : 8;
    for (int b = 0; b < blocks; b++, w += header + 16) {
        const uint8_t *nibbles = w + header;
        const int8_t *qx = xq + 32 * b;
        int sum = 0;
        for (int j = 0; j < 16; j++) {
            sum += ((nibbles[j] & 0x0F) - bias) * qx[j];
            sum += ((nibbles[j] >> 4) - bias) * qx[j + 16];
        }
        acc += (float)sum * (cqk_half_to_float(w) * xd[b]);
        if (offset) m += cqk_half_to_float(w + 2) * xs[b];
    }
    return acc + m;
}

static float row_int8_portable(const int8_t *w, int blocks, const int8_t *xq, const float *xd) {
    float acc = 0;
    for (int b = 0; b < blocks; b++) {
        int sum = 0;
        for (int j = 0; j < 32; j++) sum += w[32 * b + j] * xq[32 * b + j];
        acc += (float)sum * xd[b];
    }
    return acc;
}

// MARK: - AVX2

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CQK_HAVE_AVX2_CODE 1
#define CQK_AVX2 __attribute__((target("avx2,fma,f16c")))
#define CQK_NEAREST (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)  // ties to even

CQK_AVX2 static inline float hsum8(__m256 v) {
    __m128 r = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    r = _mm_add_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}

CQK_AVX2 static inline int hsum8i(__m256i v) {
    __m128i r = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    r = _mm_add_epi32(r, _mm_unpackhi_epi64(r, r));
    r = _mm_add_epi32(r, _mm_shuffle_epi32(r, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(r);
}

CQK_AVX2 static inline float half_f16c(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

/// Σ u·s over 32 (unsigned byte, signed byte) pairs, in 8 float lanes (each the exact int32 sum of 4 products).
CQK_AVX2 static inline __m256 dot_us8(__m256i u, __m256i s) {
    const __m256i pairs = _mm256_maddubs_epi16(u, s);
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}

/// Σ a·b over 32 signed byte pairs, as |a| · (b with a's sign); b must not hold −128 (a may:
/// its |a| is read as the unsigned 128, and 2·128·127 still fits pmaddubsw's int16).
CQK_AVX2 static inline __m256 dot_ss8(__m256i a, __m256i b) {
    return dot_us8(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
}

/// The 32 nibbles of 16 bytes: bytes 0–15 the low nibbles, 16–31 the high ones (ggml's order).
CQK_AVX2 static inline __m256i nibbles32(const uint8_t *p) {
    const __m128i bytes = _mm_loadu_si128((const __m128i *)p);
    const __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(bytes), _mm_srli_epi16(bytes, 4), 1);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

CQK_AVX2 static void quantize_avx2(const float *x, int n, int8_t *q, float *d, float *s) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int b = 0; b < n / 32; b++) {
        const float *xb = x + 32 * b;
        __m256 v0 = _mm256_loadu_ps(xb), v1 = _mm256_loadu_ps(xb + 8);
        __m256 v2 = _mm256_loadu_ps(xb + 16), v3 = _mm256_loadu_ps(xb + 24);
        __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),
                                 _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)));
        __m128 m4 = _mm_max_ps(_mm256_extractf128_ps(m, 1), _mm256_castps256_ps128(m));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        const float amax = _mm_cvtss_f32(m4);
        // Not (|x| ≤ FLT_MAX) for some x: NaN or ∞ (max_ps may have dropped a NaN from amax).
        const __m256 limit = _mm256_set1_ps(FLT_MAX);
        const __m256 bad = _mm256_or_ps(
            _mm256_or_ps(_mm256_cmp_ps(_mm256_andnot_ps(sign, v0), limit, _CMP_NLE_UQ),
                         _mm256_cmp_ps(_mm256_andnot_ps(sign, v1), limit, _CMP_NLE_UQ)),
            _mm256_or_ps(_mm256_cmp_ps(_mm256_andnot_ps(sign, v2), limit, _CMP_NLE_UQ),
                         _mm256_cmp_ps(_mm256_andnot_ps(sign, v3), limit, _CMP_NLE_UQ)));
        if (_mm256_movemask_ps(bad)) {
            memset(q + 32 * b, 0, 32);
            d[b] = s[b] = NAN;
            continue;
        }
        const float scale = amax / 127.f, inverse = cqk_inverse(amax);
        const __m256 mul = _mm256_set1_ps(inverse);
        __m256i i0 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v0, mul), CQK_NEAREST));
        __m256i i1 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v1, mul), CQK_NEAREST));
        __m256i i2 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v2, mul), CQK_NEAREST));
        __m256i i3 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v3, mul), CQK_NEAREST));
        const int sum = hsum8i(_mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3)));
        // int32 → int16 → int8 packs work per 128-bit half; the permute restores element order.
        const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
        const __m256i ordered = _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)(q + 32 * b), ordered);
        d[b] = cqk_block_scale(scale, _cvtsh_ss(_cvtss_sh(scale, 0)));  // fp16 precision, nearest even, as ggml stores it
        s[b] = d[b] * (float)sum;
    }
}

// Each row kernel runs two blocks per iteration into two accumulators (the FMA chain would
// otherwise serialize blocks), then the odd block.

CQK_AVX2 static float row_q8_0_avx2(const uint8_t *w, int blocks, const int8_t *xq, const float *xd) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int b = 0;
    for (; b + 1 < blocks; b += 2, w += 68) {
        const __m256 p0 = dot_ss8(_mm256_loadu_si256((const __m256i *)(w + 2)),
                                  _mm256_loadu_si256((const __m256i *)(xq + 32 * b)));
        const __m256 p1 = dot_ss8(_mm256_loadu_si256((const __m256i *)(w + 36)),
                                  _mm256_loadu_si256((const __m256i *)(xq + 32 * b + 32)));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(half_f16c(w) * xd[b]), p0, acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(half_f16c(w + 34) * xd[b + 1]), p1, acc1);
    }
    if (b < blocks) {
        const __m256 p0 = dot_ss8(_mm256_loadu_si256((const __m256i *)(w + 2)),
                                  _mm256_loadu_si256((const __m256i *)(xq + 32 * b)));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(half_f16c(w) * xd[b]), p0, acc0);
    }
    return hsum8(_mm256_add_ps(acc0, acc1));
}

CQK_AVX2 static float row_q4_0_avx2(const uint8_t *w, int blocks, const int8_t *xq, const float *xd, const float *xs) {
    // (q − 8)·d = q·d + m with m = −8d: unsigned nibbles straight into pmaddubsw, −8·Σ d_w·s_x after.
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    float m = 0;
    int b = 0;
    for (; b + 1 < blocks; b += 2, w += 36) {
        const float d0 = half_f16c(w), d1 = half_f16c(w + 18);
        const __m256 p0 = dot_us8(nibbles32(w + 2), _mm256_loadu_si256((const __m256i *)(xq + 32 * b)));
        const __m256 p1 = dot_us8(nibbles32(w + 20), _mm256_loadu_si256((const __m256i *)(xq + 32 * b + 32)));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(d0 * xd[b]), p0, acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(d1 * xd[b + 1]), p1, acc1);
        m += d0 * xs[b] + d1 * xs[b + 1];
    }
    if (b < blocks) {
        const float d0 = half_f16c(w);
        const __m256 p0 = dot_us8(nibbles32(w + 2), _mm256_loadu_si256((const __m256i *)(xq + 32 * b)));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(d0 * xd[b]), p0, acc0);
        m += d0 * xs[b];
    }
    return hsum8(_mm256_add_ps(acc0, acc1)) - 8 * m;
}

CQK_AVX2 static float row_q4_1_avx2(const uint8_t *w, int blocks, const int8_t *xq, const float *xd, const float *xs) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    float m = 0;
    int b = 0;
    for (; b + 1 < blocks; b += 2, w += 40) {
        const __m256 p0 = dot_us8(nibbles32(w + 4), _mm256_loadu_si256((const __m256i *)(xq + 32 * b)));
        const __m256 p1 = dot_us8(nibbles32(w + 24), _mm256_loadu_si256((const __m256i *)(xq + 32 * b + 32)));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(half_f16c(w) * xd[b]), p0, acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(half_f16c(w + 20) * xd[b + 1]), p1, acc1);
        m += half_f16c(w + 2) * xs[b] + half_f16c(w + 22) * xs[b + 1];
    }
    if (b < blocks) {
        const __m256 p0 = dot_us8(nibbles32(w + 4), _mm256_loadu_si256((const __m256i *)(xq + 32 * b)));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(half_f16c(w) * xd[b]), p0, acc0);
        m += half_f16c(w + 2) * xs[b];
    }
    return hsum8(_mm256_add_ps(acc0, acc1)) + m;
}

CQK_AVX2 static float row_int8_avx2(const int8_t *w, int blocks, const int8_t *xq, const float *xd) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int b = 0;
    for (; b + 1 < blocks; b += 2) {
        const __m256 p0 = dot_ss8(_mm256_loadu_si256((const __m256i *)(w + 32 * b)),
                                  _mm256_loadu_si256((const __m256i *)(xq + 32 * b)));
        const __m256 p1 = dot_ss8(_mm256_loadu_si256((const __m256i *)(w + 32 * b + 32)),
                                  _mm256_loadu_si256((const __m256i *)(xq + 32 * b + 32)));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(xd[b]), p0, acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(xd[b + 1]), p1, acc1);
    }
    if (b < blocks) {
        const __m256 p0 = dot_ss8(_mm256_loadu_si256((const __m256i *)(w + 32 * b)),
                                  _mm256_loadu_si256((const __m256i *)(xq + 32 * b)));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(xd[b]), p0, acc0);
    }
    return hsum8(_mm256_add_ps(acc0, acc1));
}

/// The fp16 at `p` and at the same place in the next 7 rows (`stride` bytes apart), as 8 floats.
CQK_AVX2 static inline __m256 halves8(const uint8_t *p, size_t stride) {
    uint16_t h[8];
    for (int i = 0; i < 8; i++) memcpy(&h[i], p + i * stride, 2);
    return _mm256_cvtph_ps(_mm_setr_epi16((short)h[0], (short)h[1], (short)h[2], (short)h[3],
                                          (short)h[4], (short)h[5], (short)h[6], (short)h[7]));
}

/// Σ q·x over block b of rows i and i + 4 (`p` and `p + 4·rs`) together: their 16 quant bytes
/// side by side in one register, low nibbles (elements 0–15) against x[0…15] in both halves,
/// high nibbles (16–31) against x[16…31]; int32 lanes 0–3 sum row i, 4–7 row i + 4.
CQK_AVX2 static inline __m256i pair_dot(const uint8_t *p, size_t four_rows, __m256i x_low, __m256i x_high) {
    const __m256i bytes = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)p)),
                                                  _mm_loadu_si128((const __m128i *)(p + four_rows)), 1);
    const __m256i mask = _mm256_set1_epi8(0x0F);
    const __m256i low = _mm256_and_si256(bytes, mask), high = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), mask);
    // Pair sums ≤ 2·15·127 each, two added ≤ 7620: no int16 overflow.
    const __m256i pairs = _mm256_add_epi16(_mm256_maddubs_epi16(low, x_low), _mm256_maddubs_epi16(high, x_high));
    return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
}

/// Eight Q4 rows at once: x loaded once per block, rows paired (i, i + 4) in one register, one
/// horizontal reduction for the eight rows' sums, their eight fp16 scales converted together.
CQK_AVX2 static inline __attribute__((always_inline)) void rows8_avx2(
        int format, const uint8_t *w, size_t rs, int blocks, int block_bytes,
        const int8_t *xq, const float *xd, const float *xs, float *y, int accumulate) {
    __m256 acc = _mm256_setzero_ps(), macc = _mm256_setzero_ps();
    const int header = format == CQK_FORMAT_Q4_1 ? 4 : 2;
    // The eight rows are one contiguous range; the hardware prefetchers lose track of eight
    // interleaved streams (weights from memory: 2× slower than one row at a time), so the next
    // group's range is prefetched in order, 8·block_bytes per block (past the matrix's end for the
    // last group: prefetches never fault).
    const uint8_t *next = w + 8 * rs;
    for (int b = 0; b < blocks; b++) {
        const uint8_t *p = w + (size_t)b * block_bytes;
        const uint8_t *ahead = next + (size_t)b * 8 * block_bytes;
        _mm_prefetch((const char *)ahead, _MM_HINT_T0);
        _mm_prefetch((const char *)ahead + 64, _MM_HINT_T0);
        _mm_prefetch((const char *)ahead + 128, _MM_HINT_T0);
        const __m256i x_low = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(xq + 32 * b)));
        const __m256i x_high = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(xq + 32 * b + 16)));
        const __m256i v04 = pair_dot(p + header, 4 * rs, x_low, x_high);
        const __m256i v15 = pair_dot(p + rs + header, 4 * rs, x_low, x_high);
        const __m256i v26 = pair_dot(p + 2 * rs + header, 4 * rs, x_low, x_high);
        const __m256i v37 = pair_dot(p + 3 * rs + header, 4 * rs, x_low, x_high);
        // → [r0 r1 r2 r3 | r4 r5 r6 r7]
        const __m256i sums = _mm256_hadd_epi32(_mm256_hadd_epi32(v04, v15), _mm256_hadd_epi32(v26, v37));
        const __m256 d = halves8(p, rs);
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), _mm256_mul_ps(d, _mm256_set1_ps(xd[b])), acc);
        // The offset term, Σ_b m·s_b: m = −8d for Q4_0 (applied after the loop), the stored m for Q4_1.
        macc = _mm256_fmadd_ps(format == CQK_FORMAT_Q4_0 ? d : halves8(p + 2, rs), _mm256_set1_ps(xs[b]), macc);
    }
    __m256 v = format == CQK_FORMAT_Q4_0 ? _mm256_fnmadd_ps(_mm256_set1_ps(8.f), macc, acc) : _mm256_add_ps(acc, macc);
    if (accumulate) v = _mm256_add_ps(v, _mm256_loadu_ps(y));
    _mm256_storeu_ps(y, v);
}

/// Q4_0 and Q4_1 run eight rows at a time, Q8_0 and int8 one. Measured with a C harness (one
/// thread, bench-medium's four matrices × N layers in decode order, µs per layer), Q4_0 one row →
/// eight: 124 → 67–74 with N = 8 (15 MB, in this machine's L3), 131–148 → 95–107 with N = 32
/// (60 MB, from memory). Q8_0/int8 in eight-row form gained little and, before the prefetch below
/// existed, ran erratically slower (up to 2×) from memory; not retried.
CQK_AVX2 static void rows_avx2(int format, const uint8_t *w, size_t row_bytes, int rows, int blocks,
                               const int8_t *xq, const float *xd, const float *xs, float x_sum,
                               const float *row_scale, const float *row_zero_point, float *y, int accumulate) {
    int r = 0;
    if (format == CQK_FORMAT_Q4_0) {
        for (; r + 8 <= rows; r += 8, w += 8 * row_bytes)
            rows8_avx2(CQK_FORMAT_Q4_0, w, row_bytes, blocks, 18, xq, xd, xs, y + r, accumulate);
    } else if (format == CQK_FORMAT_Q4_1) {
        for (; r + 8 <= rows; r += 8, w += 8 * row_bytes)
            rows8_avx2(CQK_FORMAT_Q4_1, w, row_bytes, blocks, 20, xq, xd, xs, y + r, accumulate);
    }
    for (; r < rows; r++, w += row_bytes) {
        float v;
        switch (format) {
        case CQK_FORMAT_Q8_0: v = row_q8_0_avx2(w, blocks, xq, xd); break;
        case CQK_FORMAT_Q4_0: v = row_q4_0_avx2(w, blocks, xq, xd, xs); break;
        case CQK_FORMAT_Q4_1: v = row_q4_1_avx2(w, blocks, xq, xd, xs); break;
        default: v = row_scale[r] * (row_int8_avx2((const int8_t *)w, blocks, xq, xd) - row_zero_point[r] * x_sum); break;
        }
        y[r] = accumulate ? y[r] + v : v;
    }
}
#endif

// MARK: - Entry points

int cqk_has_avx2(void) {
#if defined(CQK_HAVE_AVX2_CODE) && (defined(__clang__) || defined(__GNUC__))
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    }
    return cached;
#else
    return 0;
#endif
}

void cqk_quantize_activations(const float *x, int n, int8_t *q, float *d, float *s, int path) {
#ifdef CQK_HAVE_AVX2_CODE
    if (path == CQK_PATH_BEST && cqk_has_avx2()) { quantize_avx2(x, n, q, d, s); return; }
#endif
    quantize_portable(x, n, q, d, s);
}

void cqk_rows(int format, const void *weights, size_t row_bytes, int rows, int columns,
              const int8_t *xq, const float *xd, const float *xs,
              const float *row_scale, const float *row_zero_point,
              float *y, int accumulate, int path) {
    const int blocks = columns / 32;
    const uint8_t *w = (const uint8_t *)weights;
    float x_sum = 0;  // Σ x̂, for the int8 zero point
    if (format == CQK_FORMAT_INT8) for (int b = 0; b < blocks; b++) x_sum += xs[b];
#ifdef CQK_HAVE_AVX2_CODE
    if (path == CQK_PATH_BEST && cqk_has_avx2()) {
        rows_avx2(format, w, row_bytes, rows, blocks, xq, xd, xs, x_sum, row_scale, row_zero_point, y, accumulate);
        return;
    }
#endif
    for (int r = 0; r < rows; r++, w += row_bytes) {
        float v;
        switch (format) {
        case CQK_FORMAT_Q8_0: v = row_q8_0_portable(w, blocks, xq, xd); break;
        case CQK_FORMAT_Q4_0: v = row_q4_portable(w, blocks, xq, xd, xs, 0); break;
        case CQK_FORMAT_Q4_1: v = row_q4_portable(w, blocks, xq, xd, xs, 1); break;
        default: v = row_scale[r] * (row_int8_portable((const int8_t *)w, blocks, xq, xd) - row_zero_point[r] * x_sum); break;
        }
        y[r] = accumulate ? y[r] + v : v;
    }
}

// MARK: - Thread pool (batch 1)

// A persistent pool for cqk_rows_parallel. Worker i (1…) has its own cache line: `go` (the
// generation of the job it is asked to do), `done` (the last generation it finished), `sleeping`.
// The caller (part 0) writes the job, bumps the generation, stores it into each participating
// worker's `go`, does its part, then spins until each `done` reaches the generation. A worker spins
// on `go` for up to CQK_SPIN_NS, then sleeps on its condition variable. Lost wake-ups are excluded
// by a Dekker pair of sequentially consistent accesses: the worker stores sleeping = 1 then reads
// `go` (under its mutex); the caller stores `go` then reads `sleeping`, and signals under the
// mutex when it is set. Only one caller at a time owns the pool (`pool_busy`); others compute on
// their own thread. Workers are created lazily by the owner, so creation needs no other lock.

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#ifndef CQK_SPIN_NS
#define CQK_SPIN_NS 100000  // 100 µs: longer than the gaps between a token's products
#endif
#define CQK_MAX_THREADS 1024

typedef struct {
    _Alignas(64) _Atomic uint64_t go;
    _Alignas(64) _Atomic uint64_t done;
    _Atomic int sleeping;
    int index;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
} cqk_worker;

typedef struct {
    int format, rows, columns, accumulate, path, parts;
    const uint8_t *w;
    size_t row_bytes;
    const int8_t *xq;
    const float *xd, *xs, *row_scale, *row_zero_point;
    float *y;
} cqk_job;

static atomic_flag pool_busy = ATOMIC_FLAG_INIT;
static cqk_job pool_job;                       // written by the owner before it bumps `go`
static uint64_t pool_generation;               // touched only by the owner
static cqk_worker *pool_workers[CQK_MAX_THREADS];
static int pool_worker_count;                  // touched only by the owner

static inline void cqk_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline uint64_t cqk_now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/// Part `part` of `pool_job`'s rows: ranges start at multiples of 8 rows (the Q4 eight-row groups).
static void cqk_run_part(const cqk_job *job, int part) {
    const int groups = (job->rows + 7) / 8;
    int start = (int)((int64_t)groups * part / job->parts) * 8;
    int end = (int)((int64_t)groups * (part + 1) / job->parts) * 8;
    if (start > job->rows) start = job->rows;
    if (end > job->rows) end = job->rows;
    if (end <= start) return;
    cqk_rows(job->format, job->w + (size_t)start * job->row_bytes, job->row_bytes, end - start, job->columns,
             job->xq, job->xd, job->xs,
             job->row_scale ? job->row_scale + start : NULL, job->row_zero_point ? job->row_zero_point + start : NULL,
             job->y + start, job->accumulate, job->path);
}

static void *cqk_worker_main(void *argument) {
    cqk_worker *worker = (cqk_worker *)argument;
    uint64_t seen = 0;
    for (;;) {
        uint64_t g = atomic_load_explicit(&worker->go, memory_order_acquire);
        if (g == seen) {
            const uint64_t start = cqk_now_ns();
            for (unsigned spins = 1;; spins++) {
                cqk_pause();
                g = atomic_load_explicit(&worker->go, memory_order_acquire);
                if (g != seen) break;
                if ((spins & 63) == 0 && cqk_now_ns() - start > CQK_SPIN_NS) break;
            }
        }
        if (g == seen) {
            pthread_mutex_lock(&worker->mutex);
            atomic_store(&worker->sleeping, 1);                       // seq_cst: see above
            while ((g = atomic_load(&worker->go)) == seen) pthread_cond_wait(&worker->wake, &worker->mutex);
            atomic_store(&worker->sleeping, 0);
            pthread_mutex_unlock(&worker->mutex);
        }
        seen = g;
        cqk_run_part(&pool_job, worker->index);
        atomic_store_explicit(&worker->done, g, memory_order_release);
    }
    return NULL;
}

/// Creates workers up to `count` (the owner only); returns how many exist.
static int cqk_grow_pool(int count) {
    while (pool_worker_count < count) {
        cqk_worker *worker = aligned_alloc(64, (sizeof(cqk_worker) + 63) / 64 * 64);
        if (!worker) break;
        memset(worker, 0, sizeof *worker);
        worker->index = pool_worker_count + 1;
        pthread_mutex_init(&worker->mutex, NULL);
        pthread_cond_init(&worker->wake, NULL);
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        pthread_t thread;
        const int failed = pthread_create(&thread, &attributes, cqk_worker_main, worker);
        pthread_attr_destroy(&attributes);
        if (failed) {
            pthread_cond_destroy(&worker->wake);
            pthread_mutex_destroy(&worker->mutex);
            free(worker);
            break;
        }
        pool_workers[pool_worker_count++] = worker;
    }
    return pool_worker_count;
}

int cqk_rows_parallel(int threads, int format, const void *weights, size_t row_bytes, int rows, int columns,
                      const int8_t *xq, const float *xd, const float *xs,
                      const float *row_scale, const float *row_zero_point,
                      float *y, int accumulate, int path) {
    if (threads > CQK_MAX_THREADS) threads = CQK_MAX_THREADS;
    if (threads > 1 && atomic_flag_test_and_set_explicit(&pool_busy, memory_order_acquire)) threads = 1;
    if (threads <= 1) {
        cqk_rows(format, weights, row_bytes, rows, columns, xq, xd, xs, row_scale, row_zero_point, y, accumulate, path);
        return 1;
    }
    // The pool is ours until pool_busy is cleared.
    const int workers = cqk_grow_pool(threads - 1);
    const int parts = workers + 1 < threads ? workers + 1 : threads;
    pool_job = (cqk_job){
        .format = format, .rows = rows, .columns = columns, .accumulate = accumulate, .path = path, .parts = parts,
        .w = (const uint8_t *)weights, .row_bytes = row_bytes, .xq = xq, .xd = xd, .xs = xs,
        .row_scale = row_scale, .row_zero_point = row_zero_point, .y = y,
    };
    const uint64_t g = ++pool_generation;
    for (int i = 0; i < parts - 1; i++) {
        cqk_worker *worker = pool_workers[i];
        atomic_store(&worker->go, g);                                  // seq_cst: see above
        if (atomic_load(&worker->sleeping)) {
            pthread_mutex_lock(&worker->mutex);
            pthread_cond_signal(&worker->wake);
            pthread_mutex_unlock(&worker->mutex);
        }
    }
    cqk_run_part(&pool_job, 0);
    for (int i = 0; i < parts - 1; i++) {
        cqk_worker *worker = pool_workers[i];
        for (unsigned spins = 1; atomic_load_explicit(&worker->done, memory_order_acquire) != g; spins++) {
            cqk_pause();
            if ((spins & 1023) == 0) sched_yield();  // a worker without a core (more threads than cores)
        }
    }
    atomic_flag_clear_explicit(&pool_busy, memory_order_release);
    return parts;
}
