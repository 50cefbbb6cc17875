/* Scoring a trained model with the frozen-feature cache: the frozen part's outputs for the
 * evaluation data come from DIR/<role>.otcache (built on the first run, reused while the
 * frozen weights, graph and data stay the same), so a rerun with a new head or new
 * hyperparameters scores only the trained layers. */
#include <string.h>

#include "../core/util.h"
#include "cache.h"
#include "session.h"

static void forward_message(void *user, const char *message) {
    const ot_train_config *c = user;
    if (c->callbacks.on_message) c->callbacks.on_message(c->callbacks.user, message);
}

ot_status ot_evaluate_cached(ot_model *m, const ot_train_config *c, const char *role, ot_dataset *d,
                             ot_eval_result *out) {
    if (!c->cache_dir) return ot_evaluate(m, c->loss, c->input_name, c->output_name, 256, d, out);
    ot_io_binding io;
    OT_TRY(ot_io_bind(m, c->input_name, c->output_name, c->loss, &io));
    OT_TRY(ot_dataset_fit_input(d, &m->values[io.input]));
    /* Trained now: every parameter not frozen (the same mask the trainer packs). */
    unsigned char *trainable = ot_xcalloc((size_t)m->n_values + 1, 1);
    for (int v = 0; v < m->n_values; v++)
        trainable[v] = !m->values[v].frozen && ot_model_is_parameter(m, v);
    ot_frozen_part part;
    ot_status status = ot_frozen_part_find(m, trainable, io.input, &part);
    if (status == OT_OK && part.n_frontier == 1 && part.frontier[0] == io.input) {
        /* Nothing frozen before the first trained layer: nothing to cache. */
        ot_frozen_part_free(&part);
        free(trainable);
        return ot_evaluate(m, c->loss, c->input_name, c->output_name, 256, d, out);
    }
    ot_feature_cache cache;
    memset(&cache, 0, sizeof cache);
    if (status == OT_OK)
        status = ot_feature_cache_open(&cache, m, &part, io.input, d, c->cache_dir, role,
                                       c->cache_compress, forward_message, (void *)c);
    ot_plan_pair pair;
    memset(&pair, 0, sizeof pair);
    if (status == OT_OK) {
        /* Inference plans fed at the cached frontier. */
        ot_feed_set feeds = {.count = cache.count};
        for (int k = 0; k < cache.count; k++) {
            feeds.values[k] = cache.values[k];
            feeds.shapes[k] = cache.shapes[k];
        }
        ot_plan_options options = {
            .trainable = trainable, .targets = &io.loss_target, .n_targets = 1};
        status = ot_plan_pair_init(&pair, m, &options, &feeds, OT_MIN(256, d->n));
    }
    if (status == OT_OK) {
        const ot_tensor *y = ot_plan_value(pair.full, io.loss_target);
        status = ot_check_labels(d, c->loss, ot_tensor_numel(y) / pair.batch, "evaluation data");
    }
    if (status == OT_OK) {
        ot_sample_source source;
        ot_sample_source_from_cache(&source, &cache, d);
        status = ot_evaluate_with(&pair, &io, c->loss, &source, out);
    }
    ot_plan_pair_free(&pair);
    ot_feature_cache_close(&cache);
    ot_frozen_part_free(&part);
    free(trainable);
    return status;
}
