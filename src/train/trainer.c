/* The epoch loop: batches -> forward -> loss -> backward -> L1/L2 -> clip -> optimizer ->
 * max-norm; validation, early stopping, schedules, gradual unfreezing, checkpoints. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "core/context_internal.h"
#include "onnxtrain/transfer.h"
#include "trainer_internal.h"

void ot_train_config_defaults(ot_train_config *c) {
    memset(c, 0, sizeof *c);
    ot_optimizer_defaults(OT_OPTIMIZER_ADAM, &c->optimizer);
    ot_schedule_parse("constant", &c->schedule);
    c->epochs = 10;
    c->batch = 32;
    c->accumulate = 1;
    c->loss = ot_loss_of_kind(OT_LOSS_SOFTMAX_CE);
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
static int64_t snapshot_size(const ot_model *m) {
    int64_t total = 0;
    for (int v = 0; v < m->n_values; v++)
        if (m->values[v].kind == OT_VALUE_INITIALIZER && m->values[v].tensor.dtype == OT_FLOAT)
            total += ot_tensor_numel(&m->values[v].tensor);
    return total;
}

static void snapshot_copy(ot_model *m, float *snapshot, int save) {
    int64_t at = 0;
    for (int v = 0; v < m->n_values; v++) {
        ot_tensor *x = &m->values[v].tensor;
        if (m->values[v].kind != OT_VALUE_INITIALIZER || x->dtype != OT_FLOAT) continue;
        size_t bytes = sizeof(float) * (size_t)ot_tensor_numel(x);
        if (save) memcpy(snapshot + at, x->data, bytes);
        else memcpy(x->data, snapshot + at, bytes);
        at += ot_tensor_numel(x);
    }
}

/* Forward and backward of one gathered (micro-)batch of `size` samples, adding its gradient
 * (of its summed loss / divisor) into the parameter gradients. */
static ot_status accumulate_batch(trainer *t, int64_t size, double divisor) {
    const ot_train_config *c = t->config;
    ot_plan *plan;
    OT_TRY(oti_plan_pair_get(&t->plans, size, &plan));
    for (int k = 0; k < t->plans.feeds.count; k++) ot_plan_value(plan, t->plans.feeds.values[k])->data = t->batch_feeds[k];
    OT_TRY(ot_plan_forward(plan));
    const ot_tensor *y = ot_plan_value(plan, t->io.loss_target);
    ot_plan_zero_grads(plan);
    ot_tensor *dy = ot_plan_grad(plan, t->io.loss_target);
    if (!dy)
        return oti_fail(OT_ERR_INVALID, "no trained parameter influences output '%s': everything "
                       "before it is frozen", t->m->values[t->io.output].name);
    ot_loss_truth truth = {.labels = t->batch_labels, .label_size = t->train_source.label_size,
                           .targets = t->batch_targets, .class_inner = t->io.class_inner};
    /* A pass without rows of its own keeps dy = 0 and counts nothing. */
    if (!t->empty_share)
        ot_loss_compute(&c->loss, dy->data, divisor, y->data, size, t->io.width, &truth, &t->step_tally);
    /* The step is abandoned: no backward (synchronised BatchNorm's backward still joins the
     * other ranks' sums). */
    if (!isfinite(t->step_tally.sum) && !t->synced_norm) return OT_OK;
    return ot_plan_backward(plan);
}

/* 1 when no element is NaN or infinite: those have every exponent bit set. Bit tests OR-ed
 * together vectorise; a float sum of x * 0 (NaN for those) was one dependent add per
 * element, 12 ms a step over ResNet18's layer4 gradients. */
static int all_finite(const float *x, int64_t n) {
    uint32_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, x + i, sizeof bits);
        bad |= (bits & 0x7f800000u) == 0x7f800000u;
    }
    return !bad;
}

/* Items (labels not ignored, or output elements: ot_loss_items) samples [first, first + count)
 * of the epoch order hold: a step's gradient is the mean over them. */
static double step_items(trainer *t, int64_t first, int64_t count) {
    const ot_sample_source *s = &t->train_source;
    int64_t label_size = OT_MAX(s->label_size, 1), items = 0;
    for (int64_t i = first; i < first + count; i++) {
        ot_loss_truth truth = {.labels = s->labels ? s->labels + t->order[i] * label_size : NULL,
                               .label_size = label_size};
        items += ot_loss_items(&t->config->loss, 1, t->io.width, &truth);
    }
    return (double)items;
}

