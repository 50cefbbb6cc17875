/* ConvInteger and QLinearConv: a direct convolution in exact integer arithmetic on
 * (X - x_zero_point) and (W - w_zero_point) (w_zero_point per tensor or per output channel);
 * taps in the padding read the zero point, so they add nothing. QLinearConv adds its int32
 * bias and requantizes: saturate(round(sum * x_scale * w_scale[m] / y_scale) + y_zero_point).
 * Attributes and geometry are Conv's (conv_attrs.c). */
#include <string.h>

#include "conv_internal.h"
#include "quantize_internal.h"

ot_status oti_conv_integer_parse(const ot_layer *l, void *params) {
    conv_params *p = params;
    OT_TRY(oti_conv_parse_params(l, p, 0));
    p->integer = 1;
    return OT_OK;
}

/* Conv's geometry for X = in[x_slot] and W = in[w_slot]. */
static ot_status integer_shape_of(const ot_node_ctx *c, int x_slot, int w_slot, conv_shape *s) {
    OT_NODE_CHECK(c, c->n_in > w_slot && c->in[x_slot] && c->in[w_slot], "needs inputs x and w");
    ot_tensor *const in[2] = {c->in[x_slot], c->in[w_slot]};
    ot_node_ctx view = *c;
    view.in = in;
    view.n_in = 2;
    return oti_conv_shape_of(&view, s);
}

/* One output value: the group's channels and kernel taps at output position (o0, o1, o2). */
static int64_t conv_at(const int64_t *x, int64_t x_zero, const int64_t *w, int64_t w_zero,
                       const conv_shape *s, const int64_t *o) {
    const ot_conv_geom *g = &s->geom;
    int64_t sum = 0;
    for (int64_t ch = 0; ch < s->in_per_group; ch++) {
        const int64_t *xc = x + ch * g->image_size, *wc = w + ch * g->kernel_size;
        for (int64_t k0 = 0; k0 < g->kernel[0]; k0++) {
            int64_t i0 = o[0] * g->stride[0] + k0 * g->dilation[0] - g->pad[0];
            if (i0 < 0 || i0 >= g->image[0]) continue;
            for (int64_t k1 = 0; k1 < g->kernel[1]; k1++) {
                int64_t i1 = o[1] * g->stride[1] + k1 * g->dilation[1] - g->pad[1];
                if (i1 < 0 || i1 >= g->image[1]) continue;
                for (int64_t k2 = 0; k2 < g->kernel[2]; k2++) {
                    int64_t i2 = o[2] * g->stride[2] + k2 * g->dilation[2] - g->pad[2];
                    if (i2 < 0 || i2 >= g->image[2]) continue;
                    int64_t xv = xc[(i0 * g->image[1] + i1) * g->image[2] + i2] - x_zero;
                    int64_t wv = wc[(k0 * g->kernel[1] + k1) * g->kernel[2] + k2] - w_zero;
                    sum += xv * wv;
                }
            }
        }
    }
    return sum;
}

// y (N, M, out...) = conv((x - x_zero) (N, C, image...), (w - w_zero[m]) (M, C/group, k...)).
static void conv_integer_run(int64_t *y, const int64_t *x, int64_t x_zero, const int64_t *w,
                             const quant_param *w_zero, const conv_shape *s) {
    const ot_conv_geom *g = &s->geom;
    for (int64_t n = 0; n < s->batch; n++)
        for (int64_t m = 0; m < s->out_channels; m++) {
            int64_t group = m / s->out_per_group;
            const int64_t *xg = x + (n * s->in_channels + group * s->in_per_group) * g->image_size;
            const int64_t *wm = w + m * s->in_per_group * g->kernel_size;
            int64_t *ym = y + (n * s->out_channels + m) * g->out_size;
            int64_t o[3];
            for (o[0] = 0; o[0] < g->out[0]; o[0]++)
                for (o[1] = 0; o[1] < g->out[1]; o[1]++)
                    for (o[2] = 0; o[2] < g->out[2]; o[2]++)
                        *ym++ = conv_at(xg, x_zero, wm, oti_quant_zero(w_zero, m), s, o);
        }
}

