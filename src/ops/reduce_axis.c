/* The reductions along one axis of the reduce family: ArgMax, ArgMin, CumSum and TopK (the
 * table is in reduce.c). */
#include <string.h>

#include "reduce_internal.h"

/* ArgMax ArgMin ---------------------------------------------------------------------------- */

/* ArgMax / ArgMin along `axis` (default 0) as int64 indices, keepdims (default 1) and, from
 * opset 12, select_last_index (ties give the last index instead of the first). A NaN is
 * picked before any number, the first NaN (numpy's argmax and argmin). Not differentiable. */

/* A tensor viewed as (outer, n, inner) around one axis. */
typedef struct axis_view {
    int64_t outer, n, inner;
} axis_view;

static ot_status axis_view_of(const ot_node_ctx *c, int64_t axis_value, axis_view *v, int *axis) {
    const ot_tensor *x = c->in[0];
    *axis = oti_normalize_axis(axis_value, x->ndim);
    OT_NODE_CHECK(c, *axis >= 0, "axis %lld is out of range for an input of rank %d", (long long)axis_value,
                  x->ndim);
    v->outer = ot_dims_numel(*axis, x->dims);
    v->n = x->dims[*axis];
    v->inner = ot_dims_numel(x->ndim - *axis - 1, x->dims + *axis + 1);
    return OT_OK;
}

static ot_status read_flag(const ot_layer *l, const char *name, int64_t fallback, int *out) {
    int64_t v;
    OT_TRY(oti_attr_get_int(l, name, fallback, &v));
    if (v != 0 && v != 1)
        return oti_node_fail(l, OT_ERR_INVALID, "attribute %s must be 0 or 1, not %lld", name, (long long)v);
    *out = (int)v;
    return OT_OK;
}

/* Input 0 is present and float32 or int64. */
static ot_status check_data_input(const ot_node_ctx *c) {
    OT_NODE_CHECK(c, c->n_in >= 1 && c->in[0], "needs an input");
    ot_dtype t = c->in[0]->dtype;
    OT_NODE_CHECK(c, t == OT_FLOAT || t == OT_INT64, "input must be float32 or int64, not %s", ot_dtype_name(t));
    return OT_OK;
}

ot_status oti_reduce_parse_arg(const ot_layer *l, void *params) {
    ot_arg_params *p = params;
    p->is_min = !strcmp(l->op_type, "ArgMin");
    OT_TRY(oti_attr_get_int(l, "axis", 0, &p->axis));
    OT_TRY(read_flag(l, "keepdims", 1, &p->keepdims));
    return read_flag(l, "select_last_index", 0, &p->select_last);
}

ot_status oti_reduce_infer_arg(ot_node_ctx *c) {
    const ot_arg_params *p = c->params;
    OT_TRY(check_data_input(c));
    const ot_tensor *x = c->in[0];
    axis_view v;
    int axis;
    OT_TRY(axis_view_of(c, p->axis, &v, &axis));
    OT_NODE_CHECK(c, v.n > 0 || v.outer * v.inner == 0, "cannot take the %s of an empty axis %d",
                  p->is_min ? "argmin" : "argmax", axis);
    int64_t dims[OT_MAX_DIMS];
    int ndim = 0;
    for (int d = 0; d < x->ndim; d++)
        if (d != axis) dims[ndim++] = x->dims[d];
        else if (p->keepdims) dims[ndim++] = 1;
    ot_tensor_set_shape(c->out[0], OT_INT64, ndim, dims);
    c->out[0]->declared = OT_INT64; /* indices, whatever x's dtype */
    return OT_OK;
}

/* y[o, j] = the index along n of x's largest value (`better` is >) or smallest (<);
 * x (outer, n, inner), y (outer, inner). */
#define ARG_LOOP(T, better, y, x, v, last)                                                       \
    for (int64_t o = 0; o < (v).outer; o++)                                                    \
        for (int64_t j = 0; j < (v).inner; j++) {                                              \
            const T *col = (x) + o * (v).n * (v).inner + j;                                    \
            T best = col[0];                                                                   \
            int64_t at = 0;                                                                    \
            for (int64_t i = 1; i < (v).n && best == best; i++) {                              \
                T e = col[i * (v).inner];                                                      \
                if (e != e || e better best || ((last) && e == best)) best = e, at = i;        \
            }                                                                                  \
            (y)[o * (v).inner + j] = at;                                                       \
        }

