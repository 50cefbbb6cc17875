/* Op family 'shape': ops that move data without arithmetic (Reshape, Transpose, Concat, Slice,
 * Gather, Pad, Trilu, ...). This file holds the table and the helpers they share: every op reduces
 * to strided copies (forward) and strided accumulations (backward); the ops live in
 * shape_view.c, shape_layout.c, shape_concat.c, shape_slice.c, shape_pad.c and shape_trilu.c. */
#include <string.h>

#include "core/util.h"
#include "shape_internal.h"

void oti_shape_strides(int ndim, const int64_t *dims, int64_t *strides) {
    int64_t stride = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        strides[d] = stride;
        stride *= dims[d];
    }
}

/* A walk with size-1 dims dropped and neighbouring dims merged where both sides chain, so the
 * inner loop runs as long as possible. */
typedef struct strided_walk {
    int ndim;
    int64_t dims[OT_SHAPE_MAX_WALK];
    int64_t dst[OT_SHAPE_MAX_WALK], src[OT_SHAPE_MAX_WALK];
} strided_walk;

/* Returns 0 when the walk is empty (some dim is 0). */
static int simplify_walk(strided_walk *w, int ndim, const int64_t *dims, const int64_t *dst,
                         const int64_t *src) {
    OT_ASSERT(ndim <= OT_SHAPE_MAX_WALK);
    w->ndim = 0;
    for (int d = 0; d < ndim; d++) {
        if (dims[d] == 0) return 0;
        if (dims[d] == 1) continue;
        int n = w->ndim;
        if (n > 0 && w->dst[n - 1] == dst[d] * dims[d] && w->src[n - 1] == src[d] * dims[d]) {
            w->dims[n - 1] *= dims[d];
            w->dst[n - 1] = dst[d];
            w->src[n - 1] = src[d];
            continue;
        }
        w->dims[n] = dims[d];
        w->dst[n] = dst[d];
        w->src[n] = src[d];
        w->ndim++;
    }
    if (w->ndim == 0) { /* a single element */
        w->dims[0] = 1;
        w->dst[0] = w->src[0] = 0;
        w->ndim = 1;
    }
    return 1;
}

/* Moves the outer index (all dims but the last) one step, updating both offsets. */
static void next_row(const strided_walk *w, int64_t *index, int64_t *dst_off, int64_t *src_off) {
    for (int d = w->ndim - 2; d >= 0; d--) {
        index[d]++;
        *dst_off += w->dst[d];
        *src_off += w->src[d];
        if (index[d] < w->dims[d]) return;
        *dst_off -= w->dst[d] * w->dims[d];
        *src_off -= w->src[d] * w->dims[d];
        index[d] = 0;
    }
}

static int64_t outer_rows(const strided_walk *w) {
    int64_t rows = 1;
    for (int d = 0; d < w->ndim - 1; d++) rows *= w->dims[d];
    return rows;
}

#define COPY_ROW(type)                                                                         \
    do {                                                                                       \
        type *o = (type *)dst + dst_off;                                                       \
        const type *i = (const type *)src + src_off;                                           \
        for (int64_t j = 0; j < n; j++) o[j * ds] = i[j * ss];                                 \
    } while (0)

void oti_shape_copy(void *dst, const int64_t *dst_strides, int64_t dst_offset, const void *src,
                   const int64_t *src_strides, int64_t src_offset, int ndim, const int64_t *dims,
                   size_t elem_size) {
    strided_walk w;
    if (!simplify_walk(&w, ndim, dims, dst_strides, src_strides)) return;
    int64_t index[OT_SHAPE_MAX_WALK] = {0};
    int64_t dst_off = dst_offset, src_off = src_offset, rows = outer_rows(&w);
    int64_t n = w.dims[w.ndim - 1], ds = w.dst[w.ndim - 1], ss = w.src[w.ndim - 1];
    for (int64_t r = 0; r < rows; r++) {
        if (ds == 1 && ss == 1) {
            memcpy((char *)dst + dst_off * (int64_t)elem_size,
                   (const char *)src + src_off * (int64_t)elem_size, (size_t)n * elem_size);
        } else {
            switch (elem_size) {
            case 1: COPY_ROW(uint8_t); break;
            case 2: COPY_ROW(uint16_t); break;
            case 4: COPY_ROW(uint32_t); break;
            case 8: COPY_ROW(uint64_t); break;
            default:
                for (int64_t j = 0; j < n; j++)
                    memcpy((char *)dst + (dst_off + j * ds) * (int64_t)elem_size,
                           (const char *)src + (src_off + j * ss) * (int64_t)elem_size, elem_size);
            }
        }
        next_row(&w, index, &dst_off, &src_off);
    }
}

