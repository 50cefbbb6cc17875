/* Elementwise arithmetic with numpy broadcasting: Add Sub Mul Div Pow Mod (two inputs) and the
 * variadic Max Min Sum Mean, forward for float32 and int64, backward for float32, plus the
 * family's op table (the unary ops live in elementwise_unary.c, comparisons, And/Or/Xor,
 * Not and Where in elementwise_logic.c).
 *
 * Forward and backward walk the output in broadcast rows (broadcast.h); inside a row every
 * operand's stride is 0 or 1, and each (stride, stride) case is a plain loop. Gradients of a
 * broadcast operand are summed over the broadcast dims: a stride-0 row adds the row's sum. */
#include <math.h>
#include <string.h>

#include "elementwise_internal.h"

/* BIN_MOD is Mod with fmod = 0 (the result takes the divisor's sign, Python's %), BIN_FMOD
 * with fmod = 1 (the dividend's sign, C's fmod and %). */
typedef enum binary_kind {
    BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV, BIN_POW, BIN_MAX, BIN_MIN, BIN_MOD, BIN_FMOD,
    BIN_SHIFT_LEFT, BIN_SHIFT_RIGHT /* BitShift: unsigned integers only */
} binary_kind;

typedef struct binary_params {
    binary_kind kind;
    int legacy_broadcast; /* opset < 7 (Pow < 7): broadcast only when asked, B to A */
    int broadcast;
    int64_t axis; /* INT64_MIN: align trailing dims */
} binary_params;

static const struct {
    const char *name;
    binary_kind kind;
} binary_names[] = {{"Add", BIN_ADD}, {"Sub", BIN_SUB}, {"Mul", BIN_MUL}, {"Div", BIN_DIV},
                    {"Pow", BIN_POW}, {"Max", BIN_MAX}, {"Min", BIN_MIN}, {"Sum", BIN_ADD},
                    {"Mean", BIN_ADD}, {"Mod", BIN_MOD}, {"BitShift", BIN_SHIFT_LEFT}};

static int binary_kind_of(const char *op, binary_kind *kind) {
    for (int i = 0; i < OT_COUNT(binary_names); i++)
        if (!strcmp(op, binary_names[i].name)) {
            *kind = binary_names[i].kind;
            return 1;
        }
    return 0;
}

static ot_status parse_binary(const ot_layer *l, void *params) {
    binary_params *p = params;
    memset(p, 0, sizeof *p);
    if (!binary_kind_of(l->op_type, &p->kind))
        return oti_node_fail(l, OT_ERR_UNSUPPORTED, "not an elementwise arithmetic op");
    p->legacy_broadcast = l->opset < 7;
    int64_t broadcast;
    OT_TRY(oti_attr_get_int(l, "broadcast", 0, &broadcast));
    OT_TRY(oti_attr_get_int(l, "axis", INT64_MIN, &p->axis));
    if (p->legacy_broadcast && broadcast != 0 && broadcast != 1)
        return oti_node_fail(l, OT_ERR_INVALID, "attribute broadcast must be 0 or 1, not %lld",
                            (long long)broadcast);
    p->broadcast = (int)broadcast;
    if (p->kind == BIN_SHIFT_LEFT) {
        const char *direction;
        OT_TRY(oti_attr_get_string(l, "direction", "", &direction));
        if (strcmp(direction, "LEFT") && strcmp(direction, "RIGHT"))
            return oti_node_fail(l, OT_ERR_INVALID, "attribute direction must be LEFT or RIGHT, not '%s'", direction);
        if (!strcmp(direction, "RIGHT")) p->kind = BIN_SHIFT_RIGHT;
        return OT_OK;
    }
    if (p->kind != BIN_MOD) return OT_OK;
    int64_t fmod_flag;
    OT_TRY(oti_attr_get_int(l, "fmod", 0, &fmod_flag));
    if (fmod_flag != 0 && fmod_flag != 1)
        return oti_node_fail(l, OT_ERR_INVALID, "attribute fmod must be 0 or 1, not %lld", (long long)fmod_flag);
    if (fmod_flag) p->kind = BIN_FMOD;
    return OT_OK;
}

