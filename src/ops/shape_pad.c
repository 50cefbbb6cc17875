/* Pad: modes constant, reflect and edge, with pads from the attribute (opset < 11) or the
 * pads input (11+, optionally restricted to `axes` from 18). Negative pads crop.
 *
 * Every mode is one index map per dim: output index -> input index, or -1 for the constant.
 * Forward gathers through the maps, backward adds the gradient back through them, so reflect
 * and edge copies sum into the elements they repeat. */
#include <string.h>
#include <stdio.h>

#include "core/util.h"
#include "shape_internal.h"

ot_status oti_shape_parse_pad(const ot_layer *l, void *params) {
    ot_shape_pad_params *p = params;
    const char *mode;
    OT_TRY(oti_attr_get_string(l, "mode", "constant", &mode));
    if (!strcmp(mode, "constant")) p->mode = OT_PAD_CONSTANT;
    else if (!strcmp(mode, "reflect")) p->mode = OT_PAD_REFLECT;
    else if (!strcmp(mode, "edge")) p->mode = OT_PAD_EDGE;
    else return oti_node_fail(l, OT_ERR_UNSUPPORTED, "mode '%s' is not supported (constant, "
                             "reflect, edge are)", mode);
    p->n_pads = -1;
    if (l->opset >= 11) return OT_OK; /* pads and constant_value are inputs */
    /* Opset 1 called the attribute 'paddings'. */
    const char *name = ot_layer_find_attr(l, "pads") ? "pads" : "paddings";
    OT_TRY(oti_attr_get_ints(l, name, p->pads, 2 * OT_MAX_DIMS, &p->n_pads));
    if (p->n_pads < 0) return oti_node_fail(l, OT_ERR_INVALID, "needs a 'pads' attribute");
    return oti_attr_get_float(l, "value", 0.0f, &p->value);
}

/* Pads before and after every dim of the input. */
static ot_status pad_amounts(const ot_node_ctx *c, int64_t *begin, int64_t *end) {
    const ot_shape_pad_params *p = c->params;
    int rank = c->in[0]->ndim, n = p->n_pads, n_axes = -1;
    int64_t pads[2 * OT_MAX_DIMS], axes_in[OT_MAX_DIMS];
    int axes[OT_MAX_DIMS];
    if (n >= 0) memcpy(pads, p->pads, sizeof(int64_t) * (size_t)n);
    else OT_TRY(oti_shape_known_ints(c, 1, "pads", pads, 2 * OT_MAX_DIMS, &n));
    if (c->layer->opset >= 18 && c->n_in > 3 && c->in[3]) {
        OT_TRY(oti_shape_known_ints(c, 3, "axes", axes_in, OT_MAX_DIMS, &n_axes));
        OT_TRY(oti_shape_normalize_axes(c, axes_in, n_axes, rank, axes));
    } else {
        n_axes = rank;
        for (int d = 0; d < rank; d++) axes[d] = d;
    }
    OT_NODE_CHECK(c, n == 2 * n_axes, "pads has %d values; %d axes need %d", n, n_axes, 2 * n_axes);
    for (int d = 0; d < rank; d++) begin[d] = end[d] = 0;
    for (int i = 0; i < n_axes; i++) {
        begin[axes[i]] = pads[i];
        end[axes[i]] = pads[i + n_axes];
    }
    return OT_OK;
}

