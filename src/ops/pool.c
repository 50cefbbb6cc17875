/* Pooling: MaxPool, AveragePool (N-D windows with strides, pads, dilations, ceil_mode,
 * auto_pad) and GlobalAveragePool / GlobalMaxPool (one window over all spatial dims).
 *
 * Input (N, C, D1..Dk), output (N, C, O1..Ok). Each (n, c) plane is pooled on its own. The
 * window geometry (output size, actual pads) depends on the input shape under auto_pad, so
 * infer and forward both derive it from the attributes and the input dims. MaxPool keeps the
 * flat input index of each window's maximum in c->saved for backward (first maximum wins on
 * ties, NaN wins over numbers, as in PyTorch). */
#include <math.h>
#include <string.h>

#include "core/util.h"
#include "gemm.h"
#include "op.h"
#include "pool_internal.h"

typedef enum pool_kind { POOL_MAX, POOL_AVERAGE } pool_kind;

typedef enum auto_pad_kind {
    AUTO_PAD_NOTSET, AUTO_PAD_VALID, AUTO_PAD_SAME_UPPER, AUTO_PAD_SAME_LOWER
} auto_pad_kind;

typedef struct pool_params {
    pool_kind kind;
    int global;
    int nd; /* spatial rank from kernel_shape (0 for global pools: taken from the input) */
    int64_t kernel[POOL_MAX_SPATIAL], strides[POOL_MAX_SPATIAL], dilations[POOL_MAX_SPATIAL];
    int64_t pads[2 * POOL_MAX_SPATIAL]; /* [x1_begin, x2_begin, ..., x1_end, x2_end] */
    auto_pad_kind auto_pad;
    int ceil_mode, count_include_pad, storage_order;
} pool_params;

/* A window along one spatial dim (2-D fast paths precompute them per output row/column). */
typedef struct window_range {
    int64_t first, end, origin; /* kernel indices [first, end) inside the input; origin coord */
    int64_t padded;             /* kernel indices inside the padded input */
} window_range;

/* Parsing ---------------------------------------------------------------------------------- */

static ot_status parse_auto_pad(const ot_layer *l, auto_pad_kind *out) {
    const char *s;
    OT_TRY(oti_attr_get_string(l, "auto_pad", "NOTSET", &s));
    if (!strcmp(s, "NOTSET") || !*s) *out = AUTO_PAD_NOTSET;
    else if (!strcmp(s, "VALID")) *out = AUTO_PAD_VALID;
    else if (!strcmp(s, "SAME_UPPER")) *out = AUTO_PAD_SAME_UPPER;
    else if (!strcmp(s, "SAME_LOWER")) *out = AUTO_PAD_SAME_LOWER;
    else
        return oti_node_fail(l, OT_ERR_INVALID,
                            "auto_pad must be NOTSET, VALID, SAME_UPPER or SAME_LOWER, not '%s'", s);
    return OT_OK;
}

/* Reads an ints attribute of exactly `expected` positive values, or fills `fallback`. */
static ot_status parse_positive_ints(const ot_layer *l, const char *name, int expected,
                                     int64_t *out) {
    int count;
    OT_TRY(oti_attr_get_ints(l, name, out, expected, &count));
    if (count < 0) {
        for (int d = 0; d < expected; d++) out[d] = 1;
        return OT_OK;
    }
    if (count != expected)
        return oti_node_fail(l, OT_ERR_INVALID, "%s has %d values, kernel_shape has %d", name,
                            count, expected);
    for (int d = 0; d < expected; d++)
        if (out[d] <= 0)
            return oti_node_fail(l, OT_ERR_INVALID, "%s[%d] is %lld; it must be positive", name, d,
                                (long long)out[d]);
    return OT_OK;
}

static ot_status parse_pads(const ot_layer *l, int nd, int64_t *pads) {
    int count;
    memset(pads, 0, sizeof(int64_t) * 2 * POOL_MAX_SPATIAL);
    OT_TRY(oti_attr_get_ints(l, "pads", pads, 2 * POOL_MAX_SPATIAL, &count));
    if (count < 0) return OT_OK;
    if (count != 2 * nd)
        return oti_node_fail(l, OT_ERR_INVALID, "pads has %d values; it needs 2 per spatial dim (%d)",
                            count, 2 * nd);
    for (int d = 0; d < 2 * nd; d++)
        if (pads[d] < 0)
            return oti_node_fail(l, OT_ERR_INVALID, "pads[%d] is %lld; pads must not be negative", d,
                                (long long)pads[d]);
    return OT_OK;
}