ot_status oti_reduce_forward_arg(ot_node_ctx *c) {
    const ot_arg_params *p = c->params;
    axis_view v;
    int axis;
    OT_TRY(axis_view_of(c, p->axis, &v, &axis));
    int64_t *y = c->out[0]->data;
    const float *xf = c->in[0]->data;
    const int64_t *xi = c->in[0]->data;
    int f32 = c->in[0]->dtype == OT_FLOAT, last = p->select_last;
    if (f32 && p->is_min) ARG_LOOP(float, <, y, xf, v, last)
    else if (f32) ARG_LOOP(float, >, y, xf, v, last)
    else if (p->is_min) ARG_LOOP(int64_t, <, y, xi, v, last)
    else ARG_LOOP(int64_t, >, y, xi, v, last)
    return OT_OK;
}

/* CumSum ---------------------------------------------------------------------------------- */

/* CumSum along the axis given by input 1 (an int64 or int32 scalar, read when the node runs),
 * exclusive (each sum leaves out its own element) and reverse (sums run from the end).
 * Float sums run in double. Backward is the cumulative sum of the output gradient in the
 * other direction with the same exclusive flag: y_j = sum_{i <= j} x_i gives
 * dx_i = sum_{j >= i} dy_j. */

ot_status oti_reduce_parse_cumsum(const ot_layer *l, void *params) {
    ot_cumsum_params *p = params;
    OT_TRY(read_flag(l, "exclusive", 0, &p->exclusive));
    return read_flag(l, "reverse", 0, &p->reverse);
}

static ot_status cumsum_view(const ot_node_ctx *c, axis_view *v) {
    const ot_tensor *a = c->in[1];
    OT_NODE_CHECK(c, a->dtype == OT_INT64 || a->dtype == OT_INT32, "axis must be int64 or int32, not %s",
                  ot_dtype_name(a->dtype));
    OT_NODE_CHECK(c, ot_tensor_numel(a) == 1, "axis must be a scalar");
    int64_t axis = a->dtype == OT_INT64 ? *(const int64_t *)a->data : *(const int32_t *)a->data;
    int normalized;
    return axis_view_of(c, axis, v, &normalized);
}

ot_status oti_reduce_infer_cumsum(ot_node_ctx *c) {
    OT_NODE_CHECK(c, c->n_in == 2 && c->in[0] && c->in[1], "needs inputs x and axis");
    OT_TRY(check_data_input(c));
    const ot_tensor *x = c->in[0];
    axis_view v;
    if (c->in_known[1]) OT_TRY(cumsum_view(c, &v));
    ot_tensor_set_shape(c->out[0], x->dtype, x->ndim, x->dims);
    return OT_OK;
}

/* For each lane (o, j) of x (outer, n, inner), walks n (backwards with `reverse`) keeping the
 * running sum in ACC and runs STORE with `at` the element's offset and `value` the sum
 * before (exclusive) or after it. */
#define CUMSUM_LANES(x, v, exclusive, reverse, ACC, STORE)                                     \
    do {                                                                                       \
        int64_t step_ = (reverse) ? -(v)->inner : (v)->inner;                                  \
        for (int64_t o_ = 0; o_ < (v)->outer; o_++)                                            \
            for (int64_t j_ = 0; j_ < (v)->inner; j_++) {                                      \
                int64_t at = o_ * (v)->n * (v)->inner + j_ + ((reverse) ? ((v)->n - 1) * (v)->inner : 0); \
                ACC sum_ = 0;                                                                  \
                for (int64_t i_ = 0; i_ < (v)->n; i_++, at += step_) {                         \
                    ACC before_ = sum_;                                                        \
                    sum_ += (ACC)(x)[at];                                                      \
                    ACC value = (exclusive) ? before_ : sum_;                                  \
                    STORE;                                                                     \
                }                                                                              \
            }                                                                                  \
    } while (0)

/* y (+)= the cumulative sums of x along n, in double; x, y (outer, n, inner). `add` adds
 * into y (backward). */
static void cumsum_f32(float *y, const float *x, const axis_view *v, int exclusive, int reverse, int add) {
    CUMSUM_LANES(x, v, exclusive, reverse, double, y[at] = add ? y[at] + (float)value : (float)value);
}

