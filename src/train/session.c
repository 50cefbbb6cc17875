/* Input/output binding, plan pairs (full + partial batch) and evaluation. */
#include "session.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "ops/op.h"

static int find_named(const ot_model *m, const int *list, int n, const char *name) {
    for (int k = 0; k < n; k++)
        if (!strcmp(m->values[list[k]].name, name)) return list[k];
    return -1;
}

/* The graph input x feeds: the named one, or the only input no further array feeds. */
static ot_status bind_x(const ot_model *m, const ot_io_binding *io, const char *input_name, int *out) {
    if (input_name) {
        *out = find_named(m, m->inputs, m->n_inputs, input_name);
        if (*out < 0) return oti_fail(OT_ERR_INVALID, "the model has no input named '%s'", input_name);
        return OT_OK;
    }
    *out = -1;
    int open = 0;
    for (int k = 0; k < m->n_inputs; k++) {
        int fed = 0;
        for (int a = 0; a < io->n_arrays; a++) fed |= io->array_inputs[a] == m->inputs[k];
        if (fed) continue;
        if (*out < 0) *out = m->inputs[k];
        open++;
    }
    if (open == 1) return OT_OK;
    char names[512] = "";
    for (int k = 0, at = 0; k < m->n_inputs && at < (int)sizeof names; k++) {
        int fed = 0;
        for (int a = 0; a < io->n_arrays; a++) fed |= io->array_inputs[a] == m->inputs[k];
        if (!fed)
            at += snprintf(names + at, sizeof names - (size_t)at, "%s'%s'", at ? ", " : "", m->values[m->inputs[k]].name);
    }
    return oti_fail(OT_ERR_INVALID, "the model has %d inputs no data array feeds (%s): name the one the samples "
                   "feed, and feed the others from named arrays (npz:FILE:x=NAME,y=NAME,INPUT=ARRAY)", open, names);
}

