/* Element-wise index ops along one axis: GatherElements (out[i] = data[i with i[axis] =
 * indices[i]]) and ScatterElements / Scatter (out = data, then out[i with i[axis] =
 * indices[i]] = reduce(out[...], updates[i])). Both walk the indices tensor; each position
 * names one data element. Negative indices count from the end of the axis; an index out of
 * range is an error naming the node.
 *
 * Backward: GatherElements scatter-adds dy into ddata. ScatterElements with reduction none
 * passes dy to data except at the written positions, and dy at those positions to updates;
 * with add it passes dy to data unchanged. mul/max/min have no gradient here. */
#include <string.h>

#include "core/util.h"
#include "shape_internal.h"

ot_status oti_shape_parse_elements(const ot_layer *l, void *params) {
    ot_shape_scatter_params *p = params;
    OT_TRY(oti_attr_get_int(l, "axis", 0, &p->axis));
    return oti_shape_parse_reduction(l, &p->reduction);
}

ot_status oti_shape_parse_reduction(const ot_layer *l, ot_scatter_reduction *out) {
    static const char *const names[] = {"none", "add", "mul", "max", "min"};
    const char *s;
    OT_TRY(oti_attr_get_string(l, "reduction", "none", &s));
    for (int i = 0; i < 5; i++)
        if (!strcmp(s, names[i])) {
            *out = (ot_scatter_reduction)i;
            return OT_OK;
        }
    return oti_node_fail(l, OT_ERR_INVALID, "reduction '%s' is not one of none, add, mul, max, min", s);
}

/* The data element reduction r combines value v into. */
void oti_shape_reduce_into(float *dst, float v, ot_scatter_reduction r) {
    switch (r) {
    case OT_SCATTER_ADD: *dst += v; break;
    case OT_SCATTER_MUL: *dst *= v; break;
    case OT_SCATTER_MAX: *dst = *dst > v ? *dst : v; break;
    case OT_SCATTER_MIN: *dst = *dst < v ? *dst : v; break;
    default: *dst = v;
    }
}

ot_status oti_shape_check_indices(const ot_node_ctx *c, int k) {
    OT_NODE_CHECK(c, c->n_in > k && c->in[k], "needs an indices input");
    OT_NODE_CHECK(c, c->in[k]->dtype == OT_INT64 || c->in[k]->dtype == OT_INT32,
                  "indices must be int64 or int32, not %s", ot_dtype_name(c->in[k]->dtype));
    return OT_OK;
}

/* Data offset of position j of indices (same rank as data, dims no larger off the axis). */
static ot_status element_offset(const ot_node_ctx *c, int axis, int64_t j, int64_t *out) {
    const ot_tensor *x = c->in[0], *idx = c->in[1];
    int64_t rest = j, offset = 0, stride = 1;
    for (int d = x->ndim - 1; d >= 0; d--) {
        int64_t i = rest % idx->dims[d];
        rest /= idx->dims[d];
        if (d == axis) {
            int64_t v = oti_shape_int_at(idx, j);
            i = v < 0 ? v + x->dims[d] : v;
            OT_NODE_CHECK(c, i >= 0 && i < x->dims[d], "index %lld (at position %lld of the indices) "
                          "is out of range for axis %d of size %lld", (long long)v, (long long)j, axis,
                          (long long)x->dims[d]);
        }
        offset += i * stride;
        stride *= x->dims[d];
    }
    *out = offset;
    return OT_OK;
}

void oti_shape_scatter_pass_through(const ot_node_ctx *c, const unsigned char *written) {
    if (!c->din[0]) return;
    float *dx = c->din[0]->data;
    const float *dy = c->dout[0]->data;
    for (int64_t i = 0, n = ot_tensor_numel(c->in[0]); i < n; i++)
        if (!written[i]) dx[i] += dy[i];
}

/* Checks data, indices (and updates, of the indices' shape); returns the axis. */
static ot_status elements_check(const ot_node_ctx *c, int with_updates, int *axis) {
    const ot_shape_scatter_params *p = c->params;
    OT_TRY(oti_shape_check_data(c));
    OT_TRY(oti_shape_check_indices(c, 1));
    const ot_tensor *x = c->in[0], *idx = c->in[1];
    *axis = oti_normalize_axis(p->axis, x->ndim);
    OT_NODE_CHECK(c, *axis >= 0, "axis %lld is out of range for rank %d", (long long)p->axis, x->ndim);
    OT_NODE_CHECK(c, idx->ndim == x->ndim, "indices have rank %d but data has rank %d", idx->ndim, x->ndim);
    for (int d = 0; d < x->ndim; d++)
        OT_NODE_CHECK(c, d == *axis || idx->dims[d] <= x->dims[d],
                      "indices dim %d is %lld, larger than data's %lld", d, (long long)idx->dims[d],
                      (long long)x->dims[d]);
    if (!with_updates) return OT_OK;
    OT_NODE_CHECK(c, c->n_in > 2 && c->in[2], "needs an updates input");
    const ot_tensor *u = c->in[2];
    OT_NODE_CHECK(c, u->dtype == x->dtype && u->ndim == idx->ndim &&
                         !memcmp(u->dims, idx->dims, sizeof(int64_t) * (size_t)u->ndim),
                  "updates must have the indices' shape and the data's dtype");
    return OT_OK;
}

