/* One-input math of the elementwise family: Sqrt Exp Log Neg Abs Reciprocal Erf on float32
 * (Neg and Abs also on int64), with backward for float32. Derivatives follow PyTorch's
 * derivatives.yaml: Sqrt, Exp and Reciprocal use the saved output, Abs'(0) = 0. */
#include <math.h>
#include <string.h>

#include "elementwise_internal.h"

typedef enum unary_kind { UN_SQRT, UN_EXP, UN_LOG, UN_NEG, UN_ABS, UN_RECIPROCAL, UN_ERF } unary_kind;

static const struct {
    const char *name;
    unary_kind kind;
    int int64_ok;
} unary_ops[] = {{"Sqrt", UN_SQRT, 0}, {"Exp", UN_EXP, 0}, {"Log", UN_LOG, 0}, {"Neg", UN_NEG, 1},
                 {"Abs", UN_ABS, 1}, {"Reciprocal", UN_RECIPROCAL, 0}, {"Erf", UN_ERF, 0}};

ot_status oti_ew_parse_unary(const ot_layer *l, void *params) {
    ot_ew_unary_params *p = params;
    for (int i = 0; i < OT_COUNT(unary_ops); i++)
        if (!strcmp(l->op_type, unary_ops[i].name)) {
            p->kind = i; /* index into unary_ops */
            return OT_OK;
        }
    return oti_node_fail(l, OT_ERR_UNSUPPORTED, "not an elementwise unary op");
}

ot_status oti_ew_infer_unary(ot_node_ctx *c) {
    const ot_ew_unary_params *p = c->params;
    OT_NODE_CHECK(c, c->n_in >= 1 && c->in[0], "needs an input");
    ot_dtype t = c->in[0]->dtype;
    int int64_ok = unary_ops[p->kind].int64_ok;
    OT_NODE_CHECK(c, t == OT_FLOAT || (t == OT_INT64 && int64_ok), "input must be float32%s, not %s",
                  int64_ok ? " or int64" : "", ot_dtype_name(t));
    ot_tensor_set_shape(c->out[0], t, c->in[0]->ndim, c->in[0]->dims);
    return OT_OK;
}

static void unary_f32(unary_kind kind, float *y, const float *x, int64_t n) {
    switch (kind) {
    case UN_SQRT: for (int64_t i = 0; i < n; i++) y[i] = sqrtf(x[i]); break;
    case UN_EXP: for (int64_t i = 0; i < n; i++) y[i] = expf(x[i]); break;
    case UN_LOG: for (int64_t i = 0; i < n; i++) y[i] = logf(x[i]); break;
    case UN_NEG: for (int64_t i = 0; i < n; i++) y[i] = -x[i]; break;
    case UN_ABS: for (int64_t i = 0; i < n; i++) y[i] = fabsf(x[i]); break;
    case UN_RECIPROCAL: for (int64_t i = 0; i < n; i++) y[i] = 1.0f / x[i]; break;
    case UN_ERF: for (int64_t i = 0; i < n; i++) y[i] = erff(x[i]); break;
    }
}

/* Negation wraps for INT64_MIN instead of being undefined. */
static inline int64_t wrap_neg(int64_t v) { return (int64_t)(0 - (uint64_t)v); }

ot_status oti_ew_forward_unary(ot_node_ctx *c) {
    const ot_ew_unary_params *p = c->params;
    int64_t n = ot_tensor_numel(c->in[0]);
    if (c->in[0]->dtype == OT_FLOAT) {
        unary_f32(unary_ops[p->kind].kind, c->out[0]->data, c->in[0]->data, n);
        return OT_OK;
    }
    const int64_t *x = c->in[0]->data;
    int64_t *y = c->out[0]->data;
    if (unary_ops[p->kind].kind == UN_NEG)
        for (int64_t i = 0; i < n; i++) y[i] = wrap_neg(x[i]);
    else
        for (int64_t i = 0; i < n; i++) y[i] = x[i] < 0 ? wrap_neg(x[i]) : x[i];
    return OT_OK;
}

ot_status oti_ew_backward_unary(ot_node_ctx *c) {
    const ot_ew_unary_params *p = c->params;
    if (!c->din[0] || !c->dout[0] || c->in[0]->dtype != OT_FLOAT) return OT_OK;
    const float *x = c->in[0]->data, *y = c->out[0]->data, *g = c->dout[0]->data;
    float *dx = c->din[0]->data;
    int64_t n = ot_tensor_numel(c->in[0]);
    switch (unary_ops[p->kind].kind) {
    case UN_SQRT: for (int64_t i = 0; i < n; i++) dx[i] += g[i] / (2.0f * y[i]); break;
    case UN_EXP: for (int64_t i = 0; i < n; i++) dx[i] += g[i] * y[i]; break;
    case UN_LOG: for (int64_t i = 0; i < n; i++) dx[i] += g[i] / x[i]; break;
    case UN_NEG: for (int64_t i = 0; i < n; i++) dx[i] -= g[i]; break;
    case UN_ABS:
        for (int64_t i = 0; i < n; i++) dx[i] += x[i] > 0.0f ? g[i] : x[i] < 0.0f ? -g[i] : 0.0f;
        break;
    case UN_RECIPROCAL: for (int64_t i = 0; i < n; i++) dx[i] -= g[i] * (y[i] * y[i]); break;
    case UN_ERF:
        /* erf'(x) = 2 / sqrt(pi) * exp(-x^2) */
        for (int64_t i = 0; i < n; i++) dx[i] += g[i] * 1.1283791670955126f * expf(-x[i] * x[i]);
        break;
    }
    return OT_OK;
}
