/* Caffe's elementwise ("neuron") layers: ReLU, PReLU, ELU, Sigmoid, TanH, AbsVal, BNLL
 * (Softplus), Power, Exp and Log (chains of Mul, Add and the function, with scalar
 * constants), Dropout and Softmax. Each works in place as well: the output is a new value
 * either way. */
#include <math.h>
#include <string.h>

#include "caffe_internal.h"
#include "core/attr_build.h"
#include "core/util.h"

/* One step of a chain: op applied to the running value and (when has_constant) a scalar. */
typedef struct chain_step {
    const char *op;
    int has_constant;
    float constant;
} chain_step;

/* Runs steps on bottom 0; the last writes top 0. No step left: Identity. */
static ot_status chain(caffe_builder *b, const caffe_layer *l, int n, const chain_step *steps) {
    const char *current = l->bottoms[0];
    if (n == 0) return oti_caffe_node(b, l, "Identity", NULL, 1, &current, 0, NULL, 0, NULL);
    for (int k = 0; k < n; k++) {
        const char *inputs[2] = {current, NULL};
        if (steps[k].has_constant) {
            char role[32];
            snprintf(role, sizeof role, "%s_%d", steps[k].op, k);
            OT_TRY(oti_caffe_constant(b, l, role, 0, NULL, &steps[k].constant, &inputs[1]));
        }
        int last = k == n - 1;
        OT_TRY(oti_caffe_node(b, l, steps[k].op, last ? NULL : steps[k].op,
                              steps[k].has_constant ? 2 : 1, inputs, 0, NULL, last ? 0 : -1,
                              &current));
    }
    return OT_OK;
}

/* y = then(shift + scale * x) * post_scale, leaving out the identity steps (then NULL: none). */
static ot_status affine_then(caffe_builder *b, const caffe_layer *l, double scale, double shift,
                             const chain_step *then, double post_scale) {
    chain_step steps[4];
    int n = 0;
    if (scale != 1) steps[n++] = (chain_step){"Mul", 1, (float)scale};
    if (shift != 0) steps[n++] = (chain_step){"Add", 1, (float)shift};
    if (then) steps[n++] = *then;
    if (post_scale != 1) steps[n++] = (chain_step){"Mul", 1, (float)post_scale};
    return chain(b, l, n, steps);
}

static ot_status unary(caffe_builder *b, const caffe_layer *l, const char *op) {
    OT_TRY(oti_caffe_need(l, 1, 1));
    return oti_caffe_node(b, l, op, NULL, 1, l->bottoms, 0, NULL, 0, NULL);
}

static ot_status convert_sigmoid(caffe_builder *b, const caffe_layer *l) {
    return unary(b, l, "Sigmoid");
}
static ot_status convert_tanh(caffe_builder *b, const caffe_layer *l) {
    return unary(b, l, "Tanh");
}
static ot_status convert_absval(caffe_builder *b, const caffe_layer *l) {
    return unary(b, l, "Abs");
}
/* BNLL: log(1 + exp(x)). */
static ot_status convert_bnll(caffe_builder *b, const caffe_layer *l) {
    return unary(b, l, "Softplus");
}

/* One float field of the layer's parameter message (the whole message may be absent). */
static ot_status float_param(const caffe_layer *l, const char *message, const char *field,
                             double fallback, double *out) {
    const ot_prototxt_message *p;
    OT_TRY(oti_caffe_params(l, message, &p));
    return oti_prototxt_get_float(p, field, fallback, l->what, out);
}

/* op with its one float attribute. */
static ot_status with_alpha(caffe_builder *b, const caffe_layer *l, const char *op, double alpha) {
    ot_attr attr = oti_attr_float("alpha", (float)alpha);
    return oti_caffe_node(b, l, op, NULL, 1, l->bottoms, 1, &attr, 0, NULL);
}

static ot_status convert_relu(caffe_builder *b, const caffe_layer *l) {
    double slope;
    OT_TRY(oti_caffe_need(l, 1, 1));
    OT_TRY(float_param(l, "relu_param", "negative_slope", 0, &slope));
    return slope == 0 ? unary(b, l, "Relu") : with_alpha(b, l, "LeakyRelu", slope);
}

static ot_status convert_elu(caffe_builder *b, const caffe_layer *l) {
    double alpha;
    OT_TRY(oti_caffe_need(l, 1, 1));
    OT_TRY(float_param(l, "elu_param", "alpha", 1, &alpha));
    return with_alpha(b, l, "Elu", alpha);
}

/* One slope per channel (dim 1), shaped (C, 1, ..., 1) to broadcast over the input's rank;
 * channel_shared: one slope. */
static ot_status convert_prelu(caffe_builder *b, const caffe_layer *l) {
    OT_TRY(oti_caffe_need(l, 1, 1));
    const ot_prototxt_message *p;
    int shared;
    OT_TRY(oti_caffe_params(l, "prelu_param", &p));
    OT_TRY(oti_prototxt_get_bool(p, "channel_shared", 0, l->what, &shared));
    ot_tensor shape;
    OT_TRY(oti_caffe_shape(b, l->bottoms[0], l, &shape));
    if (shape.ndim < 2)
        return oti_fail(OT_ERR_FORMAT, "%s: the input has %d dims, PReLU needs 2 or more", l->what,
                        shape.ndim);
    int64_t dims[OT_MAX_DIMS] = {shared ? 1 : shape.dims[1]};
    int ndim = shared ? 1 : shape.ndim - 1;
    for (int d = 1; d < ndim; d++) dims[d] = 1;
    const char *inputs[2] = {l->bottoms[0]};
    OT_TRY(oti_caffe_blob(b, l, 0, "slope", ndim, dims, &inputs[1]));
    return oti_caffe_node(b, l, "PRelu", NULL, 2, inputs, 0, NULL, 0, NULL);
}

