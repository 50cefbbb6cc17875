/* Reductions over a set of axes: ReduceSum ReduceMean ReduceMax ReduceMin ReduceL1 ReduceL2
 * ReduceSumSquare ReduceProd ReduceLogSum ReduceLogSumExp, with keepdims, negative axes and
 * noop_with_empty_axes, and the family's op table (ArgMax, ArgMin, CumSum and TopK, along one axis,
 * live in reduce_axis.c). Axes are an
 * attribute before opset 13 (ReduceSum) / 18 (the others), an optional int64 input after.
 *
 * The output with keepdims shape broadcasts to the input, so the input is walked in
 * broadcast rows (broadcast.h) with the output's row stride 0 (the row's dim is reduced: the
 * row reduces to one value) or 1 (kept: the row adds elementwise into an output row). Float
 * sums accumulate in double in the workspace. Backward is the same walk with the output
 * gradient broadcast back; ReduceMax/Min give the gradient to the extreme elements, split
 * equally between ties (PyTorch's amax/amin); the other gradients follow PyTorch too:
 * ReduceL1 sign(x) (0 at 0), ReduceLogSum 1 / sum, ReduceLogSumExp exp(x - y), ReduceProd
 * the product of the other elements (exact with zeros: one zero gets the others' product,
 * the rest 0). ReduceLogSumExp shifts by the maximum, so large inputs do not overflow. */
#include <math.h>
#include <string.h>

#include "core/util.h"
#include "broadcast.h"
#include "elementwise_internal.h" /* row sums */
#include "reduce_internal.h"

typedef enum reduce_kind {
    RED_SUM, RED_MEAN, RED_MAX, RED_MIN, RED_L2, RED_SUM_SQUARE, RED_L1, RED_PROD, RED_LOG_SUM,
    RED_LOG_SUM_EXP
} reduce_kind;

typedef struct reduce_params {
    reduce_kind kind;
    int keepdims;
    int noop_with_empty_axes;
    int axes_from_input; /* opset >= 13 (ReduceSum), >= 18 (others): optional input 1 */
    int n_axes;          /* from the attribute; 0: none given */
    int64_t axes[OT_MAX_DIMS];
} reduce_params;

static const struct {
    const char *name;
    reduce_kind kind;
    int axes_input_since;
    int int64_ok;
} reduce_ops[] = {{"ReduceSum", RED_SUM, 13, 1},   {"ReduceMean", RED_MEAN, 18, 0},
                  {"ReduceMax", RED_MAX, 18, 1},   {"ReduceMin", RED_MIN, 18, 1},
                  {"ReduceL2", RED_L2, 18, 0},     {"ReduceSumSquare", RED_SUM_SQUARE, 18, 1},
                  {"ReduceL1", RED_L1, 18, 1},     {"ReduceProd", RED_PROD, 18, 1},
                  {"ReduceLogSum", RED_LOG_SUM, 18, 0}, {"ReduceLogSumExp", RED_LOG_SUM_EXP, 18, 0}};

static int reduce_index(const char *op) {
    for (int i = 0; i < OT_COUNT(reduce_ops); i++)
        if (!strcmp(op, reduce_ops[i].name)) return i;
    return -1;
}

static ot_status parse_reduce(const ot_layer *l, void *params) {
    reduce_params *p = params;
    memset(p, 0, sizeof *p);
    int op = reduce_index(l->op_type);
    if (op < 0) return oti_node_fail(l, OT_ERR_UNSUPPORTED, "not a reduction");
    p->kind = reduce_ops[op].kind;
    p->axes_from_input = l->opset >= reduce_ops[op].axes_input_since;
    int64_t keepdims, noop;
    OT_TRY(oti_attr_get_int(l, "keepdims", 1, &keepdims));
    OT_TRY(oti_attr_get_int(l, "noop_with_empty_axes", 0, &noop));
    if (keepdims != 0 && keepdims != 1)
        return oti_node_fail(l, OT_ERR_INVALID, "keepdims must be 0 or 1, not %lld", (long long)keepdims);
    if (noop != 0 && noop != 1)
        return oti_node_fail(l, OT_ERR_INVALID, "noop_with_empty_axes must be 0 or 1, not %lld",
                            (long long)noop);
    p->keepdims = (int)keepdims;
    p->noop_with_empty_axes = (int)noop;
    int count;
    OT_TRY(oti_attr_get_ints(l, "axes", p->axes, OT_MAX_DIMS, &count));
    if (count >= 0 && p->axes_from_input)
        return oti_node_fail(l, OT_ERR_INVALID, "axes is an input from opset %d, not an attribute",
                            reduce_ops[op].axes_input_since);
    p->n_axes = count > 0 ? count : 0;
    return OT_OK;
}

