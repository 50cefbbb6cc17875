/* Slice (a strided view: start offset, step-scaled strides, clamped as the spec says) and
 * Gather (rows picked by an index tensor; backward scatter-adds into the data gradient, so
 * an index picked twice gets both gradients). */
#include <string.h>

#include "core/util.h"
#include "shape_internal.h"

/* Slice ---------------------------------------------------------------------------------- */

ot_status oti_shape_parse_slice(const ot_layer *l, void *params) {
    ot_shape_slice_params *p = params;
    p->n_starts = p->n_ends = p->n_axes = -1;
    if (l->opset >= 10) return OT_OK; /* starts, ends, axes, steps are inputs */
    OT_TRY(oti_attr_get_ints(l, "starts", p->starts, OT_MAX_DIMS, &p->n_starts));
    OT_TRY(oti_attr_get_ints(l, "ends", p->ends, OT_MAX_DIMS, &p->n_ends));
    OT_TRY(oti_attr_get_ints(l, "axes", p->axes, OT_MAX_DIMS, &p->n_axes));
    if (p->n_starts < 0 || p->n_ends < 0)
        return oti_node_fail(l, OT_ERR_INVALID, "needs 'starts' and 'ends' attributes");
    return OT_OK;
}

typedef struct slice_spec {
    int n; /* number of sliced axes */
    int64_t starts[OT_MAX_DIMS], ends[OT_MAX_DIMS], steps[OT_MAX_DIMS];
    int64_t axes[OT_MAX_DIMS];
} slice_spec;

/* starts/ends/axes/steps from attributes (opset < 10) or known inputs; axes default to
 * 0..n-1 and steps to 1. */
static ot_status slice_spec_read(const ot_node_ctx *c, slice_spec *s) {
    const ot_shape_slice_params *p = c->params;
    int n_ends, n_axes = -1, n_steps = -1;
    if (c->layer->opset < 10) {
        s->n = p->n_starts;
        n_ends = p->n_ends;
        n_axes = p->n_axes;
        memcpy(s->starts, p->starts, sizeof s->starts);
        memcpy(s->ends, p->ends, sizeof s->ends);
        memcpy(s->axes, p->axes, sizeof s->axes);
    } else {
        OT_TRY(oti_shape_known_ints(c, 1, "starts", s->starts, OT_MAX_DIMS, &s->n));
        OT_TRY(oti_shape_known_ints(c, 2, "ends", s->ends, OT_MAX_DIMS, &n_ends));
        if (c->n_in > 3 && c->in[3]) OT_TRY(oti_shape_known_ints(c, 3, "axes", s->axes, OT_MAX_DIMS, &n_axes));
        if (c->n_in > 4 && c->in[4]) OT_TRY(oti_shape_known_ints(c, 4, "steps", s->steps, OT_MAX_DIMS, &n_steps));
    }
    OT_NODE_CHECK(c, n_ends == s->n, "starts has %d values but ends has %d", s->n, n_ends);
    OT_NODE_CHECK(c, n_axes < 0 || n_axes == s->n, "starts has %d values but axes has %d", s->n, n_axes);
    OT_NODE_CHECK(c, n_steps < 0 || n_steps == s->n, "starts has %d values but steps has %d", s->n, n_steps);
    for (int i = 0; i < s->n; i++) {
        if (n_axes < 0) s->axes[i] = i;
        if (n_steps < 0) s->steps[i] = 1;
        OT_NODE_CHECK(c, s->steps[i] != 0, "step %d is 0", i);
    }
    return OT_OK;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* The output dims and the view of the input that produces them: per output dim the input
 * stride (times the step), and the offset of the first element. */
static ot_status slice_view(const ot_node_ctx *c, int64_t *dims, int64_t *src_strides, int64_t *src_offset) {
    const ot_tensor *x = c->in[0];
    slice_spec s;
    int axes[OT_MAX_DIMS];
    OT_TRY(slice_spec_read(c, &s));
    OT_TRY(oti_shape_normalize_axes(c, s.axes, s.n, x->ndim, axes));
    oti_shape_strides(x->ndim, x->dims, src_strides);
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->ndim);
    *src_offset = 0;
    for (int i = 0; i < s.n; i++) {
        int a = axes[i];
        int64_t dim = x->dims[a], step = s.steps[i];
        /* A step longer than the dim picks at most one element either way; capping it keeps
         * the stride product and -step from overflowing. */
        if (step > dim || step < -dim) step = step > 0 ? OT_MAX(dim, 1) : -OT_MAX(dim, 1);
        int64_t start = s.starts[i] < 0 ? s.starts[i] + dim : s.starts[i];
        int64_t end = s.ends[i] < 0 ? s.ends[i] + dim : s.ends[i];
        int64_t len;
        if (step > 0) { /* start and end clamp to [0, dim] */
            start = clamp64(start, 0, dim);
            end = clamp64(end, 0, dim);
            len = end > start ? (end - start - 1) / step + 1 : 0;
        } else { /* start clamps to [0, dim - 1], end to [-1, dim - 1] */
            start = clamp64(start, 0, dim - 1);
            end = clamp64(end, -1, dim - 1);
            len = start > end ? (start - end - 1) / -step + 1 : 0;
        }
        if (dim == 0) len = 0;
        dims[a] = len;
        if (len) *src_offset += start * src_strides[a];
        src_strides[a] *= step;
    }
    return OT_OK;
}

