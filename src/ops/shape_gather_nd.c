/* Index-tuple ops: GatherND (batch_dims b) and ScatterND. indices (B..., M..., k): each of
 * the M tuples of k indices picks a slice data[batch, i0, .., ik-1, ...] of `inner` elements
 * (the data dims after b + k). GatherND copies the slices out, ScatterND writes (or reduces)
 * updates (B..., M..., inner dims) into a copy of data. Negative indices count from the end;
 * one out of range is an error naming the node.
 *
 * Backward: GatherND scatter-adds dy into ddata; ScatterND passes dy to data (0 at written
 * slices for reduction none) and gathers dy into dupdates. */
#include <string.h>

#include "core/util.h"
#include "shape_internal.h"

/* data viewed as (batches, slice dims..., inner); indices as (batches, tuples, k). */
typedef struct nd_view {
    int b, k;
    int64_t batches, tuples, inner, batch_size; /* batch_size: data elements per batch */
} nd_view;

ot_status oti_shape_parse_nd(const ot_layer *l, void *params) {
    ot_shape_scatter_params *p = params;
    OT_TRY(oti_attr_get_int(l, "batch_dims", 0, &p->batch_dims));
    return oti_shape_parse_reduction(l, &p->reduction);
}

/* Checks data and indices and fills the view. */
static ot_status nd_view_of(const ot_node_ctx *c, nd_view *v) {
    const ot_shape_scatter_params *p = c->params;
    OT_TRY(oti_shape_check_data(c));
    OT_TRY(oti_shape_check_indices(c, 1));
    const ot_tensor *x = c->in[0], *idx = c->in[1];
    int64_t b = p->batch_dims;
    OT_NODE_CHECK(c, idx->ndim >= 1 && b >= 0 && b < idx->ndim && b < x->ndim,
                  "batch_dims %lld must be less than the ranks of data (%d) and indices (%d)",
                  (long long)b, x->ndim, idx->ndim);
    v->b = (int)b;
    int64_t k = idx->dims[idx->ndim - 1];
    OT_NODE_CHECK(c, k >= 1 && k <= x->ndim - b, "index tuples have %lld values; data has %lld "
                  "dims after the batch dims", (long long)k, (long long)(x->ndim - b));
    v->k = (int)k;
    for (int d = 0; d < v->b; d++)
        OT_NODE_CHECK(c, idx->dims[d] == x->dims[d], "batch dim %d is %lld in indices but %lld in data",
                      d, (long long)idx->dims[d], (long long)x->dims[d]);
    v->batches = ot_dims_numel(v->b, x->dims);
    v->tuples = ot_dims_numel(idx->ndim - 1 - v->b, idx->dims + v->b);
    v->inner = ot_dims_numel(x->ndim - v->b - v->k, x->dims + v->b + v->k);
    v->batch_size = ot_dims_numel(x->ndim - v->b, x->dims + v->b);
    return OT_OK;
}

/* Data offset of the slice tuple t of batch bi picks. */
static ot_status nd_offset(const ot_node_ctx *c, const nd_view *v, int64_t bi, int64_t t, int64_t *out) {
    const ot_tensor *x = c->in[0], *idx = c->in[1];
    int64_t first = (bi * v->tuples + t) * v->k, offset = 0;
    for (int i = 0; i < v->k; i++) {
        int64_t dim = x->dims[v->b + i], raw = oti_shape_int_at(idx, first + i);
        int64_t at = raw < 0 ? raw + dim : raw;
        OT_NODE_CHECK(c, at >= 0 && at < dim, "index %lld (value %d of tuple %lld) is out of range "
                      "for data dim %d of size %lld", (long long)raw, i, (long long)(bi * v->tuples + t),
                      v->b + i, (long long)dim);
        offset = offset * dim + at;
    }
    *out = bi * v->batch_size + offset * v->inner;
    return OT_OK;
}

/* Checks every tuple, so kernels that write check before writing. */
static ot_status nd_check_all(const ot_node_ctx *c, const nd_view *v) {
    int64_t off;
    for (int64_t bi = 0; bi < v->batches; bi++)
        for (int64_t t = 0; t < v->tuples; t++) OT_TRY(nd_offset(c, v, bi, t, &off));
    return OT_OK;
}

/* GatherND ------------------------------------------------------------------------------- */

/* Output: indices dims without the last, then the data dims after b + k. */
ot_status oti_shape_infer_gather_nd(ot_node_ctx *c) {
    nd_view v;
    OT_TRY(nd_view_of(c, &v));
    const ot_tensor *x = c->in[0], *idx = c->in[1];
    int64_t dims[OT_MAX_DIMS];
    int n = 0;
    for (int d = 0; d < idx->ndim - 1; d++) dims[n++] = idx->dims[d];
    OT_NODE_CHECK(c, n + x->ndim - v.b - v.k <= OT_MAX_DIMS, "output would have more than %d dims",
                  OT_MAX_DIMS);
    for (int d = v.b + v.k; d < x->ndim; d++) dims[n++] = x->dims[d];
    ot_tensor_set_shape(c->out[0], x->dtype, n, dims);
    return OT_OK;
}