ot_status oti_ew_legacy_view(const ot_layer *l, const ot_tensor *a, const ot_tensor *b,
                            int broadcast, int64_t axis, ot_tensor *view) {
    char sa[128], sb[128];
    *view = *b;
    if (!broadcast) {
        if (ot_tensor_same_shape(a, b)) return OT_OK;
        return oti_node_fail(l, OT_ERR_INVALID, "shapes %s and %s differ and attribute broadcast is 0",
                            ot_shape_string(a->ndim, a->dims, sa, sizeof sa),
                            ot_shape_string(b->ndim, b->dims, sb, sizeof sb));
    }
    /* Without an axis, B aligns with A's trailing dims: numpy's rule (which also accepts the
     * operands the other way round, as some old exporters wrote them). */
    if (axis == INT64_MIN) return OT_OK;
    int start = oti_normalize_axis(axis, a->ndim);
    if (start < 0)
        return oti_node_fail(l, OT_ERR_INVALID, "axis %lld is out of range for A of rank %d",
                            (long long)axis, a->ndim);
    if (start + b->ndim > a->ndim)
        return oti_node_fail(l, OT_ERR_INVALID, "B of shape %s does not fit in A of shape %s at axis %d",
                            ot_shape_string(b->ndim, b->dims, sb, sizeof sb),
                            ot_shape_string(a->ndim, a->dims, sa, sizeof sa), start);
    /* B's dims sit at A[start .. start + rank(B)); trailing 1s make numpy align them there. */
    for (int d = b->ndim; d < a->ndim - start; d++) view->dims[d] = 1;
    view->ndim = a->ndim - start;
    for (int d = 0; d < b->ndim; d++)
        if (b->dims[d] != 1 && b->dims[d] != a->dims[start + d])
            return oti_node_fail(l, OT_ERR_INVALID, "B of shape %s does not broadcast to A of shape %s at axis %d",
                                ot_shape_string(b->ndim, b->dims, sb, sizeof sb),
                                ot_shape_string(a->ndim, a->dims, sa, sizeof sa), start);
    return OT_OK;
}

/* The two operands as broadcast sees them (B reshaped for opset < 7 broadcasting). */
static ot_status binary_operands(const ot_node_ctx *c, ot_tensor *b_view, const ot_tensor **operands) {
    const binary_params *p = c->params;
    operands[0] = c->in[0];
    operands[1] = c->in[1];
    if (!p->legacy_broadcast) return OT_OK;
    OT_TRY(oti_ew_legacy_view(c->layer, c->in[0], c->in[1], p->broadcast, p->axis, b_view));
    operands[1] = b_view;
    return OT_OK;
}

static ot_status infer_binary(ot_node_ctx *c) {
    const binary_params *p = c->params;
    OT_NODE_CHECK(c, c->n_in == 2 && c->in[0] && c->in[1], "needs two inputs");
    ot_dtype ta = c->in[0]->dtype, tb = c->in[1]->dtype;
    OT_NODE_CHECK(c, ta == OT_FLOAT || ta == OT_INT64, "inputs must be float32 or int64, not %s",
                  ot_dtype_name(ta));
    OT_NODE_CHECK(c, tb == OT_FLOAT || tb == OT_INT64, "inputs must be float32 or int64, not %s",
                  ot_dtype_name(tb));
    /* Only Pow mixes dtypes (the exponent's may differ); its output has the base's. */
    OT_NODE_CHECK(c, p->kind == BIN_POW || ta == tb, "inputs must have the same dtype, not %s and %s",
                  ot_dtype_name(ta), ot_dtype_name(tb));
    if (p->kind == BIN_SHIFT_LEFT || p->kind == BIN_SHIFT_RIGHT) {
        ot_dtype t = ot_tensor_declared(c->in[0]);
        OT_NODE_CHECK(c, t == OT_UINT8 || t == OT_UINT16 || t == OT_UINT32 || t == OT_UINT64,
                      "inputs must be unsigned integers, not %s", ot_dtype_name(t));
    }
    ot_tensor b_view;
    const ot_tensor *operands[2];
    OT_TRY(binary_operands(c, &b_view, operands));
    int ndim;
    int64_t dims[OT_MAX_DIMS];
    OT_TRY(oti_broadcast_shape(c->layer, 2, operands, &ndim, dims));
    ot_tensor_set_shape(c->out[0], ta, ndim, dims);
    return OT_OK;
}

/* Forward rows ------------------------------------------------------------------------------ */

