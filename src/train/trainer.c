/* The epoch loop: batches -> forward -> loss -> backward -> L1/L2 -> clip -> optimizer ->
 * max-norm; validation, early stopping, schedules, progress. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../core/util.h"
#include "parameters.h"
#include "session.h"
#include "trainer_internal.h"

void ot_train_config_defaults(ot_train_config *c) {
    memset(c, 0, sizeof *c);
    ot_optimizer_defaults(OT_OPTIMIZER_ADAM, &c->optimizer);
    ot_schedule_parse("constant", &c->schedule);
    c->loss = OT_LOSS_SOFTMAX_CE;
    c->epochs = 10;
    c->batch = 32;
    c->seed = 42;
    c->shuffle = 1;
}

static void message(const ot_train_config *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void message(const ot_train_config *c, const char *fmt, ...) {
    if (!c->callbacks.on_message) return;
    char text[1024];
    va_list args;
    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    c->callbacks.on_message(c->callbacks.user, text);
}

/* Copies of every float initializer (parameters and BatchNorm statistics): the snapshot
 * early stopping restores. */
static void snapshot_save(trainer *t) {
    const ot_model *m = t->m;
    int64_t total = 0;
    for (int v = 0; v < m->n_values; v++)
        if (m->values[v].kind == OT_VALUE_INITIALIZER && m->values[v].tensor.dtype == OT_FLOAT)
            total += ot_tensor_numel(&m->values[v].tensor);
    if (!t->best) t->best = ot_xmalloc(sizeof(float) * (size_t)(total + 1));
    int64_t at = 0;
    for (int v = 0; v < m->n_values; v++) {
        const ot_tensor *x = &m->values[v].tensor;
        if (m->values[v].kind != OT_VALUE_INITIALIZER || x->dtype != OT_FLOAT) continue;
        memcpy(t->best + at, x->data, sizeof(float) * (size_t)ot_tensor_numel(x));
        at += ot_tensor_numel(x);
    }
}

static void snapshot_restore(trainer *t) {
    int64_t at = 0;
    for (int v = 0; v < t->m->n_values; v++) {
        ot_tensor *x = &t->m->values[v].tensor;
        if (t->m->values[v].kind != OT_VALUE_INITIALIZER || x->dtype != OT_FLOAT) continue;
        memcpy(x->data, t->best + at, sizeof(float) * (size_t)ot_tensor_numel(x));
        at += ot_tensor_numel(x);
    }
}

/* One optimizer step on the batch already gathered into t->batch_x / t->batch_labels. */
static ot_status train_step(trainer *t, int64_t size, double *loss, int64_t *correct) {
    const ot_train_config *c = t->config;
    ot_plan *plan;
    OT_TRY(ot_plan_pair_get(&t->plans, size, &plan));
    ot_plan_value(plan, t->plans.feed)->data = t->batch_x;
    OT_TRY(ot_plan_forward(plan));
    const ot_tensor *y = ot_plan_value(plan, t->io.loss_target);
    ot_plan_zero_grads(plan);
    memset(t->params.grads, 0, sizeof(float) * (size_t)t->params.total);
    ot_tensor *dy = ot_plan_grad(plan, t->io.loss_target);
    if (!dy)
        return ot_fail(OT_ERR_INVALID, "no trainable parameter influences output '%s': everything "
                       "before it is frozen", t->m->values[t->io.output].name);
    *loss = ot_loss_compute(c->loss, dy->data, y->data, size, t->io.width, t->batch_labels,
                            t->batch_targets, correct);
    if (!isfinite(*loss))
        return ot_fail(OT_ERR_NUMERIC, "the loss became %s at step %lld (epoch %lld); try a lower "
                       "--lr or --clip-norm", isnan(*loss) ? "NaN" : "infinite",
                       (long long)t->step + 1, (long long)t->epoch);
    OT_TRY(ot_plan_backward(plan));
    float *w = t->params.block, *g = t->params.grads;
    int64_t n = t->params.total;
    if ((c->l1 || c->l2) && c->optimizer.kind != OT_OPTIMIZER_FTRL)
        ot_add_l1_l2(g, w, n, (float)c->l1, (float)c->l2);
    if (c->clip_value > 0) ot_clip_by_value(g, n, (float)c->clip_value);
    if (c->clip_norm > 0) ot_clip_by_norm(g, n, c->clip_norm);
    t->lr = ot_schedule_lr(&t->schedule, c->optimizer.lr, t->step);
    ot_optimizer_step(t->optimizer, w, g, (float)t->lr);
    if (c->max_norm > 0) ot_apply_max_norm(&t->params, c->max_norm);
    t->step++;
    return OT_OK;
}

static ot_status run_epoch(trainer *t, double *loss, double *accuracy) {
    const ot_train_config *c = t->config;
    int64_t n = t->train->n;
    for (int64_t i = 0; i < n; i++) t->order[i] = i;
    if (c->shuffle) ot_rng_shuffle(&t->rng, t->order, n);
    int64_t batches = (n + c->batch - 1) / c->batch, correct = 0;
    double total = 0;
    for (int64_t b = 0; b < batches; b++) {
        int64_t start = b * c->batch, size = OT_MIN(c->batch, n - start);
        ot_gather_batch(t, t->order + start, size);
        double batch_loss = 0;
        OT_TRY(train_step(t, size, &batch_loss, &correct));
        total += batch_loss * size;
        if (c->callbacks.on_batch) c->callbacks.on_batch(c->callbacks.user, t->epoch, b + 1, batches, total / (start + size));
        if (c->interrupt && *c->interrupt) {
            t->interrupted = 1;
            break;
        }
    }
    *loss = total / n;
    *accuracy = (double)correct / n;
    return OT_OK;
}