ot_status oti_io_bind(const ot_model *m, const ot_dataset *d, const char *input_name,
                     const char *output_name, ot_loss_kind loss, ot_io_binding *out) {
    memset(out, 0, sizeof *out);
    if (m->n_inputs < 1) return oti_fail(OT_ERR_INVALID, "the model has no graph input");
    if (m->n_outputs < 1) return oti_fail(OT_ERR_INVALID, "the model has no graph output");
    for (int a = 0; d && a < d->n_arrays; a++) {
        const ot_dataset_array *array = &d->arrays[a];
        int v = find_named(m, m->inputs, m->n_inputs, array->input);
        if (v < 0) return oti_fail(OT_ERR_INVALID, "data array '%s' is given for input '%s', but the model has "
                                  "no input of that name", array->name, array->input);
        out->array_inputs[out->n_arrays++] = v;
    }
    OT_TRY(bind_x(m, out, input_name, &out->input));
    for (int a = 0; a < out->n_arrays; a++)
        if (out->array_inputs[a] == out->input)
            return oti_fail(OT_ERR_INVALID, "model input '%s' is fed twice: by the samples and by data array '%s'",
                           m->values[out->input].name, d->arrays[a].name);
    for (int k = 0; k < m->n_inputs; k++) {
        int fed = m->inputs[k] == out->input;
        for (int a = 0; a < out->n_arrays; a++) fed |= out->array_inputs[a] == m->inputs[k];
        if (!fed)
            return oti_fail(OT_ERR_INVALID, "model input '%s' is not fed: give the data an array for it "
                           "(npz:FILE:x=NAME,y=NAME,%s=ARRAY)", m->values[m->inputs[k]].name,
                           m->values[m->inputs[k]].name);
    }
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

void oti_feed_set_add(ot_feed_set *feeds, int value, ot_dtype dtype, int sample_ndim, const int64_t *sample_dims) {
    ot_tensor *shape = &feeds->shapes[feeds->count];
    feeds->values[feeds->count++] = value;
    memset(shape, 0, sizeof *shape);
    shape->dtype = dtype;
    shape->ndim = OT_MIN(sample_ndim + 1, OT_MAX_DIMS);
    memcpy(shape->dims + 1, sample_dims, sizeof(int64_t) * (size_t)(shape->ndim - 1));
}

void oti_feed_set_from_dataset(ot_feed_set *feeds, const ot_io_binding *io, const ot_dataset *d) {
    memset(feeds, 0, sizeof *feeds);
    oti_feed_set_add(feeds, io->input, d->dtype, d->sample_ndim, d->sample_dims);
    for (int a = 0; a < io->n_arrays; a++)
        oti_feed_set_add(feeds, io->array_inputs[a], d->arrays[a].dtype, d->arrays[a].sample_ndim,
                         d->arrays[a].sample_dims);
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
    s->count = 1 + d->n_arrays;
    s->arrays[0] = d->x;
    s->per_sample[0] = d->sample_size;
    s->row_bytes[0] = ot_dtype_size(d->dtype) * (size_t)d->sample_size;
    for (int a = 0; a < d->n_arrays; a++) {
        s->arrays[1 + a] = d->arrays[a].data;
        s->per_sample[1 + a] = d->arrays[a].sample_size;
        s->row_bytes[1 + a] = ot_dtype_size(d->arrays[a].dtype) * (size_t)d->arrays[a].sample_size;
    }
    s->labels = d->labels;
    s->label_size = d->label_size;
    s->targets = d->targets;
    s->target_size = d->target_size;
}

/* Per-class intersection and union counts of predictions (argmax over the class axis) and
 * labels, for the mean IoU of per-pixel labels: logits (size, C, inner), labels (size, inner). */
static void count_iou(int64_t *inter, int64_t *uni, const float *logits, const int64_t *labels, int64_t size,
                      int64_t classes, int64_t inner, int64_t ignore) {
    for (int64_t i = 0; i < size; i++)
        for (int64_t p = 0; p < inner; p++) {
            int64_t label = labels[i * inner + p];
            if (label == ignore) continue;
            const float *x = logits + i * classes * inner + p;
            int64_t best = 0;
            for (int64_t c = 1; c < classes; c++)
                if (x[c * inner] > x[best * inner]) best = c;
            if (best == label) {
                inter[best]++;
                uni[best]++;
            } else {
                uni[best]++;
                if (label >= 0 && label < classes) uni[label]++;
            }
        }
}

static double mean_of_iou(const int64_t *inter, const int64_t *uni, int64_t classes) {
    double sum = 0;
    int64_t counted = 0;
    for (int64_t c = 0; c < classes; c++)
        if (uni[c]) {
            sum += (double)inter[c] / (double)uni[c];
            counted++;
        }
    return counted ? sum / (double)counted : NAN;
}

ot_status oti_evaluate_with(ot_plan_pair *pair, const ot_io_binding *io, const ot_loss *loss,
                           const ot_sample_source *source, ot_eval_result *out) {
    ot_loss_tally tally = {0};
    int64_t label_size = OT_MAX(source->label_size, 1);
    /* Per-pixel labels: IoU counts per class (allocated with the first batch's width). */
    int per_pixel = loss->kind == OT_LOSS_SOFTMAX_CE && source->labels && io->class_inner > 1;
    int64_t *inter = NULL, *uni = NULL, classes = 0;
    ot_status status = OT_OK;
    for (int64_t start = 0; start < source->n && status == OT_OK; start += pair->batch) {
        int64_t size = OT_MIN(pair->batch, source->n - start);
        ot_plan *plan;
        status = oti_plan_pair_get(pair, size, &plan);
        if (status != OT_OK) break;
        /* Samples are contiguous in the source: bind them without a copy. */
        for (int k = 0; k < source->count; k++)
            ot_plan_value(plan, pair->feeds.values[k])->data = (char *)source->arrays[k] + start * source->row_bytes[k];
        status = ot_plan_forward(plan);
        if (status != OT_OK) break;
        const ot_tensor *y = ot_plan_value(plan, io->loss_target);
        int64_t width = ot_tensor_numel(y) / size;
        if (source->targets && source->target_size != width) {
            status = oti_fail(OT_ERR_INVALID, "targets have %lld values per sample, the output has %lld",
                             (long long)source->target_size, (long long)width);
            break;
        }
        ot_loss_truth truth = {.labels = source->labels ? source->labels + start * label_size : NULL,
                               .label_size = label_size, .class_inner = io->class_inner,
                               .targets = source->targets ? source->targets + start * source->target_size : NULL};
        ot_loss_compute(loss, NULL, 0, y->data, size, width, &truth, &tally);
        if (per_pixel && !inter) {
            classes = width / label_size;
            inter = oti_calloc((size_t)classes + 1, sizeof(int64_t));
            uni = oti_calloc((size_t)classes + 1, sizeof(int64_t));
            if (!inter || !uni) status = OT_ERR_MEMORY;
        }
        if (per_pixel && status == OT_OK)
            count_iou(inter, uni, y->data, truth.labels, size, classes, io->class_inner, loss->ignore_index);
    }
    if (status == OT_OK) {
        out->samples = source->n;
        out->loss = tally.items ? tally.sum / (double)tally.items : NAN;
        out->accuracy = tally.scored ? (double)tally.correct / (double)tally.scored : NAN;
        out->mean_iou = per_pixel && inter ? mean_of_iou(inter, uni, classes) : NAN;
    }
    free(inter);
    free(uni);
    return status;
}

ot_status oti_evaluate_fed(ot_model *m, const ot_io_binding *io, const ot_loss *loss,
                          const ot_plan_options *options, const ot_feed_set *feeds,
                          const ot_sample_source *source, const ot_dataset *d, int64_t batch,
                          ot_eval_result *out) {
    ot_plan_pair pair;
    ot_status status = oti_plan_pair_init(&pair, m, options, feeds, OT_MIN(batch, d->n));
    ot_io_binding laid_out = *io;
    if (status == OT_OK) {
        const ot_tensor *y = ot_plan_value(pair.full, io->loss_target);
        status = oti_check_labels(d, loss, ot_tensor_numel(y) / pair.batch, "evaluation data");
        if (status == OT_OK)
            status = oti_label_layout(y, d, loss->kind, m->values[io->output].name, &laid_out.class_inner);
    }
    if (status == OT_OK) status = oti_evaluate_with(&pair, &laid_out, loss, source, out);
    oti_plan_pair_free(&pair);
    return status;
}

ot_plan_options oti_config_plan_options(const ot_train_config *c) {
    return (ot_plan_options){.context = c->context,
                             .fast_convolution = c->fast_convolution,
                             .conv_tuning = c->conv_tuning,
                             .profile = c->profile};
}

ot_status ot_evaluate(ot_model *m, const ot_train_config *config, int64_t batch, ot_dataset *d,
                      ot_eval_result *out) {
    ot_io_binding io;
    OT_TRY(oti_io_bind(m, d, config->input_name, config->output_name, config->loss.kind, &io));
    OT_TRY(oti_dataset_fit_inputs(d, m, &io));
    ot_plan_options options = oti_config_plan_options(config);
    options.targets = &io.loss_target;
    options.n_targets = 1;
    ot_feed_set feeds;
    oti_feed_set_from_dataset(&feeds, &io, d);
    ot_sample_source source;
    oti_sample_source_from_dataset(&source, d);
    return oti_evaluate_fed(m, &io, &config->loss, &options, &feeds, &source, d, batch, out);
}

void oti_config_message(void *config, const char *message) {
    const ot_train_config *c = config;
    if (c->callbacks.on_message) c->callbacks.on_message(c->callbacks.user, message);
}

/* Per-sample dims of `input` (after the batch) that data of shape (ndim, dims) fits: unknown
 * dims accept the data's own; fully known dims reshape when the element count matches. */
static ot_status fit_shape(int *ndim, int64_t *dims, int64_t size, const ot_value *input, const char *array) {
    if (!input->has_shape || input->tensor.ndim < 1) return OT_OK;
    int want_ndim = input->tensor.ndim - 1;
    const int64_t *want = input->tensor.dims + 1;
    int known = 1;
    for (int k = 0; k < want_ndim; k++) known &= want[k] >= 0;
    if (known && ot_dims_numel(want_ndim, want) == size) {
        *ndim = want_ndim;
        memcpy(dims, want, sizeof(int64_t) * (size_t)want_ndim);
        return OT_OK;
    }
    int fits = *ndim == want_ndim;
    for (int k = 0; fits && k < want_ndim; k++) fits = want[k] < 0 || want[k] == dims[k];
    if (fits) return OT_OK;
    char w[128], have[128];
    return oti_fail(OT_ERR_INVALID, "data array '%s' has samples of shape %s (%lld values), model input '%s' "
                   "takes %s per sample", array, ot_shape_string(*ndim, dims, have, sizeof have), (long long)size,
                   input->name, ot_shape_string(want_ndim, want, w, sizeof w));
}

/* Converts (n * size) elements of *data from `from` to the dtype that holds the input's (a
 * float16 input takes float32, an int8 one int64) in place. */
static ot_status fit_dtype(void **data, ot_dtype *from, int64_t count, const ot_value *input, const char *array) {
    ot_dtype to = input->tensor.dtype == OT_UNDEFINED ? OT_FLOAT : ot_dtype_storage(input->tensor.dtype);
    if (to == *from) return OT_OK;
    int from_int = *from == OT_INT64 || *from == OT_BOOL;
    if (!(to == OT_FLOAT || to == OT_INT64 || to == OT_BOOL) || (!from_int && to != OT_FLOAT))
        return oti_fail(OT_ERR_INVALID, "data array '%s' holds %s, model input '%s' takes %s", array,
                       ot_dtype_name(*from), input->name, ot_dtype_name(input->tensor.dtype));
    void *made = oti_malloc(ot_dtype_size(to) * (size_t)count + 1);
    OT_ALLOC_CHECK(made);
    for (int64_t i = 0; i < count; i++) {
        int64_t v = *from == OT_INT64 ? ((int64_t *)*data)[i] : ((unsigned char *)*data)[i];
        if (to == OT_FLOAT) ((float *)made)[i] = (float)v;
        else if (to == OT_INT64) ((int64_t *)made)[i] = v;
        else if (v != 0 && v != 1) {
            free(made);
            return oti_fail(OT_ERR_INVALID, "data array '%s' holds %lld at element %lld, but model input '%s' "
                           "takes bool (0 or 1)", array, (long long)v, (long long)i, input->name);
        } else {
            ((unsigned char *)made)[i] = (unsigned char)v;
        }
    }
    free(*data);
    *data = made;
    *from = to;
    return OT_OK;
}

/* One fed array, for the checks across arrays. */
typedef struct fed_array {
    const char *name;
    int value;
    ot_dtype dtype;
    int sample_ndim;
    const int64_t *sample_dims;
    int64_t sample_size;
    const void *data;
} fed_array;

static int fed_arrays(const ot_dataset *d, const ot_io_binding *io, fed_array *out) {
    out[0] = (fed_array){d->x_name ? d->x_name : "x", io->input, d->dtype, d->sample_ndim, d->sample_dims,
                         d->sample_size, d->x};
    int count = 1;
    for (int a = 0; a < d->n_arrays && a < io->n_arrays; a++, count++) {
        const ot_dataset_array *array = &d->arrays[a];
        out[count] = (fed_array){array->name, io->array_inputs[a], array->dtype, array->sample_ndim,
                                 array->sample_dims, array->sample_size, array->data};
    }
    return count;
}

/* Inputs that share a symbolic dim ("sequence") must get the same size from their arrays:
 * token ids of length 8 with a mask of length 9 is an error naming both. */
static ot_status check_shared_dims(const ot_model *m, const fed_array *fed, int count) {
    for (int i = 0; i < count; i++)
        for (int j = i + 1; j < count; j++) {
            const ot_value *a = &m->values[fed[i].value], *b = &m->values[fed[j].value];
            for (int p = 1; p < a->tensor.ndim && p - 1 < fed[i].sample_ndim; p++)
                for (int q = 1; q < b->tensor.ndim && q - 1 < fed[j].sample_ndim; q++) {
                    if (!a->dim_names[p] || !b->dim_names[q] || strcmp(a->dim_names[p], b->dim_names[q])) continue;
                    int64_t da = fed[i].sample_dims[p - 1], db = fed[j].sample_dims[q - 1];
                    if (da != db)
                        return oti_fail(OT_ERR_INVALID, "data array '%s' has %lld along dim '%s' of model input '%s', "
                                       "but data array '%s' has %lld along the same dim of input '%s'",
                                       fed[j].name, (long long)db, b->dim_names[q], b->name, fed[i].name,
                                       (long long)da, a->name);
                }
        }
    return OT_OK;
}

/* Token ids that index an embedding table directly must lie in [0, rows): PyTorch's
 * nn.Embedding refuses others, and ONNX's Gather would wrap negative ones silently. */
static ot_status check_token_ids(const ot_model *m, const fed_array *fed, int count, int64_t n) {
    for (int f = 0; f < count; f++) {
        if (fed[f].dtype != OT_INT64) continue;
        for (int i = 0; i < m->n_layers; i++) {
            const ot_layer *l = &m->layers[i];
            if (!l->op || l->n_inputs < 2 || l->inputs[1] != fed[f].value || l->inputs[0] < 0 ||
                oti_op_input_role(l->op, 0) != OT_ROLE_EMBEDDING)
                continue;
            const ot_value *table = &m->values[l->inputs[0]];
            int64_t axis = 0;
            OT_TRY(oti_attr_get_int(l, "axis", 0, &axis));
            if (table->kind != OT_VALUE_INITIALIZER || table->tensor.ndim < 1) continue;
            if (axis < 0) axis += table->tensor.ndim;
            if (axis < 0 || axis >= table->tensor.ndim) continue;
            int64_t rows = table->tensor.dims[axis];
            const int64_t *ids = fed[f].data;
            for (int64_t k = 0; k < n * fed[f].sample_size; k++)
                if (ids[k] < 0 || ids[k] >= rows)
                    return oti_fail(OT_ERR_INVALID, "data array '%s' holds token id %lld at sample %lld (position "
                                   "%lld), outside embedding '%s' of %lld rows (read by %s node '%s')",
                                   fed[f].name, (long long)ids[k], (long long)(k / fed[f].sample_size),
                                   (long long)(k % fed[f].sample_size), table->name, (long long)rows,
                                   l->op_type, l->name);
        }
    }
    return OT_OK;
}

ot_status oti_dataset_fit_inputs(ot_dataset *d, const ot_model *m, const ot_io_binding *io) {
    const char *x_name = d->x_name ? d->x_name : "x";
    const ot_value *input = &m->values[io->input];
    OT_TRY(fit_shape(&d->sample_ndim, d->sample_dims, d->sample_size, input, x_name));
    OT_TRY(fit_dtype(&d->x, &d->dtype, d->n * d->sample_size, input, x_name));
    for (int a = 0; a < d->n_arrays && a < io->n_arrays; a++) {
        ot_dataset_array *array = &d->arrays[a];
        input = &m->values[io->array_inputs[a]];
        OT_TRY(fit_shape(&array->sample_ndim, array->sample_dims, array->sample_size, input, array->name));
        OT_TRY(fit_dtype(&array->data, &array->dtype, d->n * array->sample_size, input, array->name));
    }
    fed_array fed[1 + OT_DATASET_MAX_ARRAYS];
    int count = fed_arrays(d, io, fed);
    OT_TRY(check_shared_dims(m, fed, count));
    return check_token_ids(m, fed, count, d->n);
}

static int same_dims(int n, const int64_t *a, const int64_t *b) {
    for (int k = 0; k < n; k++)
        if (a[k] != b[k]) return 0;
    return 1;
}

ot_status oti_label_layout(const ot_tensor *y, const ot_dataset *d, ot_loss_kind loss, const char *output,
                          int64_t *class_inner) {
    *class_inner = 1;
    if (loss != OT_LOSS_SOFTMAX_CE || !d->labels || d->label_size <= 1 || d->label_ndim < 1) return OT_OK;
    int yn = y->ndim - 1, ln = d->label_ndim;
    const int64_t *yd = y->dims + 1, *ld = d->label_dims;
    if (yn == ln + 1 && same_dims(ln, yd + 1, ld)) {
        *class_inner = d->label_size;
        return OT_OK;
    }
    if (yn == ln + 1 && same_dims(ln, yd, ld)) return OT_OK;
    char have[128], want[128];
    return oti_fail(OT_ERR_INVALID, "labels of shape %s per sample fit neither logits (C, ...) nor (..., C) of "
                   "output '%s', which has %s per sample", ot_shape_string(ln, ld, have, sizeof have), output,
                   ot_shape_string(yn, yd, want, sizeof want));
}

int ot_output_is_loss(const ot_model *m, const char *name) {
    int v = name ? find_named(m, m->outputs, m->n_outputs, name) : -1;
    int producer = v >= 0 ? m->values[v].producer : -1;
    return producer >= 0 && m->layers[producer].op && (m->layers[producer].op->flags & OT_OP_LOSS);
}

ot_status oti_check_labels(const ot_dataset *d, const ot_loss *loss, int64_t width, const char *what) {
    if (loss->kind == OT_LOSS_OUTPUT) return OT_OK; /* the model reads them itself */
    if (!d->labels) {
        if (loss->kind == OT_LOSS_SOFTMAX_CE)
            return oti_fail(OT_ERR_INVALID, "%s has no class labels, which softmax-ce needs", what);
        return OT_OK;
    }
    int64_t label_size = OT_MAX(d->label_size, 1), classes = width;
    if (loss->kind == OT_LOSS_SOFTMAX_CE && label_size > 1) {
        if (width % label_size)
            return oti_fail(OT_ERR_INVALID, "%s has %lld labels per sample, but the output's %lld values per "
                           "sample are not a whole number of classes per label (logits (N, T, C) with labels "
                           "(N, T))", what, (long long)label_size, (long long)width);
        classes = width / label_size;
    } else if (label_size > 1 && label_size != width) {
        return oti_fail(OT_ERR_INVALID, "%s has %lld labels per sample, the output has %lld values per sample",
                       what, (long long)label_size, (long long)width);
    }
    for (int64_t i = 0; i < d->n * label_size; i++) {
        int64_t label = d->labels[i];
        if (loss->kind == OT_LOSS_SOFTMAX_CE && label == loss->ignore_index) continue;
        int bad = label < 0;
        if (loss->kind == OT_LOSS_SOFTMAX_CE) bad |= label >= classes;
        if (loss->kind == OT_LOSS_BCE && (width == 1 || label_size > 1)) bad |= label > 1;
        if (loss->kind != OT_LOSS_SOFTMAX_CE && width > 1 && label_size == 1) bad |= label >= width;
        if (bad && label_size > 1)
            return oti_fail(OT_ERR_INVALID, "%s: label %lld at position %lld of sample %lld is out of range for "
                           "%lld classes%s", what, (long long)label, (long long)(i % label_size),
                           (long long)(i / label_size), (long long)classes,
                           loss->kind == OT_LOSS_SOFTMAX_CE ? " and is not the ignore index" : "");
        if (bad)
            return oti_fail(OT_ERR_INVALID, "%s: label %lld of sample %lld is out of range for an "
                           "output of %lld value%s", what, (long long)label, (long long)i,
                           (long long)width, width == 1 ? "" : "s");
    }
    return OT_OK;
}
