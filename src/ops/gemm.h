/* Compute primitives shared by the heavy kernels: one way to call a float GEMM (OpenBLAS),
 * and a parallel loop over the same threads OpenBLAS uses, for the memory-bound work around
 * the GEMMs (im2col, col2im, depthwise planes). */
#ifndef OT_GEMM_H
#define OT_GEMM_H

#include <stdint.h>

/* C (M, N) = alpha * op(A) (M, K) @ op(B) (K, N) + beta * C, row-major; op transposes when
 * trans_* is set. lda/ldb/ldc are the row strides of A, B and C as stored. beta == 0
 * overwrites C (NaNs in C do not survive). Zero-sized products and K == 0 are handled here
 * (BLAS implementations disagree on them). */
void ot_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
              const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
              int64_t ldc);

/* Runs fn(begin, end, part, arg) over [0, count) cut into one contiguous range per compute
 * thread (OpenBLAS's thread count, OPENBLAS_NUM_THREADS); part < ot_compute_threads() numbers
 * the range (for per-thread scratch). The caller runs part 0 and returns when all are done.
 * Ranges hold at least `grain` items; with fewer items, inside another parallel loop, or while
 * another thread uses the pool, fn runs once over all as part 0. */
typedef void (*ot_range_fn)(int64_t begin, int64_t end, int part, void *arg);
void ot_parallel_ranges(int64_t count, int64_t grain, ot_range_fn fn, void *arg);
/* The same for ranges that call ot_sgemm (one item each at least): OpenBLAS runs
 * single-threaded meanwhile, so each thread runs its own GEMMs on its own core. For
 * independent GEMMs of moderate size this scales better than OpenBLAS's own threads. */
void ot_parallel_gemm_ranges(int64_t count, ot_range_fn fn, void *arg);
/* Number of compute threads (at least 1): size per-thread scratch by it. */
int ot_compute_threads(void);

#endif