/* The reduced dims of the input as a mask; *noop when the node copies its input (empty axes
 * with noop_with_empty_axes). At plan time (`planning`), an axes input must be known. */
static ot_status reduced_dims(const ot_node_ctx *c, int planning, unsigned char *mask, int *noop) {
    const reduce_params *p = c->params;
    int rank = c->in[0]->ndim;
    const int64_t *axes = p->axes;
    int64_t n_axes = p->n_axes;
    const ot_tensor *axes_input = p->axes_from_input && c->n_in > 1 ? c->in[1] : NULL;
    if (axes_input) {
        OT_NODE_CHECK(c, axes_input->dtype == OT_INT64 && axes_input->ndim <= 1,
                      "axes must be a 1-D int64 tensor, not %s of rank %d",
                      ot_dtype_name(axes_input->dtype), axes_input->ndim);
        n_axes = ot_tensor_numel(axes_input);
        if (n_axes > 0 && planning && !c->in_known[1])
            return oti_node_fail(c->layer, OT_ERR_UNSUPPORTED,
                                "input 'axes' must be known when the plan is built (an initializer, a "
                                "Constant, or computed from shapes); data-dependent axes are not supported");
        axes = axes_input->data;
    }
    *noop = n_axes == 0 && p->noop_with_empty_axes;
    memset(mask, n_axes == 0 && !*noop, OT_MAX_DIMS);
    for (int64_t k = 0; k < n_axes; k++) {
        int axis = oti_normalize_axis(axes[k], rank);
        OT_NODE_CHECK(c, axis >= 0, "axis %lld is out of range for an input of rank %d",
                      (long long)axes[k], rank);
        OT_NODE_CHECK(c, !mask[axis], "axis %lld is repeated", (long long)axes[k]);
        mask[axis] = 1;
    }
    return OT_OK;
}

/* Output dims with keepdims (reduced dims become 1), the input's rank. */
static void kept_dims(const ot_tensor *x, const unsigned char *mask, int64_t *dims) {
    for (int d = 0; d < x->ndim; d++) dims[d] = mask[d] ? 1 : x->dims[d];
}

static ot_status infer_reduce(ot_node_ctx *c) {
    const reduce_params *p = c->params;
    OT_NODE_CHECK(c, c->n_in >= 1 && c->in[0], "needs an input");
    ot_dtype t = c->in[0]->dtype;
    int int64_ok = reduce_ops[reduce_index(c->layer->op_type)].int64_ok;
    OT_NODE_CHECK(c, t == OT_FLOAT || (t == OT_INT64 && int64_ok), "input must be float32%s, not %s",
                  int64_ok ? " or int64" : "", ot_dtype_name(t));
    unsigned char mask[OT_MAX_DIMS];
    int noop;
    OT_TRY(reduced_dims(c, 1, mask, &noop));
    const ot_tensor *x = c->in[0];
    if (noop) {
        ot_tensor_set_shape(c->out[0], t, x->ndim, x->dims);
        return OT_OK;
    }
    int64_t dims[OT_MAX_DIMS];
    int ndim = 0;
    for (int d = 0; d < x->ndim; d++) {
        if (mask[d] && !p->keepdims) continue;
        dims[ndim++] = mask[d] ? 1 : x->dims[d];
    }
    ot_tensor_set_shape(c->out[0], t, ndim, dims);
    size_t n_out = (size_t)ot_tensor_numel(c->out[0]);
    /* Forward: double sums (products); backward of Max/Min: per output, how many inputs equal
     * it; of Prod: per output, the product of the nonzero inputs and the count of zeros. */
    if (t == OT_FLOAT && p->kind == RED_PROD) c->workspace_bytes = 2 * sizeof(double) * n_out;
    else if (t == OT_FLOAT && p->kind != RED_MAX && p->kind != RED_MIN) c->workspace_bytes = sizeof(double) * n_out;
    else if (t == OT_FLOAT) c->workspace_bytes = sizeof(float) * n_out;
    return OT_OK;
}

