/* Activations: elementwise functions of one float tensor with scalar attributes.
 * Relu LeakyRelu Elu Selu Celu Sigmoid HardSigmoid HardSwish Tanh Softplus Softsign
 * ThresholdedRelu Gelu Shrink (alpha = lambd, beta = bias), plus PRelu (slope broadcast to x) and Clip (bounds from attributes
 * before opset 11, from optional inputs after).
 *
 * Backward uses the saved output where the derivative is cheaper that way (Sigmoid, Tanh,
 * Elu for x <= 0), otherwise the input. Derivatives at kinks follow PyTorch (Relu'(0) = 0,
 * Elu'(0) = alpha * exp(0) is not used: x > 0 picks 1, else alpha*exp(x)). */
#include <math.h>
#include <string.h>

#include "broadcast.h"
#include "core/util.h"
#include "fast_math.h"
#include "gemm.h"

typedef enum activation_kind {
    ACT_RELU, ACT_LEAKY_RELU, ACT_ELU, ACT_SELU, ACT_CELU, ACT_SIGMOID, ACT_HARD_SIGMOID,
    ACT_HARD_SWISH, ACT_TANH, ACT_SOFTPLUS, ACT_SOFTSIGN, ACT_THRESHOLDED_RELU, ACT_GELU,
    ACT_GELU_TANH, ACT_SHRINK
} activation_kind;

typedef struct activation_params {
    activation_kind kind;
    float alpha, beta, gamma;
} activation_params;

static ot_status parse_activation(const ot_layer *l, activation_params *p) {
    const char *op = l->op_type;
    memset(p, 0, sizeof *p);
    if (!strcmp(op, "Relu")) p->kind = ACT_RELU;
    else if (!strcmp(op, "LeakyRelu")) {
        p->kind = ACT_LEAKY_RELU;
        OT_TRY(oti_attr_get_float(l, "alpha", 0.01f, &p->alpha));
    } else if (!strcmp(op, "Elu")) {
        p->kind = ACT_ELU;
        OT_TRY(oti_attr_get_float(l, "alpha", 1.0f, &p->alpha));
    } else if (!strcmp(op, "Selu")) {
        p->kind = ACT_SELU;
        OT_TRY(oti_attr_get_float(l, "alpha", 1.67326319217681884765625f, &p->alpha));
        OT_TRY(oti_attr_get_float(l, "gamma", 1.05070102214813232421875f, &p->gamma));
    } else if (!strcmp(op, "Celu")) {
        p->kind = ACT_CELU;
        OT_TRY(oti_attr_get_float(l, "alpha", 1.0f, &p->alpha));
        if (p->alpha == 0.0f) return oti_node_fail(l, OT_ERR_INVALID, "alpha must not be 0");
    } else if (!strcmp(op, "Sigmoid")) p->kind = ACT_SIGMOID;
    else if (!strcmp(op, "HardSigmoid")) {
        p->kind = ACT_HARD_SIGMOID;
        OT_TRY(oti_attr_get_float(l, "alpha", 0.2f, &p->alpha));
        OT_TRY(oti_attr_get_float(l, "beta", 0.5f, &p->beta));
    } else if (!strcmp(op, "HardSwish")) {
        p->kind = ACT_HARD_SWISH;
        p->alpha = 1.0f / 6.0f;
        p->beta = 0.5f;
    } else if (!strcmp(op, "Tanh")) p->kind = ACT_TANH;
    else if (!strcmp(op, "Softplus")) p->kind = ACT_SOFTPLUS;
    else if (!strcmp(op, "Softsign")) p->kind = ACT_SOFTSIGN;
    else if (!strcmp(op, "ThresholdedRelu")) {
        p->kind = ACT_THRESHOLDED_RELU;
        OT_TRY(oti_attr_get_float(l, "alpha", 1.0f, &p->alpha));
    } else if (!strcmp(op, "Shrink")) {
        p->kind = ACT_SHRINK;
        OT_TRY(oti_attr_get_float(l, "lambd", 0.5f, &p->alpha));
        OT_TRY(oti_attr_get_float(l, "bias", 0.0f, &p->beta));
    } else if (!strcmp(op, "Gelu")) {
        const char *approximate;
        OT_TRY(oti_attr_get_string(l, "approximate", "none", &approximate));
        if (!strcmp(approximate, "none")) p->kind = ACT_GELU;
        else if (!strcmp(approximate, "tanh")) p->kind = ACT_GELU_TANH;
        else return oti_node_fail(l, OT_ERR_INVALID, "approximate must be 'none' or 'tanh', not '%s'", approximate);
    } else {
        return oti_node_fail(l, OT_ERR_UNSUPPORTED, "not an activation");
    }
    return OT_OK;
}