static void tally_add(ot_loss_tally *to, const ot_loss_tally *from) {
    to->sum += from->sum;
    to->items += from->items;
    to->correct += from->correct;
    to->scored += from->scored;
}

/* A NaN or infinite loss or gradient in this step: skip it or stop (the weights are still
 * those before it). */
static ot_status nonfinite_step(trainer *t) {
    const ot_train_config *c = t->config;
    const char *what = isfinite(t->step_tally.sum) ? "a gradient" : "the loss";
    if (c->on_nonfinite == OT_NONFINITE_SKIP_BATCH) {
        t->skipped_batches++;
        t->step++;
        if (c->callbacks.on_message) {
            char text[256];
            snprintf(text, sizeof text, "step %lld (epoch %lld): %s is NaN or infinite; the step is skipped",
                     (long long)t->step, (long long)t->epoch, what);
            c->callbacks.on_message(c->callbacks.user, text);
        }
        return OT_OK;
    }
    return oti_fail(OT_ERR_NUMERIC, "%s became NaN or infinite at step %lld (epoch %lld); the weights are "
                   "those before that step. Try a lower learning rate or clip the gradients", what,
                   (long long)t->step + 1, (long long)t->epoch);
}

static double tally_mean(const ot_loss_tally *tally) {
    return tally->items ? tally->sum / (double)tally->items : NAN;
}

/* Synchronised BatchNorm on a rank without rows in a global batch: a pass over one row
 * (any: it counts for nothing) joins the other ranks' BatchNorm sums; its gradient is dropped. */
static ot_status empty_pass(trainer *t, int64_t row, double divisor) {
    size_t bytes = sizeof(float) * (size_t)t->params.total;
    memcpy(t->held_grads, t->params.grads, bytes);
    t->empty_share = 1;
    oti_gather_batch(t, t->order + row, 1);
    ot_status status = accumulate_batch(t, 1, divisor);
    t->empty_share = 0;
    memcpy(t->params.grads, t->held_grads, bytes);
    return status;
}

/* One optimizer step on samples [first, first + count) of the epoch order: global batches of
 * (ranks x batch), of which this rank takes its share (oti_share_of_batch). */
static ot_status train_step(trainer *t, int64_t first, int64_t count) {
    const ot_train_config *c = t->config;
    int64_t n = t->train_source.n, global = c->batch * t->ranks, last = first + count;
    double divisor = step_items(t, first, count);
    oti_parallel_zero(oti_context_pool(t->config->context), t->params.grads, sizeof(float) * (size_t)t->params.total);
    memset(&t->step_tally, 0, sizeof t->step_tally);
    for (int64_t start = first; start < last && (isfinite(t->step_tally.sum) || t->synced_norm); start += global) {
        int64_t mine, size;
        oti_share_of_batch(t, start, OT_MIN(n, last), &mine, &size);
        /* With every label ignored the gradient is 0: any divisor will do. */
        if (size > 0) {
            oti_gather_batch(t, t->order + mine, size);
            OT_TRY(accumulate_batch(t, size, divisor > 0 ? divisor : 1.0));
        } else if (t->synced_norm) {
            OT_TRY(empty_pass(t, start, divisor > 0 ? divisor : 1.0));
        }
    }
    OT_TRY(oti_parallel_reduce_step(t));
    float *w = t->params.block, *g = t->params.grads;
    int64_t np = t->params.total;
    if (!isfinite(t->step_tally.sum) || !all_finite(g, np)) return nonfinite_step(t);
    tally_add(&t->epoch_tally, &t->step_tally);
    if ((c->l1 || c->l2) && c->optimizer.kind != OT_OPTIMIZER_FTRL)
        oti_add_l1_l2(g, w, np, (float)c->l1, (float)c->l2);
    if (c->clip_value > 0) oti_clip_by_value(g, np, (float)c->clip_value);
    if (c->clip_norm > 0) oti_clip_by_norm(g, np, c->clip_norm);
    t->lr = ot_schedule_lr(&t->schedule, c->optimizer.lr, t->step);
    ot_optimizer_step(t->optimizer, w, g, (float)t->lr);
    if (c->max_norm > 0) oti_apply_max_norm(&t->params, c->max_norm);
    t->step++;
    if (c->callbacks.on_step) {
        ot_step_stats stats = {t->step, t->epoch, tally_mean(&t->step_tally), t->lr};
        c->callbacks.on_step(c->callbacks.user, &stats);
    }
    return OT_OK;
}