/* Broadcast rows of the input against the keepdims-shaped output. */
typedef struct reduce_walk {
    ot_bcast bc;
    int64_t s; /* output row stride: 0 reduces the row to one value, 1 adds rows */
    int64_t count; /* inputs per output */
    int noop;
} reduce_walk;

static ot_status reduce_walk_init(const ot_node_ctx *c, reduce_walk *w) {
    unsigned char mask[OT_MAX_DIMS];
    OT_TRY(reduced_dims(c, 0, mask, &w->noop));
    const ot_tensor *x = c->in[0];
    ot_tensor kept = *c->out[0]; /* shape only */
    kept.ndim = x->ndim;
    kept_dims(x, mask, kept.dims);
    const ot_tensor *operands[1] = {&kept};
    oti_bcast_init(&w->bc, 1, operands, x);
    w->s = w->bc.strides[0][w->bc.ndim - 1];
    int64_t n_out = ot_tensor_numel(c->out[0]);
    w->count = n_out ? ot_tensor_numel(x) / n_out : 0;
    return OT_OK;
}

#define MAX_NAN(x, y) (((x) >= (y) || (x) != (x)) ? (x) : (y))
#define MIN_NAN(x, y) (((x) <= (y) || (x) != (x)) ? (x) : (y))

/* Runs BODY for j in [0, n) with `o` the output index of input j in the row: j when the
 * output row is contiguous (s = 1), 0 when the row reduces to one value (s = 0). Each case is
 * its own loop, so output values are loop-invariant in the second and both vectorise. */
#define FOR_ROW(n, s, BODY)                                                                    \
    do {                                                                                       \
        if (s) {                                                                               \
            for (int64_t j = 0; j < (n); j++) {                                                \
                int64_t o = j;                                                                 \
                BODY;                                                                          \
            }                                                                                  \
        } else {                                                                               \
            for (int64_t j = 0; j < (n); j++) {                                                \
                const int64_t o = 0;                                                           \
                BODY;                                                                          \
            }                                                                                  \
        }                                                                                      \
    } while (0)

typedef enum sum_term { TERM_X, TERM_SQUARE, TERM_ABS, TERM_EXP, TERM_PRODUCT } sum_term;

/* LogSumExp's shift: the row maximum where finite (all -inf, or an inf or NaN, shift by 0:
 * the result is then -inf, inf or NaN as it should). */
static inline float lse_shift(float max) { return isfinite(max) ? max : 0.0f; }

/* acc[out] += f(x) in double (TERM_PRODUCT: acc[out] *= x); TERM_EXP sums
 * exp(x - lse_shift(y[out])) with y holding the maxima. acc, y: (numel(y)). */
static void sum_rows_f32(const reduce_walk *w, double *acc, const float *x, sum_term term, const float *y) {
    int64_t off[1], n = w->bc.row_len;
    for (int64_t r = 0; r < w->bc.rows; r++) {
        const float *row = x + oti_bcast_row(&w->bc, r, off);
        double *a = acc + off[0];
        const float *m = y + off[0];
        if (!w->s && (term == TERM_X || term == TERM_SQUARE)) {
            a[0] += ot_sum_floats(row, n, term == TERM_SQUARE);
            continue;
        }
        switch (term) {
        case TERM_X: FOR_ROW(n, w->s, a[o] += row[j]); break;
        case TERM_SQUARE: FOR_ROW(n, w->s, a[o] += (double)row[j] * row[j]); break;
        case TERM_ABS: FOR_ROW(n, w->s, a[o] += fabsf(row[j])); break;
        case TERM_EXP: FOR_ROW(n, w->s, a[o] += exp((double)row[j] - lse_shift(m[o]))); break;
        case TERM_PRODUCT: FOR_ROW(n, w->s, a[o] *= row[j]); break;
        }
    }
}

