/* Comparisons and selection of the elementwise family: Equal Less Greater LessOrEqual
 * GreaterOrEqual and the logical
 * And Or Xor (-> bool, numpy broadcasting; opset < 7 uses the old broadcast/axis
 * attributes; the logical ops take bool only), Not, and Where (bool
 * condition picks x or y, three-way broadcasting; backward routes the gradient to x where the
 * condition holds and to y elsewhere, summed over broadcast dims). */
#include <string.h>

#include "elementwise_internal.h"

/* The logical ops come last: kind >= CMP_AND takes bool only. */
typedef enum compare_kind {
    CMP_EQUAL, CMP_LESS, CMP_GREATER, CMP_LESS_EQUAL, CMP_GREATER_EQUAL, CMP_AND, CMP_OR, CMP_XOR
} compare_kind;

static const struct {
    const char *name;
    compare_kind kind;
} compare_names[] = {{"Equal", CMP_EQUAL}, {"Less", CMP_LESS}, {"Greater", CMP_GREATER},
                     {"LessOrEqual", CMP_LESS_EQUAL}, {"GreaterOrEqual", CMP_GREATER_EQUAL},
                     {"And", CMP_AND},     {"Or", CMP_OR},     {"Xor", CMP_XOR}};

ot_status oti_ew_parse_compare(const ot_layer *l, void *params) {
    ot_ew_compare_params *p = params;
    memset(p, 0, sizeof *p);
    p->kind = -1;
    for (int i = 0; i < OT_COUNT(compare_names); i++)
        if (!strcmp(l->op_type, compare_names[i].name)) p->kind = compare_names[i].kind;
    if (p->kind < 0) return oti_node_fail(l, OT_ERR_UNSUPPORTED, "not a comparison");
    p->legacy_broadcast = l->opset < 7;
    int64_t broadcast;
    OT_TRY(oti_attr_get_int(l, "broadcast", 0, &broadcast));
    OT_TRY(oti_attr_get_int(l, "axis", INT64_MIN, &p->axis));
    if (p->legacy_broadcast && broadcast != 0 && broadcast != 1)
        return oti_node_fail(l, OT_ERR_INVALID, "attribute broadcast must be 0 or 1, not %lld",
                            (long long)broadcast);
    p->broadcast = (int)broadcast;
    return OT_OK;
}

static ot_status compare_operands(const ot_node_ctx *c, ot_tensor *b_view, const ot_tensor **operands) {
    const ot_ew_compare_params *p = c->params;
    operands[0] = c->in[0];
    operands[1] = c->in[1];
    if (!p->legacy_broadcast) return OT_OK;
    OT_TRY(oti_ew_legacy_view(c->layer, c->in[0], c->in[1], p->broadcast, p->axis, b_view));
    operands[1] = b_view;
    return OT_OK;
}

ot_status oti_ew_infer_compare(ot_node_ctx *c) {
    const ot_ew_compare_params *p = c->params;
    OT_NODE_CHECK(c, c->n_in == 2 && c->in[0] && c->in[1], "needs two inputs");
    ot_dtype t = c->in[0]->dtype;
    int logical = p->kind >= CMP_AND, bool_ok = p->kind == CMP_EQUAL || logical;
    OT_NODE_CHECK(c, !logical || t == OT_BOOL, "inputs must be bool, not %s", ot_dtype_name(t));
    OT_NODE_CHECK(c, t == OT_FLOAT || t == OT_INT64 || (t == OT_BOOL && bool_ok),
                  "inputs must be float32, int64%s, not %s", bool_ok ? " or bool" : "", ot_dtype_name(t));
    OT_NODE_CHECK(c, c->in[1]->dtype == t, "inputs must have the same dtype, not %s and %s",
                  ot_dtype_name(t), ot_dtype_name(c->in[1]->dtype));
    ot_tensor b_view;
    const ot_tensor *operands[2];
    OT_TRY(compare_operands(c, &b_view, operands));
    int ndim;
    int64_t dims[OT_MAX_DIMS];
    OT_TRY(oti_broadcast_shape(c->layer, 2, operands, &ndim, dims));
    ot_tensor_set_shape(c->out[0], OT_BOOL, ndim, dims);
    return OT_OK;
}