void oti_shape_accumulate(float *dst, const int64_t *dst_strides, int64_t dst_offset,
                         const float *src, const int64_t *src_strides, int64_t src_offset,
                         int ndim, const int64_t *dims) {
    strided_walk w;
    if (!simplify_walk(&w, ndim, dims, dst_strides, src_strides)) return;
    int64_t index[OT_SHAPE_MAX_WALK] = {0};
    int64_t dst_off = dst_offset, src_off = src_offset, rows = outer_rows(&w);
    int64_t n = w.dims[w.ndim - 1], ds = w.dst[w.ndim - 1], ss = w.src[w.ndim - 1];
    for (int64_t r = 0; r < rows; r++) {
        float *o = dst + dst_off;
        const float *i = src + src_off;
        if (ds == 0) { /* a broadcast dim: the whole row sums into one element */
            float sum = 0.0f;
            for (int64_t j = 0; j < n; j++) sum += i[j * ss];
            o[0] += sum;
        } else {
            for (int64_t j = 0; j < n; j++) o[j * ds] += i[j * ss];
        }
        next_row(&w, index, &dst_off, &src_off);
    }
}

int64_t oti_shape_int_at(const ot_tensor *t, int64_t i) {
    return t->dtype == OT_INT32 ? (int64_t)((const int32_t *)t->data)[i]
                                : ((const int64_t *)t->data)[i];
}

ot_status oti_shape_known_ints(const ot_node_ctx *c, int k, const char *what, int64_t *out,
                              int capacity, int *count) {
    OT_NODE_CHECK(c, k < c->n_in && c->in[k], "needs input %d (%s)", k, what);
    const ot_tensor *t = c->in[k];
    OT_NODE_CHECK(c, c->in_known[k],
                  "input '%s' (%s) must be known when the plan is built (an initializer, a "
                  "Constant, or computed from shapes); data-dependent %s is not supported",
                  c->model->values[c->layer->inputs[k]].name, what, what);
    OT_NODE_CHECK(c, t->dtype == OT_INT64 || t->dtype == OT_INT32, "%s must be int64, not %s",
                  what, ot_dtype_name(t->dtype));
    OT_NODE_CHECK(c, t->ndim <= 1, "%s must be 1-D, not %d-D", what, t->ndim);
    int64_t n = ot_tensor_numel(t);
    OT_NODE_CHECK(c, n >= 0 && n <= capacity, "%s has %lld values, at most %d are supported",
                  what, (long long)n, capacity);
    for (int64_t i = 0; i < n; i++) out[i] = oti_shape_int_at(t, i);
    *count = (int)n;
    return OT_OK;
}

ot_status oti_shape_normalize_axes(const ot_node_ctx *c, const int64_t *axes, int n, int rank,
                                  int *out) {
    for (int i = 0; i < n; i++) {
        out[i] = oti_normalize_axis(axes[i], rank);
        OT_NODE_CHECK(c, out[i] >= 0, "axis %lld is out of range for rank %d", (long long)axes[i],
                      rank);
        for (int j = 0; j < i; j++)
            OT_NODE_CHECK(c, out[j] != out[i], "axis %d is given twice", out[i]);
    }
    return OT_OK;
}

ot_status oti_shape_check_data(const ot_node_ctx *c) {
    OT_NODE_CHECK(c, c->n_in >= 1 && c->in[0], "needs a data input");
    OT_NODE_CHECK(c, ot_dtype_size(c->in[0]->dtype) > 0, "input has dtype %s, which has no fixed size",
                  ot_dtype_name(c->in[0]->dtype));
    return OT_OK;
}

/* Shape, axes, pads, starts/ends/steps, repeats and indices inputs are constants, never
 * trained; Gather's data input is an embedding table. */