static void extreme_rows_f32(const reduce_walk *w, float *y, const float *x, int is_max) {
    int64_t off[1], n = w->bc.row_len;
    for (int64_t r = 0; r < w->bc.rows; r++) {
        const float *row = x + oti_bcast_row(&w->bc, r, off);
        float *o = y + off[0];
        if (w->s && is_max) for (int64_t j = 0; j < n; j++) o[j] = MAX_NAN(o[j], row[j]);
        else if (w->s) for (int64_t j = 0; j < n; j++) o[j] = MIN_NAN(o[j], row[j]);
        else if (is_max) for (int64_t j = 0; j < n; j++) o[0] = MAX_NAN(o[0], row[j]);
        else for (int64_t j = 0; j < n; j++) o[0] = MIN_NAN(o[0], row[j]);
    }
}

/* int64: sums wrap (two's complement) instead of overflowing. */
static void reduce_rows_i64(const reduce_walk *w, reduce_kind kind, int64_t *y, const int64_t *x) {
    int64_t off[1], n = w->bc.row_len;
    for (int64_t r = 0; r < w->bc.rows; r++) {
        const int64_t *row = x + oti_bcast_row(&w->bc, r, off);
        for (int64_t j = 0; j < n; j++) {
            int64_t *o = y + off[0] + j * w->s, v = row[j];
            switch (kind) {
            case RED_MAX: *o = v > *o ? v : *o; break;
            case RED_MIN: *o = v < *o ? v : *o; break;
            case RED_SUM_SQUARE: *o = (int64_t)((uint64_t)*o + (uint64_t)v * (uint64_t)v); break;
            case RED_PROD: *o = (int64_t)((uint64_t)*o * (uint64_t)v); break;
            case RED_L1: *o = (int64_t)((uint64_t)*o + (v < 0 ? 0 - (uint64_t)v : (uint64_t)v)); break;
            default: *o = (int64_t)((uint64_t)*o + (uint64_t)v); break;
            }
        }
    }
}

static ot_status forward_reduce_i64(const ot_node_ctx *c, const reduce_walk *w) {
    const reduce_params *p = c->params;
    int64_t *y = c->out[0]->data, n_out = ot_tensor_numel(c->out[0]);
    int64_t init = p->kind == RED_MAX ? INT64_MIN : p->kind == RED_MIN ? INT64_MAX : p->kind == RED_PROD;
    for (int64_t i = 0; i < n_out; i++) y[i] = init;
    reduce_rows_i64(w, p->kind, y, c->in[0]->data);
    return OT_OK;
}

static sum_term sum_term_of(reduce_kind kind) {
    switch (kind) {
    case RED_L2:
    case RED_SUM_SQUARE: return TERM_SQUARE;
    case RED_L1: return TERM_ABS;
    case RED_LOG_SUM_EXP: return TERM_EXP;
    case RED_PROD: return TERM_PRODUCT;
    default: return TERM_X;
    }
}

static ot_status forward_reduce(ot_node_ctx *c) {
    const reduce_params *p = c->params;
    reduce_walk w;
    OT_TRY(reduce_walk_init(c, &w));
    const ot_tensor *x = c->in[0];
    if (w.noop) {
        memcpy(c->out[0]->data, x->data, (size_t)ot_tensor_numel(x) * ot_dtype_size(x->dtype));
        return OT_OK;
    }
    if (x->dtype == OT_INT64) return forward_reduce_i64(c, &w);
    float *y = c->out[0]->data;
    int64_t n_out = ot_tensor_numel(c->out[0]);
    if (p->kind == RED_MAX || p->kind == RED_MIN || p->kind == RED_LOG_SUM_EXP) {
        /* The empty reduction gives the identity: -inf for max, +inf for min. */
        for (int64_t i = 0; i < n_out; i++) y[i] = p->kind == RED_MIN ? INFINITY : -INFINITY;
        extreme_rows_f32(&w, y, x->data, p->kind != RED_MIN);
        if (p->kind != RED_LOG_SUM_EXP) return OT_OK;
    }
    double *acc = c->workspace; // (numel(y))
    for (int64_t i = 0; i < n_out; i++) acc[i] = p->kind == RED_PROD;
    sum_rows_f32(&w, acc, x->data, sum_term_of(p->kind), y);
    for (int64_t i = 0; i < n_out; i++) {
        switch (p->kind) {
        case RED_MEAN: y[i] = (float)(acc[i] / (double)w.count); break; /* 0/0: NaN, as numpy */
        case RED_L2: y[i] = (float)sqrt(acc[i]); break;
        case RED_LOG_SUM: y[i] = (float)log(acc[i]); break;
        case RED_LOG_SUM_EXP: y[i] = (float)(lse_shift(y[i]) + log(acc[i])); break;
        default: y[i] = (float)acc[i]; break;
        }
    }
    return OT_OK;
}