static ot_status setup(trainer *t) {
    const ot_train_config *c = t->config;
    ot_model *m = t->m;
    if (c->epochs < 1 || c->batch < 1) return ot_fail(OT_ERR_INVALID, "--epochs and --batch must be at least 1");
    OT_TRY(ot_io_bind(m, c->input_name, c->output_name, c->loss, &t->io));
    OT_TRY(ot_dataset_fit_input(t->train, &m->values[t->io.input]));
    if (t->val) OT_TRY(ot_dataset_fit_input(t->val, &m->values[t->io.input]));
    OT_TRY(ot_parameters_collect(m, &t->params));
    if (t->params.total == 0)
        return ot_fail(OT_ERR_INVALID, "nothing to train: every parameter is frozen");
    OT_TRY(ot_optimizer_create(&c->optimizer, t->params.total, &t->optimizer));
    ot_rng_seed(&t->rng, c->seed);
    t->schedule = c->schedule;
    ot_plan_options options = {.training = 1, .trainable = t->params.trainable,
                               .param_grads = t->params.grad_of_value, .rng = &t->rng,
                               .targets = &t->io.loss_target, .n_targets = 1};
    int64_t batch = OT_MIN(c->batch, t->train->n);
    OT_TRY(ot_plan_pair_init(&t->plans, m, &options, t->io.input, OT_FLOAT, t->train->sample_ndim,
                             t->train->sample_dims, batch));
    const ot_tensor *y = ot_plan_value(t->plans.full, t->io.loss_target);
    t->io.width = ot_tensor_numel(y) / batch;
    OT_TRY(ot_check_labels(t->train, c->loss, t->io.width, "training data"));
    if (t->val) OT_TRY(ot_check_labels(t->val, c->loss, t->io.width, "validation data"));
    if (t->train->targets && t->train->target_size != t->io.width)
        return ot_fail(OT_ERR_INVALID, "targets have %lld values per sample, output '%s' has %lld",
                       (long long)t->train->target_size, m->values[t->io.output].name, (long long)t->io.width);
    if (t->val) {
        ot_plan_options eval = {.trainable = t->params.trainable, .targets = &t->io.loss_target, .n_targets = 1};
        OT_TRY(ot_plan_pair_init(&t->eval_plans, m, &eval, t->io.input, OT_FLOAT, t->val->sample_ndim,
                                 t->val->sample_dims, OT_MIN(256, t->val->n)));
    }
    t->order = ot_xmalloc(sizeof(int64_t) * (size_t)t->train->n);
    t->batch_x = ot_xmalloc(sizeof(float) * (size_t)(batch * t->train->sample_size));
    if (t->train->labels) t->batch_labels = ot_xmalloc(sizeof(int64_t) * (size_t)batch);
    if (t->train->targets) t->batch_targets = ot_xmalloc(sizeof(float) * (size_t)(batch * t->train->target_size));
    return OT_OK;
}

static void teardown(trainer *t) {
    ot_plan_pair_free(&t->plans);
    ot_plan_pair_free(&t->eval_plans);
    ot_optimizer_free(t->optimizer);
    ot_parameters_free(&t->params);
    free(t->order);
    free(t->batch_x);
    free(t->batch_labels);
    free(t->batch_targets);
    free(t->best);
}

ot_status ot_train(ot_model *m, const ot_train_config *config, ot_dataset *train,
                   ot_dataset *val, ot_train_result *result) {
    trainer t = {0};
    t.m = m;
    t.config = config;
    t.train = train;
    t.val = val;
    memset(result, 0, sizeof *result);
    ot_status status = setup(&t);
    double best_val = INFINITY, start_ms = ot_now_ms();
    int64_t since_best = 0, samples = 0;
    for (t.epoch = 1; status == OT_OK && t.epoch <= config->epochs; t.epoch++) {
        ot_epoch_stats stats = {.epoch = t.epoch, .epochs = config->epochs, .val_loss = NAN, .val_accuracy = NAN};
        double epoch_ms = ot_now_ms();
        status = run_epoch(&t, &stats.train_loss, &stats.train_accuracy);
        if (status != OT_OK) break;
        samples += train->n;
        stats.samples_per_second = train->n / ((ot_now_ms() - epoch_ms) / 1000.0);
        if (val) {
            ot_eval_result e;
            status = ot_evaluate_with(&t.eval_plans, &t.io, config->loss, val, &e);
            if (status != OT_OK) break;
            stats.val_loss = e.loss;
            stats.val_accuracy = e.accuracy;
            if (e.loss < best_val) {
                best_val = e.loss;
                since_best = 0;
                stats.improved = 1;
                result->best_epoch = t.epoch;
                if (config->early_stopping) snapshot_save(&t);
            } else {
                since_best++;
            }
            if (ot_schedule_observe(&t.schedule, e.loss))
                message(config, "validation loss stalled for %d epochs: learning rate x %g",
                        t.schedule.patience, t.schedule.factor);
        }
        stats.lr = t.lr;
        stats.elapsed_seconds = (ot_now_ms() - start_ms) / 1000.0;
        result->last = stats;
        result->epochs_run = t.epoch;
        if (config->callbacks.on_epoch) config->callbacks.on_epoch(config->callbacks.user, &stats);
        if (t.interrupted) {
            result->interrupted = 1;
            break;
        }
        if (config->early_stopping && val && since_best >= config->early_stopping) {
            result->stopped_early = 1;
            message(config, "early stopping: no validation improvement for %d epochs; restoring "
                    "the weights of epoch %lld", config->early_stopping, (long long)result->best_epoch);
            break;
        }
    }
    if (status == OT_OK && config->early_stopping && val && t.best) snapshot_restore(&t);
    (void)samples;
    teardown(&t);
    return status;
}
