/* Conv and ConvTranspose attributes and shapes: parsing with validation, then, per call,
 * the output shape and the im2col geometry from X and W (auto_pad, output_shape and
 * output_padding resolved into begin paddings). */
#include <string.h>

#include "conv_internal.h"

static const ot_conv_tuning default_tuning = {.column_budget_floats = (int64_t)16 << 20,
                                              .winograd_min_channels = 16,
                                              .winograd_chunk_floats = (int64_t)1 << 18,
                                              .winograd_dx_max_ratio = 256,
                                              .winograd_dw_max_ratio = 32,
                                              .winograd_dw_min_channels = 128,
                                              .fft_min_channels = 16,
                                              .fft_min_gain = 2.0,
                                              .fft_chunk_samples = 64};

ot_conv_tuning oti_conv_tuning_default(void) { return default_tuning; }

int64_t oti_conv_positions_per_tile(const conv_shape *s, int64_t rows) {
    const ot_conv_geom *g = &s->geom;
    int64_t budget = s->tuning->column_budget_floats;
    if (rows * g->out_size <= budget) return g->out_size;
    int64_t line = g->out[OT_CONV_DIMS - 1], lines = budget / (rows * line);
    return (lines > 1 ? lines : 1) * line;
}

/* The node's plan options, with the default tuning for plans that give none. */
static void options_of(const ot_node_ctx *c, conv_shape *s) {
    s->pool = c->pool;
    s->fast = c->fast_convolution;
    s->tuning = c->conv_tuning ? c->conv_tuning : &default_tuning;
}

static ot_status read_positive(const ot_layer *l, const char *name, int64_t *values, int capacity,
                               int *count, int64_t minimum) {
    OT_TRY(oti_attr_get_ints(l, name, values, capacity, count));
    for (int i = 0; i < *count; i++)
        if (values[i] < minimum)
            return oti_node_fail(l, OT_ERR_INVALID, "%s[%d] is %lld, must be >= %lld", name, i,
                                (long long)values[i], (long long)minimum);
    return OT_OK;
}

static ot_status parse_auto_pad(const ot_layer *l, conv_auto_pad *out) {
    const char *s;
    OT_TRY(oti_attr_get_string(l, "auto_pad", "NOTSET", &s));
    if (!strcmp(s, "NOTSET") || !*s) *out = CONV_PAD_NOTSET;
    else if (!strcmp(s, "SAME_UPPER")) *out = CONV_PAD_SAME_UPPER;
    else if (!strcmp(s, "SAME_LOWER")) *out = CONV_PAD_SAME_LOWER;
    else if (!strcmp(s, "VALID")) *out = CONV_PAD_VALID;
    else
        return oti_node_fail(l, OT_ERR_INVALID, "auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER "
                            "or VALID, not '%s'", s);
    return OT_OK;
}

ot_status oti_conv_parse_params(const ot_layer *l, conv_params *p, int transpose) {
    memset(p, 0, sizeof *p);
    p->transpose = transpose;
    OT_TRY(parse_auto_pad(l, &p->auto_pad));
    OT_TRY(oti_attr_get_int(l, "group", 1, &p->group));
    if (p->group < 1)
        return oti_node_fail(l, OT_ERR_INVALID, "group is %lld, must be >= 1", (long long)p->group);
    OT_TRY(read_positive(l, "kernel_shape", p->kernel, CONV_MAX_SPATIAL, &p->n_kernel, 1));
    OT_TRY(read_positive(l, "strides", p->strides, CONV_MAX_SPATIAL, &p->n_strides, 1));
    OT_TRY(read_positive(l, "dilations", p->dilations, CONV_MAX_SPATIAL, &p->n_dilations, 1));
    OT_TRY(read_positive(l, "pads", p->pads, 2 * CONV_MAX_SPATIAL, &p->n_pads, 0));
    if (p->n_pads > 0 && p->n_pads % 2)
        return oti_node_fail(l, OT_ERR_INVALID, "pads has %d values; it needs a begin and an end "
                            "per spatial dim", p->n_pads);
    p->n_output_padding = p->n_output_shape = -1;
    if (!transpose) return OT_OK;
    OT_TRY(read_positive(l, "output_padding", p->output_padding, CONV_MAX_SPATIAL,
                         &p->n_output_padding, 0));
    OT_TRY(read_positive(l, "output_shape", p->output_shape, CONV_MAX_SPATIAL + 2,
                         &p->n_output_shape, 1));
    return OT_OK;
}

static ot_status check_count(const ot_node_ctx *c, const char *name, int count, int want) {
    if (count >= 0 && count != want)
        return oti_node_fail(c->layer, OT_ERR_INVALID, "%s has %d values, expected %d for %d "
                            "spatial dims", name, count, want, c->in[0]->ndim - 2);
    return OT_OK;
}