/* NaN-propagating max/min, like numpy's maximum/minimum and PyTorch's. */
#define MAX_NAN(x, y) (((x) >= (y) || (x) != (x)) ? (x) : (y))
#define MIN_NAN(x, y) (((x) <= (y) || (x) != (x)) ? (x) : (y))

/* Python's remainder: a C remainder r moves into the divisor's sign. */
static inline float floor_mod_f32(float a, float b) {
    float r = fmodf(a, b);
    return r != 0.0f && (r < 0.0f) != (b < 0.0f) ? r + b : r;
}

// y, a, b: one row of n elements; a and b have row strides sa, sb in {0, 1}.
static void binary_row_f32(binary_kind kind, float *y, const float *a, int64_t sa, const float *b,
                           int64_t sb, int64_t n) {
    switch (kind) {
    case BIN_ADD: OT_EW_ROW_LOOP2(float, a, sa, b, sb, n, y[i] = xa + xb); break;
    case BIN_SUB: OT_EW_ROW_LOOP2(float, a, sa, b, sb, n, y[i] = xa - xb); break;
    case BIN_MUL: OT_EW_ROW_LOOP2(float, a, sa, b, sb, n, y[i] = xa * xb); break;
    case BIN_DIV: OT_EW_ROW_LOOP2(float, a, sa, b, sb, n, y[i] = xa / xb); break;
    case BIN_MAX: OT_EW_ROW_LOOP2(float, a, sa, b, sb, n, y[i] = MAX_NAN(xa, xb)); break;
    case BIN_MIN: OT_EW_ROW_LOOP2(float, a, sa, b, sb, n, y[i] = MIN_NAN(xa, xb)); break;
    case BIN_FMOD: OT_EW_ROW_LOOP2(float, a, sa, b, sb, n, y[i] = fmodf(xa, xb)); break;
    case BIN_MOD: OT_EW_ROW_LOOP2(float, a, sa, b, sb, n, y[i] = floor_mod_f32(xa, xb)); break;
    case BIN_SHIFT_LEFT: case BIN_SHIFT_RIGHT: break; /* integers only (infer) */
    case BIN_POW:
        if (!sb && b[0] == 2.0f) /* x**2 is common (variance, L2) and x*x is exact */
            for (int64_t i = 0; i < n; i++) y[i] = a[i * sa] * a[i * sa];
        else
            OT_EW_ROW_LOOP2(float, a, sa, b, sb, n, y[i] = powf(xa, xb));
        break;
    }
}

