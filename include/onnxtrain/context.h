/* The context: what a program's calls into onnxtrain share, instead of process-wide
 * settings: the compute threads, the memory limit and the control flow limits.
 *
 *     ot_context_options options = {.threads = 0, .memory_limit = (size_t)2 << 30};
 *     ot_context *ctx;
 *     if (ot_context_create(&options, &ctx) != OT_OK) ...;
 *     ot_onnx_load(ctx, "model.onnx", &model);       // loads, plans and training use it
 *     ...
 *     ot_context_free(ctx);
 *
 * A NULL context everywhere means one thread and no memory limit. A context may be used by
 * one thread at a time for running plans (its pool runs one parallel loop at a time; a second
 * thread's loops then run serially on that thread, still correct). */
#ifndef ONNXTRAIN_CONTEXT_H
#define ONNXTRAIN_CONTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "onnxtrain/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ot_context ot_context;

typedef struct ot_context_options {
    /* Compute threads, the caller's included; 0: OpenBLAS's count (OPENBLAS_NUM_THREADS, or
     * the cores). With more than one, the context splits every GEMM over its threads and
     * makes OpenBLAS single-threaded (openblas_set_num_threads(1), which is OpenBLAS's own
     * process-wide setting), so the two never compete for the cores. */
    int threads;
    /* Any single buffer larger than this many bytes (a tensor, a plan's arena, a decoded
     * image, a file to read) is refused with OT_ERR_MEMORY before it is allocated; 0: none. */
    size_t memory_limit;
    /* Control flow limits, so a hostile file cannot recurse or spin: subgraphs nested deeper
     * than max_subgraph_depth (an If in a Loop body is depth 2) are refused when a model
     * loads, and a plan whose Loop and Scan bodies would run more than max_loop_iterations
     * times in one forward (nested ones included) stops with an error. 0: the defaults,
     * OT_DEFAULT_MAX_SUBGRAPH_DEPTH and OT_DEFAULT_MAX_LOOP_ITERATIONS. */
    int max_subgraph_depth;
    int64_t max_loop_iterations;
} ot_context_options;

#define OT_DEFAULT_MAX_SUBGRAPH_DEPTH 16
#define OT_DEFAULT_MAX_LOOP_ITERATIONS 100000

/* options may be NULL (the defaults: OpenBLAS's thread count, no memory limit). */
OT_API ot_status ot_context_create(const ot_context_options *options, ot_context **out);
OT_API void ot_context_free(ot_context *ctx);

/* Element-wise sum of n values across the processes of a data-parallel run, in place: each
 * process passes its own values and every one gets the totals. Training plans given one
 * (ot_plan_options.cross_sum) normalise BatchNormalization with the statistics of the global
 * batch (synchronised BatchNorm); the ops only call it, the trainer makes it. */
typedef struct ot_cross_sum {
    ot_status (*sum)(void *user, double *values, int64_t n);
    void *user;
} ot_cross_sum;

OT_API int ot_context_threads(const ot_context *ctx);
OT_API size_t ot_context_memory_limit(const ot_context *ctx);
/* The limits in force (the defaults for a NULL context or options left 0). */
OT_API int ot_context_max_subgraph_depth(const ot_context *ctx);
OT_API int64_t ot_context_max_loop_iterations(const ot_context *ctx);

#ifdef __cplusplus
}
#endif
#endif