static ot_status parse_windowed(const ot_layer *l, pool_params *p) {
    int nd;
    OT_TRY(oti_attr_get_ints(l, "kernel_shape", p->kernel, POOL_MAX_SPATIAL, &nd));
    if (nd < 0) return oti_node_fail(l, OT_ERR_INVALID, "kernel_shape is required");
    if (nd == 0) return oti_node_fail(l, OT_ERR_INVALID, "kernel_shape is empty");
    for (int d = 0; d < nd; d++)
        if (p->kernel[d] <= 0)
            return oti_node_fail(l, OT_ERR_INVALID, "kernel_shape[%d] is %lld; it must be positive",
                                d, (long long)p->kernel[d]);
    p->nd = nd;
    OT_TRY(parse_positive_ints(l, "strides", nd, p->strides));
    OT_TRY(parse_positive_ints(l, "dilations", nd, p->dilations));
    OT_TRY(parse_pads(l, nd, p->pads));
    OT_TRY(parse_auto_pad(l, &p->auto_pad));
    int64_t v;
    OT_TRY(oti_attr_get_int(l, "ceil_mode", 0, &v));
    p->ceil_mode = v != 0;
    OT_TRY(oti_attr_get_int(l, "count_include_pad", 0, &v));
    p->count_include_pad = v != 0;
    OT_TRY(oti_attr_get_int(l, "storage_order", 0, &v));
    if (v != 0 && v != 1)
        return oti_node_fail(l, OT_ERR_INVALID, "storage_order must be 0 (row major) or 1 "
                            "(column major), not %lld", (long long)v);
    p->storage_order = (int)v;
    return OT_OK;
}

static ot_status parse_pool(const ot_layer *l, void *params) {
    pool_params *p = params;
    memset(p, 0, sizeof *p);
    const char *op = l->op_type;
    p->kind = strstr(op, "Max") ? POOL_MAX : POOL_AVERAGE;
    p->global = !strncmp(op, "Global", 6);
    if (p->global) return OT_OK;
    return parse_windowed(l, p);
}

/* Geometry ---------------------------------------------------------------------------------- */

/* Output size and pads of one spatial dim from explicit pads (with ceil_mode). */
static ot_status explicit_dim(const ot_node_ctx *c, const pool_params *p, int d,
                              pool_geometry *g) {
    int64_t extent = (p->kernel[d] - 1) * p->dilations[d] + 1;
    g->pad_begin[d] = p->auto_pad == AUTO_PAD_VALID ? 0 : p->pads[d];
    g->pad_end[d] = p->auto_pad == AUTO_PAD_VALID ? 0 : p->pads[g->nd + d];
    int64_t span = g->in[d] + g->pad_begin[d] + g->pad_end[d] - extent;
    OT_NODE_CHECK(c, span >= 0, "window (kernel %lld, dilation %lld, extent %lld) is larger than "
                  "the padded input (%lld) along spatial dim %d", (long long)p->kernel[d],
                  (long long)p->dilations[d], (long long)extent,
                  (long long)(g->in[d] + g->pad_begin[d] + g->pad_end[d]), d);
    int64_t out = (p->ceil_mode ? (span + g->stride[d] - 1) / g->stride[d] : span / g->stride[d]) + 1;
    /* ceil_mode: the last window must start inside the input or the left padding. */
    if (p->ceil_mode && (out - 1) * g->stride[d] >= g->in[d] + g->pad_begin[d]) out--;
    g->out[d] = out;
    return OT_OK;
}

/* SAME_UPPER / SAME_LOWER: out = ceil(in / stride); the extra pad goes at the end (UPPER) or
 * the beginning (LOWER). */
