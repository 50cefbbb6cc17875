/* Compute primitives shared by the heavy kernels: one way to call a float GEMM (OpenBLAS,
 * split over the compute threads), and a parallel loop over the same threads for the work
 * around the GEMMs (im2col, col2im, pooling, activations, optimizer steps). Starting the pool
 * makes OpenBLAS single-threaded for the whole process. */
#ifndef OT_GEMM_H
#define OT_GEMM_H

#include <stddef.h>
#include <stdint.h>

/* C (M, N) = alpha * op(A) (M, K) @ op(B) (K, N) + beta * C, row-major; op transposes when
 * trans_* is set. lda/ldb/ldc are the row strides of A, B and C as stored. beta == 0
 * overwrites C (NaNs in C do not survive). Zero-sized products and K == 0 are handled here
 * (BLAS implementations disagree on them). Products of 2^18 multiply-adds or more are split
 * by columns (or rows) of C over the compute threads, each element summed by one thread:
 * the same thread count gives the same bits on every run. */
void ot_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
              const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
              int64_t ldc);

/* Runs fn(begin, end, part, arg) over [0, count) cut into one contiguous range per compute
 * thread (OpenBLAS's thread count, OPENBLAS_NUM_THREADS); part < ot_compute_threads() numbers
 * the range (for per-thread scratch). The caller runs part 0 and returns when all are done.
 * Ranges hold at least `grain` items; with fewer items, inside another parallel loop, or while
 * another thread uses the pool, fn runs once over all as part 0. fn may call ot_sgemm (which
 * then runs on the calling thread). */
typedef void (*ot_range_fn)(int64_t begin, int64_t end, int part, void *arg);
void ot_parallel_ranges(int64_t count, int64_t grain, ot_range_fn fn, void *arg);
/* memset(data, 0, bytes) split over the threads (ranges of 128 KiB or more): a training
 * step clears its gradients (24 MB a step in a small CNN) before every backward pass. */
void ot_parallel_zero(void *data, size_t bytes);
/* Number of compute threads (at least 1): size per-thread scratch by it. */
int ot_compute_threads(void);

#endif