static ot_status parse(const ot_layer *l, void *params) { return parse_activation(l, params); }

static ot_status infer_unary_float(ot_node_ctx *c) {
    OT_NODE_CHECK(c, c->n_in >= 1 && c->in[0], "needs an input");
    OT_NODE_CHECK(c, c->in[0]->dtype == OT_FLOAT, "input must be float32, not %s",
                  ot_dtype_name(c->in[0]->dtype));
    ot_tensor_set_shape(c->out[0], OT_FLOAT, c->in[0]->ndim, c->in[0]->dims);
    return OT_OK;
}

/* y = f(x), elementwise. */
/* y = f(x) for an activation kind. */
static void activation_forward(float *y, const float *x, int64_t n, int kind, float alpha,
                           float beta, float gamma) {
    switch ((activation_kind)kind) {
    case ACT_RELU: for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f; break;
    case ACT_LEAKY_RELU: for (int64_t i = 0; i < n; i++) y[i] = x[i] >= 0.0f ? x[i] : alpha * x[i]; break;
    case ACT_ELU:
        for (int64_t i = 0; i < n; i++) {
            float negative = alpha * ot_expm1_nonpositive(x[i]);
            y[i] = x[i] > 0.0f ? x[i] : negative;
        }
        break;
    case ACT_SELU:
        for (int64_t i = 0; i < n; i++) {
            float negative = gamma * alpha * ot_expm1_nonpositive(x[i]);
            y[i] = x[i] > 0.0f ? gamma * x[i] : negative;
        }
        break;
    case ACT_CELU:
        for (int64_t i = 0; i < n; i++)
            y[i] = fmaxf(0.0f, x[i]) + fminf(0.0f, alpha * expm1f(x[i] / alpha));
        break;
    case ACT_SIGMOID:
        for (int64_t i = 0; i < n; i++)
            y[i] = x[i] >= 0.0f ? 1.0f / (1.0f + expf(-x[i])) : expf(x[i]) / (1.0f + expf(x[i]));
        break;
    case ACT_HARD_SIGMOID:
        for (int64_t i = 0; i < n; i++) y[i] = fmaxf(0.0f, fminf(1.0f, alpha * x[i] + beta));
        break;
    case ACT_HARD_SWISH:
        for (int64_t i = 0; i < n; i++) y[i] = x[i] * fmaxf(0.0f, fminf(1.0f, x[i] / 6.0f + 0.5f));
        break;
    case ACT_TANH: for (int64_t i = 0; i < n; i++) y[i] = tanhf(x[i]); break;
    case ACT_SOFTPLUS:
        /* log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|). */
        for (int64_t i = 0; i < n; i++) y[i] = fmaxf(x[i], 0.0f) + log1pf(expf(-fabsf(x[i])));
        break;
    case ACT_SOFTSIGN: for (int64_t i = 0; i < n; i++) y[i] = x[i] / (1.0f + fabsf(x[i])); break;
    case ACT_THRESHOLDED_RELU: for (int64_t i = 0; i < n; i++) y[i] = x[i] > alpha ? x[i] : 0.0f; break;
    case ACT_GELU:
        for (int64_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + ot_erf_fast(x[i] * (float)M_SQRT1_2));
        break;
    case ACT_GELU_TANH:
        for (int64_t i = 0; i < n; i++) {
            float inner = 0.7978845608028654f * (x[i] + 0.044715f * x[i] * x[i] * x[i]);
            y[i] = 0.5f * x[i] * (1.0f + tanhf(inner));
        }
        break;
    case ACT_SHRINK:
        for (int64_t i = 0; i < n; i++) y[i] = x[i] < -alpha ? x[i] + beta : x[i] > alpha ? x[i] - beta : 0.0f;
        break;
    }
}