/* GatherElements ------------------------------------------------------------------------- */

ot_status oti_shape_infer_gather_elements(ot_node_ctx *c) {
    int axis;
    OT_TRY(elements_check(c, 0, &axis));
    ot_tensor_set_shape(c->out[0], c->in[0]->dtype, c->in[1]->ndim, c->in[1]->dims);
    return OT_OK;
}

ot_status oti_shape_forward_gather_elements(ot_node_ctx *c) {
    int axis;
    OT_TRY(elements_check(c, 0, &axis));
    size_t elem = ot_dtype_size(c->in[0]->dtype);
    const char *x = c->in[0]->data;
    char *y = c->out[0]->data;
    for (int64_t j = 0, n = ot_tensor_numel(c->in[1]); j < n; j++) {
        int64_t off;
        OT_TRY(element_offset(c, axis, j, &off));
        memcpy(y + j * (int64_t)elem, x + off * (int64_t)elem, elem);
    }
    return OT_OK;
}

ot_status oti_shape_backward_gather_elements(ot_node_ctx *c) {
    if (!c->din[0] || !c->dout[0]) return OT_OK;
    int axis;
    OT_TRY(elements_check(c, 0, &axis));
    float *dx = c->din[0]->data;
    const float *dy = c->dout[0]->data;
    for (int64_t j = 0, n = ot_tensor_numel(c->in[1]); j < n; j++) {
        int64_t off;
        OT_TRY(element_offset(c, axis, j, &off));
        dx[off] += dy[j];
    }
    return OT_OK;
}

/* ScatterElements ------------------------------------------------------------------------ */

ot_status oti_shape_infer_scatter_elements(ot_node_ctx *c) {
    const ot_shape_scatter_params *p = c->params;
    int axis;
    OT_TRY(elements_check(c, 1, &axis));
    OT_NODE_CHECK(c, p->reduction == OT_SCATTER_NONE || c->in[0]->dtype == OT_FLOAT,
                  "reductions are supported on float32 data only, not %s", ot_dtype_name(c->in[0]->dtype));
    ot_tensor_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->ndim, c->in[0]->dims);
    c->workspace_bytes = (size_t)ot_tensor_numel(c->in[0]); /* backward's written mask */
    return OT_OK;
}

ot_status oti_shape_forward_scatter_elements(ot_node_ctx *c) {
    const ot_shape_scatter_params *p = c->params;
    int axis;
    OT_TRY(elements_check(c, 1, &axis));
    size_t elem = ot_dtype_size(c->in[0]->dtype);
    int64_t n = ot_tensor_numel(c->in[1]);
    /* Check every index before writing anything. */
    for (int64_t j = 0, off; j < n; j++) OT_TRY(element_offset(c, axis, j, &off));
    memcpy(c->out[0]->data, c->in[0]->data, elem * (size_t)ot_tensor_numel(c->in[0]));
    char *y = c->out[0]->data;
    const char *u = c->in[2]->data;
    for (int64_t j = 0, off; j < n; j++) {
        element_offset(c, axis, j, &off);
        if (p->reduction == OT_SCATTER_NONE) memcpy(y + off * (int64_t)elem, u + j * (int64_t)elem, elem);
        else oti_shape_reduce_into((float *)y + off, ((const float *)u)[j], p->reduction);
    }
    return OT_OK;
}

ot_status oti_shape_check_scatter_gradient(const ot_node_ctx *c, ot_scatter_reduction r) {
    if (r == OT_SCATTER_NONE || r == OT_SCATTER_ADD) return OT_OK;
    return oti_node_fail(c->layer, OT_ERR_UNSUPPORTED,
                         "has no gradient for reduction mul, max or min (only none and add)");
}

/* ddata = dy, but 0 at written positions for reduction none; dupdates[j] = dy[written j].
 * With duplicate indices and reduction none the last write wins in forward, and every
 * duplicate gets dy (the spec leaves their order open). The workspace marks the written
 * positions, (numel of data) bytes. */
ot_status oti_shape_backward_scatter_elements(ot_node_ctx *c) {
    const ot_shape_scatter_params *p = c->params;
    if (!c->dout[0]) return OT_OK;
    OT_TRY(oti_shape_check_scatter_gradient(c, p->reduction));
    int axis;
    OT_TRY(elements_check(c, 1, &axis));
    const float *dy = c->dout[0]->data;
    unsigned char *written = c->workspace;
    float *du = c->din[2] ? c->din[2]->data : NULL;
    memset(written, 0, (size_t)ot_tensor_numel(c->in[0]));
    for (int64_t j = 0, n = ot_tensor_numel(c->in[1]), off; j < n; j++) {
        OT_TRY(element_offset(c, axis, j, &off));
        if (du) du[j] += dy[off];
        written[off] = p->reduction == OT_SCATTER_NONE;
    }
    oti_shape_scatter_pass_through(c, written);
    return OT_OK;
}