#define COMPARE_ROW(T, kind, y, a, sa, b, sb, n)                                              \
    do {                                                                                       \
        const T *a_ = (const T *)(a), *b_ = (const T *)(b);                                    \
        switch (kind) {                                                                        \
        case CMP_EQUAL: OT_EW_ROW_LOOP2(T, a_, sa, b_, sb, n, y[i] = xa == xb); break;         \
        case CMP_LESS: OT_EW_ROW_LOOP2(T, a_, sa, b_, sb, n, y[i] = xa < xb); break;           \
        case CMP_GREATER: OT_EW_ROW_LOOP2(T, a_, sa, b_, sb, n, y[i] = xa > xb); break;        \
        case CMP_LESS_EQUAL: OT_EW_ROW_LOOP2(T, a_, sa, b_, sb, n, y[i] = xa <= xb); break;    \
        case CMP_GREATER_EQUAL: OT_EW_ROW_LOOP2(T, a_, sa, b_, sb, n, y[i] = xa >= xb); break; \
        case CMP_AND: OT_EW_ROW_LOOP2(T, a_, sa, b_, sb, n, y[i] = (xa != 0) & (xb != 0)); break; \
        case CMP_OR: OT_EW_ROW_LOOP2(T, a_, sa, b_, sb, n, y[i] = (xa != 0) | (xb != 0)); break;  \
        case CMP_XOR: OT_EW_ROW_LOOP2(T, a_, sa, b_, sb, n, y[i] = (xa != 0) ^ (xb != 0)); break; \
        }                                                                                      \
    } while (0)

ot_status oti_ew_forward_compare(ot_node_ctx *c) {
    const ot_ew_compare_params *p = c->params;
    ot_tensor b_view;
    const ot_tensor *operands[2];
    OT_TRY(compare_operands(c, &b_view, operands));
    ot_bcast bc;
    oti_bcast_init(&bc, 2, operands, c->out[0]);
    int64_t sa = ot_ew_row_stride(&bc, 0), sb = ot_ew_row_stride(&bc, 1), off[2];
    ot_dtype t = c->in[0]->dtype;
    size_t elem = ot_dtype_size(t);
    const unsigned char *a = c->in[0]->data, *b = c->in[1]->data;
    for (int64_t r = 0; r < bc.rows; r++) {
        int64_t o = oti_bcast_row(&bc, r, off);
        uint8_t *y = (uint8_t *)c->out[0]->data + o;
        const unsigned char *ra = a + off[0] * elem, *rb = b + off[1] * elem;
        if (t == OT_FLOAT) COMPARE_ROW(float, p->kind, y, ra, sa, rb, sb, bc.row_len);
        else if (t == OT_INT64) COMPARE_ROW(int64_t, p->kind, y, ra, sa, rb, sb, bc.row_len);
        else COMPARE_ROW(uint8_t, p->kind, y, ra, sa, rb, sb, bc.row_len);
    }
    return OT_OK;
}

/* Not ------------------------------------------------------------------------------------ */

ot_status oti_ew_infer_not(ot_node_ctx *c) {
    OT_NODE_CHECK(c, c->n_in >= 1 && c->in[0], "needs an input");
    OT_NODE_CHECK(c, c->in[0]->dtype == OT_BOOL, "input must be bool, not %s", ot_dtype_name(c->in[0]->dtype));
    ot_tensor_set_shape(c->out[0], OT_BOOL, c->in[0]->ndim, c->in[0]->dims);
    return OT_OK;
}

ot_status oti_ew_forward_not(ot_node_ctx *c) {
    const uint8_t *x = c->in[0]->data;
    uint8_t *y = c->out[0]->data;
    int64_t n = ot_tensor_numel(c->in[0]);
    for (int64_t i = 0; i < n; i++) y[i] = !x[i];
    return OT_OK;
}

/* Where ---------------------------------------------------------------------------------- */

