/* ReverseSequence (opset 10): reverses the first sequence_lens[b] steps of every batch entry
 * along time_axis, copying the rest. batch_axis and time_axis are 0 and 1 (either way round);
 * the input is viewed as (dim0, dim1, inner) with inner the product of the dims after them.
 * sequence_lens (batch) is int64 (int32 read too); a length outside [0, time] is an error
 * naming the node. The op is its own inverse, so backward applies the same reversal to dy. */
#include <string.h>

#include "core/util.h"
#include "shape_internal.h"

ot_status oti_shape_parse_reverse_sequence(const ot_layer *l, void *params) {
    ot_shape_reverse_sequence_params *p = params;
    OT_TRY(oti_attr_get_int(l, "batch_axis", 1, &p->batch_axis));
    OT_TRY(oti_attr_get_int(l, "time_axis", 0, &p->time_axis));
    int ok = (p->batch_axis == 0 && p->time_axis == 1) || (p->batch_axis == 1 && p->time_axis == 0);
    if (!ok)
        return oti_node_fail(l, OT_ERR_INVALID, "batch_axis %lld and time_axis %lld must be 0 and 1",
                             (long long)p->batch_axis, (long long)p->time_axis);
    return OT_OK;
}

ot_status oti_shape_infer_reverse_sequence(ot_node_ctx *c) {
    const ot_shape_reverse_sequence_params *p = c->params;
    OT_TRY(oti_shape_check_data(c));
    OT_NODE_CHECK(c, c->n_in >= 2 && c->in[1], "needs inputs input and sequence_lens");
    const ot_tensor *x = c->in[0], *lens = c->in[1];
    OT_NODE_CHECK(c, x->ndim >= 2, "input must have rank >= 2, not %d", x->ndim);
    OT_NODE_CHECK(c, lens->dtype == OT_INT64 || lens->dtype == OT_INT32,
                  "sequence_lens must be int64, not %s", ot_dtype_name(lens->dtype));
    OT_NODE_CHECK(c, lens->ndim == 1 && lens->dims[0] == x->dims[p->batch_axis],
                  "sequence_lens must be (%lld), one length per batch entry",
                  (long long)x->dims[p->batch_axis]);
    ot_tensor_set_shape(c->out[0], x->dtype, x->ndim, x->dims);
    return OT_OK;
}

/* y = x with each batch entry's first len steps reversed; elem-byte elements, or (add) float
 * gradients added into y. x, y (dim0, dim1, inner). */
static ot_status reverse_sequence(const ot_node_ctx *c, void *y, const void *x, size_t elem, int add) {
    const ot_shape_reverse_sequence_params *p = c->params;
    const ot_tensor *t = c->in[0];
    int64_t d0 = t->dims[0], d1 = t->dims[1], inner = ot_dims_numel(t->ndim - 2, t->dims + 2);
    int64_t steps = t->dims[p->time_axis];
    for (int64_t b = 0; b < t->dims[p->batch_axis]; b++) {
        int64_t len = oti_shape_int_at(c->in[1], b);
        OT_NODE_CHECK(c, len >= 0 && len <= steps, "sequence_lens[%lld] = %lld is outside [0, %lld]",
                      (long long)b, (long long)len, (long long)steps);
    }
    for (int64_t i = 0; i < d0; i++)
        for (int64_t j = 0; j < d1; j++) {
            int64_t b = p->batch_axis ? j : i, tt = p->batch_axis ? i : j;
            int64_t len = oti_shape_int_at(c->in[1], b), src = tt < len ? len - 1 - tt : tt;
            int64_t si = p->batch_axis ? src : i, sj = p->batch_axis ? j : src;
            size_t to = (size_t)((i * d1 + j) * inner), from = (size_t)((si * d1 + sj) * inner);
            if (add)
                for (int64_t k = 0; k < inner; k++) ((float *)y)[to + k] += ((const float *)x)[from + k];
            else
                memcpy((char *)y + to * elem, (const char *)x + from * elem, (size_t)inner * elem);
        }
    return OT_OK;
}

ot_status oti_shape_forward_reverse_sequence(ot_node_ctx *c) {
    return reverse_sequence(c, c->out[0]->data, c->in[0]->data, ot_dtype_size(c->in[0]->dtype), 0);
}

ot_status oti_shape_backward_reverse_sequence(ot_node_ctx *c) {
    if (!c->din[0] || !c->dout[0]) return OT_OK;
    return reverse_sequence(c, c->din[0]->data, c->dout[0]->data, sizeof(float), 1);
}