/* ties[out] = number of inputs equal to y[out]. ties: (numel(y)). */
static void count_ties(const reduce_walk *w, float *ties, int64_t n_out, const float *y, const float *x) {
    memset(ties, 0, sizeof(float) * (size_t)n_out);
    int64_t off[1], n = w->bc.row_len;
    for (int64_t r = 0; r < w->bc.rows; r++) {
        const float *row = x + oti_bcast_row(&w->bc, r, off);
        float *t = ties + off[0];
        const float *yr = y + off[0];
        if (w->s) {
            for (int64_t j = 0; j < n; j++) t[j] += row[j] == yr[j];
        } else {
            int64_t count = 0; /* an integer sum vectorises; a chain through memory would not */
            for (int64_t j = 0; j < n; j++) count += row[j] == yr[0];
            t[0] += (float)count;
        }
    }
}

/* Per output: nonzero[out] = the product of its nonzero inputs, zeros[out] = how many are 0.
 * Both (numel(y)). */
static void count_zeros(const reduce_walk *w, double *nonzero, double *zeros, int64_t n_out, const float *x) {
    for (int64_t i = 0; i < n_out; i++) nonzero[i] = 1.0, zeros[i] = 0.0;
    int64_t off[1], n = w->bc.row_len;
    for (int64_t r = 0; r < w->bc.rows; r++) {
        const float *row = x + oti_bcast_row(&w->bc, r, off);
        double *pr = nonzero + off[0], *zr = zeros + off[0];
        FOR_ROW(n, w->s, if (row[j] == 0.0f) zr[o] += 1.0; else pr[o] *= row[j]);
    }
}

/* d[j] += g * d prod / d x_j: the other elements' product (exact where x_j is 0). */
static inline float prod_grad(float x, float g, double nonzero, double zeros) {
    if (x != 0.0f) return zeros == 0.0 ? (float)(g * (nonzero / x)) : 0.0f;
    return zeros == 1.0 ? (float)(g * nonzero) : 0.0f;
}

static ot_status backward_reduce(ot_node_ctx *c) {
    const reduce_params *p = c->params;
    if (!c->din[0] || !c->dout[0] || c->in[0]->dtype != OT_FLOAT) return OT_OK;
    reduce_walk w;
    OT_TRY(reduce_walk_init(c, &w));
    const float *x = c->in[0]->data, *y = c->out[0]->data, *g = c->dout[0]->data;
    float *dx = c->din[0]->data;
    if (w.noop) {
        int64_t n = ot_tensor_numel(c->in[0]);
        for (int64_t i = 0; i < n; i++) dx[i] += g[i];
        return OT_OK;
    }
    int64_t n_out = ot_tensor_numel(c->out[0]);
    float *ties = c->workspace; // (numel(y)), Max/Min only
    double *nonzero = c->workspace, *zeros = nonzero + n_out; // (numel(y)) each, Prod only
    if (p->kind == RED_MAX || p->kind == RED_MIN) count_ties(&w, ties, n_out, y, x);
    if (p->kind == RED_PROD) count_zeros(&w, nonzero, zeros, n_out, x);
    float inv_count = w.count ? 1.0f / (float)w.count : 0.0f;
    int64_t off[1], n = w.bc.row_len, s = w.s;
    for (int64_t r = 0; r < w.bc.rows; r++) {
        int64_t i0 = oti_bcast_row(&w.bc, r, off);
        const float *xr = x + i0, *gr = g + off[0], *yr = y + off[0];
        float *d = dx + i0;
        switch (p->kind) {
        case RED_SUM: FOR_ROW(n, s, d[j] += gr[o]); break;
        case RED_MEAN: FOR_ROW(n, s, d[j] += gr[o] * inv_count); break;
        case RED_SUM_SQUARE: FOR_ROW(n, s, d[j] += 2.0f * xr[j] * gr[o]); break;
        case RED_L2:
            /* PyTorch's norm backward: x * g / y, and 0 where the norm is 0. */
            FOR_ROW(n, s, d[j] += yr[o] == 0.0f ? 0.0f : xr[j] * gr[o] / yr[o]);
            break;
        case RED_L1: FOR_ROW(n, s, d[j] += xr[j] > 0.0f ? gr[o] : xr[j] < 0.0f ? -gr[o] : 0.0f); break;
        case RED_LOG_SUM: FOR_ROW(n, s, d[j] += gr[o] * expf(-yr[o])); break; /* 1 / sum = e^-y */
        case RED_LOG_SUM_EXP: FOR_ROW(n, s, d[j] += gr[o] * expf(xr[j] - yr[o])); break;
        case RED_PROD: {
            const double *pr = nonzero + off[0], *zr = zeros + off[0];
            FOR_ROW(n, s, d[j] += prod_grad(xr[j], gr[o], pr[o], zr[o]));
            break;
        }
        case RED_MAX:
        case RED_MIN: {
            const float *tr = ties + off[0];
            FOR_ROW(n, s, d[j] += xr[j] == yr[o] ? gr[o] / tr[o] : 0.0f);
            break;
        }
        }
    }
    return OT_OK;
}