/* int64 sums wrap (two's complement): the running sum is unsigned. */
static void cumsum_i64(int64_t *y, const int64_t *x, const axis_view *v, int exclusive, int reverse) {
    CUMSUM_LANES(x, v, exclusive, reverse, uint64_t, y[at] = (int64_t)value);
}

ot_status oti_reduce_forward_cumsum(ot_node_ctx *c) {
    const ot_cumsum_params *p = c->params;
    axis_view v;
    OT_TRY(cumsum_view(c, &v));
    if (c->in[0]->dtype == OT_FLOAT) cumsum_f32(c->out[0]->data, c->in[0]->data, &v, p->exclusive, p->reverse, 0);
    else cumsum_i64(c->out[0]->data, c->in[0]->data, &v, p->exclusive, p->reverse);
    return OT_OK;
}

ot_status oti_reduce_backward_cumsum(ot_node_ctx *c) {
    const ot_cumsum_params *p = c->params;
    if (!c->din[0] || !c->dout[0] || c->in[0]->dtype != OT_FLOAT) return OT_OK;
    axis_view v;
    OT_TRY(cumsum_view(c, &v));
    cumsum_f32(c->din[0]->data, c->dout[0]->data, &v, p->exclusive, !p->reverse, 1);
    return OT_OK;
}

/* TopK ------------------------------------------------------------------------------------ */

/* TopK along `axis` (default -1): the k largest (or, with largest = 0, smallest) values and
 * their int64 indices, best first; equal values keep the lower index first, a NaN counts as
 * the largest value (PyTorch's topk). k is an attribute before opset 10, input 1 after; it
 * decides the output shape, so it must be known when the plan is built. Outputs are sorted
 * even with sorted = 0 (the spec leaves that order open). Backward adds each value's
 * gradient at its index (kept in c->saved). */

ot_status oti_reduce_parse_topk(const ot_layer *l, void *params) {
    ot_topk_params *p = params;
    p->k_from_input = l->opset >= 10;
    OT_TRY(oti_attr_get_int(l, "axis", -1, &p->axis));
    OT_TRY(oti_attr_get_int(l, "k", -1, &p->k));
    OT_TRY(read_flag(l, "largest", 1, &p->largest));
    int sorted;
    OT_TRY(read_flag(l, "sorted", 1, &sorted));
    if (!p->k_from_input && p->k < 0) return oti_node_fail(l, OT_ERR_INVALID, "needs a 'k' attribute");
    return OT_OK;
}

static ot_status topk_k(const ot_node_ctx *c, int64_t *k) {
    const ot_topk_params *p = c->params;
    *k = p->k;
    if (!p->k_from_input) return OT_OK;
    OT_NODE_CHECK(c, c->n_in >= 2 && c->in[1], "needs input K");
    const ot_tensor *kt = c->in[1];
    OT_NODE_CHECK(c, kt->dtype == OT_INT64 && ot_tensor_numel(kt) == 1, "K must be one int64 value, not %s of %lld",
                  ot_dtype_name(kt->dtype), (long long)ot_tensor_numel(kt));
    *k = *(const int64_t *)kt->data;
    return OT_OK;
}

ot_status oti_reduce_infer_topk(ot_node_ctx *c) {
    const ot_topk_params *p = c->params;
    OT_TRY(check_data_input(c));
    const ot_tensor *x = c->in[0];
    if (p->k_from_input && !(c->n_in >= 2 && c->in[1] && c->in_known[1]))
        return oti_node_fail(c->layer, OT_ERR_UNSUPPORTED,
                            "input K must be known when the plan is built (it decides the output shape)");
    OT_NODE_CHECK(c, c->n_out == 2 && c->out[0] && c->out[1], "needs outputs Values and Indices");
    axis_view v;
    int axis;
    int64_t k;
    OT_TRY(axis_view_of(c, p->axis, &v, &axis));
    OT_TRY(topk_k(c, &k));
    OT_NODE_CHECK(c, k >= 0 && k <= v.n, "k = %lld is out of range for axis %d of size %lld", (long long)k, axis,
                  (long long)v.n);
    int64_t dims[OT_MAX_DIMS];
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->ndim);
    dims[axis] = k;
    ot_tensor_set_shape(c->out[0], x->dtype, x->ndim, dims);
    ot_tensor_set_shape(c->out[1], OT_INT64, x->ndim, dims);
    c->out[1]->declared = OT_INT64; /* indices, whatever x's dtype */
    c->workspace_bytes = 2 * sizeof(int64_t) * (size_t)v.n; /* one lane's order and merge buffer */
    c->saved_bytes = sizeof(int64_t) * (size_t)ot_tensor_numel(c->out[1]);
    return OT_OK;
}