ot_status oti_shape_infer_slice(ot_node_ctx *c) {
    OT_TRY(oti_shape_check_data(c));
    int64_t dims[OT_MAX_DIMS], strides[OT_MAX_DIMS], offset;
    OT_TRY(slice_view(c, dims, strides, &offset));
    ot_tensor_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->ndim, dims);
    return OT_OK;
}

ot_status oti_shape_forward_slice(ot_node_ctx *c) {
    const ot_tensor *y = c->out[0];
    int64_t dims[OT_MAX_DIMS], src_strides[OT_MAX_DIMS], dst_strides[OT_MAX_DIMS], offset;
    OT_TRY(slice_view(c, dims, src_strides, &offset));
    oti_shape_strides(y->ndim, y->dims, dst_strides);
    oti_shape_copy(y->data, dst_strides, 0, c->in[0]->data, src_strides, offset, y->ndim, y->dims,
                  ot_dtype_size(y->dtype));
    return OT_OK;
}

ot_status oti_shape_backward_slice(ot_node_ctx *c) {
    if (!c->din[0] || !c->dout[0]) return OT_OK;
    const ot_tensor *y = c->out[0];
    int64_t dims[OT_MAX_DIMS], x_strides[OT_MAX_DIMS], y_strides[OT_MAX_DIMS], offset;
    OT_TRY(slice_view(c, dims, x_strides, &offset));
    oti_shape_strides(y->ndim, y->dims, y_strides);
    oti_shape_accumulate(c->din[0]->data, x_strides, offset, c->dout[0]->data, y_strides, 0,
                        y->ndim, y->dims);
    return OT_OK;
}

/* Gather --------------------------------------------------------------------------------- */

/* data viewed as (outer, dim, inner) around the axis; indices flattened to n_idx. */
typedef struct gather_view {
    int64_t outer, dim, inner, n_idx;
} gather_view;

static gather_view gather_layout(const ot_node_ctx *c) {
    const ot_shape_gather_params *p = c->params;
    const ot_tensor *x = c->in[0];
    int axis = oti_normalize_axis(p->axis, x->ndim);
    gather_view v = {ot_dims_numel(axis, x->dims), x->dims[axis],
                     ot_dims_numel(x->ndim - axis - 1, x->dims + axis + 1), ot_tensor_numel(c->in[1])};
    return v;
}