ot_status oti_shape_infer_pad(ot_node_ctx *c) {
    const ot_shape_pad_params *p = c->params;
    OT_TRY(oti_shape_check_data(c));
    const ot_tensor *x = c->in[0];
    int64_t begin[OT_MAX_DIMS], end[OT_MAX_DIMS], dims[OT_MAX_DIMS];
    OT_TRY(pad_amounts(c, begin, end));
    int64_t map_len = 0;
    for (int d = 0; d < x->ndim; d++) {
        OT_NODE_CHECK(c, begin[d] > INT64_MIN / 4 && begin[d] < INT64_MAX / 4 &&
                      end[d] > INT64_MIN / 4 && end[d] < INT64_MAX / 4, "pads of dim %d are too large", d);
        dims[d] = x->dims[d] + begin[d] + end[d];
        OT_NODE_CHECK(c, dims[d] >= 0, "pads %lld and %lld remove more than dim %d's %lld elements",
                      (long long)begin[d], (long long)end[d], d, (long long)x->dims[d]);
        OT_NODE_CHECK(c, p->mode == OT_PAD_CONSTANT || x->dims[d] > 0 || dims[d] == 0,
                      "cannot %s-pad dim %d, which is empty", p->mode == OT_PAD_EDGE ? "edge" : "reflect", d);
        map_len += dims[d];
    }
    if (c->n_in > 2 && c->in[2] && c->layer->opset >= 11) {
        OT_NODE_CHECK(c, c->in[2]->dtype == x->dtype, "constant_value is %s, but the data is %s",
                      ot_dtype_name(c->in[2]->dtype), ot_dtype_name(x->dtype));
        OT_NODE_CHECK(c, ot_tensor_numel(c->in[2]) == 1, "constant_value must hold one value");
    }
    ot_tensor_set_shape(c->out[0], x->dtype, x->ndim, dims);
    c->workspace_bytes = sizeof(int64_t) * (size_t)map_len; /* the index maps */
    return OT_OK;
}

/* Input index for output index o of a dim padded by `before`, or -1 for the constant. */
static int64_t source_index(ot_pad_mode mode, int64_t o, int64_t before, int64_t n) {
    int64_t i = o - before;
    if (i >= 0 && i < n) return i;
    if (mode == OT_PAD_CONSTANT) return -1;
    if (mode == OT_PAD_EDGE || n == 1) return i < 0 ? 0 : n - 1;
    /* reflect, repeated as numpy does for pads longer than the dim: period 2 (n - 1) */
    int64_t period = 2 * (n - 1), m = i % period;
    if (m < 0) m += period;
    return m < n ? m : period - m;
}

/* maps[d] points into the workspace: out dims[d] entries each. */
static ot_status build_maps(const ot_node_ctx *c, int64_t **maps) {
    const ot_shape_pad_params *p = c->params;
    const ot_tensor *x = c->in[0], *y = c->out[0];
    int64_t begin[OT_MAX_DIMS], end[OT_MAX_DIMS], *next = c->workspace;
    OT_TRY(pad_amounts(c, begin, end));
    for (int d = 0; d < x->ndim; d++) {
        maps[d] = next;
        for (int64_t o = 0; o < y->dims[d]; o++) next[o] = source_index(p->mode, o, begin[d], x->dims[d]);
        next += y->dims[d];
    }
    return OT_OK;
}

/* The pad value in the data's dtype, as raw bytes. */
static void fill_value(const ot_node_ctx *c, unsigned char *fill) {
    const ot_shape_pad_params *p = c->params;
    ot_dtype t = c->in[0]->dtype;
    memset(fill, 0, 16);
    if (c->layer->opset >= 11) {
        if (c->n_in > 2 && c->in[2]) memcpy(fill, c->in[2]->data, ot_dtype_size(t));
        return;
    }
    double v = p->value;
    switch (t) {
    case OT_FLOAT: { float f = (float)v; memcpy(fill, &f, 4); break; }
    case OT_INT64: { int64_t i = (int64_t)v; memcpy(fill, &i, 8); break; }
    case OT_INT32: { int32_t i = (int32_t)v; memcpy(fill, &i, 4); break; }
    case OT_BOOL: fill[0] = v != 0; break;
    default: break; /* other dtypes pad with zeros */
    }
}

/* Walks the output row by row: for each row, the input offset of its outer index (-1 when an
 * outer dim maps to the constant), then calls row_fn over the last dim. */
