/* Building the frozen-feature cache on several ranks: each runs the frozen part over its share
 * of whole chunks, then every rank gets every share (broadcast from its owner), so each can
 * write the file where it is missing. The chunks are the ones one process runs, with the same
 * plans, so the numbers - and the file - are the same. */
#include <string.h>

#include "cache.h"
#include "core/util.h"
#include "process_group.h"

/* The first sample of rank r's share: chunks split as evenly as whole chunks allow. */
static int64_t share_start(int64_t n, int64_t chunk, int r, int ranks) {
    int64_t chunks = (n + chunk - 1) / chunk;
    return OT_MIN(n, chunks * r / ranks * chunk);
}

ot_status oti_cache_compute_shares(ot_process_group *g, ot_plan_pair *plans, const ot_sample_source *source,
                                   const ot_frozen_part *part, int64_t chunk, void **arrays) {
    int64_t n = source->n;
    int rank = ot_process_group_rank(g), ranks = ot_process_group_size(g);
    size_t row[OT_MAX_FEEDS];
    for (int f = 0; f < part->n_frontier; f++) {
        const ot_tensor *shape = ot_plan_value(plans->full, part->frontier[f]);
        row[f] = (size_t)(ot_tensor_numel(shape) / shape->dims[0]) * ot_dtype_size(shape->dtype);
        arrays[f] = oti_malloc(row[f] * (size_t)n + 1);
        OT_ALLOC_CHECK(arrays[f]);
    }
    int64_t end = share_start(n, chunk, rank + 1, ranks);
    for (int64_t start = share_start(n, chunk, rank, ranks); start < end; start += chunk) {
        int64_t size = OT_MIN(chunk, n - start);
        const void *values[OT_MAX_FEEDS];
        OT_TRY(oti_cache_forward_chunk(plans, source, part, start, size, values));
        for (int f = 0; f < part->n_frontier; f++)
            memcpy((char *)arrays[f] + (size_t)start * row[f], values[f], (size_t)size * row[f]);
    }
    for (int owner = 0; owner < ranks; owner++) {
        int64_t first = share_start(n, chunk, owner, ranks), last = share_start(n, chunk, owner + 1, ranks);
        for (int f = 0; f < part->n_frontier; f++)
            OT_TRY(oti_group_broadcast(g, (char *)arrays[f] + (size_t)first * row[f], (size_t)(last - first) * row[f],
                                       owner));
    }
    return OT_OK;
}