/* Index j, negative ones counted from the end; an index out of range is an error. */
static ot_status gather_index(const ot_node_ctx *c, const gather_view *v, int64_t j, int64_t *out) {
    int64_t i = oti_shape_int_at(c->in[1], j);
    int64_t k = i < 0 ? i + v->dim : i;
    /* Names the table: a position table shorter than the sequence shows up here. */
    int data = c->layer->inputs[0];
    OT_NODE_CHECK(c, k >= 0 && k < v->dim, "index %lld (at position %lld of the indices) is out "
                  "of range for an axis of size %lld of '%s'", (long long)i, (long long)j, (long long)v->dim,
                  data >= 0 ? c->model->values[data].name : "data");
    *out = k;
    return OT_OK;
}

ot_status oti_shape_parse_gather(const ot_layer *l, void *params) {
    ot_shape_gather_params *p = params;
    return oti_attr_get_int(l, "axis", 0, &p->axis);
}

ot_status oti_shape_infer_gather(ot_node_ctx *c) {
    const ot_shape_gather_params *p = c->params;
    OT_TRY(oti_shape_check_data(c));
    OT_NODE_CHECK(c, c->n_in >= 2 && c->in[1], "needs inputs data and indices");
    const ot_tensor *x = c->in[0], *idx = c->in[1];
    OT_NODE_CHECK(c, idx->dtype == OT_INT64 || idx->dtype == OT_INT32,
                  "indices must be int64 or int32, not %s", ot_dtype_name(idx->dtype));
    int axis = oti_normalize_axis(p->axis, x->ndim);
    OT_NODE_CHECK(c, axis >= 0, "axis %lld is out of range for rank %d", (long long)p->axis, x->ndim);
    int rank = x->ndim - 1 + idx->ndim;
    OT_NODE_CHECK(c, rank <= OT_MAX_DIMS, "output would have %d dims; at most %d are supported",
                  rank, OT_MAX_DIMS);
    /* (data dims before axis, indices dims, data dims after axis) */
    int64_t dims[OT_MAX_DIMS];
    int n = 0;
    for (int d = 0; d < axis; d++) dims[n++] = x->dims[d];
    for (int d = 0; d < idx->ndim; d++) dims[n++] = idx->dims[d];
    for (int d = axis + 1; d < x->ndim; d++) dims[n++] = x->dims[d];
    ot_tensor_set_shape(c->out[0], x->dtype, rank, dims);
    /* Indices known now (positions from a folded Range) are checked now: a sequence longer
     * than a position table fails when the plan is built, before any training step. */
    if (c->in_known && c->in_known[1] && idx->data) {
        gather_view v = gather_layout(c);
        for (int64_t j = 0; j < v.n_idx; j++) {
            int64_t k;
            OT_TRY(gather_index(c, &v, j, &k));
        }
    }
    return OT_OK;
}

ot_status oti_shape_forward_gather(ot_node_ctx *c) {
    gather_view v = gather_layout(c);
    size_t elem = ot_dtype_size(c->in[0]->dtype), row = (size_t)v.inner * elem;
    const char *x = c->in[0]->data;
    char *y = c->out[0]->data;
    /* Check every index before writing anything. */
    for (int64_t j = 0; j < v.n_idx; j++) {
        int64_t k;
        OT_TRY(gather_index(c, &v, j, &k));
    }
    for (int64_t o = 0; o < v.outer; o++)
        for (int64_t j = 0; j < v.n_idx; j++) {
            int64_t k;
            gather_index(c, &v, j, &k);
            if (row) memcpy(y + ((o * v.n_idx + j) * (int64_t)row), x + ((o * v.dim + k) * (int64_t)row), row);
        }
    return OT_OK;
}

ot_status oti_shape_backward_gather(ot_node_ctx *c) {
    if (!c->din[0] || !c->dout[0]) return OT_OK;
    gather_view v = gather_layout(c);
    float *dx = c->din[0]->data;
    const float *dy = c->dout[0]->data;
    for (int64_t o = 0; o < v.outer; o++)
        for (int64_t j = 0; j < v.n_idx; j++) {
            int64_t k;
            OT_TRY(gather_index(c, &v, j, &k));
            float *to = dx + (o * v.dim + k) * v.inner;
            const float *from = dy + (o * v.n_idx + j) * v.inner;
            for (int64_t i = 0; i < v.inner; i++) to[i] += from[i];
        }
    return OT_OK;
}
