/* The compute threads: a parallel loop over contiguous ranges, used by the kernels around
 * their GEMMs (im2col, col2im, pooling, activations), optimizer steps and data conversion.
 * A pool belongs to a context (onnxtrain/context.h); a NULL pool runs everything on the
 * calling thread. */
#ifndef OT_THREAD_POOL_H
#define OT_THREAD_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "onnxtrain/status.h"

typedef struct ot_pool ot_pool;

/* A pool of `threads` compute threads, the caller's included (threads - 1 workers, at most
 * 15); *out NULL when threads <= 1: callers then run serially. Worker start-up failures leave
 * fewer threads, still correct. */
ot_status oti_pool_create(int threads, ot_pool **out);
/* Stops and joins the workers. No parallel loop may be running. */
void oti_pool_free(ot_pool *pool);
/* Threads of the pool, at least 1 (1 for NULL): size per-thread scratch by it. */
int oti_pool_threads(const ot_pool *pool);

/* Runs fn(begin, end, part, arg) over [0, count) cut into one contiguous range per thread of
 * the pool; part < oti_pool_threads(pool) numbers the range (for per-thread scratch). The
 * caller runs part 0 and returns when all are done. Ranges hold at least `grain` items; with
 * fewer items, a NULL pool, inside another parallel loop, or while another thread uses the
 * pool, fn runs once over all as part 0. fn may call oti_sgemm (which then runs on the
 * calling thread). */
typedef void (*ot_range_fn)(int64_t begin, int64_t end, int part, void *arg);
void oti_parallel_ranges(ot_pool *pool, int64_t count, int64_t grain, ot_range_fn fn, void *arg);
/* memset(data, 0, bytes) split over the threads (ranges of 128 KiB or more): a training
 * step clears its gradients (24 MB a step in a small CNN) before every backward pass. */
void oti_parallel_zero(ot_pool *pool, void *data, size_t bytes);

#endif