/* Draws the epoch's order; a resumed epoch redraws the same order from the saved state. */
static void draw_order(trainer *t) {
    int64_t n = t->train_source.n;
    for (int64_t i = 0; i < n; i++) t->order[i] = i;
    if (t->config->shuffle) ot_rng_shuffle(&t->rng, t->order, n);
}

/* Ctrl-C: on one process as it happens; across ranks as agreed in the last step's sums. */
static int stop_requested(const trainer *t) {
    const ot_train_config *c = t->config;
    return t->ranks > 1 ? t->stop_agreed : c->interrupt && *c->interrupt;
}

static ot_status run_epoch(trainer *t, double *loss, double *accuracy) {
    const ot_train_config *c = t->config;
    int64_t n = t->train_source.n, global = c->batch * t->ranks;
    int64_t per_step = OT_MAX(c->accumulate, 1) * global, batches = (n + global - 1) / global;
    while (t->position < n) {
        OT_TRY(train_step(t, t->position, OT_MIN(per_step, n - t->position)));
        t->position = OT_MIN(n, t->position + per_step);
        int64_t b = (t->position + global - 1) / global;
        if (c->callbacks.on_batch)
            c->callbacks.on_batch(c->callbacks.user, t->epoch, b, batches, tally_mean(&t->epoch_tally));
        if (stop_requested(t) && t->position < n) {
            t->interrupted = 1;
            return OT_OK;
        }
    }
    *loss = tally_mean(&t->epoch_tally);
    *accuracy = t->epoch_tally.scored ? (double)t->epoch_tally.correct / (double)t->epoch_tally.scored : NAN;
    return OT_OK;
}

static ot_status setup(trainer *t) {
    const ot_train_config *c = t->config;
    ot_model *m = t->m;
    if (c->epochs < 1 || c->batch < 1 || c->accumulate < 1)
        return oti_fail(OT_ERR_INVALID, "epochs, batch size and batches per step must be at least 1");
    OT_TRY(oti_io_bind(m, t->train, c->input_name, c->output_name, c->loss.kind, &t->io));
    OT_TRY(oti_dataset_fit_inputs(t->train, m, &t->io));
    if (t->val) {
        ot_io_binding val_io;
        OT_TRY(oti_io_bind(m, t->val, c->input_name, c->output_name, c->loss.kind, &val_io));
        if (memcmp(&val_io, &t->io, sizeof val_io))
            return oti_fail(OT_ERR_INVALID, "the validation data feeds other model inputs than the training data");
        OT_TRY(oti_dataset_fit_inputs(t->val, m, &t->io));
    }
    OT_TRY(oti_parallel_setup(t));
    ot_rng_seed(&t->rng, c->seed);
    t->schedule = c->schedule;
    t->best_val = INFINITY;
    t->epoch = 1;
    OT_TRY(oti_trainer_prepare(t));
    OT_TRY(oti_check_labels(t->train, &c->loss, t->io.width, "training data"));
    if (t->val) OT_TRY(oti_check_labels(t->val, &c->loss, t->io.width, "validation data"));
    if (t->train->targets && t->train->target_size != t->io.width)
        return oti_fail(OT_ERR_INVALID, "targets have %lld values per sample, output '%s' has %lld",
                       (long long)t->train->target_size, m->values[t->io.output].name, (long long)t->io.width);
    int64_t batch = OT_MIN(c->batch, t->train->n);
    t->order = oti_malloc(sizeof(int64_t) * (size_t)t->train->n);
    OT_ALLOC_CHECK(t->order);
    if (t->train->labels) {
        t->batch_labels = oti_malloc(sizeof(int64_t) * (size_t)(batch * OT_MAX(t->train->label_size, 1)));
        OT_ALLOC_CHECK(t->batch_labels);
    }
    if (t->train->targets) {
        t->batch_targets = oti_malloc(sizeof(float) * (size_t)(batch * t->train->target_size));
        OT_ALLOC_CHECK(t->batch_targets);
    }
    if (c->early_stopping) {
        t->best = oti_malloc(sizeof(float) * (size_t)(snapshot_size(m) + 1));
        OT_ALLOC_CHECK(t->best);
    }
    if (c->resume) {
        OT_TRY(oti_checkpoint_load(t, c->checkpoint_path));
        message(c, "resumed from %s at epoch %lld%s", c->checkpoint_path, (long long)t->epoch,
                t->position ? " (mid-epoch)" : "");
    }
    return oti_parallel_share_weights(t);
}

