/* Ops that keep the data in order and change only the shape: Reshape, Flatten, Squeeze,
 * Unsqueeze (forward copies, backward adds the gradient back), and Shape and Size, which
 * read only their input's dims and so are folded when the plan is built. */
#include <stdio.h>
#include <string.h>

#include "shape_internal.h"

ot_status oti_shape_forward_view(ot_node_ctx *c) {
    size_t bytes = (size_t)ot_tensor_numel(c->in[0]) * ot_dtype_size(c->in[0]->dtype);
    if (bytes) memcpy(c->out[0]->data, c->in[0]->data, bytes);
    return OT_OK;
}

ot_status oti_shape_backward_view(ot_node_ctx *c) {
    if (!c->din[0] || !c->dout[0]) return OT_OK;
    float *dx = c->din[0]->data;
    const float *dy = c->dout[0]->data;
    int64_t n = ot_tensor_numel(c->in[0]);
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i];
    return OT_OK;
}

/* Shape ---------------------------------------------------------------------------------- */

ot_status oti_shape_parse_shape(const ot_layer *l, void *params) {
    ot_shape_axes_params *p = params;
    /* start/end exist from opset 15; older models never carry them. */
    OT_TRY(oti_attr_get_int(l, "start", 0, &p->axis));
    p->has_end = ot_layer_find_attr(l, "end") != NULL;
    OT_TRY(oti_attr_get_int(l, "end", 0, &p->end));
    return OT_OK;
}

/* The spec's clamping: negative values count from the end, then both clamp to [0, rank]. */
static void shape_range(const ot_node_ctx *c, int64_t *start, int64_t *end) {
    const ot_shape_axes_params *p = c->params;
    int64_t rank = c->in[0]->ndim;
    *start = p->axis < 0 ? p->axis + rank : p->axis;
    *end = !p->has_end ? rank : p->end < 0 ? p->end + rank : p->end;
    *start = *start < 0 ? 0 : *start > rank ? rank : *start;
    *end = *end < 0 ? 0 : *end > rank ? rank : *end;
    if (*end < *start) *end = *start;
}

ot_status oti_shape_infer_shape(ot_node_ctx *c) {
    OT_NODE_CHECK(c, c->n_in >= 1 && c->in[0], "needs an input");
    for (int d = 0; d < c->in[0]->ndim; d++)
        OT_NODE_CHECK(c, c->in[0]->dims[d] >= 0, "input dim %d is not known", d);
    int64_t start, end;
    shape_range(c, &start, &end);
    int64_t n = end - start;
    ot_tensor_set_shape(c->out[0], OT_INT64, 1, &n);
    c->out[0]->declared = OT_INT64; /* dims, whatever the input's dtype */
    return OT_OK;
}

ot_status oti_shape_forward_shape(ot_node_ctx *c) {
    int64_t start, end;
    shape_range(c, &start, &end);
    int64_t *y = c->out[0]->data;
    for (int64_t d = start; d < end; d++) y[d - start] = c->in[0]->dims[d];
    return OT_OK;
}

/* Size: the input's element count, an int64 scalar (shape only, like Shape). */

ot_status oti_shape_infer_size(ot_node_ctx *c) {
    OT_NODE_CHECK(c, c->n_in >= 1 && c->in[0], "needs an input");
    OT_NODE_CHECK(c, ot_tensor_numel(c->in[0]) >= 0, "input shape is not known");
    ot_tensor_set_shape(c->out[0], OT_INT64, 0, NULL);
    c->out[0]->declared = OT_INT64;
    return OT_OK;
}

ot_status oti_shape_forward_size(ot_node_ctx *c) {
    *(int64_t *)c->out[0]->data = ot_tensor_numel(c->in[0]);
    return OT_OK;
}

/* Reshape -------------------------------------------------------------------------------- */

ot_status oti_shape_parse_reshape(const ot_layer *l, void *params) {
    ot_shape_reshape_params *p = params;
    int64_t allowzero;
    OT_TRY(oti_attr_get_int(l, "allowzero", 0, &allowzero));
    p->allowzero = allowzero != 0;
    p->n_shape = -1;
    if (l->opset < 5) {
        OT_TRY(oti_attr_get_ints(l, "shape", p->shape, OT_MAX_DIMS, &p->n_shape));
        if (p->n_shape < 0) return oti_node_fail(l, OT_ERR_INVALID, "needs a 'shape' attribute");
    }
    return OT_OK;
}