static void same_dim(const pool_params *p, int d, pool_geometry *g) {
    int64_t extent = (p->kernel[d] - 1) * p->dilations[d] + 1;
    g->out[d] = (g->in[d] + g->stride[d] - 1) / g->stride[d];
    int64_t total = (g->out[d] - 1) * g->stride[d] + extent - g->in[d];
    if (total < 0) total = 0;
    g->pad_begin[d] = p->auto_pad == AUTO_PAD_SAME_UPPER ? total / 2 : total - total / 2;
    g->pad_end[d] = total - g->pad_begin[d];
}

static ot_status pool_geometry_of(const ot_node_ctx *c, pool_geometry *g) {
    const pool_params *p = c->params;
    const ot_tensor *x = c->in[0];
    memset(g, 0, sizeof *g);
    g->pool = c->pool;
    g->nd = p->global ? x->ndim - 2 : p->nd;
    g->planes = x->dims[0] * x->dims[1];
    g->in_size = g->out_size = 1;
    for (int d = 0; d < g->nd; d++) {
        g->in[d] = x->dims[2 + d];
        OT_NODE_CHECK(c, g->in[d] > 0, "spatial dim %d of the input is empty", d);
        if (p->global) {
            g->kernel[d] = g->in[d];
            g->stride[d] = g->dilation[d] = g->out[d] = 1;
        } else {
            g->kernel[d] = p->kernel[d];
            g->stride[d] = p->strides[d];
            g->dilation[d] = p->dilations[d];
            if (p->auto_pad == AUTO_PAD_SAME_UPPER || p->auto_pad == AUTO_PAD_SAME_LOWER) same_dim(p, d, g);
            else OT_TRY(explicit_dim(c, p, d, g));
        }
        g->in_size *= g->in[d];
        g->out_size *= g->out[d];
    }
    return OT_OK;
}

static ot_status infer_pool(ot_node_ctx *c) {
    const pool_params *p = c->params;
    OT_NODE_CHECK(c, c->n_in >= 1 && c->in[0], "needs an input X");
    const ot_tensor *x = c->in[0];
    /* MaxPool also takes int8/uint8 (held as int64): pooled as float32, which holds them
     * exactly. */
    int small_int = p->kind == POOL_MAX && (ot_tensor_declared(x) == OT_INT8 || ot_tensor_declared(x) == OT_UINT8);
    OT_NODE_CHECK(c, x->dtype == OT_FLOAT || small_int, "X must be float32%s, not %s",
                  p->kind == POOL_MAX ? ", int8 or uint8" : "", ot_dtype_name(ot_tensor_declared(x)));
    if (p->global) OT_NODE_CHECK(c, x->ndim >= 2, "X must be (N, C, ...), rank >= 2, not rank %d", x->ndim);
    else
        OT_NODE_CHECK(c, x->ndim == p->nd + 2, "X has rank %d; a %d-D kernel_shape needs rank %d "
                      "(N, C, spatial...)", x->ndim, p->nd, p->nd + 2);
    pool_geometry g;
    OT_TRY(pool_geometry_of(c, &g));
    int64_t dims[OT_MAX_DIMS] = {x->dims[0], x->dims[1]};
    for (int d = 0; d < g.nd; d++) dims[2 + d] = g.out[d];
    ot_tensor_set_shape(c->out[0], x->dtype, x->ndim, dims);
    if (c->n_out > 1 && c->out[1]) {
        OT_NODE_CHECK(c, p->kind == POOL_MAX && !p->global, "has no second output");
        ot_tensor_set_shape(c->out[1], OT_INT64, x->ndim, dims);
        c->out[1]->declared = OT_INT64; /* indices, whatever x's dtype */
    }
    if (p->kind == POOL_MAX) c->saved_bytes = sizeof(int64_t) * (size_t)ot_dims_numel(x->ndim, dims);
    if (g.nd == 2) c->workspace_bytes = sizeof(window_range) * (size_t)(g.out[0] + g.out[1]);
    if (small_int) /* then x and y as float32 */
        c->workspace_bytes += sizeof(float) * (size_t)(ot_tensor_numel(x) + ot_dims_numel(x->ndim, dims)) + 64;
    return OT_OK;
}

/* Windows ----------------------------------------------------------------------------------- */