/* ConvInteger(x, w, x_zero_point, w_zero_point) -> int32. */
static ot_status conv_integer_operands(const ot_node_ctx *c, conv_shape *s, quant_param *x_zero,
                                       quant_param *w_zero) {
    OT_TRY(integer_shape_of(c, 0, 1, s));
    OT_TRY(oti_quant_param_of(c, 2, 0, 1, 1, "x_zero_point", x_zero));
    return oti_quant_param_of(c, 3, 0, s->out_channels, 1, "w_zero_point", w_zero);
}

ot_status oti_conv_integer_infer(ot_node_ctx *c) {
    conv_shape s;
    quant_param x_zero, w_zero;
    OT_TRY(conv_integer_operands(c, &s, &x_zero, &w_zero));
    oti_quant_set_output(c, 0, OT_INT32, s.spatial + 2, s.y_dims);
    return OT_OK;
}

ot_status oti_conv_integer_forward(ot_node_ctx *c) {
    conv_shape s;
    quant_param x_zero, w_zero;
    OT_TRY(conv_integer_operands(c, &s, &x_zero, &w_zero));
    conv_integer_run(c->out[0]->data, c->in[0]->data, oti_quant_zero(&x_zero, 0), c->in[1]->data,
                     &w_zero, &s);
    return OT_OK;
}

/* QLinearConv(x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B). */
typedef struct qlinear_conv_inputs {
    quant_param x_scale, x_zero, w_scale, w_zero, y_scale, y_zero;
    const ot_tensor *bias; /* int32 (M), or NULL */
} qlinear_conv_inputs;

static ot_status qlinear_conv_operands(const ot_node_ctx *c, conv_shape *s, qlinear_conv_inputs *q) {
    OT_NODE_CHECK(c, c->n_in >= 8, "needs 8 or 9 inputs (x, x_scale, x_zero_point, w, w_scale, "
                  "w_zero_point, y_scale, y_zero_point, B)");
    OT_TRY(integer_shape_of(c, 0, 3, s));
    OT_TRY(oti_quant_param_of(c, 1, 1, 1, 0, "x_scale", &q->x_scale));
    OT_TRY(oti_quant_param_of(c, 2, 0, 1, 0, "x_zero_point", &q->x_zero));
    OT_TRY(oti_quant_param_of(c, 4, 1, s->out_channels, 0, "w_scale", &q->w_scale));
    OT_TRY(oti_quant_param_of(c, 5, 0, s->out_channels, 0, "w_zero_point", &q->w_zero));
    OT_TRY(oti_quant_param_of(c, 6, 1, 1, 0, "y_scale", &q->y_scale));
    OT_TRY(oti_quant_param_of(c, 7, 0, 1, 0, "y_zero_point", &q->y_zero));
    q->bias = c->n_in > 8 ? c->in[8] : NULL;
    OT_NODE_CHECK(c, !q->bias || (q->bias->dtype == OT_INT64 && ot_tensor_numel(q->bias) == s->out_channels),
                  "B must be %lld int32 values", (long long)s->out_channels);
    return OT_OK;
}

ot_status oti_qlinear_conv_infer(ot_node_ctx *c) {
    conv_shape s;
    qlinear_conv_inputs q;
    OT_TRY(qlinear_conv_operands(c, &s, &q));
    oti_quant_set_output(c, 0, oti_quant_dtype(&q.y_zero), s.spatial + 2, s.y_dims);
    return OT_OK;
}

ot_status oti_qlinear_conv_forward(ot_node_ctx *c) {
    conv_shape s;
    qlinear_conv_inputs q;
    OT_TRY(qlinear_conv_operands(c, &s, &q));
    int64_t *y = c->out[0]->data;
    conv_integer_run(y, c->in[0]->data, oti_quant_zero(&q.x_zero, 0), c->in[3]->data, &q.w_zero, &s);
    ot_dtype dtype = oti_quant_dtype(&q.y_zero);
    float x_scale = oti_quant_scale(&q.x_scale, 0), y_scale = oti_quant_scale(&q.y_scale, 0);
    int64_t y_zero = oti_quant_zero(&q.y_zero, 0), positions = s.geom.out_size;
    for (int64_t i = 0; i < s.batch * s.out_channels * positions; i++) {
        int64_t m = (i / positions) % s.out_channels;
        int64_t sum = y[i] + (q.bias ? ((const int64_t *)q.bias->data)[m] : 0);
        y[i] = oti_quant_requantize(sum, x_scale, oti_quant_scale(&q.w_scale, m), y_scale, y_zero, dtype);
    }
    return OT_OK;
}