static ot_status check_inputs(const ot_node_ctx *c, int r) {
    const conv_params *p = c->params;
    OT_TRY(check_count(c, "kernel_shape", p->n_kernel, r));
    OT_TRY(check_count(c, "strides", p->n_strides, r));
    OT_TRY(check_count(c, "dilations", p->n_dilations, r));
    OT_TRY(check_count(c, "pads", p->n_pads, 2 * r));
    OT_TRY(check_count(c, "output_padding", p->n_output_padding, r));
    if (p->n_output_shape >= 0 && p->n_output_shape != r && p->n_output_shape != r + 2)
        return oti_node_fail(c->layer, OT_ERR_INVALID, "output_shape has %d values, expected %d",
                            p->n_output_shape, r);
    const ot_tensor *w = c->in[1];
    for (int i = 0; i < r; i++) {
        OT_NODE_CHECK(c, w->dims[2 + i] >= 1, "W has an empty kernel dim (%lld)",
                      (long long)w->dims[2 + i]);
        if (p->n_kernel >= 0)
            OT_NODE_CHECK(c, p->kernel[i] == w->dims[2 + i],
                          "kernel_shape[%d] is %lld but W's kernel dim is %lld", i,
                          (long long)p->kernel[i], (long long)w->dims[2 + i]);
    }
    return OT_OK;
}

/* Channels and groups; W is (M, C/group, k...) for Conv, (C, M/group, k...) for
 * ConvTranspose. */
static ot_status check_channels(const ot_node_ctx *c, conv_shape *s) {
    const conv_params *p = c->params;
    const ot_tensor *x = c->in[0], *w = c->in[1];
    char sx[128], sw[128];
    ot_shape_string(x->ndim, x->dims, sx, sizeof sx);
    ot_shape_string(w->ndim, w->dims, sw, sizeof sw);
    s->group = p->group;
    s->batch = x->dims[0];
    s->in_channels = x->dims[1];
    if (!p->transpose) {
        OT_NODE_CHECK(c, w->dims[0] % p->group == 0 && w->dims[0] > 0,
                      "group %lld does not divide W's %lld output channels (W %s)",
                      (long long)p->group, (long long)w->dims[0], sw);
        OT_NODE_CHECK(c, w->dims[1] * p->group == x->dims[1],
                      "X %s has %lld channels but W %s with group %lld expects %lld", sx,
                      (long long)x->dims[1], sw, (long long)p->group, (long long)(w->dims[1] * p->group));
        s->out_channels = w->dims[0];
    } else {
        OT_NODE_CHECK(c, w->dims[0] == x->dims[1], "X %s has %lld channels but W %s expects %lld",
                      sx, (long long)x->dims[1], sw, (long long)w->dims[0]);
        OT_NODE_CHECK(c, x->dims[1] % p->group == 0 && x->dims[1] > 0,
                      "group %lld does not divide the %lld input channels", (long long)p->group,
                      (long long)x->dims[1]);
        OT_NODE_CHECK(c, w->dims[1] >= 1, "W %s has no output channels", sw);
        s->out_channels = w->dims[1] * p->group;
    }
    s->in_per_group = s->in_channels / p->group;
    s->out_per_group = s->out_channels / p->group;
    if (c->n_in > 2 && c->in[2]) {
        const ot_tensor *b = c->in[2];
        OT_NODE_CHECK(c, b->dtype == OT_FLOAT, "B must be float32, not %s", ot_dtype_name(b->dtype));
        OT_NODE_CHECK(c, b->ndim == 1 && b->dims[0] == s->out_channels,
                      "B has shape %s, expected [%lld]", ot_shape_string(b->ndim, b->dims, sx, sizeof sx),
                      (long long)s->out_channels);
    }
    return OT_OK;
}

static int64_t floor_half(int64_t v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); }

/* One spatial dim of a Conv: output size and begin padding. */
static ot_status conv_dim(const ot_node_ctx *c, int i, int r, int64_t in, int64_t k,
                          int64_t stride, int64_t dilation, int64_t *out, int64_t *pad) {
    const conv_params *p = c->params;
    int64_t extent = (k - 1) * dilation + 1;
    if (p->auto_pad == CONV_PAD_SAME_UPPER || p->auto_pad == CONV_PAD_SAME_LOWER) {
        *out = (in + stride - 1) / stride;
        int64_t total = (*out - 1) * stride + extent - in;
        if (total < 0) total = 0;
        *pad = p->auto_pad == CONV_PAD_SAME_UPPER ? total / 2 : total - total / 2;
        return OT_OK;
    }
    int64_t begin = 0, end = 0;
    if (p->auto_pad == CONV_PAD_NOTSET && p->n_pads > 0) {
        begin = p->pads[i];
        end = p->pads[i + r];
    }
    OT_NODE_CHECK(c, in + begin + end >= extent,
                  "spatial dim %d: the kernel extent %lld exceeds the padded input %lld", i,
                  (long long)extent, (long long)(in + begin + end));
    *out = (in + begin + end - extent) / stride + 1;
    *pad = begin;
    return OT_OK;
}