/* Gradual unfreezing at the start of epochs E+1, 2E+1, ... */
static ot_status maybe_unfreeze(trainer *t) {
    const ot_train_config *c = t->config;
    if (!c->unfreeze_every || t->epoch == 1 || (t->epoch - 1) % c->unfreeze_every) return OT_OK;
    int done = ot_transfer_unfreeze_top(t->m, c->unfreeze_count);
    if (!done) return OT_OK;
    message(c, "epoch %lld: unfroze %d more layer%s", (long long)t->epoch, done, done == 1 ? "" : "s");
    return oti_trainer_prepare(t);
}

static ot_status validate(trainer *t, ot_epoch_stats *stats, ot_train_result *result) {
    const ot_train_config *c = t->config;
    /* Rank 0 validates (its BatchNorm statistics are the model it writes) and every rank
     * takes its figures, so the schedule and early stopping decide the same everywhere. */
    ot_eval_result e = {0};
    if (t->rank == 0) OT_TRY(oti_evaluate_with(&t->eval_plans, &t->io, &c->loss, &t->val_source, &e));
    OT_TRY(oti_parallel_from_rank0(t, &e, sizeof e));
    stats->val_loss = e.loss;
    stats->val_accuracy = e.accuracy;
    stats->val_mean_iou = e.mean_iou;
    if (e.loss < t->best_val) {
        t->best_val = e.loss;
        t->since_best = 0;
        t->best_epoch = t->epoch;
        stats->improved = 1;
        if (t->best) {
            snapshot_copy(t->m, t->best, 1);
            t->has_best = 1;
        }
    } else {
        t->since_best++;
    }
    result->best_epoch = t->best_epoch;
    if (ot_schedule_observe(&t->schedule, e.loss))
        message(c, "validation loss stalled for %d epochs: learning rate x %g", t->schedule.patience, t->schedule.factor);
    return OT_OK;
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
    double start_ms = oti_now_ms();
    for (; status == OT_OK && t.epoch <= config->epochs; t.epoch++) {
        ot_epoch_stats stats = {.epoch = t.epoch, .epochs = config->epochs, .val_loss = NAN, .val_accuracy = NAN,
                                .val_mean_iou = NAN};
        double epoch_ms = oti_now_ms();
        int64_t first_sample = t.position;
        if (first_sample == 0) {
            status = maybe_unfreeze(&t);
            if (status != OT_OK) break;
            t.epoch_rng = t.rng;
            memset(&t.epoch_tally, 0, sizeof t.epoch_tally);
        }
        /* A resumed mid-epoch run redraws the order from the epoch's saved generator. */
        ot_rng now = t.rng;
        t.rng = t.epoch_rng;
        draw_order(&t);
        if (first_sample) t.rng = now;
        oti_parallel_rank_generator(&t);
        status = run_epoch(&t, &stats.train_loss, &stats.train_accuracy);
        if (status == OT_OK) status = oti_parallel_sync_generator(&t);
        if (status != OT_OK) break;
        if (t.interrupted) {
            result->interrupted = 1;
            if (config->checkpoint_path && t.rank == 0) status = oti_checkpoint_save(&t, config->checkpoint_path);
            break;
        }
        result->skipped_steps = t.skipped_batches;
        int64_t seen = t.train_source.n - first_sample;
        stats.samples_per_second = seen / OT_MAX((oti_now_ms() - epoch_ms) / 1000.0, 1e-9);
        if (val) status = validate(&t, &stats, result);
        if (status != OT_OK) break;
        stats.lr = t.lr;
        stats.elapsed_seconds = (oti_now_ms() - start_ms) / 1000.0;
        result->last = stats;
        result->epochs_run = t.epoch;
        t.position = 0;
        int stop = config->early_stopping && val && t.since_best >= config->early_stopping;
        if (config->checkpoint_path && t.rank == 0) {
            /* The checkpoint describes the state after this epoch: resume starts the next. */
            t.epoch++;
            status = oti_checkpoint_save(&t, config->checkpoint_path);
            t.epoch--;
            if (status != OT_OK) break;
        }
        if (config->callbacks.on_epoch) config->callbacks.on_epoch(config->callbacks.user, &stats);
        if (stop_requested(&t)) {
            result->interrupted = 1;
            break;
        }
        if (stop) {
            result->stopped_early = 1;
            message(config, "early stopping: no validation improvement for %d epochs; keeping the "
                    "weights of epoch %lld", config->early_stopping, (long long)t.best_epoch);
            break;
        }
    }
    if (status == OT_OK && t.has_best && config->early_stopping) snapshot_copy(m, t.best, 0);
    ot_status released = oti_trainer_release(&t);
    return status != OT_OK ? status : released;
}