/* Integer arithmetic wraps (two's complement) instead of being undefined on overflow. */
static inline int64_t wrap_add(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
static inline int64_t wrap_sub(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }
static inline int64_t wrap_mul(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }

/* a**e for integers, by squaring; negative exponents truncate 1/a**|e| toward zero. */
static int64_t int_pow(int64_t a, int64_t e) {
    if (e < 0) return a == 1 ? 1 : a == -1 ? ((e & 1) ? -1 : 1) : 0;
    uint64_t result = 1, base = (uint64_t)a;
    for (uint64_t k = (uint64_t)e; k; k >>= 1) {
        if (k & 1) result *= base;
        base *= base;
    }
    return (int64_t)result;
}

/* A double as int64, truncating like a C cast / numpy astype, but defined for every value. */
static int64_t saturating_int64(double v) {
    if (v != v) return INT64_MIN; /* numpy's result for NaN on x86 */
    if (v >= 9223372036854775807.0) return INT64_MAX;
    if (v <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)v;
}

/* Integer remainder (xb != 0) with the dividend's sign (fmod) or the divisor's; x % -1 is 0
 * (INT64_MIN % -1 would trap). */
static inline int64_t int_mod(int64_t xa, int64_t xb, int fmod_sign) {
    int64_t r = xb == -1 ? 0 : xa % xb;
    return !fmod_sign && r != 0 && (r < 0) != (xb < 0) ? r + xb : r;
}

/* Returns 0, or 1 on an integer division by zero. */
static int binary_row_i64(binary_kind kind, int64_t *y, const int64_t *a, int64_t sa, const int64_t *b,
                          int64_t sb, int64_t n) {
    switch (kind) {
    case BIN_ADD: OT_EW_ROW_LOOP2(int64_t, a, sa, b, sb, n, y[i] = wrap_add(xa, xb)); break;
    case BIN_SUB: OT_EW_ROW_LOOP2(int64_t, a, sa, b, sb, n, y[i] = wrap_sub(xa, xb)); break;
    case BIN_MUL: OT_EW_ROW_LOOP2(int64_t, a, sa, b, sb, n, y[i] = wrap_mul(xa, xb)); break;
    case BIN_MAX: OT_EW_ROW_LOOP2(int64_t, a, sa, b, sb, n, y[i] = xa > xb ? xa : xb); break;
    case BIN_MIN: OT_EW_ROW_LOOP2(int64_t, a, sa, b, sb, n, y[i] = xa < xb ? xa : xb); break;
    case BIN_POW: OT_EW_ROW_LOOP2(int64_t, a, sa, b, sb, n, y[i] = int_pow(xa, xb)); break;
    /* Unsigned values (uint64: int64's bits); the plan wraps left shifts to the width. */
    case BIN_SHIFT_LEFT:
        OT_EW_ROW_LOOP2(int64_t, a, sa, b, sb, n, y[i] = (uint64_t)xb >= 64 ? 0 : (int64_t)((uint64_t)xa << xb));
        break;
    case BIN_SHIFT_RIGHT:
        OT_EW_ROW_LOOP2(int64_t, a, sa, b, sb, n, y[i] = (uint64_t)xb >= 64 ? 0 : (int64_t)((uint64_t)xa >> xb));
        break;
    case BIN_DIV:
        /* C division truncates toward zero, as ONNX asks; INT64_MIN / -1 wraps. */
        for (int64_t i = 0; i < n; i++) {
            int64_t xa = a[i * sa], xb = b[i * sb];
            if (xb == 0) return 1;
            y[i] = xb == -1 ? wrap_sub(0, xa) : xa / xb;
        }
        break;
    case BIN_MOD:
    case BIN_FMOD:
        for (int64_t i = 0; i < n; i++) {
            int64_t xa = a[i * sa], xb = b[i * sb];
            if (xb == 0) return 1;
            y[i] = int_mod(xa, xb, kind == BIN_FMOD);
        }
        break;
    }
    return 0;
}

/* Pow with mixed dtypes, computed in double like numpy's type promotion, then cast to the
 * base's dtype. */
static void pow_row_mixed(const ot_tensor *out, int64_t o, const ot_tensor *a, int64_t oa, int64_t sa,
                          const ot_tensor *b, int64_t ob, int64_t sb, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        int64_t ia = oa + i * sa, ib = ob + i * sb;
        double base = a->dtype == OT_FLOAT ? ((const float *)a->data)[ia] : (double)((const int64_t *)a->data)[ia];
        double e = b->dtype == OT_FLOAT ? ((const float *)b->data)[ib] : (double)((const int64_t *)b->data)[ib];
        double v = pow(base, e);
        if (out->dtype == OT_FLOAT) ((float *)out->data)[o + i] = (float)v;
        else ((int64_t *)out->data)[o + i] = saturating_int64(v);
    }
}

/* y = a (op) b over broadcast operands; y may be a itself (variadic accumulation). */
static ot_status binary_apply(const ot_node_ctx *c, binary_kind kind, const ot_tensor *out,
                              const ot_tensor *const *operands) {
    const ot_tensor *a = operands[0], *b = operands[1];
    ot_bcast bc;
    oti_bcast_init(&bc, 2, operands, out);
    int64_t sa = ot_ew_row_stride(&bc, 0), sb = ot_ew_row_stride(&bc, 1), off[2];
    for (int64_t r = 0; r < bc.rows; r++) {
        int64_t o = oti_bcast_row(&bc, r, off);
        if (a->dtype != b->dtype) {
            pow_row_mixed(out, o, a, off[0], sa, b, off[1], sb, bc.row_len);
        } else if (a->dtype == OT_FLOAT) {
            binary_row_f32(kind, (float *)out->data + o, (const float *)a->data + off[0], sa,
                           (const float *)b->data + off[1], sb, bc.row_len);
        } else if (binary_row_i64(kind, (int64_t *)out->data + o, (const int64_t *)a->data + off[0], sa,
                                  (const int64_t *)b->data + off[1], sb, bc.row_len)) {
            return oti_node_fail(c->layer, OT_ERR_INVALID, "integer division by zero");
        }
    }
    return OT_OK;
}

