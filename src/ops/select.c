/* The 'select' family's table, and its two simplest ops:
 * NonZero (opsets 9, 13): X (any shape, any numeric dtype or bool) -> int64 (rank, nnz),
 *   the indices of the non-zero elements in C order (a scalar counts as shape [1]).
 * Compress (opsets 9, 11): input and a 1-D bool condition; without axis the input is flattened
 *   and output is 1-D, with axis the slices along it where condition holds (negative axis from
 *   opset 11). A condition shorter than the input drops the rest; a longer one is an error.
 *   Backward adds each output element's gradient back to the input element it came from. */
#include <string.h>

#include "core/util.h"
#include "select_internal.h"

ot_status oti_select_need_values(const ot_node_ctx *c, int k, const char *what) {
    if (c->in_known[k]) return OT_OK;
    return oti_node_fail(c->layer, OT_ERR_UNSUPPORTED,
                        "the output shape depends on the values of %s '%s', which are only known "
                        "when the graph runs; such a node runs for inference (onnxtrain run), where "
                        "the plan is made from the inputs' data, and cannot be trained through",
                        what, c->model->values[c->layer->inputs[k]].name);
}

int oti_select_is_nonzero(const ot_tensor *t, int64_t i) {
    switch (t->dtype) {
    case OT_FLOAT: return ((const float *)t->data)[i] != 0.0f;
    case OT_INT64: return ((const int64_t *)t->data)[i] != 0;
    default: return ((const unsigned char *)t->data)[i] != 0;
    }
}

static int selectable_dtype(ot_dtype t) {
    return t == OT_FLOAT || t == OT_INT64 || t == OT_BOOL;
}

ot_status oti_select_parse_axis(const ot_layer *l, void *params) {
    ot_select_axis_params *p = params;
    p->has_axis = ot_layer_find_attr(l, "axis") != NULL;
    OT_TRY(oti_attr_get_int(l, "axis", 0, &p->axis));
    return oti_attr_get_int(l, "sorted", 1, &p->sorted);
}

/* ---- NonZero ---- */

static int64_t count_nonzero(const ot_tensor *x) {
    int64_t n = 0;
    for (int64_t i = 0; i < ot_tensor_numel(x); i++) n += oti_select_is_nonzero(x, i);
    return n;
}

static ot_status infer_nonzero(ot_node_ctx *c) {
    OT_NODE_CHECK(c, c->n_in == 1 && c->in[0], "needs one input");
    OT_NODE_CHECK(c, selectable_dtype(c->in[0]->dtype), "input must be numeric or bool, not %s",
                  ot_dtype_name(c->in[0]->dtype));
    OT_TRY(oti_select_need_values(c, 0, "input"));
    int64_t dims[2] = {c->in[0]->ndim > 0 ? c->in[0]->ndim : 1, count_nonzero(c->in[0])};
    ot_tensor_set_shape(c->out[0], OT_INT64, 2, dims);
    return OT_OK;
}

static ot_status forward_nonzero(ot_node_ctx *c) {
    const ot_tensor *x = c->in[0];
    int rank = x->ndim > 0 ? x->ndim : 1;
    int64_t nnz = c->out[0]->dims[1], k = 0;
    int64_t *y = c->out[0]->data; // (rank, nnz)
    for (int64_t i = 0; i < ot_tensor_numel(x); i++) {
        if (!oti_select_is_nonzero(x, i)) continue;
        for (int64_t d = rank - 1, rest = i; d >= 0; d--) {
            int64_t extent = x->ndim > 0 ? x->dims[d] : 1;
            y[d * nnz + k] = rest % extent;
            rest /= extent;
        }
        k++;
    }
    return OT_OK;
}

/* ---- Compress ---- */

/* The input as (outer, along, inner) around the axis (flattened: 1, numel, 1). */
typedef struct compress_view {
    int axis; /* -1: flattened */
    int64_t outer, along, inner, kept;
} compress_view;

static ot_status compress_view_of(const ot_node_ctx *c, compress_view *v) {
    const ot_select_axis_params *p = c->params;
    const ot_tensor *x = c->in[0], *cond = c->in[1];
    v->axis = -1;
    v->outer = v->inner = 1;
    v->along = ot_tensor_numel(x);
    if (p->has_axis) {
        v->axis = oti_normalize_axis(p->axis, x->ndim);
        OT_NODE_CHECK(c, v->axis >= 0 && (p->axis >= 0 || c->layer->opset >= 11),
                      "axis %lld is out of range for an input of rank %d", (long long)p->axis, x->ndim);
        v->outer = ot_dims_numel(v->axis, x->dims);
        v->along = x->dims[v->axis];
        v->inner = ot_dims_numel(x->ndim - v->axis - 1, x->dims + v->axis + 1);
    }
    OT_NODE_CHECK(c, ot_tensor_numel(cond) <= v->along,
                  "condition has %lld values, more than the %lld %s", (long long)ot_tensor_numel(cond),
                  (long long)v->along, v->axis < 0 ? "elements of the input" : "slices along the axis");
    v->kept = count_nonzero(cond);
    return OT_OK;
}

