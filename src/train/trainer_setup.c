/* Preparing a trainer for the current set of trained parameters: parameter block, optimizer
 * state, feature caches and plans. Called at the start and after gradual unfreezing. */
#include <string.h>
#include <stdlib.h>

#include "core/util.h"
#include "trainer_internal.h"

/* Moves optimizer state of parameters that stay trained into a new optimizer's layout. */
static ot_status carry_optimizer(trainer *t, const ot_parameters *old_params, ot_optimizer *old) {
    ot_optimizer *fresh;
    OT_TRY(ot_optimizer_create(t->config->context, &t->config->optimizer, t->params.total, &fresh));
    if (old) {
        fresh->step = old->step;
        for (int i = 0; i < t->params.count; i++)
            for (int j = 0; j < old_params->count; j++) {
                if (old_params->values[j] != t->params.values[i]) continue;
                int64_t n = ot_tensor_numel(&t->m->values[t->params.values[i]].tensor);
                for (int s = 0; s < fresh->n_state; s++)
                    memcpy(fresh->state[s] + t->params.offsets[i], old->state[s] + old_params->offsets[j],
                           sizeof(float) * (size_t)n);
            }
        ot_optimizer_free(old);
    }
    t->optimizer = fresh;
    return OT_OK;
}

static ot_status prepare_sources(trainer *t, ot_feed_set *feeds) {
    const ot_train_config *c = t->config;
    oti_feature_cache_close(&t->train_cache);
    oti_feature_cache_close(&t->val_cache);
    oti_frozen_part_free(&t->part);
    t->caching = 0;
    if (c->cache_dir) {
        if (c->augment_flip || c->augment_shift || c->augment_crop || c->augment_brightness)
            return oti_fail(OT_ERR_INVALID, "a feature cache cannot be combined with augmentation: augmented images "
                           "differ every epoch, so the frozen layers' outputs cannot be computed once");
        OT_TRY(oti_frozen_part_find(t->m, t->params.trainable, &t->io, t->train, &t->part));
        if (oti_frozen_part_is_empty(t->m, &t->part)) {
            oti_config_message((void *)c, "cache: the first layer is trained, so there is nothing frozen to cache");
        } else {
            ot_plan_options base = oti_config_plan_options(c);
            OT_TRY(oti_feature_cache_open(&t->train_cache, t->m, &t->part, &t->io, t->train, &base,
                                         c->cache_dir, "train", c->cache_compress, t->group, oti_config_message, (void *)c));
            if (t->val)
                OT_TRY(oti_feature_cache_open(&t->val_cache, t->m, &t->part, &t->io, t->val, &base,
                                             c->cache_dir, "val", c->cache_compress, t->group, oti_config_message, (void *)c));
            t->caching = 1;
        }
    }
    if (t->caching) {
        oti_sample_source_from_cache(&t->train_source, &t->train_cache, t->train);
        if (t->val) oti_sample_source_from_cache(&t->val_source, &t->val_cache, t->val);
        oti_feed_set_from_cache(feeds, &t->train_cache);
    } else {
        oti_sample_source_from_dataset(&t->train_source, t->train);
        if (t->val) oti_sample_source_from_dataset(&t->val_source, t->val);
        oti_feed_set_from_dataset(feeds, &t->io, t->train);
    }
    return OT_OK;
}

ot_status oti_trainer_prepare(trainer *t) {
    const ot_train_config *c = t->config;
    ot_model *m = t->m;
    oti_plan_pair_free(&t->plans);
    oti_plan_pair_free(&t->eval_plans);
    ot_parameters old_params = t->params;
    memset(&t->params, 0, sizeof t->params);
    ot_status status = oti_parameters_collect(t->config->context, m, &old_params, &t->params);
    if (status != OT_OK) {
        oti_parameters_release(m, &old_params); /* the model's tensors are still in its block */
        return status;
    }
    if (t->params.total == 0)
        status = oti_fail(OT_ERR_INVALID, "nothing to train: every parameter is frozen");
    if (status == OT_OK) status = carry_optimizer(t, &old_params, t->optimizer);
    oti_parameters_free(&old_params);
    OT_TRY(status);

    ot_feed_set feeds;
    OT_TRY(prepare_sources(t, &feeds));
    int64_t batch = OT_MIN(c->batch, t->train->n);
    ot_plan_options options = oti_config_plan_options(c);
    options.training = 1;
    options.trainable = t->params.trainable;
    options.param_grads = t->params.grad_of_value;
    options.rng = &t->rng;
    options.cross_sum = t->synced_norm ? &t->cross_sum : NULL;
    options.targets = &t->io.loss_target;
    options.n_targets = 1;
    OT_TRY(oti_plan_pair_init(&t->plans, m, &options, &feeds, batch));
    const ot_tensor *y = ot_plan_value(t->plans.full, t->io.loss_target);
    t->io.width = ot_tensor_numel(y) / batch;
    if (c->loss.kind == OT_LOSS_OUTPUT) {
        if (ot_tensor_numel(y) != 1)
            return oti_fail(OT_ERR_INVALID, "training on the model's own loss needs one value per batch, but "
                           "output '%s' has %lld values per batch, not one (a loss node with reduction 'mean' "
                           "or 'sum' gives one)",
                           m->values[t->io.output].name, (long long)ot_tensor_numel(y));
        t->io.width = 1;
    }
    OT_TRY(oti_label_layout(y, t->train, c->loss.kind, m->values[t->io.output].name, &t->io.class_inner));
    if (t->val) {
        ot_plan_options eval = oti_config_plan_options(c);
        eval.trainable = t->params.trainable;
        eval.targets = &t->io.loss_target;
        eval.n_targets = 1;
        OT_TRY(oti_plan_pair_init(&t->eval_plans, m, &eval, &feeds, OT_MIN(256, t->val->n)));
    }
    for (int k = 0; k < OT_MAX_FEEDS; k++) {
        free(t->batch_feeds[k]);
        t->batch_feeds[k] = NULL;
    }
    for (int k = 0; k < t->train_source.count; k++) {
        t->batch_feeds[k] = oti_malloc(t->train_source.row_bytes[k] * (size_t)batch);
        OT_ALLOC_CHECK(t->batch_feeds[k]);
    }
    if (t->synced_norm) {
        free(t->held_grads);
        t->held_grads = oti_malloc(sizeof(float) * (size_t)t->params.total);
        OT_ALLOC_CHECK(t->held_grads);
    }
    free(t->augment_scratch);
    t->augment_scratch = oti_malloc(sizeof(float) * (size_t)t->train_source.per_sample[0] + 1);
    OT_ALLOC_CHECK(t->augment_scratch);
    free(t->label_scratch);
    t->label_scratch = oti_malloc(sizeof(int64_t) * (size_t)OT_MAX(t->train->label_size, 1));
    OT_ALLOC_CHECK(t->label_scratch);
    return OT_OK;
}

ot_status oti_trainer_release(trainer *t) {
    oti_plan_pair_free(&t->plans);
    oti_plan_pair_free(&t->eval_plans);
    oti_feature_cache_close(&t->train_cache);
    oti_feature_cache_close(&t->val_cache);
    oti_frozen_part_free(&t->part);
    ot_optimizer_free(t->optimizer);
    ot_status status = oti_parameters_release(t->m, &t->params);
    free(t->order);
    for (int k = 0; k < OT_MAX_FEEDS; k++) free(t->batch_feeds[k]);
    free(t->batch_labels);
    free(t->batch_targets);
    free(t->augment_scratch);
    free(t->label_scratch);
    free(t->held_grads);
    free(t->best);
    return status;
}