/* y = (shift + scale * x) ^ power */
static ot_status convert_power(caffe_builder *b, const caffe_layer *l) {
    OT_TRY(oti_caffe_need(l, 1, 1));
    const ot_prototxt_message *p;
    double power, scale, shift;
    OT_TRY(oti_caffe_params(l, "power_param", &p));
    OT_TRY(oti_prototxt_get_float(p, "power", 1, l->what, &power));
    OT_TRY(oti_prototxt_get_float(p, "scale", 1, l->what, &scale));
    OT_TRY(oti_prototxt_get_float(p, "shift", 0, l->what, &shift));
    chain_step pow_step = {"Pow", 1, (float)power};
    return affine_then(b, l, scale, shift, power != 1 ? &pow_step : NULL, 1);
}

/* base (default -1: e), scale, shift of exp_param / log_param; ln(base) into *log_base. */
static ot_status base_scale_shift(const caffe_layer *l, const char *param, double *log_base,
                                  double *scale, double *shift) {
    const ot_prototxt_message *p;
    double base;
    OT_TRY(oti_caffe_params(l, param, &p));
    OT_TRY(oti_prototxt_get_float(p, "base", -1, l->what, &base));
    OT_TRY(oti_prototxt_get_float(p, "scale", 1, l->what, scale));
    OT_TRY(oti_prototxt_get_float(p, "shift", 0, l->what, shift));
    if (base != -1 && !(base > 0))
        return oti_caffe_bad_field(l, "base", "must be positive (or -1 for e)");
    *log_base = base == -1 ? 1.0 : log(base);
    return OT_OK;
}

/* y = base ^ (shift + scale * x) = exp(ln(base) (shift + scale * x)) */
static ot_status convert_exp(caffe_builder *b, const caffe_layer *l) {
    OT_TRY(oti_caffe_need(l, 1, 1));
    double log_base, scale, shift;
    OT_TRY(base_scale_shift(l, "exp_param", &log_base, &scale, &shift));
    chain_step exp_step = {"Exp", 0, 0};
    return affine_then(b, l, scale * log_base, shift * log_base, &exp_step, 1);
}

/* y = log_base(shift + scale * x) = ln(shift + scale * x) / ln(base) */
static ot_status convert_log(caffe_builder *b, const caffe_layer *l) {
    OT_TRY(oti_caffe_need(l, 1, 1));
    double log_base, scale, shift;
    OT_TRY(base_scale_shift(l, "log_param", &log_base, &scale, &shift));
    if (log_base == 0) return oti_caffe_bad_field(l, "base", "must not be 1");
    chain_step log_step = {"Log", 0, 0};
    return affine_then(b, l, scale, shift, &log_step, 1 / log_base);
}

/* Caffe's dropout scales kept units by 1 / (1 - ratio) in training, as ONNX's Dropout does;
 * at inference both pass the input through. */
static ot_status convert_dropout(caffe_builder *b, const caffe_layer *l) {
    OT_TRY(oti_caffe_need(l, 1, 1));
    double ratio;
    OT_TRY(float_param(l, "dropout_param", "dropout_ratio", 0.5, &ratio));
    if (!(ratio >= 0 && ratio < 1))
        return oti_caffe_bad_field(l, "dropout_ratio", "must be in [0, 1)");
    float value = (float)ratio;
    const char *inputs[2] = {l->bottoms[0]};
    OT_TRY(oti_caffe_constant(b, l, "ratio", 0, NULL, &value, &inputs[1]));
    return oti_caffe_node(b, l, "Dropout", NULL, 2, inputs, 0, NULL, 0, NULL);
}

static ot_status convert_softmax(caffe_builder *b, const caffe_layer *l) {
    OT_TRY(oti_caffe_need(l, 1, 1));
    const ot_prototxt_message *p;
    int64_t axis;
    OT_TRY(oti_caffe_params(l, "softmax_param", &p));
    OT_TRY(oti_prototxt_get_int(p, "axis", 1, l->what, &axis));
    ot_attr attr = oti_attr_int("axis", axis);
    return oti_caffe_node(b, l, "Softmax", NULL, 1, l->bottoms, 1, &attr, 0, NULL);
}

const struct caffe_converter_row oti_caffe_neuron_rows[] = {{"ReLU", convert_relu},
                                                            {"PReLU", convert_prelu},
                                                            {"ELU", convert_elu},
                                                            {"Sigmoid", convert_sigmoid},
                                                            {"TanH", convert_tanh},
                                                            {"AbsVal", convert_absval},
                                                            {"BNLL", convert_bnll},
                                                            {"Power", convert_power},
                                                            {"Exp", convert_exp},
                                                            {"Log", convert_log},
                                                            {"Dropout", convert_dropout},
                                                            {"Softmax", convert_softmax},
                                                            {NULL, NULL}};
