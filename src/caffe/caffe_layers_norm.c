/* Caffe's normalizing layers: BatchNorm (with the Scale layer that follows it, one
 * BatchNormalization), Scale on its own (Mul, Add), LRN (ACROSS_CHANNELS: ONNX's LRN, whose
 * formula is Caffe's; WITHIN_CHANNEL: x / (1 + alpha/n^2 sum_window x^2)^beta as Caffe builds
 * it, from an average pool of the squares) and SSD's Normalize (x / sqrt(sum x^2 + eps) * s). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "caffe_internal.h"
#include "core/attr_build.h"
#include "core/util.h"

/* A Scale layer at `index` that reads BatchNorm's top and nothing else reads that top
 * before it is written again: it can be folded into BatchNormalization's gamma and beta. */
static int absorbs_scale(const caffe_builder *b, const caffe_layer *bn, int index) {
    if (index >= b->n_layers) return 0;
    const caffe_layer *s = &b->layers[index];
    if (strcmp(s->type, "Scale") || s->n_bottoms != 1 || s->n_tops != 1 ||
        strcmp(s->bottoms[0], bn->tops[0]))
        return 0;
    if (!strcmp(s->tops[0], bn->tops[0])) return 1; /* in place: the unscaled value is gone */
    for (int i = index + 1; i < b->n_layers; i++) {
        for (int k = 0; k < b->layers[i].n_bottoms; k++)
            if (!strcmp(b->layers[i].bottoms[k], bn->tops[0])) return 0;
        for (int k = 0; k < b->layers[i].n_tops; k++)
            if (!strcmp(b->layers[i].tops[k], bn->tops[0])) return 1;
    }
    return 1;
}

/* scale_param: bias_term (default false); only the per-channel form (axis 1, one axis). */
static ot_status read_scale_param(const caffe_layer *s, int *bias_term) {
    const ot_prototxt_message *p;
    int64_t axis, num_axes;
    OT_TRY(oti_caffe_params(s, "scale_param", &p));
    OT_TRY(oti_prototxt_get_int(p, "axis", 1, s->what, &axis));
    OT_TRY(oti_prototxt_get_int(p, "num_axes", 1, s->what, &num_axes));
    OT_TRY(oti_prototxt_get_bool(p, "bias_term", 0, s->what, bias_term));
    if (axis != 1 || num_axes != 1)
        return oti_caffe_bad_field(s, "axis/num_axes", "other than 1 and 1 are not supported");
    return OT_OK;
}

/* The Scale layer's gamma (blob 0) and beta (blob 1 with bias_term, else zeros), per channel. */
static ot_status scale_blobs(caffe_builder *b, const caffe_layer *s, int64_t channels,
                             const char **gamma, const char **beta, float *zeros) {
    int bias_term;
    OT_TRY(read_scale_param(s, &bias_term));
    int64_t dims[1] = {channels};
    OT_TRY(oti_caffe_blob(b, s, 0, "weight", 1, dims, gamma));
    if (bias_term) return oti_caffe_blob(b, s, 1, "bias", 1, dims, beta);
    return oti_caffe_constant(b, s, "bias", 1, dims, zeros, beta);
}

/* Caffe keeps sums: mean = blob0 / blob2[0], variance = blob1 / blob2[0] (0 when it is 0). */
static ot_status batch_norm_statistics(caffe_builder *b, const caffe_layer *l, int64_t *channels,
                                       const char **mean, const char **var) {
    if (!l->blobs || l->blobs->count < 3)
        return oti_fail(OT_ERR_FORMAT,
                        "%s: BatchNorm needs 3 weight blobs (mean, variance, factor)%s", l->what,
                        b->weights ? "" : ": no .caffemodel was given");
    *channels = ot_tensor_numel(&l->blobs->blobs[0]);
    int64_t dims[1] = {*channels};
    OT_TRY(oti_caffe_blob(b, l, 0, "mean", 1, dims, mean));
    OT_TRY(oti_caffe_blob(b, l, 1, "var", 1, dims, var));
    if (ot_tensor_numel(&l->blobs->blobs[2]) != 1)
        return oti_fail(OT_ERR_FORMAT,
                        "%s: blob 2 (the moving-average factor) has %lld values, not 1", l->what,
                        (long long)ot_tensor_numel(&l->blobs->blobs[2]));
    float factor = ((const float *)l->blobs->blobs[2].data)[0];
    float inverse = factor == 0 ? 0.0f : 1.0f / factor;
    const char *names[2] = {*mean, *var};
    for (int k = 0; k < 2; k++) {
        ot_tensor *t = &b->m->values[ot_model_find_value(b->m, names[k])].tensor;
        float *x = t->data;
        for (int64_t i = 0; i < *channels; i++) x[i] *= inverse;
    }
    return OT_OK;
}

