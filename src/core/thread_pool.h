/* The compute threads: a parallel loop over contiguous ranges, used by the kernels around
 * their GEMMs (im2col, col2im, pooling, activations), optimizer steps and data conversion.
 * Starting the pool makes OpenBLAS single-threaded for the whole process. */
#ifndef OT_THREAD_POOL_H
#define OT_THREAD_POOL_H

#include <stddef.h>
#include <stdint.h>

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
