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

/* `batch` products C_i = alpha op(A_i) op(B_i) + beta C_i, with X_i = x + i * stride_x (a
 * stride of 0 shares one matrix between the entries), each as oti_sgemm would compute it on
 * one thread. With enough entries they run in parallel, one entry whole on one thread (the
 * same bits whatever the thread count): attention's 64 products of 128 x 128 x 64 gain more
 * from that than from splitting each. A shared C (stride_c 0) takes the entries one after
 * another, each split as oti_sgemm splits it. */
void oti_sgemm_batched(ot_pool *pool, int trans_a, int trans_b, int64_t batch, int64_t m, int64_t n,
                       int64_t k, float alpha, const float *a, int64_t stride_a, int64_t lda,
                       const float *b, int64_t stride_b, int64_t ldb, float beta, float *c,
                       int64_t stride_c, int64_t ldc);

#endif