static ot_status convert_batch_norm(caffe_builder *b, const caffe_layer *l) {
    OT_TRY(oti_caffe_need(l, 1, 1));
    const ot_prototxt_message *p;
    double eps, fraction;
    OT_TRY(oti_caffe_params(l, "batch_norm_param", &p));
    OT_TRY(oti_prototxt_get_float(p, "eps", 1e-5, l->what, &eps));
    OT_TRY(oti_prototxt_get_float(p, "moving_average_fraction", 0.999, l->what, &fraction));
    if (!(eps > 0)) return oti_caffe_bad_field(l, "eps", "must be positive");
    int64_t channels = 0;
    const char *inputs[5] = {l->bottoms[0]};
    OT_TRY(batch_norm_statistics(b, l, &channels, &inputs[3], &inputs[4]));
    float *fill = oti_malloc(sizeof(float) * (size_t)channels + 1);
    OT_ALLOC_CHECK(fill);
    for (int64_t i = 0; i < channels; i++) fill[i] = 0.0f;
    ot_status status;
    caffe_layer merged = *l;
    int64_t dims[1] = {channels};
    if (absorbs_scale(b, l, b->index + 1)) {
        const caffe_layer *s = &b->layers[b->index + 1];
        status = scale_blobs(b, s, channels, &inputs[1], &inputs[2], fill);
        merged.tops[0] = s->tops[0];
        b->skip_next = 1;
    } else {
        status = oti_caffe_constant(b, l, "bias", 1, dims, fill, &inputs[2]);
        for (int64_t i = 0; i < channels; i++) fill[i] = 1.0f;
        if (status == OT_OK) status = oti_caffe_constant(b, l, "weight", 1, dims, fill, &inputs[1]);
    }
    free(fill);
    OT_TRY(status);
    /* Caffe's moving average keeps `fraction` of the old statistics, ONNX's momentum too. */
    ot_attr attrs[2] = {oti_attr_float("epsilon", (float)eps),
                        oti_attr_float("momentum", (float)fraction)};
    return oti_caffe_node(b, &merged, "BatchNormalization", NULL, 5, inputs, 2, attrs, 0, NULL);
}

/* Per-channel dims (C, 1, ..., 1) that broadcast against the input from dim 1 on. */
static ot_status channel_dims(caffe_builder *b, const caffe_layer *l, int *ndim, int64_t *dims) {
    ot_tensor shape;
    OT_TRY(oti_caffe_shape(b, l->bottoms[0], l, &shape));
    if (shape.ndim < 2)
        return oti_fail(OT_ERR_FORMAT, "%s: the input has %d dims, 2 or more are needed", l->what,
                        shape.ndim);
    *ndim = shape.ndim - 1;
    dims[0] = shape.dims[1];
    for (int d = 1; d < *ndim; d++) dims[d] = 1;
    return OT_OK;
}

/* Scale on its own: y = x * scale (+ bias), both per channel (axis 1, one axis). */
static ot_status convert_scale(caffe_builder *b, const caffe_layer *l) {
    if (l->n_bottoms != 1)
        return oti_fail(OT_ERR_UNSUPPORTED,
                        "%s: a Scale with its factor as a second bottom is not supported", l->what);
    OT_TRY(oti_caffe_need(l, 1, 1));
    int64_t dims[OT_MAX_DIMS];
    int bias_term, ndim;
    OT_TRY(read_scale_param(l, &bias_term));
    OT_TRY(channel_dims(b, l, &ndim, dims));
    const char *inputs[2] = {l->bottoms[0]};
    OT_TRY(oti_caffe_blob(b, l, 0, "weight", ndim, dims, &inputs[1]));
    if (!bias_term) return oti_caffe_node(b, l, "Mul", NULL, 2, inputs, 0, NULL, 0, NULL);
    OT_TRY(oti_caffe_node(b, l, "Mul", "scale", 2, inputs, 0, NULL, -1, &inputs[0]));
    OT_TRY(oti_caffe_blob(b, l, 1, "bias", ndim, dims, &inputs[1]));
    return oti_caffe_node(b, l, "Add", NULL, 2, inputs, 0, NULL, 0, NULL);
}

/* Steps of a chain on named values: op(current, constant k) for each k. */
static ot_status scalar_step(caffe_builder *b, const caffe_layer *l, const char *op,
                             const char *role, float value, const char **current) {
    const char *inputs[2] = {*current};
    OT_TRY(oti_caffe_constant(b, l, role, 0, NULL, &value, &inputs[1]));
    return oti_caffe_node(b, l, op, role, 2, inputs, 0, NULL, -1, current);
}

/* WITHIN_CHANNEL: y = x * (1 + alpha * avgpool_n(x^2))^-beta, the pool n x n with
 * (n - 1) / 2 padding counted in the divisor (Caffe's own decomposition; it ignores k). */
