/* MaxUnpool (opsets 9, 11): Y (N, C, out...) is zero but for Y[I[i]] = X[i], where the
 * indices I (int64, X's shape) are flat positions in the whole of Y, as MaxPool's Indices
 * output gives them. Y's spatial dims are (in - 1) * stride + kernel - pad_begin - pad_end
 * unless input 2, output_shape (the whole shape, known at plan time), says otherwise: the
 * indices still count positions in that default shape, whose values then sit at the start of
 * each dim of Y (zeros after them), as onnx's reference and onnxruntime do. An index outside
 * the default shape or landing outside Y is an error naming the node; two X values sent to
 * one place leave the later one. Backward w.r.t. X: dX[i] += dY[at(I[i])]. docs/OPS.md. */
#include <string.h>

#include "core/util.h"
#include "pool_internal.h"

ot_status oti_pool_parse_unpool(const ot_layer *l, void *params) {
    ot_unpool_params *p = params;
    int n, ns, np;
    OT_TRY(oti_attr_get_ints(l, "kernel_shape", p->kernel, POOL_MAX_SPATIAL, &n));
    if (n <= 0) return oti_node_fail(l, OT_ERR_INVALID, "needs the kernel_shape attribute");
    OT_TRY(oti_attr_get_ints(l, "strides", p->stride, POOL_MAX_SPATIAL, &ns));
    OT_TRY(oti_attr_get_ints(l, "pads", p->pads, 2 * POOL_MAX_SPATIAL, &np));
    if ((ns >= 0 && ns != n) || (np >= 0 && np != 2 * n))
        return oti_node_fail(l, OT_ERR_INVALID, "strides and pads must match kernel_shape's %d dims", n);
    p->nd = n;
    for (int d = 0; d < n; d++) {
        if (ns < 0) p->stride[d] = 1;
        if (np < 0) p->pads[d] = p->pads[n + d] = 0;
        if (p->kernel[d] <= 0 || p->stride[d] <= 0)
            return oti_node_fail(l, OT_ERR_INVALID, "kernel_shape and strides must be positive");
    }
    return OT_OK;
}

/* The shape the indices count in: (N, C, (in - 1) * stride + kernel - pads). */
static void unpool_default_dims(const ot_node_ctx *c, int64_t *dims) {
    const ot_unpool_params *p = c->params;
    const ot_tensor *x = c->in[0];
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    for (int d = 0; d < p->nd; d++)
        dims[2 + d] = (x->dims[2 + d] - 1) * p->stride[d] + p->kernel[d] - p->pads[d] - p->pads[p->nd + d];
}

/* Y's shape from output_shape (input 2) when given, else the default. */
static ot_status unpool_output_dims(const ot_node_ctx *c, int64_t *dims) {
    const ot_tensor *x = c->in[0], *shape = c->n_in >= 3 ? c->in[2] : NULL;
    if (shape) {
        OT_NODE_CHECK(c, c->in_known && c->in_known[2] && shape->data,
                      "output_shape must be known when the plan is built");
        OT_NODE_CHECK(c, shape->dtype == OT_INT64 && ot_tensor_numel(shape) == x->ndim,
                      "output_shape must be int64 with %d values", x->ndim);
        memcpy(dims, shape->data, (size_t)x->ndim * sizeof(int64_t));
        return OT_OK;
    }
    unpool_default_dims(c, dims);
    return OT_OK;
}

ot_status oti_pool_infer_unpool(ot_node_ctx *c) {
    const ot_unpool_params *p = c->params;
    OT_NODE_CHECK(c, c->n_in >= 2 && c->in[0] && c->in[1], "needs inputs X and I");
    const ot_tensor *x = c->in[0], *idx = c->in[1];
    OT_NODE_CHECK(c, x->dtype == OT_FLOAT, "X must be float32, not %s", ot_dtype_name(x->dtype));
    OT_NODE_CHECK(c, x->ndim == p->nd + 2, "X must be (N, C) and %d spatial dims, not rank %d", p->nd,
                  x->ndim);
    OT_NODE_CHECK(c, idx->dtype == OT_INT64 && ot_tensor_numel(idx) == ot_tensor_numel(x),
                  "I must be int64 of X's shape");
    int64_t dims[OT_MAX_DIMS];
    OT_TRY(unpool_output_dims(c, dims));
    for (int d = 0; d < x->ndim; d++) OT_NODE_CHECK(c, dims[d] > 0, "output dim %d would be %lld", d, (long long)dims[d]);
    ot_tensor_set_shape(c->out[0], OT_FLOAT, x->ndim, dims);
    c->workspace_bytes = (size_t)ot_tensor_numel(x) * sizeof(int64_t); /* the targets */
    return OT_OK;
}

/* at[i] = where X[i] goes in Y: I[i] counts in the default shape, re-counted in Y's; any
 * index out of place is an error before anything is written. at is the workspace. */
static ot_status unpool_targets(const ot_node_ctx *c, const ot_tensor *y, int64_t *at) {
    const ot_tensor *x = c->in[0];
    const int64_t *idx = c->in[1]->data;
    int64_t dims[OT_MAX_DIMS], size = 1;
    unpool_default_dims(c, dims);
    for (int d = 0; d < x->ndim; d++) size *= dims[d];
    for (int64_t i = 0; i < ot_tensor_numel(x); i++) {
        int64_t rest = idx[i], pos = 0, stride = 1;
        OT_NODE_CHECK(c, rest >= 0 && rest < size, "index %lld (at %lld) is outside the %lld positions",
                      (long long)rest, (long long)i, (long long)size);
        for (int d = x->ndim - 1; d >= 0; d--) {
            int64_t k = rest % dims[d];
            rest /= dims[d];
            OT_NODE_CHECK(c, k < y->dims[d], "index %lld (at %lld) falls outside output_shape",
                          (long long)idx[i], (long long)i);
            pos += k * stride;
            stride *= y->dims[d];
        }
        at[i] = pos;
    }
    return OT_OK;
}

ot_status oti_pool_forward_unpool(ot_node_ctx *c) {
    int64_t n = ot_tensor_numel(c->in[0]), *at = c->workspace;
    OT_TRY(unpool_targets(c, c->out[0], at));
    const float *x = c->in[0]->data;
    float *y = c->out[0]->data;
    memset(y, 0, (size_t)ot_tensor_numel(c->out[0]) * sizeof(float));
    for (int64_t i = 0; i < n; i++) y[at[i]] = x[i];
    return OT_OK;
}

ot_status oti_pool_backward_unpool(ot_node_ctx *c) {
    if (!c->din[0] || !c->dout[0]) return OT_OK;
    int64_t n = ot_tensor_numel(c->in[0]), *at = c->workspace;
    OT_TRY(unpool_targets(c, c->dout[0], at));
    const float *dy = c->dout[0]->data;
    float *dx = c->din[0]->data;
    for (int64_t i = 0; i < n; i++) dx[i] += dy[at[i]];
    return OT_OK;
}
