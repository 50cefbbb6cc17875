/* Data-parallel training over a process group: which rows of each global batch a rank takes,
 * the per-step sums of gradients and loss tallies, synchronised BatchNorm's cross sum, and
 * keeping every rank's state (weights, generator, decisions) the same as rank 0's. */
#include <string.h>

#include "core/util.h"
#include "process_group.h"
#include "trainer_internal.h"

void oti_share_of_batch(const trainer *t, int64_t start, int64_t n, int64_t *first, int64_t *count) {
    /* The global batch is [start, end); rank r takes rows r * batch ... (r + 1) * batch - 1
     * of it: fewer, or none, in a short last batch. */
    int64_t batch = t->config->batch, end = OT_MIN(n, start + batch * t->ranks);
    *first = OT_MIN(end, start + batch * t->rank);
    *count = OT_MIN(end, *first + batch) - *first;
}

/* The BatchNorm statistics of the global batch: a rank without rows of its own adds zeros. */
static ot_status sum_statistics(void *user, double *values, int64_t n) {
    trainer *t = user;
    if (t->empty_share) memset(values, 0, sizeof(double) * (size_t)n);
    return oti_group_sum_doubles(t->group, values, n);
}

/* Every rank must see the same number: a smaller or larger value somewhere is an error. */
static ot_status check_same(trainer *t, int64_t value, const char *what) {
    double bounds[2] = {(double)value, -(double)value};
    OT_TRY(oti_group_max_doubles(t->group, bounds, 2));
    if (bounds[0] == -bounds[1]) return OT_OK;
    return oti_fail(OT_ERR_INVALID, "%lld %s here, between %.0f and %.0f on the %d ranks: every rank must load "
                   "the same data and model", (long long)value, what, -bounds[1], bounds[0], t->ranks);
}

ot_status oti_parallel_setup(trainer *t) {
    t->group = t->config->group;
    t->rank = ot_process_group_rank(t->group);
    t->ranks = ot_process_group_size(t->group);
    t->cross_sum = (ot_cross_sum){.sum = sum_statistics, .user = t};
    t->synced_norm = t->ranks > 1 && t->config->sync_batch_norm;
    if (t->ranks == 1) return OT_OK;
    OT_TRY(check_same(t, t->train->n, "training samples"));
    return check_same(t, t->val ? t->val->n : 0, "validation samples");
}

ot_status oti_parallel_share_weights(trainer *t) {
    if (t->ranks == 1) return OT_OK;
    OT_TRY(check_same(t, t->params.total, "trained parameters"));
    ot_model *m = t->m;
    for (int v = 0; v < m->n_values; v++) {
        ot_tensor *x = &m->values[v].tensor;
        if (m->values[v].kind != OT_VALUE_INITIALIZER || x->dtype != OT_FLOAT) continue;
        OT_TRY(oti_group_broadcast(t->group, x->data, sizeof(float) * (size_t)ot_tensor_numel(x), 0));
    }
    return OT_OK;
}

ot_status oti_parallel_reduce_step(trainer *t) {
    if (t->ranks == 1) return OT_OK;
    OT_TRY(oti_group_sum_floats(t->group, t->params.grads, t->params.total));
    ot_loss_tally *s = &t->step_tally;
    const ot_train_config *c = t->config;
    double sums[5] = {s->sum, (double)s->items, (double)s->correct, (double)s->scored,
                      c->interrupt && *c->interrupt};
    OT_TRY(oti_group_sum_doubles(t->group, sums, 5));
    s->sum = sums[0];
    s->items = (int64_t)sums[1];
    s->correct = (int64_t)sums[2];
    s->scored = (int64_t)sums[3];
    t->stop_agreed = sums[4] > 0;
    return OT_OK;
}

void oti_parallel_rank_generator(trainer *t) {
    if (t->rank > 0) ot_rng_seed(&t->rng, t->rng.state ^ (0x9e3779b97f4a7c15ull * (uint64_t)t->rank));
}

ot_status oti_parallel_sync_generator(trainer *t) {
    return oti_group_broadcast(t->group, &t->rng, sizeof t->rng, 0);
}

ot_status oti_parallel_from_rank0(trainer *t, void *data, size_t bytes) {
    return oti_group_broadcast(t->group, data, bytes, 0);
}