static ot_status forward_binary(ot_node_ctx *c) {
    const binary_params *p = c->params;
    ot_tensor b_view;
    const ot_tensor *operands[2];
    OT_TRY(binary_operands(c, &b_view, operands));
    return binary_apply(c, p->kind, c->out[0], operands);
}

/* Backward rows ----------------------------------------------------------------------------- */

/* d[i * sd] += EXPR over a row (sd in {0, 1}). A stride-0 gradient gets the row's sum: the
 * terms go through a small buffer in chunks so both loops vectorise, and the sum is in double
 * so long broadcast rows (a bias over H*W) keep their precision. */
#define GRAD_CHUNK 256
#define ACCUMULATE_ROW(d, sd, a, sa, b, sb, n, EXPR)                                           \
    do {                                                                                       \
        if (sd) {                                                                              \
            OT_EW_ROW_LOOP2(float, a, sa, b, sb, n, (d)[i] += (EXPR));                         \
        } else {                                                                               \
            double acc_ = 0.0;                                                                 \
            float terms_[GRAD_CHUNK];                                                          \
            for (int64_t c0_ = 0; c0_ < (n); c0_ += GRAD_CHUNK) {                              \
                int64_t c1_ = (n) - c0_ < GRAD_CHUNK ? (n) : c0_ + GRAD_CHUNK;                 \
                OT_EW_ROW_RANGE2(float, a, sa, b, sb, c0_, c1_, terms_[i - c0_] = (EXPR));     \
                acc_ += ot_sum_floats(terms_, c1_ - c0_, 0);                                \
            }                                                                                  \
            (d)[0] += (float)acc_;                                                             \
        }                                                                                      \
    } while (0)

/* One row of d loss / d a (which == 0) or d loss / d b (which == 1) for float operands.
 * g: dL/dy row, y: output row. Derivatives follow PyTorch's derivatives.yaml. */
static void binary_grad_row_f32(binary_kind kind, int which, float *d, const float *g, const float *y,
                                const float *a, int64_t sa, const float *b, int64_t sb, int64_t n) {
    int64_t sd = which ? sb : sa;
    switch (kind) {
    case BIN_ADD: ACCUMULATE_ROW(d, sd, a, sa, b, sb, n, g[i]); break;
    case BIN_SUB: ACCUMULATE_ROW(d, sd, a, sa, b, sb, n, which ? -g[i] : g[i]); break;
    case BIN_MUL: ACCUMULATE_ROW(d, sd, a, sa, b, sb, n, g[i] * (which ? xa : xb)); break;
    case BIN_DIV:
        if (which) ACCUMULATE_ROW(d, sd, a, sa, b, sb, n, -g[i] * ((xa / xb) / xb));
        else ACCUMULATE_ROW(d, sd, a, sa, b, sb, n, g[i] / xb);
        break;
    case BIN_POW:
        /* d/da = b * a**(b-1) (0 where b == 0); d/db = y * ln(a) where a > 0, else 0. */
        if (which) ACCUMULATE_ROW(d, sd, a, sa, b, sb, n, xa > 0.0f ? g[i] * y[i] * logf(xa) : 0.0f);
        else ACCUMULATE_ROW(d, sd, a, sa, b, sb, n, xb == 0.0f ? 0.0f : g[i] * xb * powf(xa, xb - 1.0f));
        break;
    case BIN_MOD:
    case BIN_FMOD:
        /* y = a - q * b with q = floor(a / b) (trunc for fmod), constant between jumps:
         * d/da = 1, d/db = -q (PyTorch's remainder and fmod). */
        if (!which) ACCUMULATE_ROW(d, sd, a, sa, b, sb, n, g[i]);
        else if (kind == BIN_MOD) ACCUMULATE_ROW(d, sd, a, sa, b, sb, n, -g[i] * floorf(xa / xb));
        else ACCUMULATE_ROW(d, sd, a, sa, b, sb, n, -g[i] * truncf(xa / xb));
        break;
    case BIN_SHIFT_LEFT: case BIN_SHIFT_RIGHT: break; /* integers: no gradient */
    case BIN_MAX:
    case BIN_MIN: break; /* variadic: see backward_variadic */
    }
}