#define SHAPE_OP(op_name, since, params, parse_fn, fn, ...)                                    \
    {.name = op_name, .since_version = since, .params_size = params, .parse = parse_fn,          \
     .infer = oti_shape_infer_##fn, .forward = oti_shape_forward_##fn,                             \
     .backward = oti_shape_backward_##fn, .inputs = {__VA_ARGS__}}
#define C OT_ROLE_CONSTANT
/* The same, for ops that only rearrange their input's values. */
#define LAYOUT_OP(op_name, since, params, parse_fn, fn, ...)                                   \
    {.name = op_name, .since_version = since, .params_size = params, .parse = parse_fn,          \
     .infer = oti_shape_infer_##fn, .forward = oti_shape_forward_##fn,                             \
     .backward = oti_shape_backward_##fn, .flags = OT_OP_LAYOUT, .inputs = {__VA_ARGS__}}

const ot_op oti_ops_shape[] = {
    {.name = "Shape", .since_version = 1, .params_size = sizeof(ot_shape_axes_params),
     .parse = oti_shape_parse_shape, .infer = oti_shape_infer_shape, .forward = oti_shape_forward_shape,
     .flags = OT_OP_SHAPE_ONLY},
    {.name = "Size", .since_version = 1, .infer = oti_shape_infer_size, .forward = oti_shape_forward_size,
     .flags = OT_OP_SHAPE_ONLY},
    LAYOUT_OP("Reshape", 1, sizeof(ot_shape_reshape_params), oti_shape_parse_reshape, reshape, [1] = C),
    LAYOUT_OP("Flatten", 1, sizeof(ot_shape_axes_params), oti_shape_parse_flatten, flatten, 0),
    LAYOUT_OP("Squeeze", 1, sizeof(ot_shape_axes_params), oti_shape_parse_squeeze, squeeze, [1] = C),
    LAYOUT_OP("Unsqueeze", 1, sizeof(ot_shape_axes_params), oti_shape_parse_squeeze, unsqueeze, [1] = C),
    LAYOUT_OP("Transpose", 1, sizeof(ot_shape_transpose_params), oti_shape_parse_transpose, transpose, 0),
    SHAPE_OP("Expand", 8, 0, NULL, expand, [1] = C),
    SHAPE_OP("Tile", 6, 0, NULL, tile, [1] = C),
    SHAPE_OP("Concat", 1, sizeof(ot_shape_concat_params), oti_shape_parse_concat, concat, 0),
    SHAPE_OP("Split", 1, sizeof(ot_shape_split_params), oti_shape_parse_split, split, [1] = C),
    SHAPE_OP("Slice", 1, sizeof(ot_shape_slice_params), oti_shape_parse_slice, slice, [1] = C, C, C, C),
    SHAPE_OP("Gather", 1, sizeof(ot_shape_gather_params), oti_shape_parse_gather, gather,
             OT_ROLE_EMBEDDING, C),
    SHAPE_OP("GatherElements", 11, sizeof(ot_shape_scatter_params), oti_shape_parse_elements,
             gather_elements, [1] = C),
    SHAPE_OP("GatherND", 11, sizeof(ot_shape_scatter_params), oti_shape_parse_nd, gather_nd, [1] = C),
    SHAPE_OP("Scatter", 9, sizeof(ot_shape_scatter_params), oti_shape_parse_elements,
             scatter_elements, [1] = C),
    SHAPE_OP("ScatterElements", 11, sizeof(ot_shape_scatter_params), oti_shape_parse_elements,
             scatter_elements, [1] = C),
    SHAPE_OP("ScatterND", 11, sizeof(ot_shape_scatter_params), oti_shape_parse_nd, scatter_nd, [1] = C),
    LAYOUT_OP("DepthToSpace", 1, sizeof(ot_shape_space_params), oti_shape_parse_space, space, 0),
    LAYOUT_OP("SpaceToDepth", 1, sizeof(ot_shape_space_params), oti_shape_parse_space, space, 0),
    SHAPE_OP("Pad", 1, sizeof(ot_shape_pad_params), oti_shape_parse_pad, pad, [1] = C, C, C),
    SHAPE_OP("Trilu", 14, sizeof(ot_shape_trilu_params), oti_shape_parse_trilu, trilu, [1] = C),
    SHAPE_OP("OneHot", 9, sizeof(ot_shape_onehot_params), oti_shape_parse_onehot, onehot, C, C),
    SHAPE_OP("ReverseSequence", 10, sizeof(ot_shape_reverse_sequence_params),
             oti_shape_parse_reverse_sequence, reverse_sequence, [1] = C),
};
#undef C
const ot_op_family oti_family_shape = {oti_ops_shape, OT_COUNT(oti_ops_shape)};