/* One window: per spatial dim, the input coordinate of kernel index 0 and the kernel indices
 * [first, end) that land inside the input; padded_count counts the kernel indices inside the
 * padded input (what count_include_pad divides by). */
typedef struct pool_window {
    int64_t origin[POOL_MAX_SPATIAL], first[POOL_MAX_SPATIAL], end[POOL_MAX_SPATIAL];
    int64_t valid_count, padded_count;
} pool_window;

static int64_t ceil_div_nonneg(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Kernel indices k with lo <= origin + k * dilation < hi, as [first, end) within [0, kernel). */
static void kernel_range(int64_t origin, int64_t dilation, int64_t kernel, int64_t lo, int64_t hi,
                         int64_t *first, int64_t *end) {
    *first = origin >= lo ? 0 : ceil_div_nonneg(lo - origin, dilation);
    *end = origin >= hi ? 0 : OT_MIN(kernel, (hi - 1 - origin) / dilation + 1);
    if (*end < *first) *end = *first;
}

static void window_at(const pool_geometry *g, const int64_t *out_pos, pool_window *w) {
    w->valid_count = w->padded_count = 1;
    for (int d = 0; d < g->nd; d++) {
        int64_t origin = out_pos[d] * g->stride[d] - g->pad_begin[d];
        int64_t pf, pe;
        w->origin[d] = origin;
        kernel_range(origin, g->dilation[d], g->kernel[d], 0, g->in[d], &w->first[d], &w->end[d]);
        kernel_range(origin, g->dilation[d], g->kernel[d], -g->pad_begin[d], g->in[d] + g->pad_end[d], &pf, &pe);
        w->valid_count *= w->end[d] - w->first[d];
        w->padded_count *= pe - pf;
    }
}

/* Advances a row-major multi-index within [first, end) per dim; 0 when it wraps around. */
static int next_index(int nd, int64_t *index, const int64_t *first, const int64_t *end) {
    for (int d = nd - 1; d >= 0; d--) {
        if (++index[d] < end[d]) return 1;
        index[d] = first[d];
    }
    return 0;
}

/* Offset within the plane of the window element at kernel multi-index k. */
static int64_t window_offset(const pool_geometry *g, const pool_window *w, const int64_t *k) {
    int64_t offset = 0;
    for (int d = 0; d < g->nd; d++) offset = offset * g->in[d] + w->origin[d] + k[d] * g->dilation[d];
    return offset;
}

/* Runs body with offset_var set to the in-plane offset of every in-input element of window w
 * (kernel indices in row-major order, so the first maximum is the first in that order). */
#define FOR_EACH_WINDOW_ELEMENT(g, w, offset_var, body)                                        \
    do {                                                                                       \
        int64_t k_[POOL_MAX_SPATIAL];                                                          \
        if ((w)->valid_count == 0) break;                                                      \
        memcpy(k_, (w)->first, sizeof(int64_t) * (size_t)(g)->nd);                             \
        do {                                                                                   \
            int64_t offset_var = window_offset((g), (w), k_);                                  \
            body;                                                                              \
        } while (next_index((g)->nd, k_, (w)->first, (w)->end));                               \
    } while (0)

/* The ONNX Indices value of a flat in-plane offset: row major as is; column major reverses
 * the order of the spatial dims (the first spatial dim varies fastest). */
static int64_t onnx_index(const pool_geometry *g, int64_t plane, int64_t offset, int storage_order) {
    if (storage_order == 0) return plane * g->in_size + offset;
    int64_t coord[POOL_MAX_SPATIAL], column = 0;
    for (int d = g->nd - 1; d >= 0; d--) {
        coord[d] = offset % g->in[d];
        offset /= g->in[d];
    }
    for (int d = g->nd - 1; d >= 0; d--) column = column * g->in[d] + coord[d];
    return plane * g->in_size + column;
}

/* Forward ---------------------------------------------------------------------------------- */

/* 2-D windows are the hot case (every CNN): the same windows, ties and NaN rules as the N-D
 * code below, with the clipped kernel ranges computed once per output row and column. */

static window_range range_at(const pool_geometry *g, int d, int64_t out_pos) {
    window_range r;
    int64_t pf, pe;
    r.origin = out_pos * g->stride[d] - g->pad_begin[d];
    kernel_range(r.origin, g->dilation[d], g->kernel[d], 0, g->in[d], &r.first, &r.end);
    kernel_range(r.origin, g->dilation[d], g->kernel[d], -g->pad_begin[d], g->in[d] + g->pad_end[d], &pf, &pe);
    r.padded = pe - pf;
    return r;
}

/* ranges: (out[0] + out[1]) windows: rows, then columns. */
static void fill_ranges_2d(const pool_geometry *g, window_range *ranges) {
    for (int64_t oy = 0; oy < g->out[0]; oy++) ranges[oy] = range_at(g, 0, oy);
    for (int64_t ox = 0; ox < g->out[1]; ox++) ranges[g->out[0] + ox] = range_at(g, 1, ox);
}

/* take (all ones or 0) ? a : b on the bits, so the compiler emits no branch (pooling random
 * data mispredicts every other comparison otherwise). */
static inline float select_float(int64_t take, float a, float b) {
    uint32_t ua, ub;
    memcpy(&ua, &a, 4);
    memcpy(&ub, &b, 4);
    uint32_t r = (ua & (uint32_t)take) | (ub & ~(uint32_t)take);
    float out;
    memcpy(&out, &r, 4);
    return out;
}

typedef struct max_pool_2d_job {
    float *y;
    int64_t *argmax; /* NULL: positions not wanted */
    const float *x;
    const pool_geometry *g;
    const window_range *ranges;
} max_pool_2d_job;

/* Values only (no positions wanted): y = the window's maximum, NaN if any element is NaN,
 * -inf for a window without elements: the same values as the positional loop below, in any
 * order. Taps run outermost over the columns whose windows are whole, so the inner loop is a
 * plain strided max the compiler vectorises; border columns take their own ranges. */
static void max_pool_2d_values_row(float *yrow, const float *xp, const pool_geometry *g,
                                   const window_range *ranges, window_range ry, int64_t ox_lo, int64_t ox_hi) {
    int64_t oh = g->out[0], ow = g->out[1], iw = g->in[1], kw = g->kernel[1];
    int64_t dh = g->dilation[0], dw = g->dilation[1], sx = g->stride[1];
    for (int64_t ox = 0; ox < ow; ox++) yrow[ox] = -INFINITY;
    for (int64_t ky = ry.first; ky < ry.end; ky++) {
        const float *xrow = xp + (ry.origin + ky * dh) * iw;
        for (int64_t ox = 0; ox < ow; ox++) {
            if (ox == ox_lo) ox = ox_hi; /* whole windows below */
            if (ox >= ow) break;
            window_range rx = ranges[oh + ox];
            float best = yrow[ox];
            for (int64_t kx = rx.first; kx < rx.end; kx++) {
                float v = xrow[rx.origin + kx * dw];
                best = ((v > best) | (v != v)) ? v : best;
            }
            yrow[ox] = best;
        }
        if (ox_lo >= ox_hi) continue;
        int64_t origin = ranges[oh + ox_lo].origin; /* column of ox_lo's window start */
        for (int64_t kx = 0; kx < kw; kx++) {
            const float *src = xrow + origin + kx * dw;
            float *dst = yrow + ox_lo;
            int64_t n = ox_hi - ox_lo;
            for (int64_t i = 0; i < n; i++) {
                float v = src[i * sx], best = dst[i];
                dst[i] = ((v > best) | (v != v)) ? v : best;
            }
        }
    }
}

/* Planes [begin, end) of a 2-D max pool over precomputed window ranges. */
static void max_pool_2d_planes(int64_t begin, int64_t end, int part, void *arg) {
    (void)part;
    const max_pool_2d_job *j = arg;
    const pool_geometry *g = j->g;
    const window_range *ranges = j->ranges;
    int64_t oh = g->out[0], ow = g->out[1], iw = g->in[1], dh = g->dilation[0], dw = g->dilation[1];
    /* Columns whose windows lie wholly inside the input: a contiguous run (windows move
     * right monotonically), empty when there is none. */
    int64_t ox_lo = 0, ox_hi = 0;
    while (ox_lo < ow && !(ranges[oh + ox_lo].first == 0 && ranges[oh + ox_lo].end == g->kernel[1])) ox_lo++;
    ox_hi = ox_lo;
    while (ox_hi < ow && ranges[oh + ox_hi].first == 0 && ranges[oh + ox_hi].end == g->kernel[1]) ox_hi++;
    for (int64_t plane = begin; plane < end; plane++) {
        const float *xp = j->x + plane * g->in_size;
        if (!j->argmax) {
            for (int64_t oy = 0; oy < oh; oy++)
                max_pool_2d_values_row(j->y + plane * g->out_size + oy * ow, xp, g, ranges, ranges[oy], ox_lo, ox_hi);
            continue;
        }
        for (int64_t oy = 0; oy < oh; oy++) {
            window_range ry = ranges[oy];
            for (int64_t ox = 0; ox < ow; ox++) {
                window_range rx = ranges[oh + ox];
                float best = -INFINITY;
                int64_t best_at = -1;
                if (ry.first < ry.end && rx.first < rx.end) {
                    best_at = (ry.origin + ry.first * dh) * iw + rx.origin + rx.first * dw;
                    best = xp[best_at];
                }
                for (int64_t ky = ry.first; ky < ry.end; ky++) {
                    int64_t row = (ry.origin + ky * dh) * iw + rx.origin;
                    for (int64_t kx = rx.first; kx < rx.end; kx++) {
                        int64_t off = row + kx * dw;
                        float v = xp[off];
                        /* Branch-free select: a larger value or a NaN takes over (ties keep
                         * the first). */
                        int64_t take = -(int64_t)((v > best) | (v != v)); /* all ones or 0 */
                        best = select_float(take, v, best);
                        best_at = (off & take) | (best_at & ~take);
                    }
                }
                int64_t o = plane * g->out_size + oy * ow + ox;
                j->y[o] = best;
                j->argmax[o] = best_at < 0 ? -1 : plane * g->in_size + best_at;
            }
        }
    }
}

static void max_pool_forward_2d(float *y, int64_t *argmax, const float *x, const pool_geometry *g,
                                window_range *ranges) {
    fill_ranges_2d(g, ranges);
    max_pool_2d_job job = {y, argmax, x, g, ranges};
    oti_parallel_ranges(g->pool, g->planes, pool_plane_grain(g), max_pool_2d_planes, &job);
}

/* y (planes, out_size), argmax (planes, out_size) flat input indices or -1 for windows with
 * no input element, from x (planes, in_size). */
static void max_pool_forward(float *y, int64_t *argmax, const float *x, const pool_geometry *g,
                             window_range *ranges) {
    if (oti_pool_is_plain_2x2_stride_2(g)) {
        oti_max_pool_2x2_forward(y, argmax, x, g);
        return;
    }
    if (g->nd == 2) {
        max_pool_forward_2d(y, argmax, x, g, ranges);
        return;
    }
    for (int64_t plane = 0; plane < g->planes; plane++) {
        const float *xp = x + plane * g->in_size;
        int64_t pos[POOL_MAX_SPATIAL] = {0}, zero[POOL_MAX_SPATIAL] = {0};
        for (int64_t o = 0; o < g->out_size; o++) {
            pool_window w;
            window_at(g, pos, &w);
            float best = -INFINITY;
            int64_t best_at = -1;
            FOR_EACH_WINDOW_ELEMENT(g, &w, off, {
                float v = xp[off];
                if (best_at < 0 || v > best || isnan(v)) {
                    best = v;
                    best_at = off;
                }
            });
            y[plane * g->out_size + o] = best;
            argmax[plane * g->out_size + o] = best_at < 0 ? -1 : plane * g->in_size + best_at;
            next_index(g->nd, pos, zero, g->out);
        }
    }
}

static float average_divisor(const pool_window *w, int count_include_pad) {
    return (float)(count_include_pad ? w->padded_count : w->valid_count);
}

/* Runs body for every output of a 2-D pool with ry, rx (window ranges), divisor and the
 * row-major input offset expression `at(ky, kx)` available. */
#define FOR_EACH_WINDOW_2D(g, ranges, count_include_pad, body)                                 \
    fill_ranges_2d((g), (ranges));                                                             \
    for (int64_t plane = 0; plane < (g)->planes; plane++)                                      \
        for (int64_t oy = 0; oy < (g)->out[0]; oy++) {                                         \
            window_range ry = (ranges)[oy];                                                    \
            for (int64_t ox = 0; ox < (g)->out[1]; ox++) {                                     \
                window_range rx = (ranges)[(g)->out[0] + ox];                                  \
                float divisor = (float)((count_include_pad) ? ry.padded * rx.padded            \
                                                            : (ry.end - ry.first) * (rx.end - rx.first)); \
                int64_t o = plane * (g)->out_size + oy * (g)->out[1] + ox;                      \
                int64_t base = plane * (g)->in_size + ry.origin * (g)->in[1] + rx.origin;       \
                body;                                                                          \
            }                                                                                  \
        }

static void average_pool_forward_2d(float *y, const float *x, const pool_geometry *g, int count_include_pad,
                                    window_range *ranges) {
    int64_t iw = g->in[1], dh = g->dilation[0], dw = g->dilation[1];
    FOR_EACH_WINDOW_2D(g, ranges, count_include_pad, {
        double sum = 0;
        for (int64_t ky = ry.first; ky < ry.end; ky++)
            for (int64_t kx = rx.first; kx < rx.end; kx++) sum += x[base + ky * dh * iw + kx * dw];
        y[o] = divisor > 0 ? (float)(sum / divisor) : 0.0f;
    });
}

static void average_pool_backward_2d(float *dx, const float *dy, const pool_geometry *g, int count_include_pad,
                                     window_range *ranges) {
    int64_t iw = g->in[1], dh = g->dilation[0], dw = g->dilation[1];
    FOR_EACH_WINDOW_2D(g, ranges, count_include_pad, {
        if (divisor <= 0) continue;
        float share = dy[o] / divisor;
        for (int64_t ky = ry.first; ky < ry.end; ky++)
            for (int64_t kx = rx.first; kx < rx.end; kx++) dx[base + ky * dh * iw + kx * dw] += share;
    });
}

/* y (planes, out_size) from x (planes, in_size). Empty windows give 0. */
static void average_pool_forward(float *y, const float *x, const pool_geometry *g,
                                 int count_include_pad, window_range *ranges) {
    if (g->nd == 2) {
        average_pool_forward_2d(y, x, g, count_include_pad, ranges);
        return;
    }
    for (int64_t plane = 0; plane < g->planes; plane++) {
        const float *xp = x + plane * g->in_size;
        int64_t pos[POOL_MAX_SPATIAL] = {0}, zero[POOL_MAX_SPATIAL] = {0};
        for (int64_t o = 0; o < g->out_size; o++) {
            pool_window w;
            window_at(g, pos, &w);
            double sum = 0;
            FOR_EACH_WINDOW_ELEMENT(g, &w, off, { sum += xp[off]; });
            float divisor = average_divisor(&w, count_include_pad);
            y[plane * g->out_size + o] = divisor > 0 ? (float)(sum / divisor) : 0.0f;
            next_index(g->nd, pos, zero, g->out);
        }
    }
}

static ot_status forward_pool(ot_node_ctx *c) {
    const pool_params *p = c->params;
    pool_geometry g;
    OT_TRY(pool_geometry_of(c, &g));
    const float *x = c->in[0]->data;
    float *y = c->out[0]->data;
    int small_int = c->in[0]->dtype == OT_INT64;
    if (small_int) { /* int8/uint8 values: pooled as float32 after the window ranges */
        size_t ranges = g.nd == 2 ? sizeof(window_range) * (size_t)(g.out[0] + g.out[1]) : 0;
        float *xf = (float *)((char *)c->workspace + ((ranges + 63) & ~(size_t)63));
        const int64_t *xi = c->in[0]->data;
        for (int64_t i = 0; i < g.planes * g.in_size; i++) xf[i] = (float)xi[i];
        x = xf;
        y = xf + g.planes * g.in_size;
    }
    if (p->kind == POOL_AVERAGE) {
        average_pool_forward(y, x, &g, p->count_include_pad, c->workspace);
        return OT_OK;
    }
    /* The window maxima's positions are for backward and the Indices output only. */
    int want_indices = c->n_out > 1 && c->out[1];
    int64_t *argmax = c->saved;
    if (!c->backward && !want_indices && g.nd == 2) argmax = NULL; /* the 2-D paths allow it */
    max_pool_forward(y, argmax, x, &g, c->workspace);
    for (int64_t i = 0; small_int && i < g.planes * g.out_size; i++) ((int64_t *)c->out[0]->data)[i] = (int64_t)y[i];
    if (c->n_out > 1 && c->out[1]) {
        int64_t *indices = c->out[1]->data;
        int64_t n = g.planes * g.out_size;
        for (int64_t i = 0; i < n; i++) {
            int64_t plane = i / g.out_size;
            indices[i] = argmax[i] < 0 ? -1
                                       : onnx_index(&g, plane, argmax[i] - plane * g.in_size, p->storage_order);
        }
    }
    return OT_OK;
}

/* Backward --------------------------------------------------------------------------------- */

/* dx (planes, in_size) += dy routed to each window's maximum. */
static void max_pool_backward(float *dx, const float *dy, const int64_t *argmax, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (argmax[i] >= 0) dx[argmax[i]] += dy[i];
}

/* dx (planes, in_size) += dy / divisor over each window's input elements, the same windows
 * and divisors as forward. */
static void average_pool_backward(float *dx, const float *dy, const pool_geometry *g,
                                  int count_include_pad, window_range *ranges) {
    if (g->nd == 2) {
        average_pool_backward_2d(dx, dy, g, count_include_pad, ranges);
        return;
    }
    for (int64_t plane = 0; plane < g->planes; plane++) {
        float *dxp = dx + plane * g->in_size;
        int64_t pos[POOL_MAX_SPATIAL] = {0}, zero[POOL_MAX_SPATIAL] = {0};
        for (int64_t o = 0; o < g->out_size; o++) {
            pool_window w;
            window_at(g, pos, &w);
            float divisor = average_divisor(&w, count_include_pad);
            if (divisor > 0) {
                float share = dy[plane * g->out_size + o] / divisor;
                FOR_EACH_WINDOW_ELEMENT(g, &w, off, { dxp[off] += share; });
            }
            next_index(g->nd, pos, zero, g->out);
        }
    }
}

static ot_status backward_pool(ot_node_ctx *c) {
    const pool_params *p = c->params;
    if (!c->din[0] || !c->dout[0]) return OT_OK;
    pool_geometry g;
    OT_TRY(pool_geometry_of(c, &g));
    if (p->kind == POOL_MAX)
        max_pool_backward(c->din[0]->data, c->dout[0]->data, c->saved, g.planes * g.out_size);
    else
        average_pool_backward(c->din[0]->data, c->dout[0]->data, &g, p->count_include_pad, c->workspace);
    return OT_OK;
}

#define POOL_ROW(op_name)                                                                      \
    {.name = op_name, .since_version = 1, .params_size = sizeof(pool_params), .parse = parse_pool, \
     .infer = infer_pool, .forward = forward_pool, .backward = backward_pool}

/* An op of pool_unpool.c / pool_roi.c: X is data, its other inputs constants. */
#define POOL_X_ROW(op_name, since, params, fn)                                                 \
    {.name = op_name, .since_version = since, .params_size = sizeof(params),                    \
     .parse = oti_pool_parse_##fn, .infer = oti_pool_infer_##fn, .forward = oti_pool_forward_##fn, \
     .backward = oti_pool_backward_##fn, .inputs = {[1] = OT_ROLE_CONSTANT, OT_ROLE_CONSTANT}}

const ot_op oti_ops_pool[] = {
    POOL_ROW("MaxPool"),
    POOL_ROW("AveragePool"),
    POOL_ROW("GlobalMaxPool"),
    POOL_ROW("GlobalAveragePool"),
    /* pool_unpool.c: indices and output_shape are constants. pool_roi.c: the boxes and their
     * batch indices are constants (no gradient for boxes). */
    POOL_X_ROW("MaxUnpool", 9, ot_unpool_params, unpool),
    POOL_X_ROW("RoiAlign", 10, ot_roi_params, roi),
};
const ot_op_family oti_family_pool = {oti_ops_pool, OT_COUNT(oti_ops_pool)};
