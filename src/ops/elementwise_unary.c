/* One-input math of the elementwise family on float32 (Neg Abs Sign also on int64):
 * Sqrt Exp Log Neg Abs Reciprocal Erf, the trigonometric and hyperbolic functions and their
 * inverses (Sin ... Atanh), the roundings Round (half to even) Floor Ceil, Sign, and the
 * predicates IsInf (detect_negative / detect_positive) and IsNaN (-> bool).
 *
 * Backward for float32 follows PyTorch's derivatives.yaml: Sqrt, Exp, Reciprocal and Tan use
 * the saved output, Abs'(0) = 0, and the piecewise-constant Round Floor Ceil Sign pass a zero
 * gradient (PyTorch's choice: the derivative where it exists, 0 at the jumps too), so a model
 * may train through them. IsInf and IsNaN have no backward (bool outputs). */
#include <math.h>
#include <string.h>

#include "elementwise_internal.h"
#include "fast_math.h"

typedef enum unary_kind {
    UN_SQRT, UN_EXP, UN_LOG, UN_NEG, UN_ABS, UN_RECIPROCAL, UN_ERF,
    UN_SIN, UN_COS, UN_TAN, UN_ASIN, UN_ACOS, UN_ATAN,
    UN_SINH, UN_COSH, UN_ASINH, UN_ACOSH, UN_ATANH,
    UN_ROUND, UN_FLOOR, UN_CEIL, UN_SIGN, UN_ISINF, UN_ISNAN
} unary_kind;

/* Indexed by unary_kind. */
static const struct {
    const char *name;
    int int64_ok;
    int bool_out; /* a predicate: float32 in, bool out */
} unary_ops[] = {
    [UN_SQRT] = {"Sqrt", 0, 0},   [UN_EXP] = {"Exp", 0, 0},     [UN_LOG] = {"Log", 0, 0},
    [UN_NEG] = {"Neg", 1, 0},     [UN_ABS] = {"Abs", 1, 0},     [UN_RECIPROCAL] = {"Reciprocal", 0, 0},
    [UN_ERF] = {"Erf", 0, 0},     [UN_SIN] = {"Sin", 0, 0},     [UN_COS] = {"Cos", 0, 0},
    [UN_TAN] = {"Tan", 0, 0},     [UN_ASIN] = {"Asin", 0, 0},   [UN_ACOS] = {"Acos", 0, 0},
    [UN_ATAN] = {"Atan", 0, 0},   [UN_SINH] = {"Sinh", 0, 0},   [UN_COSH] = {"Cosh", 0, 0},
    [UN_ASINH] = {"Asinh", 0, 0}, [UN_ACOSH] = {"Acosh", 0, 0}, [UN_ATANH] = {"Atanh", 0, 0},
    [UN_ROUND] = {"Round", 0, 0}, [UN_FLOOR] = {"Floor", 0, 0}, [UN_CEIL] = {"Ceil", 0, 0},
    [UN_SIGN] = {"Sign", 1, 0},   [UN_ISINF] = {"IsInf", 0, 1}, [UN_ISNAN] = {"IsNaN", 0, 1}};

ot_status oti_ew_parse_unary(const ot_layer *l, void *params) {
    ot_ew_unary_params *p = params;
    memset(p, 0, sizeof *p);
    p->kind = -1;
    for (int i = 0; i < OT_COUNT(unary_ops); i++)
        if (!strcmp(l->op_type, unary_ops[i].name)) p->kind = i;
    if (p->kind < 0) return oti_node_fail(l, OT_ERR_UNSUPPORTED, "not an elementwise unary op");
    if (p->kind != UN_ISINF) return OT_OK;
    int64_t negative, positive;
    OT_TRY(oti_attr_get_int(l, "detect_negative", 1, &negative));
    OT_TRY(oti_attr_get_int(l, "detect_positive", 1, &positive));
    p->detect_negative = negative != 0;
    p->detect_positive = positive != 0;
    return OT_OK;
}

ot_status oti_ew_infer_unary(ot_node_ctx *c) {
    const ot_ew_unary_params *p = c->params;
    OT_NODE_CHECK(c, c->n_in >= 1 && c->in[0], "needs an input");
    ot_dtype t = c->in[0]->dtype;
    int int64_ok = unary_ops[p->kind].int64_ok;
    OT_NODE_CHECK(c, t == OT_FLOAT || (t == OT_INT64 && int64_ok), "input must be float32%s, not %s",
                  int64_ok ? " or int64" : "", ot_dtype_name(t));
    ot_tensor_set_shape(c->out[0], unary_ops[p->kind].bool_out ? OT_BOOL : t, c->in[0]->ndim, c->in[0]->dims);
    return OT_OK;
}

#define MAP(EXPR) for (int64_t i = 0; i < n; i++) y[i] = (EXPR)

