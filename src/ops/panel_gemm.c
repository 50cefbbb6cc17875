/* oti_panel_gemm: a 6 x 16 register-blocked kernel (twelve 8-float accumulators, the B row
 * in two registers, one broadcast of A at a time), with AVX2/FMA intrinsics where the build
 * targets them and the same arithmetic in plain C elsewhere. Where the build targets AVX-512,
 * pairs of 16-column blocks go through a 6 x 32 kernel of 16-float registers instead, which
 * keeps both 512-bit FMA ports busy (the 8-float kernel reaches half the core's peak there).
 * Every kernel sums each element over k in order with one fused multiply-add per step, so
 * the AVX-512 and AVX2 builds give the same bits. */
#include "panel_gemm.h"

#include <string.h>

#if OT_PANEL_GEMM_FAST
#include <immintrin.h>

/* C[0..rows) x 16 (+)= panel (k, 6) @ B (k, 16). */
static void block_6x16(int rows, int64_t kn, const float *restrict ap, const float *restrict b,
                       int64_t ldb, float *restrict c, int64_t ldc, int accumulate) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int64_t k = 0; k < kn; k++, ap += OT_PANEL_ROWS, b += ldb) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8), a;
        a = _mm256_broadcast_ss(ap + 0);
        c00 = _mm256_fmadd_ps(a, b0, c00);
        c01 = _mm256_fmadd_ps(a, b1, c01);
        a = _mm256_broadcast_ss(ap + 1);
        c10 = _mm256_fmadd_ps(a, b0, c10);
        c11 = _mm256_fmadd_ps(a, b1, c11);
        a = _mm256_broadcast_ss(ap + 2);
        c20 = _mm256_fmadd_ps(a, b0, c20);
        c21 = _mm256_fmadd_ps(a, b1, c21);
        a = _mm256_broadcast_ss(ap + 3);
        c30 = _mm256_fmadd_ps(a, b0, c30);
        c31 = _mm256_fmadd_ps(a, b1, c31);
        a = _mm256_broadcast_ss(ap + 4);
        c40 = _mm256_fmadd_ps(a, b0, c40);
        c41 = _mm256_fmadd_ps(a, b1, c41);
        a = _mm256_broadcast_ss(ap + 5);
        c50 = _mm256_fmadd_ps(a, b0, c50);
        c51 = _mm256_fmadd_ps(a, b1, c51);
    }
    __m256 acc[OT_PANEL_ROWS][2] = {{c00, c01}, {c10, c11}, {c20, c21},
                                    {c30, c31}, {c40, c41}, {c50, c51}};
    for (int r = 0; r < rows; r++) {
        float *row = c + r * ldc;
        __m256 lo = acc[r][0], hi = acc[r][1];
        if (accumulate) {
            lo = _mm256_add_ps(_mm256_loadu_ps(row), lo);
            hi = _mm256_add_ps(_mm256_loadu_ps(row + 8), hi);
        }
        _mm256_storeu_ps(row, lo);
        _mm256_storeu_ps(row + 8, hi);
    }
}

#if defined(__AVX512F__)
#define HAVE_BLOCK_6X32 1
/* C[0..rows) x 32 (+)= panel (k, 6) @ B (k, 32). */
static void block_6x32(int rows, int64_t kn, const float *restrict ap, const float *restrict b,
                       int64_t ldb, float *restrict c, int64_t ldc, int accumulate) {
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m512 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int64_t k = 0; k < kn; k++, ap += OT_PANEL_ROWS, b += ldb) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16), a;
        a = _mm512_set1_ps(ap[0]);
        c00 = _mm512_fmadd_ps(a, b0, c00);
        c01 = _mm512_fmadd_ps(a, b1, c01);
        a = _mm512_set1_ps(ap[1]);
        c10 = _mm512_fmadd_ps(a, b0, c10);
        c11 = _mm512_fmadd_ps(a, b1, c11);
        a = _mm512_set1_ps(ap[2]);
        c20 = _mm512_fmadd_ps(a, b0, c20);
        c21 = _mm512_fmadd_ps(a, b1, c21);
        a = _mm512_set1_ps(ap[3]);
        c30 = _mm512_fmadd_ps(a, b0, c30);
        c31 = _mm512_fmadd_ps(a, b1, c31);
        a = _mm512_set1_ps(ap[4]);
        c40 = _mm512_fmadd_ps(a, b0, c40);
        c41 = _mm512_fmadd_ps(a, b1, c41);
        a = _mm512_set1_ps(ap[5]);
        c50 = _mm512_fmadd_ps(a, b0, c50);
        c51 = _mm512_fmadd_ps(a, b1, c51);
    }
    __m512 acc[OT_PANEL_ROWS][2] = {{c00, c01}, {c10, c11}, {c20, c21},
                                    {c30, c31}, {c40, c41}, {c50, c51}};
    for (int r = 0; r < rows; r++) {
        float *row = c + r * ldc;
        __m512 lo = acc[r][0], hi = acc[r][1];
        if (accumulate) {
            lo = _mm512_add_ps(_mm512_loadu_ps(row), lo);
            hi = _mm512_add_ps(_mm512_loadu_ps(row + 16), hi);
        }
        _mm512_storeu_ps(row, lo);
        _mm512_storeu_ps(row + 16, hi);
    }
}
#endif

#else

static void block_6x16(int rows, int64_t kn, const float *restrict ap, const float *restrict b,
                       int64_t ldb, float *restrict c, int64_t ldc, int accumulate) {
    float acc[OT_PANEL_ROWS][OT_PANEL_COLS];
    memset(acc, 0, sizeof acc);
    for (int64_t k = 0; k < kn; k++, ap += OT_PANEL_ROWS, b += ldb)
        for (int r = 0; r < OT_PANEL_ROWS; r++)
            for (int j = 0; j < OT_PANEL_COLS; j++)
                acc[r][j] = __builtin_fmaf(ap[r], b[j], acc[r][j]);
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < OT_PANEL_COLS; j++)
            c[r * ldc + j] = accumulate ? c[r * ldc + j] + acc[r][j] : acc[r][j];
}

#endif

void oti_panel_gemm(int64_t m, int64_t n, int64_t k, const float *a, const float *b, int64_t ldb,
                   float *c, int64_t ldc, int accumulate) {
    for (int64_t i = 0; i < m; i += OT_PANEL_ROWS) {
        int rows = m - i < OT_PANEL_ROWS ? (int)(m - i) : OT_PANEL_ROWS;
        const float *panel = a + i * k;
        int64_t j = 0;
#ifdef HAVE_BLOCK_6X32
        for (; j + 2 * OT_PANEL_COLS <= n; j += 2 * OT_PANEL_COLS)
            block_6x32(rows, k, panel, b + j, ldb, c + i * ldc + j, ldc, accumulate);
#endif
        for (; j < n; j += OT_PANEL_COLS)
            block_6x16(rows, k, panel, b + j, ldb, c + i * ldc + j, ldc, accumulate);
    }
}