typedef struct pad_walk {
    int rank;
    int64_t x_strides[OT_MAX_DIMS];
    int64_t *maps[OT_MAX_DIMS];
    int64_t rows, row_len;
} pad_walk;

static ot_status pad_walk_init(const ot_node_ctx *c, pad_walk *w) {
    const ot_tensor *x = c->in[0], *y = c->out[0];
    w->rank = x->ndim;
    oti_shape_strides(x->ndim, x->dims, w->x_strides);
    OT_TRY(build_maps(c, w->maps));
    w->row_len = w->rank ? y->dims[w->rank - 1] : 1;
    w->rows = w->rank ? ot_dims_numel(w->rank - 1, y->dims) : 1;
    return OT_OK;
}

/* Input offset of row r's start (all dims but the last), or -1 if it lies in the padding. */
static int64_t row_source(const pad_walk *w, const ot_tensor *y, int64_t r) {
    int64_t offset = 0;
    for (int d = w->rank - 2; d >= 0; d--) {
        int64_t i = r % y->dims[d], m = w->maps[d][i];
        r /= y->dims[d];
        if (m < 0) return -1;
        offset += m * w->x_strides[d];
    }
    return offset;
}

/* One output row: element j is x[base + last[j] * step], or the fill value where the row
 * (base < 0) or the column (last[j] < 0) lies in the padding. */
#define PAD_ROW(type)                                                                          \
    do {                                                                                       \
        type *o = (type *)out + r * w.row_len, v;                                              \
        const type *in = (const type *)x;                                                      \
        memcpy(&v, fill, sizeof v);                                                            \
        for (int64_t j = 0; j < w.row_len; j++) {                                              \
            int64_t m = last ? last[j] : 0;                                                    \
            o[j] = base >= 0 && m >= 0 ? in[base + m * x_step] : v;                            \
        }                                                                                      \
    } while (0)

ot_status oti_shape_forward_pad(ot_node_ctx *c) {
    pad_walk w;
    OT_TRY(pad_walk_init(c, &w));
    const ot_tensor *y = c->out[0];
    size_t elem = ot_dtype_size(y->dtype);
    unsigned char fill[16];
    fill_value(c, fill);
    const unsigned char *x = c->in[0]->data;
    unsigned char *out = y->data;
    int64_t x_step = w.rank ? w.x_strides[w.rank - 1] : 0;
    const int64_t *last = w.rank ? w.maps[w.rank - 1] : NULL;
    for (int64_t r = 0; r < w.rows; r++) {
        int64_t base = row_source(&w, y, r);
        switch (elem) {
        case 1: PAD_ROW(uint8_t); break;
        case 2: PAD_ROW(uint16_t); break;
        case 4: PAD_ROW(uint32_t); break;
        case 8: PAD_ROW(uint64_t); break;
        default: OT_ASSERT(0 && "dtype sizes are 1, 2, 4 or 8");
        }
    }
    return OT_OK;
}

ot_status oti_shape_backward_pad(ot_node_ctx *c) {
    if (!c->din[0] || !c->dout[0]) return OT_OK;
    pad_walk w;
    OT_TRY(pad_walk_init(c, &w));
    const ot_tensor *y = c->out[0];
    float *dx = c->din[0]->data;
    const float *dy = c->dout[0]->data;
    int64_t x_step = w.rank ? w.x_strides[w.rank - 1] : 0;
    const int64_t *last = w.rank ? w.maps[w.rank - 1] : NULL;
    for (int64_t r = 0; r < w.rows; r++) {
        int64_t base = row_source(&w, y, r);
        if (base < 0) continue;
        const float *row = dy + r * w.row_len;
        for (int64_t j = 0; j < w.row_len; j++) {
            int64_t m = last ? last[j] : 0;
            if (m >= 0) dx[base + m * x_step] += row[j];
        }
    }
    return OT_OK;
}
