/* One way to call a float GEMM: C = alpha * op(A) op(B) + beta * C, row-major, on OpenBLAS.
 * Sizes are int64_t so callers never narrow by accident; zero-sized products and K == 0 are
 * handled here (BLAS implementations disagree on them). */
#ifndef OT_GEMM_H
#define OT_GEMM_H

#include <stdint.h>

/* C (M, N) = alpha * op(A) (M, K) @ op(B) (K, N) + beta * C; op transposes when trans_* is
 * set. lda/ldb/ldc are the row strides of A, B and C as stored. beta == 0 overwrites C
 * (NaNs in C do not survive). */
void ot_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
              const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
              int64_t ldc);

#endif