static void unary_f32(unary_kind kind, float *y, const float *x, int64_t n) {
    switch (kind) {
    case UN_SQRT: MAP(sqrtf(x[i])); break;
    case UN_EXP: MAP(expf(x[i])); break;
    case UN_LOG: MAP(logf(x[i])); break;
    case UN_NEG: MAP(-x[i]); break;
    case UN_ABS: MAP(fabsf(x[i])); break;
    case UN_RECIPROCAL: MAP(1.0f / x[i]); break;
    case UN_ERF: MAP(ot_erf_fast(x[i])); break;
    case UN_SIN: MAP(sinf(x[i])); break;
    case UN_COS: MAP(cosf(x[i])); break;
    case UN_TAN: MAP(tanf(x[i])); break;
    case UN_ASIN: MAP(asinf(x[i])); break;
    case UN_ACOS: MAP(acosf(x[i])); break;
    case UN_ATAN: MAP(atanf(x[i])); break;
    case UN_SINH: MAP(sinhf(x[i])); break;
    case UN_COSH: MAP(coshf(x[i])); break;
    case UN_ASINH: MAP(asinhf(x[i])); break;
    case UN_ACOSH: MAP(acoshf(x[i])); break;
    case UN_ATANH: MAP(atanhf(x[i])); break;
    case UN_ROUND: MAP(nearbyintf(x[i])); break; /* the default rounding mode: half to even */
    case UN_FLOOR: MAP(floorf(x[i])); break;
    case UN_CEIL: MAP(ceilf(x[i])); break;
    case UN_SIGN: MAP(x[i] > 0.0f ? 1.0f : x[i] < 0.0f ? -1.0f : x[i]); break; /* NaN stays NaN */
    case UN_ISINF:
    case UN_ISNAN: break; /* bool outputs: unary_predicate */
    }
}

/* y = isinf(x) (of the asked signs) or isnan(x). */
static void unary_predicate(const ot_ew_unary_params *p, uint8_t *y, const float *x, int64_t n) {
    if (p->kind == UN_ISNAN) MAP(x[i] != x[i]);
    else MAP((x[i] == INFINITY && p->detect_positive) || (x[i] == -INFINITY && p->detect_negative));
}

/* Negation wraps for INT64_MIN instead of being undefined. */
static inline int64_t wrap_neg(int64_t v) { return (int64_t)(0 - (uint64_t)v); }

static void unary_i64(unary_kind kind, int64_t *y, const int64_t *x, int64_t n) {
    if (kind == UN_NEG) MAP(wrap_neg(x[i]));
    else if (kind == UN_SIGN) MAP((x[i] > 0) - (x[i] < 0));
    else MAP(x[i] < 0 ? wrap_neg(x[i]) : x[i]);
}

ot_status oti_ew_forward_unary(ot_node_ctx *c) {
    const ot_ew_unary_params *p = c->params;
    int64_t n = ot_tensor_numel(c->in[0]);
    if (unary_ops[p->kind].bool_out) unary_predicate(p, c->out[0]->data, c->in[0]->data, n);
    else if (c->in[0]->dtype == OT_FLOAT) unary_f32((unary_kind)p->kind, c->out[0]->data, c->in[0]->data, n);
    else unary_i64((unary_kind)p->kind, c->out[0]->data, c->in[0]->data, n);
    return OT_OK;
}

#undef MAP
#define GRAD(EXPR) for (int64_t i = 0; i < n; i++) dx[i] += g[i] * (EXPR)

ot_status oti_ew_backward_unary(ot_node_ctx *c) {
    const ot_ew_unary_params *p = c->params;
    if (!c->din[0] || !c->dout[0] || c->in[0]->dtype != OT_FLOAT) return OT_OK;
    const float *x = c->in[0]->data, *y = c->out[0]->data, *g = c->dout[0]->data;
    float *dx = c->din[0]->data;
    int64_t n = ot_tensor_numel(c->in[0]);
    switch ((unary_kind)p->kind) {
    case UN_SQRT: GRAD(1.0f / (2.0f * y[i])); break;
    case UN_EXP: GRAD(y[i]); break;
    case UN_LOG: GRAD(1.0f / x[i]); break;
    case UN_NEG: GRAD(-1.0f); break;
    case UN_ABS: GRAD(x[i] > 0.0f ? 1.0f : x[i] < 0.0f ? -1.0f : 0.0f); break;
    case UN_RECIPROCAL: GRAD(-(y[i] * y[i])); break;
    case UN_ERF: GRAD(1.1283791670955126f * ot_exp_nonpositive(-x[i] * x[i])); break; /* 2 / sqrt(pi) e^-x^2 */
    case UN_SIN: GRAD(cosf(x[i])); break;
    case UN_COS: GRAD(-sinf(x[i])); break;
    case UN_TAN: GRAD(1.0f + y[i] * y[i]); break;
    case UN_ASIN: GRAD(1.0f / sqrtf(1.0f - x[i] * x[i])); break;
    case UN_ACOS: GRAD(-1.0f / sqrtf(1.0f - x[i] * x[i])); break;
    case UN_ATAN: GRAD(1.0f / (1.0f + x[i] * x[i])); break;
    case UN_SINH: GRAD(coshf(x[i])); break;
    case UN_COSH: GRAD(sinhf(x[i])); break;
    case UN_ASINH: GRAD(1.0f / sqrtf(x[i] * x[i] + 1.0f)); break;
    case UN_ACOSH: GRAD(1.0f / sqrtf(x[i] * x[i] - 1.0f)); break;
    case UN_ATANH: GRAD(1.0f / (1.0f - x[i] * x[i])); break;
    case UN_ROUND:
    case UN_FLOOR:
    case UN_CEIL:
    case UN_SIGN:
    case UN_ISINF:
    case UN_ISNAN: break; /* zero gradient (the predicates' rows have no backward) */
    }
    return OT_OK;
}