static ot_status lrn_within_channel(caffe_builder *b, const caffe_layer *l, int64_t size,
                                    double alpha, double beta) {
    const char *square, *pooled, *inputs[2] = {l->bottoms[0], l->bottoms[0]};
    OT_TRY(oti_caffe_node(b, l, "Mul", "square", 2, inputs, 0, NULL, -1, &square));
    int64_t kernel[2] = {size, size}, strides[2] = {1, 1}, pad = (size - 1) / 2,
            pads[4] = {pad, pad, pad, pad};
    ot_attr attrs[4] = {oti_attr_ints("kernel_shape", 2, kernel),
                        oti_attr_ints("strides", 2, strides), oti_attr_ints("pads", 4, pads),
                        oti_attr_int("count_include_pad", 1)};
    OT_TRY(oti_caffe_node(b, l, "AveragePool", "pool", 1, &square, 4, attrs, -1, &pooled));
    OT_TRY(scalar_step(b, l, "Mul", "alpha", (float)alpha, &pooled));
    OT_TRY(scalar_step(b, l, "Add", "one", 1.0f, &pooled));
    OT_TRY(scalar_step(b, l, "Pow", "power", (float)-beta, &pooled));
    inputs[1] = pooled;
    return oti_caffe_node(b, l, "Mul", NULL, 2, inputs, 0, NULL, 0, NULL);
}

static ot_status convert_lrn(caffe_builder *b, const caffe_layer *l) {
    OT_TRY(oti_caffe_need(l, 1, 1));
    const ot_prototxt_message *p;
    int64_t size;
    double alpha, beta, k;
    const char *region;
    OT_TRY(oti_caffe_params(l, "lrn_param", &p));
    OT_TRY(oti_prototxt_get_int(p, "local_size", 5, l->what, &size));
    OT_TRY(oti_prototxt_get_float(p, "alpha", 1, l->what, &alpha));
    OT_TRY(oti_prototxt_get_float(p, "beta", 0.75, l->what, &beta));
    OT_TRY(oti_prototxt_get_float(p, "k", 1, l->what, &k));
    OT_TRY(oti_prototxt_get_enum(p, "norm_region", "ACROSS_CHANNELS", l->what, &region));
    if (size < 1 || size % 2 == 0 || size > 1 << 16)
        return oti_caffe_bad_field(l, "local_size", "must be odd and positive");
    if (!strcmp(region, "WITHIN_CHANNEL")) return lrn_within_channel(b, l, size, alpha, beta);
    if (strcmp(region, "ACROSS_CHANNELS"))
        return oti_fail(OT_ERR_UNSUPPORTED,
                        "%s: unknown norm_region %s (ACROSS_CHANNELS or WITHIN_CHANNEL)", l->what,
                        region);
    ot_attr attrs[4] = {oti_attr_int("size", size), oti_attr_float("alpha", (float)alpha),
                        oti_attr_float("beta", (float)beta), oti_attr_float("bias", (float)k)};
    return oti_caffe_node(b, l, "LRN", NULL, 1, l->bottoms, 4, attrs, 0, NULL);
}

/* SSD's Normalize: x / sqrt(sum x^2 + eps) over channels (and positions with across_spatial),
 * times a scale per channel or one shared. */
static ot_status convert_normalize(caffe_builder *b, const caffe_layer *l) {
    OT_TRY(oti_caffe_need(l, 1, 1));
    const ot_prototxt_message *p;
    int across, shared;
    double eps;
    OT_TRY(oti_caffe_params(l, "norm_param", &p));
    OT_TRY(oti_prototxt_get_bool(p, "across_spatial", 1, l->what, &across));
    OT_TRY(oti_prototxt_get_bool(p, "channel_shared", 1, l->what, &shared));
    OT_TRY(oti_prototxt_get_float(p, "eps", 1e-10, l->what, &eps));
    int ndim;
    int64_t dims[OT_MAX_DIMS], axes[OT_MAX_DIMS];
    OT_TRY(channel_dims(b, l, &ndim, dims));
    for (int d = 0; d < ndim; d++) axes[d] = d + 1;
    ot_attr attrs[2] = {oti_attr_ints("axes", across ? ndim : 1, axes),
                        oti_attr_int("keepdims", 1)};
    const char *norm, *inputs[2] = {l->bottoms[0]};
    OT_TRY(
        oti_caffe_node(b, l, "ReduceSumSquare", "sum_square", 1, l->bottoms, 2, attrs, -1, &norm));
    OT_TRY(scalar_step(b, l, "Add", "eps", (float)eps, &norm));
    OT_TRY(oti_caffe_node(b, l, "Sqrt", "norm", 1, &norm, 0, NULL, -1, &norm));
    inputs[1] = norm;
    OT_TRY(oti_caffe_node(b, l, "Div", "normalized", 2, inputs, 0, NULL, -1, &inputs[0]));
    if (shared) ndim = 1, dims[0] = 1;
    OT_TRY(oti_caffe_blob(b, l, 0, "scale", ndim, dims, &inputs[1]));
    return oti_caffe_node(b, l, "Mul", NULL, 2, inputs, 0, NULL, 0, NULL);
}

const struct caffe_converter_row oti_caffe_norm_rows[] = {{"BatchNorm", convert_batch_norm},
                                                          {"Scale", convert_scale},
                                                          {"LRN", convert_lrn},
                                                          {"Normalize", convert_normalize},
                                                          {NULL, NULL}};
