/* Trilu (opset 14): keeps the upper (upper = 1, the default) or lower triangle of the last
 * two dims, counting diagonals from the main one by the optional scalar input k (default 0;
 * upper keeps j - i >= k, lower keeps j - i <= k), and zeroes the rest. k may be computed at
 * run time: it changes values, not shapes. Backward passes the gradient through the same
 * mask. */
#include <string.h>

#include "shape_internal.h"

ot_status oti_shape_parse_trilu(const ot_layer *l, void *params) {
    ot_shape_trilu_params *p = params;
    int64_t upper;
    OT_TRY(oti_attr_get_int(l, "upper", 1, &upper));
    if (upper != 0 && upper != 1)
        return oti_node_fail(l, OT_ERR_INVALID, "attribute upper must be 0 or 1, not %lld", (long long)upper);
    p->upper = (int)upper;
    return OT_OK;
}

ot_status oti_shape_infer_trilu(ot_node_ctx *c) {
    OT_TRY(oti_shape_check_data(c));
    const ot_tensor *x = c->in[0];
    OT_NODE_CHECK(c, x->ndim >= 2, "input must have rank 2 or more, not %d", x->ndim);
    const ot_tensor *k = c->n_in > 1 ? c->in[1] : NULL;
    if (k) {
        OT_NODE_CHECK(c, k->dtype == OT_INT64, "k must be int64, not %s", ot_dtype_name(k->dtype));
        OT_NODE_CHECK(c, ot_tensor_numel(k) == 1, "k must be a single value, not %lld values",
                      (long long)ot_tensor_numel(k));
    }
    ot_tensor_set_shape(c->out[0], x->dtype, x->ndim, x->dims);
    return OT_OK;
}

/* The matrices (batch, rows, cols) of the input and the diagonal offset k. */
typedef struct trilu_view {
    int64_t batch, rows, cols, k;
    int upper;
} trilu_view;

static trilu_view trilu_view_of(const ot_node_ctx *c) {
    const ot_shape_trilu_params *p = c->params;
    const ot_tensor *x = c->in[0];
    trilu_view v = {.rows = x->dims[x->ndim - 2], .cols = x->dims[x->ndim - 1], .upper = p->upper};
    v.batch = ot_dims_numel(x->ndim - 2, x->dims);
    v.k = c->n_in > 1 && c->in[1] ? *(const int64_t *)c->in[1]->data : 0;
    return v;
}

/* Columns [*lo, *hi) of row i that the triangle keeps. */
static void kept_columns(const trilu_view *v, int64_t i, int64_t *lo, int64_t *hi) {
    /* Clamp i + k into [0, cols] without overflowing for extreme k. */
    int64_t edge = v->k > v->cols ? v->cols : v->k < -v->rows - 1 ? -v->rows - 1 : v->k;
    edge += i;
    if (v->upper) {
        *lo = edge < 0 ? 0 : edge > v->cols ? v->cols : edge;
        *hi = v->cols;
    } else {
        *lo = 0;
        *hi = edge + 1 < 0 ? 0 : edge + 1 > v->cols ? v->cols : edge + 1;
    }
}

ot_status oti_shape_forward_trilu(ot_node_ctx *c) {
    trilu_view v = trilu_view_of(c);
    size_t elem = ot_dtype_size(c->in[0]->dtype);
    const unsigned char *x = c->in[0]->data;
    unsigned char *y = c->out[0]->data;
    // x, y: (batch, rows, cols)
    for (int64_t r = 0; r < v.batch * v.rows; r++) {
        int64_t lo, hi;
        kept_columns(&v, r % v.rows, &lo, &hi);
        size_t row = (size_t)(r * v.cols) * elem;
        memset(y + row, 0, (size_t)v.cols * elem);
        if (hi > lo) memcpy(y + row + (size_t)lo * elem, x + row + (size_t)lo * elem, (size_t)(hi - lo) * elem);
    }
    return OT_OK;
}

ot_status oti_shape_backward_trilu(ot_node_ctx *c) {
    if (!c->din[0] || !c->dout[0]) return OT_OK;
    trilu_view v = trilu_view_of(c);
    const float *dy = c->dout[0]->data;
    float *dx = c->din[0]->data;
    // dx, dy: (batch, rows, cols); the zeroed entries get no gradient
    for (int64_t r = 0; r < v.batch * v.rows; r++) {
        int64_t lo, hi, row = r * v.cols;
        kept_columns(&v, r % v.rows, &lo, &hi);
        for (int64_t j = lo; j < hi; j++) dx[row + j] += dy[row + j];
    }
    return OT_OK;
}
