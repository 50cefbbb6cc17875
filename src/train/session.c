/* Input/output binding, plan pairs (full + partial batch) and evaluation. */
#include "session.h"

#include <math.h>
#include <string.h>

#include "core/util.h"
#include "ops/op.h"

static int find_named(const ot_model *m, const int *list, int n, const char *name) {
    for (int k = 0; k < n; k++)
        if (!strcmp(m->values[list[k]].name, name)) return list[k];
    return -1;
}

ot_status oti_io_bind(const ot_model *m, const char *input_name, const char *output_name,
                     ot_loss_kind loss, ot_io_binding *out) {
    memset(out, 0, sizeof *out);
    if (m->n_inputs < 1) return oti_fail(OT_ERR_INVALID, "the model has no graph input");
    if (m->n_outputs < 1) return oti_fail(OT_ERR_INVALID, "the model has no graph output");
    if (!input_name && m->n_inputs > 1)
        return oti_fail(OT_ERR_INVALID, "the model has %d inputs: name the one the data feeds",
                       m->n_inputs);
    out->input = input_name ? find_named(m, m->inputs, m->n_inputs, input_name) : m->inputs[0];
    if (out->input < 0) return oti_fail(OT_ERR_INVALID, "the model has no input named '%s'", input_name);
    out->output = output_name ? find_named(m, m->outputs, m->n_outputs, output_name) : m->outputs[0];
    if (out->output < 0) return oti_fail(OT_ERR_INVALID, "the model has no output named '%s'", output_name);
    out->loss_target = out->output;
    int producer = m->values[out->output].producer;
    if (producer >= 0) {
        const ot_layer *l = &m->layers[producer];
        unsigned flags = l->op ? l->op->flags : 0;
        int softmax = (flags & OT_OP_SOFTMAX) != 0, sigmoid = (flags & OT_OP_SIGMOID) != 0;
        /* Train on the logits: the same loss, computed stably. */
        if ((loss == OT_LOSS_SOFTMAX_CE && softmax) || (loss == OT_LOSS_BCE && sigmoid))
            out->loss_target = l->inputs[0];
    }
    return OT_OK;
}

void oti_feed_set_single(ot_feed_set *feeds, int value, int sample_ndim, const int64_t *sample_dims) {
    memset(feeds, 0, sizeof *feeds);
    feeds->count = 1;
    feeds->values[0] = value;
    feeds->shapes[0].dtype = OT_FLOAT;
    feeds->shapes[0].ndim = OT_MIN(sample_ndim + 1, OT_MAX_DIMS);
    memcpy(feeds->shapes[0].dims + 1, sample_dims, sizeof(int64_t) * (size_t)(feeds->shapes[0].ndim - 1));
}

static ot_status create_plan(ot_plan_pair *pair, int64_t batch, ot_plan **out) {
    ot_tensor shapes[OT_MAX_FEEDS];
    for (int k = 0; k < pair->feeds.count; k++) {
        shapes[k] = pair->feeds.shapes[k];
        shapes[k].dims[0] = batch;
    }
    return ot_plan_create(pair->model, &pair->options, pair->feeds.count, pair->feeds.values, shapes, out);
}

ot_status oti_plan_pair_init(ot_plan_pair *pair, ot_model *m, const ot_plan_options *options,
                            const ot_feed_set *feeds, int64_t batch) {
    memset(pair, 0, sizeof *pair);
    pair->model = m;
    pair->options = *options;
    pair->feeds = *feeds;
    pair->batch = batch;
    return create_plan(pair, batch, &pair->full);
}

ot_status oti_plan_pair_get(ot_plan_pair *pair, int64_t size, ot_plan **out) {
    if (size == pair->batch) {
        *out = pair->full;
        return OT_OK;
    }
    if (!pair->partial || pair->partial_size != size) {
        ot_plan_free(pair->partial);
        pair->partial = NULL;
        OT_TRY(create_plan(pair, size, &pair->partial));
        pair->partial_size = size;
    }
    *out = pair->partial;
    return OT_OK;
}

void oti_plan_pair_free(ot_plan_pair *pair) {
    ot_plan_free(pair->full);
    ot_plan_free(pair->partial);
    memset(pair, 0, sizeof *pair);
}

void oti_sample_source_from_dataset(ot_sample_source *s, const ot_dataset *d) {
    memset(s, 0, sizeof *s);
    s->n = d->n;
    s->count = 1;
    s->arrays[0] = d->x;
    s->per_sample[0] = d->sample_size;
    s->labels = d->labels;
    s->targets = d->targets;
    s->target_size = d->target_size;
}