/* One spatial dim of a ConvTranspose: output (image) size and begin padding. */
static ot_status transpose_dim(const ot_node_ctx *c, int i, int r, int64_t in, int64_t k,
                               int64_t stride, int64_t dilation, int64_t *out, int64_t *pad) {
    const conv_params *p = c->params;
    int64_t extent = (k - 1) * dilation + 1;
    int64_t output_padding = p->n_output_padding > 0 ? p->output_padding[i] : 0;
    int64_t natural = stride * (in - 1) + output_padding + extent;
    int same = p->auto_pad == CONV_PAD_SAME_UPPER || p->auto_pad == CONV_PAD_SAME_LOWER;
    if (p->n_output_shape > 0 || same) {
        *out = p->n_output_shape > 0 ? p->output_shape[p->n_output_shape - r + i] : in * stride;
        /* ONNX: total padding splits with the odd element at the end for SAME_UPPER and at
         * the beginning otherwise; a negative total extends the output with zeros. */
        int64_t total = natural - *out;
        *pad = p->auto_pad == CONV_PAD_SAME_UPPER ? floor_half(total) : total - floor_half(total);
        return OT_OK;
    }
    int64_t begin = 0, end = 0;
    if (p->auto_pad == CONV_PAD_NOTSET && p->n_pads > 0) {
        begin = p->pads[i];
        end = p->pads[i + r];
    }
    *out = natural - begin - end;
    *pad = begin;
    OT_NODE_CHECK(c, *out >= 1, "spatial dim %d: pads %lld + %lld leave no output", i,
                  (long long)begin, (long long)end);
    return OT_OK;
}

ot_status oti_conv_shape_of(const ot_node_ctx *c, conv_shape *s) {
    const conv_params *p = c->params;
    memset(s, 0, sizeof *s);
    OT_NODE_CHECK(c, c->n_in >= 2 && c->in[0] && c->in[1], "needs inputs X and W");
    const ot_tensor *x = c->in[0], *w = c->in[1];
    ot_dtype computed = p->integer ? OT_INT64 : OT_FLOAT;
    OT_NODE_CHECK(c, x->dtype == computed && w->dtype == computed,
                  "X and W must be %s, not %s and %s", p->integer ? "integers" : "float32",
                  ot_dtype_name(ot_tensor_declared(x)), ot_dtype_name(ot_tensor_declared(w)));
    OT_NODE_CHECK(c, x->ndim >= 3, "X must be (N, C, spatial...), not rank %d", x->ndim);
    OT_NODE_CHECK(c, w->ndim == x->ndim, "W has rank %d but X has rank %d", w->ndim, x->ndim);
    int r = x->ndim - 2;
    if (r > OT_CONV_DIMS)
        return oti_node_fail(c->layer, OT_ERR_UNSUPPORTED, "%d spatial dims; at most %d are supported",
                            r, OT_CONV_DIMS);
    OT_TRY(check_inputs(c, r));
    OT_TRY(check_channels(c, s));
    options_of(c, s);
    s->spatial = r;
    ot_conv_geom *g = &s->geom;
    for (int j = 0; j < OT_CONV_DIMS; j++) {
        g->image[j] = g->out[j] = g->kernel[j] = g->stride[j] = g->dilation[j] = 1;
        g->pad[j] = 0;
    }
    s->y_dims[0] = s->batch;
    s->y_dims[1] = s->out_channels;
    for (int i = 0; i < r; i++) {
        int j = OT_CONV_DIMS - r + i;
        int64_t in = x->dims[2 + i], k = w->dims[2 + i];
        int64_t stride = p->n_strides > 0 ? p->strides[i] : 1;
        int64_t dilation = p->n_dilations > 0 ? p->dilations[i] : 1;
        OT_NODE_CHECK(c, in >= 1, "X has an empty spatial dim %d", i);
        int64_t out = 0, pad = 0;
        if (!p->transpose) OT_TRY(conv_dim(c, i, r, in, k, stride, dilation, &out, &pad));
        else OT_TRY(transpose_dim(c, i, r, in, k, stride, dilation, &out, &pad));
        g->kernel[j] = k;
        g->stride[j] = stride;
        g->dilation[j] = dilation;
        g->pad[j] = pad;
        g->image[j] = p->transpose ? out : in;
        g->out[j] = p->transpose ? in : out;
        s->y_dims[2 + i] = out;
    }
    oti_conv_geom_finish(g);
    return OT_OK;
}

void oti_conv_bias_backward(float *db, const float *dy, int64_t batch, int64_t channels,
                        int64_t positions) {
    for (int64_t n = 0; n < batch; n++)
        for (int64_t m = 0; m < channels; m++) {
            const float *g = dy + (n * channels + m) * positions;
            /* Eight independent float lanes (vectorised without reassociation), then a
             * double total: long planes keep the rounding of the sum small. */
            float lanes[8] = {0};
            int64_t i = 0;
            for (; i + 8 <= positions; i += 8)
                for (int j = 0; j < 8; j++) lanes[j] += g[i + j];
            double sum = 0.0;
            for (int j = 0; j < 8; j++) sum += lanes[j];
            for (; i < positions; i++) sum += g[i];
            db[m] += (float)sum;
        }
}