ot_status oti_ew_infer_where(ot_node_ctx *c) {
    OT_NODE_CHECK(c, c->n_in == 3 && c->in[0] && c->in[1] && c->in[2], "needs inputs condition, X and Y");
    OT_NODE_CHECK(c, c->in[0]->dtype == OT_BOOL, "condition must be bool, not %s", ot_dtype_name(c->in[0]->dtype));
    ot_dtype t = c->in[1]->dtype;
    OT_NODE_CHECK(c, t == OT_FLOAT || t == OT_INT64 || t == OT_BOOL, "X must be float32, int64 or bool, not %s",
                  ot_dtype_name(t));
    OT_NODE_CHECK(c, c->in[2]->dtype == t, "X and Y must have the same dtype, not %s and %s",
                  ot_dtype_name(t), ot_dtype_name(c->in[2]->dtype));
    int ndim;
    int64_t dims[OT_MAX_DIMS];
    OT_TRY(oti_broadcast_shape(c->layer, 3, (const ot_tensor *const *)c->in, &ndim, dims));
    ot_tensor_set_shape(c->out[0], t, ndim, dims);
    return OT_OK;
}

#define WHERE_ROW(T, y, cond, sc, x, sx, z, sz, n)                                             \
    do {                                                                                       \
        const T *x_ = (const T *)(x), *z_ = (const T *)(z);                                    \
        T *y_ = (T *)(y);                                                                      \
        for (int64_t i = 0; i < (n); i++) y_[i] = (cond)[i * (sc)] ? x_[i * (sx)] : z_[i * (sz)]; \
    } while (0)

ot_status oti_ew_forward_where(ot_node_ctx *c) {
    ot_bcast bc;
    oti_bcast_init(&bc, 3, (const ot_tensor *const *)c->in, c->out[0]);
    int64_t sc = ot_ew_row_stride(&bc, 0), sx = ot_ew_row_stride(&bc, 1), sz = ot_ew_row_stride(&bc, 2);
    int64_t off[3];
    size_t elem = ot_dtype_size(c->out[0]->dtype);
    const uint8_t *cond = c->in[0]->data;
    const unsigned char *x = c->in[1]->data, *z = c->in[2]->data;
    unsigned char *y = c->out[0]->data;
    for (int64_t r = 0; r < bc.rows; r++) {
        int64_t o = oti_bcast_row(&bc, r, off);
        unsigned char *ry = y + o * elem;
        const unsigned char *rx = x + off[1] * elem, *rz = z + off[2] * elem;
        /* Copy bit patterns by element size: float and int64 need no conversion. */
        if (elem == 4) WHERE_ROW(uint32_t, ry, cond + off[0], sc, rx, sx, rz, sz, bc.row_len);
        else if (elem == 8) WHERE_ROW(uint64_t, ry, cond + off[0], sc, rx, sx, rz, sz, bc.row_len);
        else WHERE_ROW(uint8_t, ry, cond + off[0], sc, rx, sx, rz, sz, bc.row_len);
    }
    return OT_OK;
}

ot_status oti_ew_backward_where(ot_node_ctx *c) {
    if (!c->dout[0] || c->out[0]->dtype != OT_FLOAT) return OT_OK;
    ot_bcast bc;
    oti_bcast_init(&bc, 3, (const ot_tensor *const *)c->in, c->out[0]);
    int64_t sc = ot_ew_row_stride(&bc, 0), off[3];
    const uint8_t *cond = c->in[0]->data;
    const float *g = c->dout[0]->data;
    for (int k = 1; k <= 2; k++) {
        if (!c->din[k]) continue;
        float *d = c->din[k]->data;
        int64_t s = ot_ew_row_stride(&bc, k);
        uint8_t want = k == 1; /* X takes the gradient where the condition holds */
        for (int64_t r = 0; r < bc.rows; r++) {
            int64_t o = oti_bcast_row(&bc, r, off);
            const uint8_t *rc = cond + off[0];
            float *rd = d + off[k];
            /* A stride-0 gradient accumulates the whole row into one element. */
            for (int64_t i = 0; i < bc.row_len; i++)
                if ((rc[i * sc] != 0) == want) rd[i * s] += g[o + i];
        }
    }
    return OT_OK;
}