/* dx += dy * f'(x), using y = f(x) where that is cheaper. */
/* dx += dy * f'(x); y is the forward output. */
static void activation_backward(float *dx, const float *dy, const float *x, const float *y, int64_t n,
                            int kind, float alpha, float beta, float gamma) {
    switch ((activation_kind)kind) {
    case ACT_RELU: for (int64_t i = 0; i < n; i++) dx[i] += x[i] > 0.0f ? dy[i] : 0.0f; break;
    case ACT_LEAKY_RELU: for (int64_t i = 0; i < n; i++) dx[i] += x[i] >= 0.0f ? dy[i] : alpha * dy[i]; break;
    case ACT_ELU: for (int64_t i = 0; i < n; i++) dx[i] += x[i] > 0.0f ? dy[i] : dy[i] * (y[i] + alpha); break;
    case ACT_SELU:
        for (int64_t i = 0; i < n; i++) dx[i] += x[i] > 0.0f ? gamma * dy[i] : dy[i] * (y[i] + gamma * alpha);
        break;
    case ACT_CELU: for (int64_t i = 0; i < n; i++) dx[i] += x[i] > 0.0f ? dy[i] : dy[i] * expf(x[i] / alpha); break;
    case ACT_SIGMOID: for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * y[i] * (1.0f - y[i]); break;
    case ACT_HARD_SIGMOID:
        for (int64_t i = 0; i < n; i++) {
            float v = alpha * x[i] + beta;
            dx[i] += v > 0.0f && v < 1.0f ? alpha * dy[i] : 0.0f;
        }
        break;
    case ACT_HARD_SWISH:
        /* PyTorch: 0 below -3, 1 above 3, x/3 + 1/2 between (inclusive at the ends). */
        for (int64_t i = 0; i < n; i++)
            dx[i] += x[i] < -3.0f ? 0.0f : x[i] <= 3.0f ? dy[i] * (x[i] / 3.0f + 0.5f) : dy[i];
        break;
    case ACT_TANH: for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * (1.0f - y[i] * y[i]); break;
    case ACT_SOFTPLUS:
        for (int64_t i = 0; i < n; i++) {
            float s = x[i] >= 0.0f ? 1.0f / (1.0f + expf(-x[i])) : expf(x[i]) / (1.0f + expf(x[i]));
            dx[i] += dy[i] * s;
        }
        break;
    case ACT_SOFTSIGN:
        for (int64_t i = 0; i < n; i++) {
            float d = 1.0f + fabsf(x[i]);
            dx[i] += dy[i] / (d * d);
        }
        break;
    case ACT_THRESHOLDED_RELU: for (int64_t i = 0; i < n; i++) dx[i] += x[i] > alpha ? dy[i] : 0.0f; break;
    /* PyTorch's hardshrink/softshrink: 1 outside [-lambd, lambd], 0 inside and at the ends. */
    case ACT_SHRINK: for (int64_t i = 0; i < n; i++) dx[i] += fabsf(x[i]) > alpha ? dy[i] : 0.0f; break;
    case ACT_GELU:
        for (int64_t i = 0; i < n; i++) {
            float cdf = 0.5f * (1.0f + ot_erf_fast(x[i] * (float)M_SQRT1_2));
            float pdf = ot_exp_nonpositive(-0.5f * x[i] * x[i]) * 0.3989422804014327f;
            dx[i] += dy[i] * (cdf + x[i] * pdf);
        }
        break;
    case ACT_GELU_TANH:
        for (int64_t i = 0; i < n; i++) {
            float x3 = x[i] * x[i] * x[i];
            float t = tanhf(0.7978845608028654f * (x[i] + 0.044715f * x3));
            float dinner = 0.7978845608028654f * (1.0f + 3.0f * 0.044715f * x[i] * x[i]);
            dx[i] += dy[i] * (0.5f * (1.0f + t) + 0.5f * x[i] * (1.0f - t * t) * dinner);
        }
        break;
    }
    (void)beta;
}

