/* Scoring a trained model with the frozen-feature cache: the frozen part's outputs for the
 * evaluation data come from DIR/<role>.otcache (built on the first run, reused while the
 * frozen weights, graph and data stay the same), so a rerun with a new head or new
 * hyperparameters scores only the trained layers. */
#include <string.h>
#include <stdlib.h>

#include "core/util.h"
#include "cache.h"
#include "parameters.h"
#include "session.h"

ot_status ot_evaluate_cached(ot_model *m, const ot_train_config *c, const char *role, ot_dataset *d,
                             ot_eval_result *out) {
    if (!c->cache_dir) return ot_evaluate(m, c, 256, d, out);
    ot_io_binding io;
    OT_TRY(oti_io_bind(m, d, c->input_name, c->output_name, c->loss.kind, &io));
    OT_TRY(oti_dataset_fit_inputs(d, m, &io));
    unsigned char *trainable = oti_calloc((size_t)m->n_values + 1, 1);
    OT_ALLOC_CHECK(trainable);
    for (int v = 0; v < m->n_values; v++) trainable[v] = (unsigned char)oti_parameter_is_trained(m, v);
    ot_frozen_part part;
    ot_status status = oti_frozen_part_find(m, trainable, &io, d, &part);
    if (status == OT_OK && oti_frozen_part_is_empty(m, &part)) {
        /* Nothing frozen before the first trained layer: nothing to cache. */
        oti_frozen_part_free(&part);
        free(trainable);
        return ot_evaluate(m, c, 256, d, out);
    }
    ot_feature_cache cache;
    memset(&cache, 0, sizeof cache);
    ot_plan_options base = oti_config_plan_options(c);
    if (status == OT_OK)
        status = oti_feature_cache_open(&cache, m, &part, &io, d, &base, c->cache_dir, role,
                                       c->cache_compress, NULL, oti_config_message, (void *)c);
    if (status == OT_OK) {
        /* Inference plans fed at the cached frontier. */
        ot_feed_set feeds;
        oti_feed_set_from_cache(&feeds, &cache);
        ot_sample_source source;
        oti_sample_source_from_cache(&source, &cache, d);
        ot_plan_options options = oti_config_plan_options(c);
        options.trainable = trainable;
        options.targets = &io.loss_target;
        options.n_targets = 1;
        status = oti_evaluate_fed(m, &io, &c->loss, &options, &feeds, &source, d, 256, out);
    }
    oti_feature_cache_close(&cache);
    oti_frozen_part_free(&part);
    free(trainable);
    return status;
}