#define REDUCE(op_name, since)                                                                 \
    {.name = op_name, .since_version = since, .params_size = sizeof(reduce_params),              \
     .parse = parse_reduce, .infer = infer_reduce, .forward = forward_reduce,                    \
     .backward = backward_reduce, .inputs = {[1] = OT_ROLE_CONSTANT}}

#define ARG(op_name, since)                                                                    \
    {.name = op_name, .since_version = since, .params_size = sizeof(ot_arg_params),             \
     .parse = oti_reduce_parse_arg, .infer = oti_reduce_infer_arg, .forward = oti_reduce_forward_arg}
/* The axis input is a constant. */
#define CUMSUM(since)                                                                          \
    {.name = "CumSum", .since_version = since, .params_size = sizeof(ot_cumsum_params),             \
     .parse = oti_reduce_parse_cumsum, .infer = oti_reduce_infer_cumsum, .forward = oti_reduce_forward_cumsum,                    \
     .backward = oti_reduce_backward_cumsum, .inputs = {[1] = OT_ROLE_CONSTANT}}

#define TOPK(since)                                                                            \
    {.name = "TopK", .since_version = since, .params_size = sizeof(ot_topk_params),              \
     .parse = oti_reduce_parse_topk, .infer = oti_reduce_infer_topk, .forward = oti_reduce_forward_topk, \
     .backward = oti_reduce_backward_topk, .inputs = {[1] = OT_ROLE_CONSTANT}}

/* Input 1 (axes, from opset 13/18) is a constant: no gradient. The rows at 13/18 mark where
 * axes move from the attribute to the input (parse reads l->opset). */
const ot_op oti_ops_reduce[] = {
    REDUCE("ReduceSum", 1),       REDUCE("ReduceSum", 13),
    REDUCE("ReduceMean", 1),      REDUCE("ReduceMean", 18),
    REDUCE("ReduceMax", 1),       REDUCE("ReduceMax", 18),
    REDUCE("ReduceMin", 1),       REDUCE("ReduceMin", 18),
    REDUCE("ReduceL2", 1),        REDUCE("ReduceL2", 18),
    REDUCE("ReduceSumSquare", 1), REDUCE("ReduceSumSquare", 18),
    REDUCE("ReduceL1", 1),        REDUCE("ReduceL1", 18),
    REDUCE("ReduceProd", 1),      REDUCE("ReduceProd", 18),
    REDUCE("ReduceLogSum", 1),    REDUCE("ReduceLogSum", 18),
    REDUCE("ReduceLogSumExp", 1), REDUCE("ReduceLogSumExp", 18),
    /* select_last_index from 12; the rows mark the opsets whose attributes changed. */
    ARG("ArgMax", 1), ARG("ArgMax", 11), ARG("ArgMax", 12), ARG("ArgMax", 13),
    ARG("ArgMin", 1), ARG("ArgMin", 11), ARG("ArgMin", 12), ARG("ArgMin", 13),
    CUMSUM(11), CUMSUM(14),
    /* K (input 1 from opset 10) is a constant; largest and sorted from 11. */
    TOPK(1), TOPK(10), TOPK(11),
};
const ot_op_family oti_family_reduce = {oti_ops_reduce, OT_COUNT(oti_ops_reduce)};