static ot_status infer_compress(ot_node_ctx *c) {
    OT_NODE_CHECK(c, c->n_in == 2 && c->in[0] && c->in[1], "needs inputs input and condition");
    OT_NODE_CHECK(c, c->in[1]->dtype == OT_BOOL && c->in[1]->ndim == 1, "condition must be a 1-D bool tensor");
    OT_NODE_CHECK(c, ot_dtype_size(c->in[0]->dtype) > 0, "input of dtype %s cannot be compressed",
                  ot_dtype_name(c->in[0]->dtype));
    OT_TRY(oti_select_need_values(c, 1, "condition"));
    compress_view v;
    OT_TRY(compress_view_of(c, &v));
    if (v.axis < 0) {
        ot_tensor_set_shape(c->out[0], c->in[0]->dtype, 1, &v.kept);
        return OT_OK;
    }
    int64_t dims[OT_MAX_DIMS];
    memcpy(dims, c->in[0]->dims, sizeof(int64_t) * (size_t)c->in[0]->ndim);
    dims[v.axis] = v.kept;
    ot_tensor_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->ndim, dims);
    return OT_OK;
}

static ot_status forward_compress(ot_node_ctx *c) {
    compress_view v;
    OT_TRY(compress_view_of(c, &v));
    size_t elem = ot_dtype_size(c->in[0]->dtype), slice = elem * (size_t)v.inner;
    const unsigned char *x = c->in[0]->data; // (outer, along, inner)
    unsigned char *y = c->out[0]->data;      // (outer, kept, inner)
    for (int64_t o = 0; o < v.outer; o++)
        for (int64_t a = 0, k = 0; a < ot_tensor_numel(c->in[1]); a++)
            if (oti_select_is_nonzero(c->in[1], a))
                memcpy(y + (size_t)(o * v.kept + k++) * slice, x + (size_t)(o * v.along + a) * slice, slice);
    return OT_OK;
}

static ot_status backward_compress(ot_node_ctx *c) {
    if (!c->din[0] || !c->dout[0]) return OT_OK;
    compress_view v;
    OT_TRY(compress_view_of(c, &v));
    float *dx = c->din[0]->data;              // (outer, along, inner)
    const float *dy = c->dout[0]->data;       // (outer, kept, inner)
    for (int64_t o = 0; o < v.outer; o++)
        for (int64_t a = 0, k = 0; a < ot_tensor_numel(c->in[1]); a++) {
            if (!oti_select_is_nonzero(c->in[1], a)) continue;
            for (int64_t j = 0; j < v.inner; j++) dx[(o * v.along + a) * v.inner + j] += dy[(o * v.kept + k) * v.inner + j];
            k++;
        }
    return OT_OK;
}

#define V OT_OP_VALUE_SHAPED
#define C OT_ROLE_CONSTANT
const ot_op oti_ops_select[] = {
    {.name = "NonZero", .since_version = 9, .infer = infer_nonzero, .forward = forward_nonzero, .flags = V},
    {.name = "NonZero", .since_version = 13, .infer = infer_nonzero, .forward = forward_nonzero, .flags = V},
    {.name = "Compress", .since_version = 9, .params_size = sizeof(ot_select_axis_params), .parse = oti_select_parse_axis,
     .infer = infer_compress, .forward = forward_compress, .backward = backward_compress, .flags = V, .inputs = {[1] = C}},
    {.name = "Compress", .since_version = 11, .params_size = sizeof(ot_select_axis_params), .parse = oti_select_parse_axis,
     .infer = infer_compress, .forward = forward_compress, .backward = backward_compress, .flags = V, .inputs = {[1] = C}},
    {.name = "Unique", .since_version = 11, .params_size = sizeof(ot_select_axis_params), .parse = oti_select_parse_axis,
     .infer = oti_select_infer_unique, .forward = oti_select_forward_unique, .flags = V},
    {.name = "NonMaxSuppression", .since_version = 10, .params_size = sizeof(ot_select_nms_params),
     .parse = oti_select_parse_nms, .infer = oti_select_infer_nms, .forward = oti_select_forward_nms, .flags = V,
     .inputs = {[2] = C, [3] = C, [4] = C}},
    {.name = "NonMaxSuppression", .since_version = 11, .params_size = sizeof(ot_select_nms_params),
     .parse = oti_select_parse_nms, .infer = oti_select_infer_nms, .forward = oti_select_forward_nms, .flags = V,
     .inputs = {[2] = C, [3] = C, [4] = C}},
};
#undef V
#undef C
const ot_op_family oti_family_select = {oti_ops_select, OT_COUNT(oti_ops_select)};
