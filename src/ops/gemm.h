/* One way to call a float GEMM: OpenBLAS, split over the compute threads
 * (core/thread_pool.h). */
#ifndef OT_GEMM_H
#define OT_GEMM_H

#include <stddef.h>
#include <stdint.h>

#include "core/thread_pool.h"

/* C (M, N) = alpha * op(A) (M, K) @ op(B) (K, N) + beta * C, row-major; op transposes when
 * trans_* is set. lda/ldb/ldc are the row strides of A, B and C as stored. beta == 0
 * overwrites C (NaNs in C do not survive). Zero-sized products and K == 0 are handled here
 * (BLAS implementations disagree on them). Products of 2^18 multiply-adds or more are split
 * by columns (or rows) of C over the pool's threads (NULL: the calling thread), each element
 * summed by one thread: the same thread count gives the same bits on every run. */
void oti_sgemm(ot_pool *pool, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
              const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
              int64_t ldc);

#endif
