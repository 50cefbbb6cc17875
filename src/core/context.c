/* Contexts: a thread pool, a memory limit and control flow limits, owned by the caller. */
#include "context_internal.h"

#include <cblas.h>
#include <stdlib.h>

#include "util.h"

ot_status ot_context_create(const ot_context_options *options, ot_context **out) {
    ot_context_options defaults = {0};
    if (!options) options = &defaults;
    if (options->max_subgraph_depth < 0 || options->max_loop_iterations < 0)
        return oti_fail(OT_ERR_INVALID, "control flow limits cannot be negative (0 takes the defaults)");
    if (options->threads < 0)
        return oti_fail(OT_ERR_INVALID, "a context needs at least one thread, not %d",
                       options->threads);
    int threads = options->threads ? options->threads : openblas_get_num_threads();
    ot_context *ctx = oti_calloc(1, sizeof *ctx);
    OT_ALLOC_CHECK(ctx);
    ctx->memory_limit = options->memory_limit;
    ctx->max_subgraph_depth = options->max_subgraph_depth;
    ctx->max_loop_iterations = options->max_loop_iterations;
    ot_status status = oti_pool_create(threads, &ctx->pool);
    if (status != OT_OK) {
        free(ctx);
        return status;
    }
    if (ctx->pool) openblas_set_num_threads(1);
    *out = ctx;
    return OT_OK;
}

void ot_context_free(ot_context *ctx) {
    if (!ctx) return;
    oti_pool_free(ctx->pool);
    free(ctx);
}

int ot_context_threads(const ot_context *ctx) {
    return oti_pool_threads(ctx ? ctx->pool : NULL);
}

size_t ot_context_memory_limit(const ot_context *ctx) {
    return ctx ? ctx->memory_limit : 0;
}

int ot_context_max_subgraph_depth(const ot_context *ctx) {
    return ctx && ctx->max_subgraph_depth ? ctx->max_subgraph_depth : OT_DEFAULT_MAX_SUBGRAPH_DEPTH;
}

int64_t ot_context_max_loop_iterations(const ot_context *ctx) {
    return ctx && ctx->max_loop_iterations ? ctx->max_loop_iterations : OT_DEFAULT_MAX_LOOP_ITERATIONS;
}

ot_pool *oti_context_pool(const ot_context *ctx) {
    return ctx ? ctx->pool : NULL;
}