/* Pow with a float base and an int64 exponent: gradient to the base only. */
static void pow_int_exponent_grad_row(float *d, const float *g, const float *a, int64_t sa,
                                      const int64_t *e, int64_t se, int64_t n) {
    // d and a share the base's shape, so its row stride sa.
    for (int64_t i = 0; i < n; i++) {
        float xe = (float)e[i * se];
        d[i * sa] += xe == 0.0f ? 0.0f : g[i] * xe * powf(a[i * sa], xe - 1.0f);
    }
}

static ot_status backward_binary(ot_node_ctx *c) {
    const binary_params *p = c->params;
    if (!c->dout[0] || c->out[0]->dtype != OT_FLOAT) return OT_OK;
    ot_tensor b_view;
    const ot_tensor *operands[2];
    OT_TRY(binary_operands(c, &b_view, operands));
    ot_bcast bc;
    oti_bcast_init(&bc, 2, operands, c->out[0]);
    int64_t sa = ot_ew_row_stride(&bc, 0), sb = ot_ew_row_stride(&bc, 1), off[2];
    const float *g = c->dout[0]->data, *y = c->out[0]->data, *a = c->in[0]->data;
    int int_exponent = c->in[1]->dtype == OT_INT64;
    for (int which = 0; which < 2; which++) {
        if (!c->din[which] || c->in[which]->dtype != OT_FLOAT) continue;
        float *d = c->din[which]->data;
        for (int64_t r = 0; r < bc.rows; r++) {
            int64_t o = oti_bcast_row(&bc, r, off);
            if (int_exponent)
                pow_int_exponent_grad_row(d + off[0], g + o, a + off[0], sa,
                                          (const int64_t *)c->in[1]->data + off[1], sb, bc.row_len);
            else
                binary_grad_row_f32(p->kind, which, d + off[which], g + o, y + o, a + off[0], sa,
                                    (const float *)c->in[1]->data + off[1], sb, bc.row_len);
        }
    }
    return OT_OK;
}

/* Variadic Max Min Sum Mean ------------------------------------------------------------------ */

typedef struct variadic_params {
    binary_kind kind; /* ADD for Sum and Mean */
    int mean;
} variadic_params;

static ot_status parse_variadic(const ot_layer *l, void *params) {
    variadic_params *p = params;
    memset(p, 0, sizeof *p);
    if (!binary_kind_of(l->op_type, &p->kind))
        return oti_node_fail(l, OT_ERR_UNSUPPORTED, "not a variadic elementwise op");
    p->mean = !strcmp(l->op_type, "Mean");
    return OT_OK;
}

static ot_status infer_variadic(ot_node_ctx *c) {
    const variadic_params *p = c->params;
    OT_NODE_CHECK(c, c->n_in >= 1, "needs at least one input");
    for (int k = 0; k < c->n_in; k++) {
        OT_NODE_CHECK(c, c->in[k], "input %d is missing (inputs are not optional)", k);
        ot_dtype t = c->in[k]->dtype;
        OT_NODE_CHECK(c, t == OT_FLOAT || (t == OT_INT64 && !p->mean),
                      "input %d must be float32%s, not %s", k, p->mean ? "" : " or int64", ot_dtype_name(t));
        OT_NODE_CHECK(c, t == c->in[0]->dtype, "inputs must have the same dtype, not %s and %s",
                      ot_dtype_name(c->in[0]->dtype), ot_dtype_name(t));
    }
    int ndim;
    int64_t dims[OT_MAX_DIMS];
    OT_TRY(oti_broadcast_shape(c->layer, c->n_in, (const ot_tensor *const *)c->in, &ndim, dims));
    ot_tensor_set_shape(c->out[0], c->in[0]->dtype, ndim, dims);
    /* Max/Min backward counts, per output element, the inputs equal to the result. */
    if (p->kind == BIN_MAX || p->kind == BIN_MIN)
        c->workspace_bytes = sizeof(float) * (size_t)ot_tensor_numel(c->out[0]);
    return OT_OK;
}

