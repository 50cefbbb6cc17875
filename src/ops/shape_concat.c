/* Concat and Split: each input (Concat) or output (Split) is a box of the big tensor, offset
 * along one axis. Forward copies the boxes in or out; backward adds the gradient boxes back. */
#include <string.h>
#include <stdlib.h>

#include "core/util.h"
#include "shape_internal.h"

/* Copies box `part` (dense) into / out of `whole` at `offset` along `axis`. */
static void copy_box(void *whole, const ot_tensor *whole_t, const ot_tensor *part_t, void *part,
                     int axis, int64_t offset, int into_whole) {
    int64_t whole_strides[OT_MAX_DIMS], part_strides[OT_MAX_DIMS];
    oti_shape_strides(whole_t->ndim, whole_t->dims, whole_strides);
    oti_shape_strides(part_t->ndim, part_t->dims, part_strides);
    int64_t at = offset * whole_strides[axis];
    size_t elem = ot_dtype_size(whole_t->dtype);
    if (into_whole)
        oti_shape_copy(whole, whole_strides, at, part, part_strides, 0, part_t->ndim, part_t->dims, elem);
    else
        oti_shape_copy(part, part_strides, 0, whole, whole_strides, at, part_t->ndim, part_t->dims, elem);
}

/* part_grad += whole_grad's box, or whole_grad's box += part_grad. */
static void add_box(float *whole, const ot_tensor *whole_t, const ot_tensor *part_t, float *part,
                    int axis, int64_t offset, int into_whole) {
    int64_t whole_strides[OT_MAX_DIMS], part_strides[OT_MAX_DIMS];
    oti_shape_strides(whole_t->ndim, whole_t->dims, whole_strides);
    oti_shape_strides(part_t->ndim, part_t->dims, part_strides);
    int64_t at = offset * whole_strides[axis];
    if (into_whole)
        oti_shape_accumulate(whole, whole_strides, at, part, part_strides, 0, part_t->ndim, part_t->dims);
    else
        oti_shape_accumulate(part, part_strides, 0, whole, whole_strides, at, part_t->ndim, part_t->dims);
}

/* Concat --------------------------------------------------------------------------------- */

ot_status oti_shape_parse_concat(const ot_layer *l, void *params) {
    ot_shape_concat_params *p = params;
    /* Opset 1 defaulted the axis to 1; from opset 4 it is required. */
    if (l->opset >= 4 && !ot_layer_find_attr(l, "axis"))
        return oti_node_fail(l, OT_ERR_INVALID, "needs an 'axis' attribute");
    return oti_attr_get_int(l, "axis", 1, &p->axis);
}

static int concat_axis(const ot_node_ctx *c) {
    const ot_shape_concat_params *p = c->params;
    return oti_normalize_axis(p->axis, c->in[0]->ndim);
}

ot_status oti_shape_infer_concat(ot_node_ctx *c) {
    const ot_shape_concat_params *p = c->params;
    OT_NODE_CHECK(c, c->n_in >= 1, "needs at least one input");
    for (int k = 0; k < c->n_in; k++) OT_NODE_CHECK(c, c->in[k], "input %d is missing", k);
    OT_TRY(oti_shape_check_data(c));
    const ot_tensor *first = c->in[0];
    int axis = concat_axis(c);
    OT_NODE_CHECK(c, axis >= 0, "axis %lld is out of range for rank %d", (long long)p->axis, first->ndim);
    int64_t dims[OT_MAX_DIMS];
    memcpy(dims, first->dims, sizeof dims);
    dims[axis] = 0;
    char a[128], b[128];
    for (int k = 0; k < c->n_in; k++) {
        const ot_tensor *t = c->in[k];
        OT_NODE_CHECK(c, t->dtype == first->dtype, "input %d is %s, but input 0 is %s", k,
                      ot_dtype_name(t->dtype), ot_dtype_name(first->dtype));
        int same = t->ndim == first->ndim;
        for (int d = 0; d < first->ndim && same; d++) same = d == axis || t->dims[d] == first->dims[d];
        OT_NODE_CHECK(c, same, "input %d has shape %s, which does not match input 0's %s except "
                      "along axis %d", k, ot_shape_string(t->ndim, t->dims, a, sizeof a),
                      ot_shape_string(first->ndim, first->dims, b, sizeof b), axis);
        dims[axis] += t->dims[axis];
    }
    ot_tensor_set_shape(c->out[0], first->dtype, first->ndim, dims);
    return OT_OK;
}

ot_status oti_shape_forward_concat(ot_node_ctx *c) {
    int axis = concat_axis(c);
    int64_t offset = 0;
    for (int k = 0; k < c->n_in; k++) {
        copy_box(c->out[0]->data, c->out[0], c->in[k], c->in[k]->data, axis, offset, 1);
        offset += c->in[k]->dims[axis];
    }
    return OT_OK;
}

ot_status oti_shape_backward_concat(ot_node_ctx *c) {
    if (!c->dout[0]) return OT_OK;
    int axis = concat_axis(c);
    int64_t offset = 0;
    for (int k = 0; k < c->n_in; k++) {
        if (c->din[k]) add_box(c->dout[0]->data, c->out[0], c->in[k], c->din[k]->data, axis, offset, 0);
        offset += c->in[k]->dims[axis];
    }
    return OT_OK;
}

/* Split ---------------------------------------------------------------------------------- */