/* Elementwise, so ranges of the tensor run on the compute threads (parts of at least
 * ACTIVATION_GRAIN values: fewer are not worth waking a thread). */
enum { ACTIVATION_GRAIN = 16384 };

typedef struct activation_job {
    const activation_params *p;
    float *out;             /* y forward, dx backward */
    const float *x, *y, *dy; /* y and dy backward only */
} activation_job;

static void forward_range(int64_t begin, int64_t end, int part, void *arg) {
    (void)part;
    const activation_job *j = arg;
    activation_forward(j->out + begin, j->x + begin, end - begin, j->p->kind, j->p->alpha, j->p->beta, j->p->gamma);
}

static void backward_range(int64_t begin, int64_t end, int part, void *arg) {
    (void)part;
    const activation_job *j = arg;
    activation_backward(j->out + begin, j->dy + begin, j->x + begin, j->y + begin, end - begin, j->p->kind,
                           j->p->alpha, j->p->beta, j->p->gamma);
}

static ot_status forward_activation(ot_node_ctx *c) {
    activation_job job = {.p = c->params, .out = c->out[0]->data, .x = c->in[0]->data};
    oti_parallel_ranges(c->pool, ot_tensor_numel(c->in[0]), ACTIVATION_GRAIN, forward_range, &job);
    return OT_OK;
}

static ot_status backward_activation(ot_node_ctx *c) {
    if (!c->din[0] || !c->dout[0]) return OT_OK;
    activation_job job = {.p = c->params, .out = c->din[0]->data, .x = c->in[0]->data, .y = c->out[0]->data,
                          .dy = c->dout[0]->data};
    oti_parallel_ranges(c->pool, ot_tensor_numel(c->in[0]), ACTIVATION_GRAIN, backward_range, &job);
    return OT_OK;
}

/* PRelu: y = x >= 0 ? x : slope * x, slope broadcast to x (unidirectionally). ------------ */

/* The slope as it broadcasts against X. Before opset 7 a slope of shape [C] means one value
 * per channel (dim 1), where numpy rules would align it with the last dim: view it as
 * [C, 1, ..., 1]. */
static ot_tensor slope_view(const ot_node_ctx *c) {
    ot_tensor view = *c->in[1];
    const ot_tensor *x = c->in[0];
    if (c->layer->opset < 7 && view.ndim == 1 && x->ndim >= 2 && view.dims[0] == x->dims[1] && view.dims[0] > 1) {
        view.ndim = x->ndim - 1;
        for (int d = 1; d < view.ndim; d++) view.dims[d] = 1;
    }
    return view;
}

static ot_status infer_prelu(ot_node_ctx *c) {
    OT_NODE_CHECK(c, c->n_in == 2 && c->in[0] && c->in[1], "needs inputs X and slope");
    OT_NODE_CHECK(c, c->in[0]->dtype == OT_FLOAT && c->in[1]->dtype == OT_FLOAT, "inputs must be float32");
    int ndim;
    int64_t dims[OT_MAX_DIMS];
    ot_tensor slope = slope_view(c);
    const ot_tensor *operands[2] = {c->in[0], &slope};
    OT_TRY(oti_broadcast_shape(c->layer, 2, operands, &ndim, dims));
    OT_NODE_CHECK(c, ndim == c->in[0]->ndim && ot_dims_numel(ndim, dims) == ot_tensor_numel(c->in[0]),
                  "slope must broadcast to the shape of X");
    ot_tensor_set_shape(c->out[0], OT_FLOAT, c->in[0]->ndim, c->in[0]->dims);
    return OT_OK;
}

