/* DepthToSpace and SpaceToDepth: a reshape to 6 dims and a transpose, done as one strided
 * copy. The output, viewed as 6 dims, is dense; each of its dims takes the input stride of
 * the element it comes from. Backward walks the same view and adds dy back. */
#include <string.h>

#include "core/util.h"
#include "shape_internal.h"

ot_status oti_shape_parse_space(const ot_layer *l, void *params) {
    ot_shape_space_params *p = params;
    const char *mode;
    if (!ot_layer_find_attr(l, "blocksize"))
        return oti_node_fail(l, OT_ERR_INVALID, "attribute blocksize is required");
    OT_TRY(oti_attr_get_int(l, "blocksize", 1, &p->blocksize));
    if (p->blocksize <= 0)
        return oti_node_fail(l, OT_ERR_INVALID, "blocksize is %lld; it must be positive", (long long)p->blocksize);
    p->to_depth = !strcmp(l->op_type, "SpaceToDepth");
    OT_TRY(oti_attr_get_string(l, "mode", "DCR", &mode));
    if (strcmp(mode, "DCR") && strcmp(mode, "CRD"))
        return oti_node_fail(l, OT_ERR_INVALID, "mode '%s' is neither DCR nor CRD", mode);
    p->crd = !strcmp(mode, "CRD");
    return OT_OK;
}

/* The 6-dim view of the output (dims, dense in this order) and each dim's input stride; the
 * output's 4 dims in out4. x is (N, C, H, W) with strides sn, sc, sh, sw. */
static ot_status space_view(const ot_node_ctx *c, int64_t *dims, int64_t *src, int64_t *out4) {
    const ot_shape_space_params *p = c->params;
    const ot_tensor *x = c->in[0];
    OT_NODE_CHECK(c, x->ndim == 4, "input must be (N, C, H, W), not rank %d", x->ndim);
    int64_t n = x->dims[0], ch = x->dims[1], h = x->dims[2], w = x->dims[3], b = p->blocksize;
    int64_t sc = h * w, sh = w, sn = ch * sc;
    if (p->to_depth) {
        OT_NODE_CHECK(c, h % b == 0 && w % b == 0, "H %lld and W %lld must be multiples of blocksize %lld",
                      (long long)h, (long long)w, (long long)b);
        /* (N, b, b, C, H/b, W/b) <- x[n, c, h * b + i, w * b + j] */
        int64_t d[6] = {n, b, b, ch, h / b, w / b}, s[6] = {sn, sh, 1, sc, b * sh, b};
        memcpy(dims, d, sizeof d);
        memcpy(src, s, sizeof s);
        out4[0] = n, out4[1] = ch * b * b, out4[2] = h / b, out4[3] = w / b;
        return OT_OK;
    }
    OT_NODE_CHECK(c, ch % (b * b) == 0, "C %lld must be a multiple of blocksize^2 = %lld", (long long)ch,
                  (long long)(b * b));
    int64_t co = ch / (b * b);
    /* (N, C/b^2, H, b, W, b) <- DCR: x[n, (i * b + j) * C/b^2 + c, h, w];
     *                          CRD: x[n, c * b^2 + i * b + j, h, w] */
    int64_t d[6] = {n, co, h, b, w, b};
    int64_t dcr[6] = {sn, sc, sh, b * co * sc, 1, co * sc}, crd[6] = {sn, b * b * sc, sh, b * sc, 1, sc};
    memcpy(dims, d, sizeof d);
    memcpy(src, p->crd ? crd : dcr, sizeof d);
    out4[0] = n, out4[1] = co, out4[2] = h * b, out4[3] = w * b;
    return OT_OK;
}

ot_status oti_shape_infer_space(ot_node_ctx *c) {
    OT_TRY(oti_shape_check_data(c));
    int64_t dims[6], src[6], out4[4];
    OT_TRY(space_view(c, dims, src, out4));
    ot_tensor_set_shape(c->out[0], c->in[0]->dtype, 4, out4);
    return OT_OK;
}

ot_status oti_shape_forward_space(ot_node_ctx *c) {
    int64_t dims[6], src[6], dst[6], out4[4];
    OT_TRY(space_view(c, dims, src, out4));
    oti_shape_strides(6, dims, dst);
    oti_shape_copy(c->out[0]->data, dst, 0, c->in[0]->data, src, 0, 6, dims, ot_dtype_size(c->in[0]->dtype));
    return OT_OK;
}

ot_status oti_shape_backward_space(ot_node_ctx *c) {
    if (!c->din[0] || !c->dout[0]) return OT_OK;
    int64_t dims[6], src[6], dst[6], out4[4];
    OT_TRY(space_view(c, dims, src, out4));
    oti_shape_strides(6, dims, dst);
    oti_shape_accumulate(c->din[0]->data, src, 0, c->dout[0]->data, dst, 0, 6, dims);
    return OT_OK;
}