ot_status oti_shape_forward_gather_nd(ot_node_ctx *c) {
    nd_view v;
    OT_TRY(nd_view_of(c, &v));
    size_t row = ot_dtype_size(c->in[0]->dtype) * (size_t)v.inner;
    const char *x = c->in[0]->data;
    char *y = c->out[0]->data;
    for (int64_t bi = 0; bi < v.batches; bi++)
        for (int64_t t = 0, off; t < v.tuples; t++) {
            OT_TRY(nd_offset(c, &v, bi, t, &off));
            if (row) memcpy(y + (bi * v.tuples + t) * (int64_t)row, x + off * (int64_t)(row / (size_t)v.inner), row);
        }
    return OT_OK;
}

ot_status oti_shape_backward_gather_nd(ot_node_ctx *c) {
    if (!c->din[0] || !c->dout[0]) return OT_OK;
    nd_view v;
    OT_TRY(nd_view_of(c, &v));
    float *dx = c->din[0]->data;
    const float *dy = c->dout[0]->data;
    for (int64_t bi = 0; bi < v.batches; bi++)
        for (int64_t t = 0, off; t < v.tuples; t++) {
            OT_TRY(nd_offset(c, &v, bi, t, &off));
            const float *from = dy + (bi * v.tuples + t) * v.inner;
            for (int64_t i = 0; i < v.inner; i++) dx[off + i] += from[i];
        }
    return OT_OK;
}

/* ScatterND ------------------------------------------------------------------------------ */

ot_status oti_shape_infer_scatter_nd(ot_node_ctx *c) {
    const ot_shape_scatter_params *p = c->params;
    nd_view v;
    OT_TRY(nd_view_of(c, &v));
    const ot_tensor *x = c->in[0];
    OT_NODE_CHECK(c, c->n_in > 2 && c->in[2], "needs an updates input");
    const ot_tensor *u = c->in[2];
    OT_NODE_CHECK(c, u->dtype == x->dtype && ot_tensor_numel(u) == v.tuples * v.inner,
                  "updates must have the data's dtype and shape indices.shape[:-1] + data.shape[k:]");
    OT_NODE_CHECK(c, p->reduction == OT_SCATTER_NONE || x->dtype == OT_FLOAT,
                  "reductions are supported on float32 data only, not %s", ot_dtype_name(x->dtype));
    ot_tensor_set_shape(c->out[0], x->dtype, x->ndim, x->dims);
    c->workspace_bytes = (size_t)ot_tensor_numel(x); /* backward's written mask */
    return OT_OK;
}

ot_status oti_shape_forward_scatter_nd(ot_node_ctx *c) {
    const ot_shape_scatter_params *p = c->params;
    nd_view v;
    OT_TRY(nd_view_of(c, &v));
    OT_TRY(nd_check_all(c, &v));
    size_t elem = ot_dtype_size(c->in[0]->dtype);
    memcpy(c->out[0]->data, c->in[0]->data, elem * (size_t)ot_tensor_numel(c->in[0]));
    char *y = c->out[0]->data;
    const char *u = c->in[2]->data;
    for (int64_t t = 0, off; t < v.tuples; t++) {
        nd_offset(c, &v, 0, t, &off);
        if (p->reduction == OT_SCATTER_NONE) {
            memcpy(y + off * (int64_t)elem, u + t * v.inner * (int64_t)elem, elem * (size_t)v.inner);
            continue;
        }
        for (int64_t i = 0; i < v.inner; i++)
            oti_shape_reduce_into((float *)y + off + i, ((const float *)u)[t * v.inner + i], p->reduction);
    }
    return OT_OK;
}

/* As ScatterElements: the workspace marks written elements, (numel of data) bytes. */
ot_status oti_shape_backward_scatter_nd(ot_node_ctx *c) {
    const ot_shape_scatter_params *p = c->params;
    if (!c->dout[0]) return OT_OK;
    OT_TRY(oti_shape_check_scatter_gradient(c, p->reduction));
    nd_view v;
    OT_TRY(nd_view_of(c, &v));
    const float *dy = c->dout[0]->data;
    unsigned char *written = c->workspace;
    float *du = c->din[2] ? c->din[2]->data : NULL;
    memset(written, 0, (size_t)ot_tensor_numel(c->in[0]));
    for (int64_t t = 0, off; t < v.tuples; t++) {
        OT_TRY(nd_offset(c, &v, 0, t, &off));
        for (int64_t i = 0; i < v.inner; i++) {
            if (du) du[t * v.inner + i] += dy[off + i];
            written[off + i] = p->reduction == OT_SCATTER_NONE;
        }
    }
    oti_shape_scatter_pass_through(c, written);
    return OT_OK;
}
