/* What the library reads from a context (onnxtrain/context.h). */
#ifndef OT_CONTEXT_INTERNAL_H
#define OT_CONTEXT_INTERNAL_H

#include "onnxtrain/context.h"
#include "thread_pool.h"

struct ot_context {
    ot_pool *pool; /* NULL: one thread */
    size_t memory_limit;
    int max_subgraph_depth;      /* 0: OT_DEFAULT_MAX_SUBGRAPH_DEPTH */
    int64_t max_loop_iterations; /* 0: OT_DEFAULT_MAX_LOOP_ITERATIONS */
};

/* OT_ERR_MEMORY, naming `what`, its size and the limit, when bytes exceed ctx's memory
 * limit; OT_OK for a NULL context. */
ot_status oti_check_memory(const ot_context *ctx, size_t bytes, const char *what);

/* The context's pool; NULL (serial) for a NULL context. */
ot_pool *oti_context_pool(const ot_context *ctx);

#endif