/* "[2,-1,0]": a requested shape as written (ot_shape_string would show -1 as '?'). */
static const char *requested_shape(int n, const int64_t *values, char *buf, size_t size) {
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? "," : "", (long long)values[i]);
    if (used < size) snprintf(buf + used, size - used, "]");
    return buf;
}

/* Output dims from the requested shape: 0 copies the input's dim (unless allowzero), one -1
 * takes what is left; the element count must not change. */
static ot_status reshape_dims(const ot_node_ctx *c, const int64_t *target, int n, int allowzero,
                             int64_t *out) {
    const ot_tensor *x = c->in[0];
    int64_t numel = ot_tensor_numel(x), known = 1;
    int inferred = -1;
    char a[128], b[128];
    for (int i = 0; i < n; i++) {
        int64_t v = target[i];
        if (v == -1) {
            OT_NODE_CHECK(c, inferred < 0, "shape %s has more than one -1",
                          requested_shape(n, target, a, sizeof a));
            inferred = i;
            continue;
        }
        OT_NODE_CHECK(c, v >= 0, "shape %s has a negative dim %lld",
                      requested_shape(n, target, a, sizeof a), (long long)v);
        if (v == 0 && !allowzero) {
            OT_NODE_CHECK(c, i < x->ndim, "shape %s copies dim %d (0), but the input %s has "
                          "only %d dims", requested_shape(n, target, a, sizeof a), i,
                          ot_shape_string(x->ndim, x->dims, b, sizeof b), x->ndim);
            v = x->dims[i];
        }
        OT_NODE_CHECK(c, v == 0 || known <= INT64_MAX / v, "shape %s is too large",
                      requested_shape(n, target, a, sizeof a));
        out[i] = v;
        known *= v;
    }
    if (inferred >= 0) {
        OT_NODE_CHECK(c, known != 0, "shape %s: the -1 dim cannot be inferred next to a 0 dim",
                      requested_shape(n, target, a, sizeof a));
        out[inferred] = numel / known;
        known *= out[inferred];
    }
    OT_NODE_CHECK(c, known == numel, "cannot reshape %s (%lld elements) into %s",
                  ot_shape_string(x->ndim, x->dims, a, sizeof a), (long long)numel,
                  requested_shape(n, target, b, sizeof b));
    return OT_OK;
}

ot_status oti_shape_infer_reshape(ot_node_ctx *c) {
    const ot_shape_reshape_params *p = c->params;
    OT_TRY(oti_shape_check_data(c));
    int64_t target[OT_MAX_DIMS], dims[OT_MAX_DIMS];
    int n = p->n_shape;
    if (n >= 0) memcpy(target, p->shape, sizeof(int64_t) * (size_t)n);
    else OT_TRY(oti_shape_known_ints(c, 1, "shape", target, OT_MAX_DIMS, &n));
    OT_TRY(reshape_dims(c, target, n, p->allowzero, dims));
    ot_tensor_set_shape(c->out[0], c->in[0]->dtype, n, dims);
    return OT_OK;
}

ot_status oti_shape_forward_reshape(ot_node_ctx *c) { return oti_shape_forward_view(c); }
ot_status oti_shape_backward_reshape(ot_node_ctx *c) { return oti_shape_backward_view(c); }

/* Flatten -------------------------------------------------------------------------------- */

ot_status oti_shape_parse_flatten(const ot_layer *l, void *params) {
    ot_shape_axes_params *p = params;
    return oti_attr_get_int(l, "axis", 1, &p->axis);
}

ot_status oti_shape_infer_flatten(ot_node_ctx *c) {
    const ot_shape_axes_params *p = c->params;
    OT_TRY(oti_shape_check_data(c));
    const ot_tensor *x = c->in[0];
    /* axis is in [-rank, rank]: rank itself gives (numel, 1). Negative axes are accepted in
     * every opset (the spec added them in 11), since their meaning is unambiguous. */
    int64_t axis = p->axis < 0 ? p->axis + x->ndim : p->axis;
    OT_NODE_CHECK(c, axis >= 0 && axis <= x->ndim, "axis %lld is out of range for rank %d",
                  (long long)p->axis, x->ndim);
    int64_t dims[2] = {ot_dims_numel((int)axis, x->dims),
                       ot_dims_numel(x->ndim - (int)axis, x->dims + axis)};
    OT_NODE_CHECK(c, dims[0] >= 0 && dims[1] >= 0, "input shape is too large to flatten");
    ot_tensor_set_shape(c->out[0], x->dtype, 2, dims);
    return OT_OK;
}

