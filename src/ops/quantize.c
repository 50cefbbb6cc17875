/* Op family 'quantize': QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear (here), and
 * the integer MatMul and Conv ops (quantize_matmul.c, quantize_conv.c). As ONNX's reference
 * and ONNX Runtime: q = saturate(round_half_even(x / scale) + zero_point), x = (q - zero_point)
 * * scale, in float32; scales and zero points per tensor or per channel along `axis`. */
#include <math.h>
#include <string.h>

#include "core/util.h"
#include "conv_internal.h"
#include "quantize_internal.h"

ot_status oti_quant_param_of(const ot_node_ctx *c, int k, int is_scale, int64_t channels,
                             int may_omit, const char *what, quant_param *out) {
    memset(out, 0, sizeof *out);
    if (k >= c->n_in || !c->in[k]) {
        OT_NODE_CHECK(c, may_omit, "needs input %s", what);
        return OT_OK;
    }
    const ot_tensor *t = c->in[k];
    OT_NODE_CHECK(c, t->dtype == (is_scale ? OT_FLOAT : OT_INT64), "%s must be %s, not %s", what,
                  is_scale ? "a float" : "an integer", ot_dtype_name(ot_tensor_declared(t)));
    int64_t n = ot_tensor_numel(t);
    OT_NODE_CHECK(c, t->ndim <= 1 && (n == 1 || n == channels),
                  "%s must hold one value or %lld (one per channel), not shape %s", what,
                  (long long)channels, ot_shape_string(t->ndim, t->dims, (char[96]){0}, 96));
    out->t = t;
    out->count = n;
    return OT_OK;
}

int64_t oti_quant_saturate(double v, int64_t zero, ot_dtype dtype) {
    double q = nearbyint(v) + (double)zero;
    double lo = 0, hi = 255;
    switch (dtype) {
    case OT_INT8: lo = -128, hi = 127; break;
    case OT_UINT16: hi = 65535; break;
    case OT_INT16: lo = -32768, hi = 32767; break;
    case OT_INT32: lo = -2147483648.0, hi = 2147483647.0; break;
    default: break;
    }
    if (!(q >= lo)) return (int64_t)lo; /* NaN too */
    return (int64_t)(q > hi ? hi : q);
}

int64_t oti_quant_requantize(int64_t sum, float in_scale, float weight_scale, float y_scale,
                             int64_t y_zero, ot_dtype dtype) {
    /* The multiplier in float32 as the reference computes it; the product in double. */
    float multiplier = in_scale * weight_scale / y_scale;
    return oti_quant_saturate((double)sum * multiplier, y_zero, dtype);
}

ot_dtype oti_quant_dtype(const quant_param *zero) {
    return zero->t ? ot_tensor_declared(zero->t) : OT_UINT8;
}

void oti_quant_set_output(ot_node_ctx *c, int k, ot_dtype dtype, int ndim, const int64_t *dims) {
    if (k >= c->n_out || !c->out[k]) return;
    ot_tensor_set_shape(c->out[k], OT_INT64, ndim, dims);
    c->out[k]->declared = dtype;
}

/* QuantizeLinear / DequantizeLinear ------------------------------------------------------- */

typedef struct quantize_params {
    int64_t axis;   /* the channel axis of per-channel scales */
    int dequantize; /* DequantizeLinear */
} quantize_params;

static ot_status parse_quantize(const ot_layer *l, void *params) {
    quantize_params *p = params;
    int64_t block_size;
    p->dequantize = !strcmp(l->op_type, "DequantizeLinear");
    OT_TRY(oti_attr_get_int(l, "block_size", 0, &block_size));
    OT_TRY(oti_attr_get_int(l, "axis", 1, &p->axis));
    if (block_size != 0)
        return oti_node_fail(l, OT_ERR_UNSUPPORTED, "blocked quantization (block_size %lld) is not "
                            "supported", (long long)block_size);
    return OT_OK;
}

