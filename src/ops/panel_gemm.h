/* A GEMM kernel for the many small products of Winograd convolutions (36 per conv, K = a
 * channel count such as 32 or 64), where OpenBLAS spends as long packing, zeroing C and
 * setting up as multiplying (18-25 GFLOP/s on this machine against 35-38 here).
 *
 * The left operand comes already packed, in panels of OT_PANEL_ROWS rows: panel p holds rows
 * p*6 .. p*6+5 as K consecutive groups of 6 values (row-major inside a group: element (r, k)
 * of the panel at k*6 + r), rows past M zero. The producers of A (weight and tile
 * transforms) write this layout directly, so nothing is packed at run time. */
#ifndef OT_PANEL_GEMM_H
#define OT_PANEL_GEMM_H

#include <stdint.h>

/* 1 where the build targets AVX2 and FMA (the kernel runs near the core's peak); elsewhere
 * the same arithmetic in plain C with fmaf, far slower: Winograd then stays off. */
#if defined(__AVX2__) && defined(__FMA__)
#define OT_PANEL_GEMM_FAST 1
#else
#define OT_PANEL_GEMM_FAST 0
#endif

#define OT_PANEL_ROWS 6
#define OT_PANEL_COLS 16 /* N must be a multiple of this */

/* Index of element (row, k) in panel layout with K columns. */
static inline int64_t ot_panel_index(int64_t row, int64_t k, int64_t kn) {
    return row / OT_PANEL_ROWS * kn * OT_PANEL_ROWS + k * OT_PANEL_ROWS + row % OT_PANEL_ROWS;
}

/* Floats of an (m, k) matrix in panel layout: m rounded up to whole panels. */
static inline int64_t ot_panel_floats(int64_t m, int64_t k) {
    return (m + OT_PANEL_ROWS - 1) / OT_PANEL_ROWS * OT_PANEL_ROWS * k;
}

/* C (m, n) = A (m, k) @ B (k, n), or C += that when accumulate is set. A in panel layout,
 * B and C row-major with row strides ldb and ldc; n a multiple of OT_PANEL_COLS. Each
 * element is summed over k in order from 0 (one rounding per multiply-add), so results
 * do not depend on how callers split the rows or columns. Single-threaded. */
void oti_panel_gemm(int64_t m, int64_t n, int64_t k, const float *a, const float *b, int64_t ldb,
                   float *c, int64_t ldc, int accumulate);

#endif