ot_status oti_evaluate_with(ot_plan_pair *pair, const ot_io_binding *io, ot_loss_kind loss,
                           const ot_sample_source *source, ot_eval_result *out) {
    double total = 0;
    int64_t correct = 0;
    for (int64_t start = 0; start < source->n; start += pair->batch) {
        int64_t size = OT_MIN(pair->batch, source->n - start);
        ot_plan *plan;
        OT_TRY(oti_plan_pair_get(pair, size, &plan));
        /* Samples are contiguous in the source: bind them without a copy. */
        for (int k = 0; k < source->count; k++)
            ot_plan_value(plan, pair->feeds.values[k])->data = (float *)source->arrays[k] + start * source->per_sample[k];
        OT_TRY(ot_plan_forward(plan));
        const ot_tensor *y = ot_plan_value(plan, io->loss_target);
        int64_t width = ot_tensor_numel(y) / size;
        if (source->targets && source->target_size != width)
            return oti_fail(OT_ERR_INVALID, "targets have %lld values per sample, the output has %lld",
                           (long long)source->target_size, (long long)width);
        total += size * ot_loss_compute(loss, NULL, y->data, size, width,
                                        source->labels ? source->labels + start : NULL,
                                        source->targets ? source->targets + start * source->target_size : NULL,
                                        &correct);
    }
    out->samples = source->n;
    out->loss = source->n ? total / source->n : NAN;
    out->accuracy = source->n ? (double)correct / source->n : NAN;
    return OT_OK;
}

ot_status oti_evaluate_fed(ot_model *m, const ot_io_binding *io, ot_loss_kind loss,
                          const ot_plan_options *options, const ot_feed_set *feeds,
                          const ot_sample_source *source, const ot_dataset *d, int64_t batch,
                          ot_eval_result *out) {
    ot_plan_pair pair;
    ot_status status = oti_plan_pair_init(&pair, m, options, feeds, OT_MIN(batch, d->n));
    if (status == OT_OK) {
        const ot_tensor *y = ot_plan_value(pair.full, io->loss_target);
        status = oti_check_labels(d, loss, ot_tensor_numel(y) / pair.batch, "evaluation data");
    }
    if (status == OT_OK) status = oti_evaluate_with(&pair, io, loss, source, out);
    oti_plan_pair_free(&pair);
    return status;
}

ot_plan_options oti_config_plan_options(const ot_train_config *c) {
    return (ot_plan_options){.context = c->context,
                             .fast_convolution = c->fast_convolution,
                             .conv_tuning = c->conv_tuning};
}

ot_status ot_evaluate(ot_model *m, const ot_train_config *config, int64_t batch, ot_dataset *d,
                      ot_eval_result *out) {
    ot_io_binding io;
    OT_TRY(oti_io_bind(m, config->input_name, config->output_name, config->loss, &io));
    OT_TRY(oti_dataset_fit_input(d, &m->values[io.input]));
    ot_plan_options options = oti_config_plan_options(config);
    options.targets = &io.loss_target;
    options.n_targets = 1;
    ot_feed_set feeds;
    oti_feed_set_single(&feeds, io.input, d->sample_ndim, d->sample_dims);
    ot_sample_source source;
    oti_sample_source_from_dataset(&source, d);
    return oti_evaluate_fed(m, &io, config->loss, &options, &feeds, &source, d, batch, out);
}

void oti_config_message(void *config, const char *message) {
    const ot_train_config *c = config;
    if (c->callbacks.on_message) c->callbacks.on_message(c->callbacks.user, message);
}

ot_status oti_dataset_fit_input(ot_dataset *d, const ot_value *input) {
    if (!input->has_shape || input->tensor.ndim < 1) return OT_OK;
    int ndim = input->tensor.ndim - 1;
    const int64_t *dims = input->tensor.dims + 1;
    int known = 1;
    for (int k = 0; k < ndim; k++) known &= dims[k] >= 0;
    if (known) return ot_dataset_reshape(d, ndim, dims, input->name);
    int fits = d->sample_ndim == ndim;
    for (int k = 0; fits && k < ndim; k++) fits = dims[k] < 0 || dims[k] == d->sample_dims[k];
    if (fits) return OT_OK;
    char want[128], have[128];
    return oti_fail(OT_ERR_INVALID, "data samples have shape %s, model input '%s' takes %s per sample",
                   ot_shape_string(d->sample_ndim, d->sample_dims, have, sizeof have), input->name,
                   ot_shape_string(ndim, dims, want, sizeof want));
}

ot_status oti_check_labels(const ot_dataset *d, ot_loss_kind loss, int64_t width, const char *what) {
    if (!d->labels) {
        if (loss == OT_LOSS_SOFTMAX_CE)
            return oti_fail(OT_ERR_INVALID, "%s has no class labels, which softmax-ce needs", what);
        return OT_OK;
    }
    for (int64_t i = 0; i < d->n; i++) {
        int64_t label = d->labels[i];
        int bad = label < 0;
        if (loss == OT_LOSS_SOFTMAX_CE) bad |= label >= width;
        if (loss == OT_LOSS_BCE && width == 1) bad |= label > 1;
        if (loss != OT_LOSS_SOFTMAX_CE && width > 1) bad |= label >= width;
        if (bad)
            return oti_fail(OT_ERR_INVALID, "%s: label %lld of sample %lld is out of range for an "
                           "output of %lld value%s", what, (long long)label, (long long)i,
                           (long long)width, width == 1 ? "" : "s");
    }
    return OT_OK;
}