/* x (outer, channels, inner) along the axis; channels 1 for a scalar scale. */
typedef struct channel_view {
    int64_t channels, inner;
} channel_view;

static ot_status channel_view_of(const ot_node_ctx *c, channel_view *v) {
    const quantize_params *p = c->params;
    const ot_tensor *x = c->in[0];
    v->channels = 1;
    v->inner = 1;
    if (ot_tensor_numel(c->in[1]) == 1 && c->in[1]->ndim <= 1) return OT_OK;
    int axis = oti_normalize_axis(p->axis, x->ndim);
    OT_NODE_CHECK(c, axis >= 0, "axis %lld is out of range for rank %d", (long long)p->axis, x->ndim);
    v->channels = x->dims[axis];
    for (int d = axis + 1; d < x->ndim; d++) v->inner *= x->dims[d];
    return OT_OK;
}

static ot_status quantize_operands(const ot_node_ctx *c, ot_dtype x_dtype, channel_view *v,
                                   quant_param *scale, quant_param *zero) {
    OT_NODE_CHECK(c, c->n_in >= 2 && c->in[0] && c->in[1], "needs inputs x and scale");
    OT_NODE_CHECK(c, c->in[0]->dtype == x_dtype, "x must be %s, not %s",
                  x_dtype == OT_FLOAT ? "a float" : "an integer", ot_dtype_name(ot_tensor_declared(c->in[0])));
    OT_TRY(channel_view_of(c, v));
    OT_TRY(oti_quant_param_of(c, 1, 1, v->channels, 0, "scale", scale));
    return oti_quant_param_of(c, 2, 0, v->channels, 1, "zero_point", zero);
}

/* QuantizeLinear: float x -> integer y of the zero point's dtype. DequantizeLinear: integer
 * x -> float32 y, declared as the scale's dtype (float16 scales give float16). */
static ot_status infer_quantize(ot_node_ctx *c) {
    const quantize_params *p = c->params;
    channel_view v;
    quant_param scale, zero;
    OT_TRY(quantize_operands(c, p->dequantize ? OT_INT64 : OT_FLOAT, &v, &scale, &zero));
    if (p->dequantize) ot_tensor_set_shape(c->out[0], OT_FLOAT, c->in[0]->ndim, c->in[0]->dims);
    else oti_quant_set_output(c, 0, oti_quant_dtype(&zero), c->in[0]->ndim, c->in[0]->dims);
    return OT_OK;
}

static ot_status forward_quantize(ot_node_ctx *c) {
    const quantize_params *p = c->params;
    channel_view v;
    quant_param scale, zero;
    OT_TRY(quantize_operands(c, p->dequantize ? OT_INT64 : OT_FLOAT, &v, &scale, &zero));
    int64_t n = ot_tensor_numel(c->in[0]);
    ot_dtype dtype = oti_quant_dtype(&zero);
    for (int64_t i = 0; i < n; i++) {
        int64_t ch = (i / v.inner) % v.channels;
        float s = oti_quant_scale(&scale, ch);
        int64_t z = oti_quant_zero(&zero, ch);
        if (p->dequantize) ((float *)c->out[0]->data)[i] = (float)(((const int64_t *)c->in[0]->data)[i] - z) * s;
        else ((int64_t *)c->out[0]->data)[i] = oti_quant_saturate(((const float *)c->in[0]->data)[i] / s, z, dtype);
    }
    return OT_OK;
}

/* DynamicQuantizeLinear ------------------------------------------------------------------- */

/* uint8 with a range that includes 0: scale = (max(x, 0) - min(x, 0)) / 255 and zero point
 * round(clip(-min / scale, 0, 255)); an all-zero x gets scale 0, zero point 0 and y 0. */