/* A lane of n values at stride `step`, compared for TopK's order. */
typedef struct topk_lane {
    const float *f;
    const int64_t *i;
    int64_t step;
    int largest;
} topk_lane;

/* Element a goes before element b: better value (NaN largest), then the lower index. */
static int topk_before(const topk_lane *l, int64_t a, int64_t b) {
    if (l->f) {
        float va = l->f[a * l->step], vb = l->f[b * l->step];
        int na = va != va, nb = vb != vb;
        if (na != nb) return l->largest ? na : nb;
        if (!na && va != vb) return l->largest ? va > vb : va < vb;
    } else {
        int64_t va = l->i[a * l->step], vb = l->i[b * l->step];
        if (va != vb) return l->largest ? va > vb : va < vb;
    }
    return a < b;
}

/* order[0..n) = the lane's indices sorted by topk_before: a bottom-up merge sort (stable,
 * O(n log n)) through buf (n). Returns the sorted array (order or buf). */
static int64_t *topk_sort(const topk_lane *l, int64_t *order, int64_t *buf, int64_t n) {
    for (int64_t i = 0; i < n; i++) order[i] = i;
    for (int64_t width = 1; width < n; width *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * width) {
            int64_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            int64_t a = lo, b = mid, o = lo;
            while (a < mid && b < hi) buf[o++] = topk_before(l, order[b], order[a]) ? order[b++] : order[a++];
            while (a < mid) buf[o++] = order[a++];
            while (b < hi) buf[o++] = order[b++];
        }
        int64_t *t = order;
        order = buf;
        buf = t;
    }
    return order;
}

ot_status oti_reduce_forward_topk(ot_node_ctx *c) {
    const ot_topk_params *p = c->params;
    axis_view v;
    int axis;
    int64_t k;
    OT_TRY(axis_view_of(c, p->axis, &v, &axis));
    OT_TRY(topk_k(c, &k));
    const ot_tensor *x = c->in[0];
    int is_float = x->dtype == OT_FLOAT;
    int64_t *idx = c->out[1]->data, *order = c->workspace; // order: (2 n)
    for (int64_t o = 0; o < v.outer; o++)
        for (int64_t j = 0; j < v.inner; j++) {
            int64_t in_base = o * v.n * v.inner + j, out_base = o * k * v.inner + j;
            topk_lane lane = {is_float ? (const float *)x->data + in_base : NULL,
                              is_float ? NULL : (const int64_t *)x->data + in_base, v.inner, p->largest};
            const int64_t *sorted = topk_sort(&lane, order, order + v.n, v.n);
            for (int64_t r = 0; r < k; r++) {
                int64_t at = out_base + r * v.inner, from = in_base + sorted[r] * v.inner;
                idx[at] = sorted[r];
                if (is_float) ((float *)c->out[0]->data)[at] = ((const float *)x->data)[from];
                else ((int64_t *)c->out[0]->data)[at] = ((const int64_t *)x->data)[from];
            }
        }
    if (c->saved) memcpy(c->saved, idx, c->saved_bytes);
    return OT_OK;
}

ot_status oti_reduce_backward_topk(ot_node_ctx *c) {
    const ot_topk_params *p = c->params;
    if (!c->din[0] || !c->dout[0] || c->in[0]->dtype != OT_FLOAT) return OT_OK;
    axis_view v;
    int axis;
    OT_TRY(axis_view_of(c, p->axis, &v, &axis));
    int64_t k = c->out[0]->dims[axis];
    const int64_t *idx = c->saved; // (outer, k, inner)
    const float *g = c->dout[0]->data;
    float *dx = c->din[0]->data;
    for (int64_t o = 0; o < v.outer; o++)
        for (int64_t r = 0; r < k; r++)
            for (int64_t j = 0; j < v.inner; j++) {
                int64_t at = (o * k + r) * v.inner + j;
                dx[(o * v.n + idx[at]) * v.inner + j] += g[at];
            }
    return OT_OK;
}