ot_status oti_shape_parse_split(const ot_layer *l, void *params) {
    ot_shape_split_params *p = params;
    OT_TRY(oti_attr_get_int(l, "axis", 0, &p->axis));
    OT_TRY(oti_attr_get_int(l, "num_outputs", 0, &p->num_outputs));
    const ot_attr *split = ot_layer_find_attr(l, "split");
    if (split && split->type != OT_ATTR_INTS)
        return oti_node_fail(l, OT_ERR_INVALID, "attribute 'split' should be a list of ints");
    if (split && l->opset >= 13)
        return oti_node_fail(l, OT_ERR_INVALID, "'split' is an input from opset 13, not an attribute");
    if (p->num_outputs && p->num_outputs != l->n_outputs)
        return oti_node_fail(l, OT_ERR_INVALID, "num_outputs is %lld, but the node has %d outputs",
                            (long long)p->num_outputs, l->n_outputs);
    return OT_OK;
}

/* Sizes of the n_out parts along the axis into sizes (n_out long): from the split input
 * (opset 1, and 13+) or attribute (opset < 13), else equal parts. Equal parts must divide
 * the dim before opset 18; from 18 the last part is smaller. */
static ot_status split_sizes(const ot_node_ctx *c, int axis, int64_t *sizes) {
    const ot_attr *attr = ot_layer_find_attr(c->layer, "split");
    int64_t dim = c->in[0]->dims[axis], total = 0;
    int n_out = c->n_out;
    int from_input = c->n_in > 1 && c->in[1];
    if (from_input || attr) {
        int n;
        n = from_input ? (int)OT_MIN(ot_tensor_numel(c->in[1]), INT32_MAX) : attr->count;
        OT_NODE_CHECK(c, n == n_out, "split has %d sizes, but the node has %d outputs", n, n_out);
        if (from_input) OT_TRY(oti_shape_known_ints(c, 1, "split", sizes, n_out, &n));
        else memcpy(sizes, attr->ints, sizeof(int64_t) * (size_t)n);
        for (int k = 0; k < n; k++) {
            OT_NODE_CHECK(c, sizes[k] >= 0 && sizes[k] <= dim, "split size %lld is out of range",
                          (long long)sizes[k]);
            total += sizes[k];
        }
        OT_NODE_CHECK(c, total == dim, "split sizes add up to %lld, but axis %d has size %lld",
                      (long long)total, axis, (long long)dim);
        return OT_OK;
    }
    int64_t part = dim / n_out;
    if (dim % n_out) {
        OT_NODE_CHECK(c, c->layer->opset >= 18, "axis %d of size %lld cannot be split into %d "
                      "equal parts", axis, (long long)dim, n_out);
        part = dim / n_out + 1;
    }
    for (int k = 0; k < n_out; k++) {
        sizes[k] = OT_MIN(part, dim - total);
        total += sizes[k];
    }
    return OT_OK;
}

static int split_axis(const ot_node_ctx *c) {
    const ot_shape_split_params *p = c->params;
    return oti_normalize_axis(p->axis, c->in[0]->ndim);
}

ot_status oti_shape_infer_split(ot_node_ctx *c) {
    const ot_shape_split_params *p = c->params;
    OT_TRY(oti_shape_check_data(c));
    OT_NODE_CHECK(c, c->n_out >= 1, "needs at least one output");
    const ot_tensor *x = c->in[0];
    int axis = split_axis(c);
    OT_NODE_CHECK(c, axis >= 0, "axis %lld is out of range for rank %d", (long long)p->axis, x->ndim);
    int64_t *sizes = oti_malloc(sizeof(int64_t) * (size_t)c->n_out);
    OT_ALLOC_CHECK(sizes);
    ot_status status = split_sizes(c, axis, sizes);
    for (int k = 0; k < c->n_out && status == OT_OK; k++) {
        if (!c->out[k]) continue;
        int64_t dims[OT_MAX_DIMS];
        memcpy(dims, x->dims, sizeof dims);
        dims[axis] = sizes[k];
        ot_tensor_set_shape(c->out[k], x->dtype, x->ndim, dims);
    }
    free(sizes);
    /* Forward and backward recompute the sizes here: omitted outputs still take their share. */
    c->workspace_bytes = sizeof(int64_t) * (size_t)c->n_out;
    return status;
}

ot_status oti_shape_forward_split(ot_node_ctx *c) {
    int axis = split_axis(c);
    int64_t *sizes = c->workspace, offset = 0;
    OT_TRY(split_sizes(c, axis, sizes));
    for (int k = 0; k < c->n_out; k++) {
        if (c->out[k]) copy_box(c->in[0]->data, c->in[0], c->out[k], c->out[k]->data, axis, offset, 0);
        offset += sizes[k];
    }
    return OT_OK;
}

ot_status oti_shape_backward_split(ot_node_ctx *c) {
    if (!c->din[0]) return OT_OK;
    int axis = split_axis(c);
    int64_t *sizes = c->workspace, offset = 0;
    OT_TRY(split_sizes(c, axis, sizes));
    for (int k = 0; k < c->n_out; k++) {
        if (c->out[k] && c->dout[k])
            add_box(c->din[0]->data, c->in[0], c->out[k], c->dout[k]->data, axis, offset, 1);
        offset += sizes[k];
    }
    return OT_OK;
}