static ot_status infer_dynamic_quantize(ot_node_ctx *c) {
    OT_NODE_CHECK(c, c->n_in == 1 && c->in[0] && c->in[0]->dtype == OT_FLOAT, "x must be float32");
    OT_NODE_CHECK(c, c->n_out == 3 && c->out[0] && c->out[1] && c->out[2], "needs outputs y, y_scale and y_zero_point");
    oti_quant_set_output(c, 0, OT_UINT8, c->in[0]->ndim, c->in[0]->dims);
    ot_tensor_set_shape(c->out[1], OT_FLOAT, 0, NULL);
    oti_quant_set_output(c, 2, OT_UINT8, 0, NULL);
    return OT_OK;
}

static ot_status forward_dynamic_quantize(ot_node_ctx *c) {
    const float *x = c->in[0]->data;
    int64_t n = ot_tensor_numel(c->in[0]);
    float lo = 0.0f, hi = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        lo = fminf(lo, x[i]);
        hi = fmaxf(hi, x[i]);
    }
    float scale = (hi - lo) / 255.0f;
    int64_t zero = scale == 0.0f ? 0 : oti_quant_saturate(-lo / scale, 0, OT_UINT8);
    int64_t *y = c->out[0]->data;
    for (int64_t i = 0; i < n; i++) y[i] = scale == 0.0f ? 0 : oti_quant_saturate(x[i] / scale, zero, OT_UINT8);
    *(float *)c->out[1]->data = scale;
    *(int64_t *)c->out[2]->data = zero;
    return OT_OK;
}

/* The table -------------------------------------------------------------------------------- */

/* Scales and zero points: never trained. */
const ot_op oti_ops_quantize[] = {
    {.name = "QuantizeLinear", .since_version = 10, .params_size = sizeof(quantize_params),
     .parse = parse_quantize, .infer = infer_quantize, .forward = forward_quantize,
     .inputs = {[1] = OT_ROLE_CONSTANT, [2] = OT_ROLE_CONSTANT}},
    {.name = "DequantizeLinear", .since_version = 10, .params_size = sizeof(quantize_params),
     .parse = parse_quantize, .infer = infer_quantize, .forward = forward_quantize,
     .inputs = {[1] = OT_ROLE_CONSTANT, [2] = OT_ROLE_CONSTANT}},
    {.name = "DynamicQuantizeLinear", .since_version = 11, .infer = infer_dynamic_quantize,
     .forward = forward_dynamic_quantize},
    {.name = "MatMulInteger", .since_version = 10, .infer = oti_matmul_integer_infer,
     .forward = oti_matmul_integer_forward, .inputs = {[2] = OT_ROLE_CONSTANT, [3] = OT_ROLE_CONSTANT}},
    {.name = "QLinearMatMul", .since_version = 10, .infer = oti_qlinear_matmul_infer,
     .forward = oti_qlinear_matmul_forward,
     .inputs = {[1] = OT_ROLE_CONSTANT, [2] = OT_ROLE_CONSTANT, [4] = OT_ROLE_CONSTANT,
                [5] = OT_ROLE_CONSTANT, [6] = OT_ROLE_CONSTANT, [7] = OT_ROLE_CONSTANT}},
    {.name = "ConvInteger", .since_version = 10, .params_size = sizeof(conv_params),
     .parse = oti_conv_integer_parse, .infer = oti_conv_integer_infer,
     .forward = oti_conv_integer_forward, .inputs = {[2] = OT_ROLE_CONSTANT, [3] = OT_ROLE_CONSTANT}},
    {.name = "QLinearConv", .since_version = 10, .params_size = sizeof(conv_params),
     .parse = oti_conv_integer_parse, .infer = oti_qlinear_conv_infer,
     .forward = oti_qlinear_conv_forward,
     .inputs = {[1] = OT_ROLE_CONSTANT, [2] = OT_ROLE_CONSTANT, [4] = OT_ROLE_CONSTANT,
                [5] = OT_ROLE_CONSTANT, [6] = OT_ROLE_CONSTANT, [7] = OT_ROLE_CONSTANT}},
};
const ot_op_family oti_family_quantize = {oti_ops_quantize, OT_COUNT(oti_ops_quantize)};
