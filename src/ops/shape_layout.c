/* Ops that re-lay out every element: Transpose (permuted strides), Expand (broadcast: stride
 * 0 along expanded dims) and Tile (each dim viewed as (repeat, dim) with stride 0 for the
 * repeat). Backward walks the same view and adds the gradient back, so expanded and tiled
 * copies sum into the element they came from. */
#include <string.h>

#include "shape_internal.h"

/* Transpose ------------------------------------------------------------------------------ */

ot_status oti_shape_parse_transpose(const ot_layer *l, void *params) {
    ot_shape_transpose_params *p = params;
    return oti_attr_get_ints(l, "perm", p->perm, OT_MAX_DIMS, &p->n_perm);
}

/* The permutation (default: reversed dims), checked to be one. */
static ot_status transpose_perm(const ot_node_ctx *c, int *perm) {
    const ot_shape_transpose_params *p = c->params;
    int rank = c->in[0]->ndim, seen[OT_MAX_DIMS] = {0};
    if (p->n_perm < 0) {
        for (int d = 0; d < rank; d++) perm[d] = rank - 1 - d;
        return OT_OK;
    }
    OT_NODE_CHECK(c, p->n_perm == rank, "perm has %d values, but the input has rank %d",
                  p->n_perm, rank);
    for (int d = 0; d < rank; d++) {
        int64_t v = p->perm[d];
        OT_NODE_CHECK(c, v >= 0 && v < rank && !seen[v], "perm is not a permutation of 0..%d",
                      rank - 1);
        seen[v] = 1;
        perm[d] = (int)v;
    }
    return OT_OK;
}

/* Output dims and, per output dim, the input's stride. */
static void transpose_view(const ot_node_ctx *c, const int *perm, int64_t *dims, int64_t *src_strides) {
    const ot_tensor *x = c->in[0];
    int64_t strides[OT_MAX_DIMS];
    oti_shape_strides(x->ndim, x->dims, strides);
    for (int d = 0; d < x->ndim; d++) {
        dims[d] = x->dims[perm[d]];
        src_strides[d] = strides[perm[d]];
    }
}

ot_status oti_shape_infer_transpose(ot_node_ctx *c) {
    OT_TRY(oti_shape_check_data(c));
    int perm[OT_MAX_DIMS];
    int64_t dims[OT_MAX_DIMS], src_strides[OT_MAX_DIMS];
    OT_TRY(transpose_perm(c, perm));
    transpose_view(c, perm, dims, src_strides);
    ot_tensor_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->ndim, dims);
    return OT_OK;
}

ot_status oti_shape_forward_transpose(ot_node_ctx *c) {
    int perm[OT_MAX_DIMS];
    int64_t dims[OT_MAX_DIMS], src_strides[OT_MAX_DIMS], dst_strides[OT_MAX_DIMS];
    OT_TRY(transpose_perm(c, perm));
    transpose_view(c, perm, dims, src_strides);
    int rank = c->in[0]->ndim;
    oti_shape_strides(rank, dims, dst_strides);
    oti_shape_copy(c->out[0]->data, dst_strides, 0, c->in[0]->data, src_strides, 0, rank, dims,
                  ot_dtype_size(c->in[0]->dtype));
    return OT_OK;
}

ot_status oti_shape_backward_transpose(ot_node_ctx *c) {
    if (!c->din[0] || !c->dout[0]) return OT_OK;
    int perm[OT_MAX_DIMS];
    int64_t dims[OT_MAX_DIMS], x_strides[OT_MAX_DIMS], y_strides[OT_MAX_DIMS];
    OT_TRY(transpose_perm(c, perm));
    transpose_view(c, perm, dims, x_strides);
    int rank = c->in[0]->ndim;
    oti_shape_strides(rank, dims, y_strides);
    oti_shape_accumulate(c->din[0]->data, x_strides, 0, c->dout[0]->data, y_strides, 0, rank, dims);
    return OT_OK;
}

/* Expand --------------------------------------------------------------------------------- */

/* Input strides aligned to the output's rank, 0 where the input has size 1 or no dim. */
static void broadcast_strides(const ot_tensor *x, int rank, int64_t *strides) {
    int64_t dense[OT_MAX_DIMS];
    oti_shape_strides(x->ndim, x->dims, dense);
    int lead = rank - x->ndim;
    for (int d = 0; d < rank; d++)
        strides[d] = d < lead || x->dims[d - lead] == 1 ? 0 : dense[d - lead];
}