/* y = in[0] broadcast to y's shape. */
static void broadcast_copy(ot_tensor *y, const ot_tensor *x) {
    const ot_tensor *operands[1] = {x};
    ot_bcast bc;
    oti_bcast_init(&bc, 1, operands, y);
    int64_t s = ot_ew_row_stride(&bc, 0), off[1];
    size_t elem = ot_dtype_size(x->dtype);
    unsigned char *dst = y->data;
    const unsigned char *src = x->data;
    for (int64_t r = 0; r < bc.rows; r++) {
        int64_t o = oti_bcast_row(&bc, r, off);
        if (s) {
            memcpy(dst + o * elem, src + off[0] * elem, (size_t)bc.row_len * elem);
            continue;
        }
        for (int64_t j = 0; j < bc.row_len; j++) memcpy(dst + (o + j) * elem, src + off[0] * elem, elem);
    }
}

static ot_status forward_variadic(ot_node_ctx *c) {
    const variadic_params *p = c->params;
    ot_tensor *y = c->out[0];
    broadcast_copy(y, c->in[0]);
    /* Accumulate pairwise in place: y = y (op) in[k]. */
    for (int k = 1; k < c->n_in; k++) {
        const ot_tensor *operands[2] = {y, c->in[k]};
        OT_TRY(binary_apply(c, p->kind, y, operands));
    }
    if (p->mean) {
        float *v = y->data, count = (float)c->n_in;
        int64_t n = ot_tensor_numel(y);
        for (int64_t i = 0; i < n; i++) v[i] = v[i] / count;
    }
    return OT_OK;
}

static void input_rows_init(ot_bcast *bc, const ot_tensor *x, const ot_tensor *y) {
    const ot_tensor *operands[1] = {x};
    oti_bcast_init(bc, 1, operands, y);
}

static ot_status backward_variadic(ot_node_ctx *c) {
    const variadic_params *p = c->params;
    if (!c->dout[0] || c->out[0]->dtype != OT_FLOAT) return OT_OK;
    const ot_tensor *y = c->out[0];
    const float *g = c->dout[0]->data, *yv = y->data;
    float *ties = c->workspace; // (numel(y)) inputs equal to y, Max/Min only
    int selects = p->kind == BIN_MAX || p->kind == BIN_MIN;
    ot_bcast bc;
    int64_t off[1];
    if (selects) {
        memset(ties, 0, sizeof(float) * (size_t)ot_tensor_numel(y));
        for (int k = 0; k < c->n_in; k++) {
            input_rows_init(&bc, c->in[k], y);
            int64_t s = ot_ew_row_stride(&bc, 0);
            const float *x = c->in[k]->data;
            for (int64_t r = 0; r < bc.rows; r++) {
                int64_t o = oti_bcast_row(&bc, r, off);
                for (int64_t j = 0; j < bc.row_len; j++) ties[o + j] += x[off[0] + j * s] == yv[o + j];
            }
        }
    }
    float scale = p->mean ? 1.0f / (float)c->n_in : 1.0f;
    for (int k = 0; k < c->n_in; k++) {
        if (!c->din[k]) continue;
        input_rows_init(&bc, c->in[k], y);
        int64_t s = ot_ew_row_stride(&bc, 0);
        const float *x = c->in[k]->data;
        float *d = c->din[k]->data;
        for (int64_t r = 0; r < bc.rows; r++) {
            int64_t o = oti_bcast_row(&bc, r, off);
            /* Ties split the gradient equally, as PyTorch's maximum/minimum do for two. */
            if (selects)
                for (int64_t j = 0; j < bc.row_len; j++)
                    d[off[0] + j * s] += x[off[0] + j * s] == yv[o + j] ? g[o + j] / ties[o + j] : 0.0f;
            else if (s)
                for (int64_t j = 0; j < bc.row_len; j++) d[off[0] + j] += g[o + j] * scale;
            else
                d[off[0]] += (float)(ot_sum_floats(g + o, bc.row_len, 0) * scale);
        }
    }
    return OT_OK;
}

/* The table ----------------------------------------------------------------------------------- */

#define BINARY(op_name, since)                                                                 \
    {.name = op_name, .since_version = since, .params_size = sizeof(binary_params),              \
     .parse = parse_binary, .infer = infer_binary, .forward = forward_binary,                    \
     .backward = backward_binary}
/* An initializer added to a layer's output is its bias (a Dense layer exported as MatMul + Add). */
#define BIAS_ADD(since)                                                                        \
    {.name = "Add", .since_version = since, .params_size = sizeof(binary_params),                \
     .parse = parse_binary, .infer = infer_binary, .forward = forward_binary,                    \
     .backward = backward_binary, .inputs = {OT_ROLE_BIAS, OT_ROLE_BIAS}}