static ot_status forward_prelu(ot_node_ctx *c) {
    ot_tensor slope_shape = slope_view(c);
    const ot_tensor *operands[2] = {c->in[0], &slope_shape};
    ot_bcast b;
    oti_bcast_init(&b, 2, operands, c->out[0]);
    const float *x = c->in[0]->data, *slope = c->in[1]->data;
    float *y = c->out[0]->data;
    int64_t offsets[2];
    for (int64_t r = 0; r < b.rows; r++) {
        int64_t o = oti_bcast_row(&b, r, offsets);
        int64_t sx = b.strides[0][b.ndim - 1], ss = b.strides[1][b.ndim - 1];
        for (int64_t j = 0; j < b.row_len; j++) {
            float v = x[offsets[0] + j * sx];
            y[o + j] = v >= 0.0f ? v : slope[offsets[1] + j * ss] * v;
        }
    }
    return OT_OK;
}

static ot_status backward_prelu(ot_node_ctx *c) {
    ot_tensor slope_shape = slope_view(c);
    const ot_tensor *operands[2] = {c->in[0], &slope_shape};
    ot_bcast b;
    oti_bcast_init(&b, 2, operands, c->out[0]);
    const float *x = c->in[0]->data, *slope = c->in[1]->data, *dy = c->dout[0]->data;
    float *dx = c->din[0] ? c->din[0]->data : NULL;
    float *dslope = c->din[1] ? c->din[1]->data : NULL;
    int64_t offsets[2];
    for (int64_t r = 0; r < b.rows; r++) {
        int64_t o = oti_bcast_row(&b, r, offsets);
        int64_t sx = b.strides[0][b.ndim - 1], ss = b.strides[1][b.ndim - 1];
        for (int64_t j = 0; j < b.row_len; j++) {
            float v = x[offsets[0] + j * sx], g = dy[o + j];
            if (dx) dx[offsets[0] + j * sx] += v >= 0.0f ? g : slope[offsets[1] + j * ss] * g;
            if (dslope && v < 0.0f) dslope[offsets[1] + j * ss] += g * v;
        }
    }
    return OT_OK;
}

/* Clip ------------------------------------------------------------------------------------ */

typedef struct clip_params {
    float min, max; /* opset < 11 attributes */
    int from_inputs;
} clip_params;

static ot_status parse_clip(const ot_layer *l, void *params) {
    clip_params *p = params;
    p->from_inputs = l->opset >= 11;
    OT_TRY(oti_attr_get_float(l, "min", -INFINITY, &p->min));
    OT_TRY(oti_attr_get_float(l, "max", INFINITY, &p->max));
    return OT_OK;
}

static ot_status infer_clip(ot_node_ctx *c) {
    OT_NODE_CHECK(c, c->n_in >= 1 && c->in[0], "needs an input");
    ot_dtype t = c->in[0]->dtype;
    OT_NODE_CHECK(c, t == OT_FLOAT || t == OT_INT64, "input must be float32 or int64, not %s", ot_dtype_name(t));
    for (int k = 1; k < c->n_in && k < 3; k++)
        if (c->in[k]) {
            OT_NODE_CHECK(c, ot_tensor_numel(c->in[k]) == 1, "bound %s must be a scalar", k == 1 ? "min" : "max");
            OT_NODE_CHECK(c, c->in[k]->dtype == t, "bounds must have the input's dtype");
        }
    ot_tensor_set_shape(c->out[0], t, c->in[0]->ndim, c->in[0]->dims);
    return OT_OK;
}

static void clip_bounds(const ot_node_ctx *c, double *lo, double *hi) {
    const clip_params *p = c->params;
    *lo = p->min;
    *hi = p->max;
    if (!p->from_inputs) return;
    int is_float = c->in[0]->dtype == OT_FLOAT;
    *lo = -INFINITY;
    *hi = INFINITY;
    if (c->n_in > 1 && c->in[1])
        *lo = is_float ? ((float *)c->in[1]->data)[0] : (double)((int64_t *)c->in[1]->data)[0];
    if (c->n_in > 2 && c->in[2])
        *hi = is_float ? ((float *)c->in[2]->data)[0] : (double)((int64_t *)c->in[2]->data)[0];
}

typedef struct clip_job {
    float *y;
    const float *x;
    float lo, hi;
} clip_job;

