/* OneHot (opsets 9, 11): indices (float32 or int64; floats truncate, negative ones count from
 * the end: opset 11's rule, applied to opset 9 too), a scalar depth (float32 or int64) and values
 * [off, on] give an output with a new dim of size depth at `axis` (default -1, counted in the
 * output's rank): on where the index matches, off elsewhere; an index outside
 * [-depth, depth) gives a row of off. depth decides the output shape, so it must be known when
 * the plan is built. Backward sums the gradient into values: on-positions to values[1], the
 * rest to values[0]; indices and depth carry none. */
#include <math.h>
#include <string.h>

#include "shape_internal.h"

ot_status oti_shape_parse_onehot(const ot_layer *l, void *params) {
    ot_shape_onehot_params *p = params;
    return oti_attr_get_int(l, "axis", -1, &p->axis);
}

static int64_t onehot_depth(const ot_tensor *d) {
    return d->dtype == OT_FLOAT ? (int64_t)((const float *)d->data)[0] : ((const int64_t *)d->data)[0];
}

/* The output (outer, depth, inner) around the new axis. */
typedef struct onehot_view {
    int64_t outer, depth, inner;
} onehot_view;

static ot_status onehot_view_of(const ot_node_ctx *c, onehot_view *v, int *axis) {
    const ot_shape_onehot_params *p = c->params;
    const ot_tensor *idx = c->in[0];
    *axis = oti_normalize_axis(p->axis, idx->ndim + 1);
    OT_NODE_CHECK(c, *axis >= 0, "axis %lld is out of range for an output of rank %d", (long long)p->axis,
                  idx->ndim + 1);
    v->outer = ot_dims_numel(*axis, idx->dims);
    v->inner = ot_dims_numel(idx->ndim - *axis, idx->dims + *axis);
    v->depth = onehot_depth(c->in[1]);
    return OT_OK;
}

ot_status oti_shape_infer_onehot(ot_node_ctx *c) {
    OT_NODE_CHECK(c, c->n_in == 3 && c->in[0] && c->in[1] && c->in[2], "needs inputs indices, depth and values");
    const ot_tensor *idx = c->in[0], *depth = c->in[1], *values = c->in[2];
    OT_NODE_CHECK(c, idx->dtype == OT_FLOAT || idx->dtype == OT_INT64, "indices must be float32 or int64, not %s",
                  ot_dtype_name(idx->dtype));
    OT_NODE_CHECK(c, (depth->dtype == OT_FLOAT || depth->dtype == OT_INT64) && ot_tensor_numel(depth) == 1,
                  "depth must be one float32 or int64 value");
    if (!c->in_known[1])
        return oti_node_fail(c->layer, OT_ERR_UNSUPPORTED,
                            "input depth must be known when the plan is built (it decides the output shape)");
    ot_dtype t = values->dtype;
    OT_NODE_CHECK(c, (t == OT_FLOAT || t == OT_INT64 || t == OT_BOOL) && ot_tensor_numel(values) == 2,
                  "values must be [off, on] in float32, int64 or bool");
    OT_NODE_CHECK(c, idx->ndim < OT_MAX_DIMS, "indices of rank %d leave no room for the new dim", idx->ndim);
    onehot_view v;
    int axis;
    OT_TRY(onehot_view_of(c, &v, &axis));
    OT_NODE_CHECK(c, v.depth > 0, "depth must be positive, not %lld", (long long)v.depth);
    int64_t dims[OT_MAX_DIMS];
    for (int d = 0, s = 0; d <= idx->ndim; d++) dims[d] = d == axis ? v.depth : idx->dims[s++];
    ot_tensor_set_shape(c->out[0], t, idx->ndim + 1, dims);
    c->out[0]->declared = ot_tensor_declared(values);
    return OT_OK;
}

/* The position along depth that index i of the indices turns on, or -1 (out of range). */
static int64_t onehot_position(const ot_tensor *idx, int64_t i, int64_t depth) {
    int64_t k;
    if (idx->dtype == OT_INT64) {
        k = ((const int64_t *)idx->data)[i];
    } else {
        float f = ((const float *)idx->data)[i];
        if (!(fabsf(f) < (float)depth + 1.0f)) return -1; /* NaN, far out of range */
        k = (int64_t)f;
    }
    if (k < 0) k += depth;
    return k >= 0 && k < depth ? k : -1;
}

ot_status oti_shape_forward_onehot(ot_node_ctx *c) {
    onehot_view v;
    int axis;
    OT_TRY(onehot_view_of(c, &v, &axis));
    size_t elem = ot_dtype_size(c->out[0]->dtype);
    const unsigned char *values = c->in[2]->data; /* [off, on] */
    unsigned char *y = c->out[0]->data; // (outer, depth, inner)
    for (int64_t o = 0; o < v.outer; o++)
        for (int64_t d = 0; d < v.depth; d++)
            for (int64_t j = 0; j < v.inner; j++) {
                int on = onehot_position(c->in[0], o * v.inner + j, v.depth) == d;
                memcpy(y + ((o * v.depth + d) * v.inner + j) * elem, values + (size_t)on * elem, elem);
            }
    return OT_OK;
}

ot_status oti_shape_backward_onehot(ot_node_ctx *c) {
    if (!c->din[2] || !c->dout[0] || c->out[0]->dtype != OT_FLOAT) return OT_OK;
    onehot_view v;
    int axis;
    OT_TRY(onehot_view_of(c, &v, &axis));
    const float *g = c->dout[0]->data; // (outer, depth, inner)
    double sums[2] = {0.0, 0.0};       /* off, on */
    for (int64_t o = 0; o < v.outer; o++)
        for (int64_t d = 0; d < v.depth; d++)
            for (int64_t j = 0; j < v.inner; j++)
                sums[onehot_position(c->in[0], o * v.inner + j, v.depth) == d] += g[(o * v.depth + d) * v.inner + j];
    float *dv = c->din[2]->data;
    dv[0] += (float)sums[0];
    dv[1] += (float)sums[1];
    return OT_OK;
}