#define VARIADIC(op_name, since)                                                               \
    {.name = op_name, .since_version = since, .params_size = sizeof(variadic_params),            \
     .parse = parse_variadic, .infer = infer_variadic, .forward = forward_variadic,              \
     .backward = backward_variadic}
#define UNARY(op_name, since)                                                                  \
    {.name = op_name, .since_version = since, .params_size = sizeof(ot_ew_unary_params),         \
     .parse = oti_ew_parse_unary, .infer = oti_ew_infer_unary, .forward = oti_ew_forward_unary,     \
     .backward = oti_ew_backward_unary}
/* Bool outputs: no gradient. */
#define PREDICATE(op_name, since)                                                              \
    {.name = op_name, .since_version = since, .params_size = sizeof(ot_ew_unary_params),         \
     .parse = oti_ew_parse_unary, .infer = oti_ew_infer_unary, .forward = oti_ew_forward_unary}
#define COMPARE(op_name, since)                                                                \
    {.name = op_name, .since_version = since, .params_size = sizeof(ot_ew_compare_params),       \
     .parse = oti_ew_parse_compare, .infer = oti_ew_infer_compare, .forward = oti_ew_forward_compare}

/* Rows before opset 7 read the old "broadcast"/"axis" attributes (parse checks l->opset), so
 * one row serves both; the 7 rows are listed so `info` shows where numpy rules start. */
const ot_op oti_ops_elementwise[] = {
    BIAS_ADD(1), BIAS_ADD(7),
    BINARY("Sub", 1), BINARY("Sub", 7),
    BINARY("Mul", 1), BINARY("Mul", 7),
    BINARY("Div", 1), BINARY("Div", 7),
    BINARY("Pow", 1), BINARY("Pow", 7),
    BINARY("Mod", 10),
    {.name = "BitShift", .since_version = 11, .params_size = sizeof(binary_params),
     .parse = parse_binary, .infer = infer_binary, .forward = forward_binary},
    VARIADIC("Max", 6), VARIADIC("Max", 8),
    VARIADIC("Min", 6), VARIADIC("Min", 8),
    VARIADIC("Sum", 6), VARIADIC("Sum", 8),
    VARIADIC("Mean", 6), VARIADIC("Mean", 8),
    UNARY("Sqrt", 6), UNARY("Exp", 6), UNARY("Log", 6), UNARY("Neg", 6), UNARY("Abs", 6),
    UNARY("Reciprocal", 6), UNARY("Erf", 9),
    UNARY("Sin", 7), UNARY("Cos", 7), UNARY("Tan", 7), UNARY("Asin", 7), UNARY("Acos", 7),
    UNARY("Atan", 7), UNARY("Sinh", 9), UNARY("Cosh", 9), UNARY("Asinh", 9), UNARY("Acosh", 9),
    UNARY("Atanh", 9),
    /* Piecewise constant: a zero gradient, as PyTorch. */
    UNARY("Round", 11), UNARY("Floor", 6), UNARY("Ceil", 6), UNARY("Sign", 9),
    PREDICATE("IsInf", 10), PREDICATE("IsNaN", 9),
    COMPARE("Equal", 1), COMPARE("Equal", 7),
    COMPARE("Less", 1), COMPARE("Less", 7),
    COMPARE("Greater", 1), COMPARE("Greater", 7),
    COMPARE("GreaterOrEqual", 12), COMPARE("LessOrEqual", 12),
    COMPARE("And", 1), COMPARE("And", 7),
    COMPARE("Or", 1), COMPARE("Or", 7),
    COMPARE("Xor", 1), COMPARE("Xor", 7),
    {.name = "Not", .since_version = 1, .infer = oti_ew_infer_not, .forward = oti_ew_forward_not},
    /* The condition is bool: never a parameter, no gradient. */
    {.name = "Where", .since_version = 9, .infer = oti_ew_infer_where, .forward = oti_ew_forward_where,
     .backward = oti_ew_backward_where, .inputs = {[0] = OT_ROLE_CONSTANT}},
};
const ot_op_family oti_family_elementwise = {oti_ops_elementwise, OT_COUNT(oti_ops_elementwise)};