/* ONNX: min(max(x, lo), hi), so hi wins when lo > hi; a NaN stays NaN, as in ONNX Runtime and
 * PyTorch's clamp (fmaxf/fminf would turn it into a bound). Plain compares also vectorize. */
static void clip_range(int64_t begin, int64_t end, int part, void *arg) {
    (void)part;
    const clip_job *j = arg;
    /* locals: a store through j->y could otherwise change j's fields, so nothing vectorised */
    const float *x = j->x;
    float *y = j->y;
    float lo = j->lo, hi = j->hi;
    for (int64_t i = begin; i < end; i++) {
        float v = x[i] < lo ? lo : x[i];
        y[i] = v > hi ? hi : v;
    }
}

static ot_status forward_clip(ot_node_ctx *c) {
    double lo, hi;
    clip_bounds(c, &lo, &hi);
    int64_t n = ot_tensor_numel(c->in[0]);
    if (c->in[0]->dtype == OT_INT64) {
        const int64_t *x = c->in[0]->data;
        int64_t *y = c->out[0]->data;
        for (int64_t i = 0; i < n; i++) {
            int64_t v = x[i];
            if (lo > -INFINITY && v < (int64_t)lo) v = (int64_t)lo;
            if (hi < INFINITY && v > (int64_t)hi) v = (int64_t)hi;
            y[i] = v;
        }
        return OT_OK;
    }
    clip_job job = {.y = c->out[0]->data, .x = c->in[0]->data, .lo = (float)lo, .hi = (float)hi};
    oti_parallel_ranges(c->pool, n, ACTIVATION_GRAIN, clip_range, &job);
    return OT_OK;
}

static ot_status backward_clip(ot_node_ctx *c) {
    if (!c->din[0]) return OT_OK;
    double lo, hi;
    clip_bounds(c, &lo, &hi);
    const float *x = c->in[0]->data, *dy = c->dout[0]->data;
    float *dx = c->din[0]->data;
    int64_t n = ot_tensor_numel(c->in[0]);
    /* PyTorch's clamp passes the gradient where lo <= x <= hi. */
    for (int64_t i = 0; i < n; i++) dx[i] += x[i] >= lo && x[i] <= hi ? dy[i] : 0.0f;
    return OT_OK;
}

#define ACTIVATION(op_name, since, extra_flags)                                                 \
    {.name = op_name, .since_version = since, .params_size = sizeof(activation_params),          \
     .parse = parse, .infer = infer_unary_float, .forward = forward_activation,                   \
     .backward = backward_activation, .flags = extra_flags}

const ot_op oti_ops_activation[] = {
    ACTIVATION("Relu", 6, 0),
    ACTIVATION("LeakyRelu", 6, 0),
    ACTIVATION("Elu", 6, 0),
    ACTIVATION("Selu", 6, 0),
    ACTIVATION("Celu", 12, 0),
    ACTIVATION("Sigmoid", 6, OT_OP_SIGMOID),
    ACTIVATION("HardSigmoid", 6, 0),
    ACTIVATION("HardSwish", 14, 0),
    ACTIVATION("Tanh", 6, 0),
    ACTIVATION("Softplus", 1, 0),
    ACTIVATION("Softsign", 1, 0),
    ACTIVATION("ThresholdedRelu", 10, 0),
    ACTIVATION("Gelu", 1, 0),
    ACTIVATION("Shrink", 9, 0),
    {.name = "PRelu", .since_version = 6, .infer = infer_prelu, .forward = forward_prelu,
     .backward = backward_prelu, .inputs = {[1] = OT_ROLE_SLOPE}},
    /* min and max: bounds, not parameters */
    {.name = "Clip", .since_version = 6, .params_size = sizeof(clip_params), .parse = parse_clip,
     .infer = infer_clip, .forward = forward_clip, .backward = backward_clip,
     .inputs = {[1] = OT_ROLE_CONSTANT, [2] = OT_ROLE_CONSTANT}},
};
const ot_op_family oti_family_activation = {oti_ops_activation, OT_COUNT(oti_ops_activation)};