ot_status oti_shape_infer_expand(ot_node_ctx *c) {
    OT_TRY(oti_shape_check_data(c));
    const ot_tensor *x = c->in[0];
    int64_t shape[OT_MAX_DIMS], dims[OT_MAX_DIMS];
    int n;
    OT_TRY(oti_shape_known_ints(c, 1, "shape", shape, OT_MAX_DIMS, &n));
    /* Broadcasting both ways: the shape may be shorter than the input or hold 1s where the
     * input is larger. */
    int rank = n > x->ndim ? n : x->ndim;
    char a[128], b[128];
    for (int d = 0; d < rank; d++) {
        int64_t have = d < rank - x->ndim ? 1 : x->dims[d - (rank - x->ndim)];
        int64_t want = d < rank - n ? 1 : shape[d - (rank - n)];
        OT_NODE_CHECK(c, want >= 0, "shape %s has a negative dim", ot_shape_string(n, shape, a, sizeof a));
        OT_NODE_CHECK(c, have == want || have == 1 || want == 1,
                      "input %s cannot be expanded to shape %s",
                      ot_shape_string(x->ndim, x->dims, a, sizeof a), ot_shape_string(n, shape, b, sizeof b));
        dims[d] = have == 1 ? want : have;
    }
    ot_tensor_set_shape(c->out[0], x->dtype, rank, dims);
    return OT_OK;
}

ot_status oti_shape_forward_expand(ot_node_ctx *c) {
    const ot_tensor *y = c->out[0];
    int64_t src_strides[OT_MAX_DIMS], dst_strides[OT_MAX_DIMS];
    broadcast_strides(c->in[0], y->ndim, src_strides);
    oti_shape_strides(y->ndim, y->dims, dst_strides);
    oti_shape_copy(y->data, dst_strides, 0, c->in[0]->data, src_strides, 0, y->ndim, y->dims,
                  ot_dtype_size(y->dtype));
    return OT_OK;
}

ot_status oti_shape_backward_expand(ot_node_ctx *c) {
    if (!c->din[0] || !c->dout[0]) return OT_OK;
    const ot_tensor *y = c->out[0];
    int64_t x_strides[OT_MAX_DIMS], y_strides[OT_MAX_DIMS];
    broadcast_strides(c->in[0], y->ndim, x_strides);
    oti_shape_strides(y->ndim, y->dims, y_strides);
    oti_shape_accumulate(c->din[0]->data, x_strides, 0, c->dout[0]->data, y_strides, 0, y->ndim,
                        y->dims);
    return OT_OK;
}

/* Tile ----------------------------------------------------------------------------------- */

ot_status oti_shape_infer_tile(ot_node_ctx *c) {
    OT_TRY(oti_shape_check_data(c));
    const ot_tensor *x = c->in[0];
    int64_t repeats[OT_MAX_DIMS], dims[OT_MAX_DIMS];
    int n;
    OT_TRY(oti_shape_known_ints(c, 1, "repeats", repeats, OT_MAX_DIMS, &n));
    OT_NODE_CHECK(c, n == x->ndim, "repeats has %d values, but the input has rank %d", n, x->ndim);
    for (int d = 0; d < n; d++) {
        OT_NODE_CHECK(c, repeats[d] >= 0, "repeats[%d] is negative (%lld)", d, (long long)repeats[d]);
        OT_NODE_CHECK(c, repeats[d] == 0 || x->dims[d] <= INT64_MAX / repeats[d],
                      "repeats[%d] = %lld makes the output too large", d, (long long)repeats[d]);
        dims[d] = x->dims[d] * repeats[d];
    }
    ot_tensor_set_shape(c->out[0], x->dtype, x->ndim, dims);
    return OT_OK;
}

/* The output viewed as (repeat_0, dim_0, repeat_1, dim_1, ...): its strides, and the input's
 * (0 for the repeat dims). */
static void tile_view(const ot_node_ctx *c, int64_t *dims, int64_t *y_strides, int64_t *x_strides) {
    const ot_tensor *x = c->in[0], *y = c->out[0];
    int64_t xs[OT_MAX_DIMS], ys[OT_MAX_DIMS];
    oti_shape_strides(x->ndim, x->dims, xs);
    oti_shape_strides(y->ndim, y->dims, ys);
    for (int d = 0; d < x->ndim; d++) {
        int64_t repeat = x->dims[d] ? y->dims[d] / x->dims[d] : 0;
        dims[2 * d] = repeat;
        dims[2 * d + 1] = x->dims[d];
        y_strides[2 * d] = x->dims[d] * ys[d];
        y_strides[2 * d + 1] = ys[d];
        x_strides[2 * d] = 0;
        x_strides[2 * d + 1] = xs[d];
    }
}

ot_status oti_shape_forward_tile(ot_node_ctx *c) {
    int64_t dims[OT_SHAPE_MAX_WALK], ys[OT_SHAPE_MAX_WALK], xs[OT_SHAPE_MAX_WALK];
    tile_view(c, dims, ys, xs);
    oti_shape_copy(c->out[0]->data, ys, 0, c->in[0]->data, xs, 0, 2 * c->in[0]->ndim, dims,
                  ot_dtype_size(c->in[0]->dtype));
    return OT_OK;
}

ot_status oti_shape_backward_tile(ot_node_ctx *c) {
    if (!c->din[0] || !c->dout[0]) return OT_OK;
    int64_t dims[OT_SHAPE_MAX_WALK], ys[OT_SHAPE_MAX_WALK], xs[OT_SHAPE_MAX_WALK];
    tile_view(c, dims, ys, xs);
    oti_shape_accumulate(c->din[0]->data, xs, 0, c->dout[0]->data, ys, 0, 2 * c->in[0]->ndim, dims);
    return OT_OK;
}