ot_status oti_shape_forward_flatten(ot_node_ctx *c) { return oti_shape_forward_view(c); }
ot_status oti_shape_backward_flatten(ot_node_ctx *c) { return oti_shape_backward_view(c); }

/* Squeeze / Unsqueeze -------------------------------------------------------------------- */

ot_status oti_shape_parse_squeeze(const ot_layer *l, void *params) {
    ot_shape_axes_params *p = params;
    p->n_axes = -1;
    /* From opset 13 axes are an input, read in infer. */
    if (l->opset < 13) OT_TRY(oti_attr_get_ints(l, "axes", p->axes, OT_MAX_DIMS, &p->n_axes));
    return OT_OK;
}

/* The axes from the attribute (opset < 13) or the optional input 1; *n = -1 when absent. */
static ot_status squeeze_axes(const ot_node_ctx *c, int64_t *axes, int *n) {
    const ot_shape_axes_params *p = c->params;
    *n = p->n_axes;
    if (*n >= 0) memcpy(axes, p->axes, sizeof(int64_t) * (size_t)*n);
    else if (c->layer->opset >= 13 && c->n_in > 1 && c->in[1])
        OT_TRY(oti_shape_known_ints(c, 1, "axes", axes, OT_MAX_DIMS, n));
    return OT_OK;
}

ot_status oti_shape_infer_squeeze(ot_node_ctx *c) {
    OT_TRY(oti_shape_check_data(c));
    const ot_tensor *x = c->in[0];
    int64_t axes[OT_MAX_DIMS], dims[OT_MAX_DIMS];
    int n, normalized[OT_MAX_DIMS], drop[OT_MAX_DIMS] = {0}, rank = 0;
    OT_TRY(squeeze_axes(c, axes, &n));
    if (n < 0) { /* no axes: every dim of size 1 goes */
        for (int d = 0; d < x->ndim; d++) drop[d] = x->dims[d] == 1;
    } else {
        OT_TRY(oti_shape_normalize_axes(c, axes, n, x->ndim, normalized));
        for (int i = 0; i < n; i++) {
            OT_NODE_CHECK(c, x->dims[normalized[i]] == 1, "cannot squeeze axis %d of size %lld",
                          normalized[i], (long long)x->dims[normalized[i]]);
            drop[normalized[i]] = 1;
        }
    }
    for (int d = 0; d < x->ndim; d++)
        if (!drop[d]) dims[rank++] = x->dims[d];
    ot_tensor_set_shape(c->out[0], x->dtype, rank, dims);
    return OT_OK;
}

ot_status oti_shape_forward_squeeze(ot_node_ctx *c) { return oti_shape_forward_view(c); }
ot_status oti_shape_backward_squeeze(ot_node_ctx *c) { return oti_shape_backward_view(c); }

ot_status oti_shape_infer_unsqueeze(ot_node_ctx *c) {
    OT_TRY(oti_shape_check_data(c));
    const ot_tensor *x = c->in[0];
    int64_t axes[OT_MAX_DIMS], dims[OT_MAX_DIMS];
    int n, normalized[OT_MAX_DIMS], inserted[OT_MAX_DIMS] = {0};
    OT_TRY(squeeze_axes(c, axes, &n));
    OT_NODE_CHECK(c, n >= 0, "needs axes (%s)", c->layer->opset >= 13 ? "input 1" : "attribute");
    int rank = x->ndim + n;
    OT_NODE_CHECK(c, rank <= OT_MAX_DIMS, "output would have %d dims; at most %d are supported",
                  rank, OT_MAX_DIMS);
    /* Axes count in the output's rank, so -1 appends a trailing dim. */
    OT_TRY(oti_shape_normalize_axes(c, axes, n, rank, normalized));
    for (int i = 0; i < n; i++) inserted[normalized[i]] = 1;
    for (int d = 0, from = 0; d < rank; d++) dims[d] = inserted[d] ? 1 : x->dims[from++];
    ot_tensor_set_shape(c->out[0], x->dtype, rank, dims);
    return OT_OK;
}

ot_status oti_shape_forward_unsqueeze(ot_node_ctx *c) { return oti_shape_forward_view(c); }
ot_status oti_shape_backward_unsqueeze(ot_node_ctx *c) { return oti_shape_backward_view(c); }
