/* Op family 'resize': Resize (opsets 10, 11, 13, 18) and Upsample (7, 9).
 *
 * Input X (D0, ..., Dr-1) float32, output Y (O0, ..., Or-1). Every resized axis maps output
 * index o to a source coordinate x (coordinate_transformation_mode), and from x to taps: input
 * indices with weights (nearest: 1 tap; linear: 2; cubic: 4; antialias stretches the linear or
 * cubic kernel by 1/scale when downsampling). Out-of-range taps clamp to the edge (or get weight
 * 0 with exclude_outside); tf_crop_and_resize outputs whose x leaves the input are
 * extrapolation_value. This follows the ONNX reference implementation (float64 coordinates);
 * opset 10 and Upsample use ONNX Runtime's rule (asymmetric coordinates, nearest takes the
 * floor when upsampling and the ceiling when downsampling).
 *
 * The op is separable: nearest is one gather through per-axis index maps; linear and cubic run
 * one 1-D pass per resized axis (X -> workspace -> ... -> Y), each pass reading a per-axis
 * table of taps. Backward runs the passes' transposes in reverse order, so every mode has a
 * gradient w.r.t. X. The tables depend only on shapes and the plan-time constants (roi,
 * scales, sizes), so infer sizes them and forward/backward rebuild them in the workspace. */
#include <math.h>
#include <string.h>

#include "core/util.h"
#include "resize_internal.h"
#include "shape_internal.h"

/* Tables: per axis, each output index's taps (input indices and weights) ----------------------- */

typedef struct rz_tables {
    int64_t *idx[OT_MAX_DIMS]; /* (out, taps) input indices; idx[o * taps] = -1: extrapolated */
    float *w[OT_MAX_DIMS];     /* (out, taps) weights (linear, cubic) */
    float *buf[2];             /* the passes' intermediate tensors (linear, cubic) */
} rz_tables;

/* Source coordinate of output index o along axis a (float64, as the ONNX reference). */
static double source_coord(rz_coord coord, const rz_axis *a, int64_t o) {
    double y = (double)o, s = a->scale, in = (double)a->in, w = a->width;
    double r0 = a->roi_start, r1 = a->roi_end;
    switch (coord) {
    case CT_HALF_PIXEL: return (y + 0.5) / s - 0.5;
    case CT_HALF_PIXEL_SYMMETRIC: /* centres the rounded output on the input */
        return in / 2 * (1 - (double)a->out / w) + (y + 0.5) / s - 0.5;
    case CT_PYTORCH_HALF_PIXEL: return w > 1 ? (y + 0.5) / s - 0.5 : 0.0;
    case CT_ALIGN_CORNERS: return w > 1 ? y * (in - 1) / (w - 1) : 0.0;
    case CT_ASYMMETRIC: return y / s;
    case CT_TF_HALF_PIXEL_FOR_NN: return (y + 0.5) / s;
    case CT_TF_CROP_AND_RESIZE:
        return r0 * (in - 1) + (w > 1 ? y * (r1 - r0) * (in - 1) / (w - 1) : (r1 - r0) * (in - 1) / 2);
    }
    return 0.0;
}

static int64_t clamp_index(int64_t i, int64_t n) { return i < 0 ? 0 : i >= n ? n - 1 : i; }

/* The nearest input index to x; x exactly between two prefers the mode's side. */
static int64_t nearest_index(rz_nearest mode, double x, double scale) {
    double f = floor(x), t = x - f;
    switch (mode) {
    case NM_ROUND_PREFER_FLOOR: return (int64_t)(t <= 0.5 ? f : f + 1);
    case NM_ROUND_PREFER_CEIL: return (int64_t)(t < 0.5 ? f : f + 1);
    case NM_FLOOR: return (int64_t)f;
    case NM_CEIL: return (int64_t)ceil(x);
    case NM_SIMPLE: return (int64_t)(scale < 1.0 ? ceil(x) : f);
    }
    return 0;
}

/* The interpolation kernel at distance x: the triangle (linear) or Keys' cubic with a. */
static double kernel(rz_mode mode, double a, double x) {
    x = fabs(x);
    if (mode == RZ_LINEAR) return x < 1.0 ? 1.0 - x : 0.0;
    if (x <= 1.0) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2.0) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    return 0.0;
}

/* Taps of one output index at source coordinate x: input indices ceil(x) - 1 + first + j,
 * weighted by the kernel at their distance from x (times the scale under antialias). Indices
 * clamp to the edge; exclude_outside zeroes those outside instead and renormalizes. */
static double tap_weight(const resize_params *p, const rz_axis *a, int64_t tap, double distance) {
    if (p->exclude_outside && (tap < 0 || tap >= a->in)) return 0.0;
    return kernel(p->mode, p->cubic_a, distance);
}

static void linear_taps(const resize_params *p, const rz_axis *a, double x, int64_t *idx,
                        float *w) {
    int first, n = oti_resize_axis_taps(p, a->scale, &first);
    double base = ceil(x) - 1, t = x - base; /* t in (0, 1], as the reference */
    double s = p->antialias && a->scale < 1.0 ? a->scale : 1.0, sum = 0.0;
    int64_t tap0 = (int64_t)base + first;
    for (int j = 0; j < n; j++) {
        sum += tap_weight(p, a, tap0 + j, (first + j - t) * s);
        idx[j] = clamp_index(tap0 + j, a->in);
    }
    /* Antialias and exclude_outside renormalize (the plain kernels already sum to 1). */
    if (!(p->antialias || p->exclude_outside) || sum == 0.0) sum = 1.0;
    for (int j = 0; j < n; j++) w[j] = (float)(tap_weight(p, a, tap0 + j, (first + j - t) * s) / sum);
}

static void fill_axis(const resize_params *p, const rz_axis *a, int64_t *idx, float *w) {
    int n = a->taps;
    for (int64_t o = 0; o < a->out; o++) {
        double x = source_coord(p->coord, a, o);
        int64_t *io = idx + o * n;
        if (p->coord == CT_TF_CROP_AND_RESIZE && (x < 0 || x > (double)(a->in - 1))) {
            for (int j = 0; j < n; j++) io[j] = -1; /* extrapolation_value */
            if (w) memset(w + o * n, 0, sizeof(float) * (size_t)n);
        } else if (p->mode == RZ_NEAREST) {
            io[0] = clamp_index(nearest_index(p->nearest, x, a->scale), a->in);
        } else {
            linear_taps(p, a, x, io, w + o * n);
        }
    }
}

/* Bump allocation in the workspace (base NULL: sizes only), 64-byte aligned. */
static void *bump(unsigned char *base, size_t *offset, size_t bytes) {
    void *at = base ? base + *offset : NULL;
    *offset += (bytes + 63) & ~(size_t)63;
    return at;
}

/* Elements of the largest intermediate tensor of the linear / cubic passes (all but the last
 * pass write one), and how many passes there are. */
static int64_t intermediate_numel(const rz_geometry *g, int *passes) {
    int64_t dims[OT_MAX_DIMS], largest = 0;
    int last = -1;
    *passes = 0;
    for (int d = 0; d < g->rank; d++) {
        dims[d] = g->ax[d].in;
        if (g->ax[d].active) last = d;
    }
    for (int d = 0; d < last; d++) {
        if (!g->ax[d].active) continue;
        dims[d] = g->ax[d].out;
        int64_t n = ot_dims_numel(g->rank, dims);
        if (n > largest) largest = n;
        (*passes)++;
    }
    if (last >= 0) (*passes)++;
    return largest;
}

/* Lays the tables (and the passes' buffers) out in the workspace; returns its size. Nearest
 * keeps a map for every axis (identity ones too: the gather walks them all). */
static size_t carve(const resize_params *p, const rz_geometry *g, void *workspace, rz_tables *t) {
    unsigned char *base = workspace;
    size_t offset = 0;
    rz_tables unused;
    if (!t) t = &unused;
    memset(t, 0, sizeof *t);
    for (int d = 0; d < g->rank; d++) {
        const rz_axis *a = &g->ax[d];
        if (p->mode != RZ_NEAREST && !a->active) continue;
        size_t n = (size_t)(a->out * a->taps);
        t->idx[d] = bump(base, &offset, sizeof(int64_t) * n);
        if (p->mode != RZ_NEAREST) t->w[d] = bump(base, &offset, sizeof(float) * n);
    }
    if (p->mode == RZ_NEAREST) return offset;
    int passes;
    int64_t numel = intermediate_numel(g, &passes);
    for (int b = 0; b < 2 && b < passes - 1; b++) t->buf[b] = bump(base, &offset, sizeof(float) * (size_t)numel);
    return offset;
}

static void fill_tables(const resize_params *p, const rz_geometry *g, const rz_tables *t) {
    for (int d = 0; d < g->rank; d++)
        if (t->idx[d]) fill_axis(p, &g->ax[d], t->idx[d], t->w[d]);
}

/* Nearest: one gather through the maps ------------------------------------------------------- */

/* Walks Y row by row (a row: the last axis); for each, the offset in X of its outer index, or
 * -1 when an outer axis is extrapolated. */
typedef struct rz_rows {
    int rank;
    int64_t index[OT_MAX_DIMS], x_strides[OT_MAX_DIMS], in_dims[OT_MAX_DIMS];
    int64_t rows, row_len;
} rz_rows;

static void rows_init(rz_rows *w, const rz_geometry *g) {
    int64_t out[OT_MAX_DIMS];
    w->rank = g->rank;
    for (int d = 0; d < g->rank; d++) {
        w->index[d] = 0;
        w->in_dims[d] = g->ax[d].in;
        out[d] = g->ax[d].out;
    }
    oti_shape_strides(g->rank, w->in_dims, w->x_strides);
    w->row_len = out[g->rank - 1];
    w->rows = ot_dims_numel(g->rank - 1, out);
}

static int64_t row_offset(const rz_rows *w, int64_t *const *maps) {
    int64_t offset = 0;
    for (int d = 0; d < w->rank - 1; d++) {
        int64_t m = maps[d][w->index[d]];
        if (m < 0) return -1;
        offset += m * w->x_strides[d];
    }
    return offset;
}

static void rows_next(rz_rows *w, const rz_geometry *g) {
    for (int d = w->rank - 2; d >= 0; d--) {
        if (++w->index[d] < g->ax[d].out) return;
        w->index[d] = 0;
    }
}

/* y (out dims) = x (in dims) gathered through maps (the tables' idx, one tap each). */
static void nearest_forward(float *y, const float *x, const rz_geometry *g, int64_t *const *maps,
                            float fill) {
    rz_rows w;
    rows_init(&w, g);
    const int64_t *last = maps[g->rank - 1];
    int64_t previous = -2, n = w.row_len;
    for (int64_t r = 0; r < w.rows; r++, rows_next(&w, g)) {
        float *yr = y + r * n;
        int64_t base = row_offset(&w, maps);
        if (base >= 0 && base == previous) { /* an upsampled outer axis repeats the row */
            memcpy(yr, yr - n, sizeof(float) * (size_t)n);
        } else {
            for (int64_t j = 0; j < n; j++) yr[j] = base < 0 || last[j] < 0 ? fill : x[base + last[j]];
        }
        previous = base;
    }
}

/* dx += the gradient of the gather: every dy element adds into the x element it copied. */
static void nearest_backward(float *dx, const float *dy, const rz_geometry *g, int64_t *const *maps) {
    rz_rows w;
    rows_init(&w, g);
    const int64_t *last = maps[g->rank - 1];
    int64_t n = w.row_len;
    for (int64_t r = 0; r < w.rows; r++, rows_next(&w, g)) {
        const float *dyr = dy + r * n;
        int64_t base = row_offset(&w, maps);
        if (base < 0) continue;
        for (int64_t j = 0; j < n; j++)
            if (last[j] >= 0) dx[base + last[j]] += dyr[j];
    }
}

/* Linear and cubic: one 1-D pass per resized axis ---------------------------------------------- */

/* One pass's view: x (outer, in, inner) -> y (outer, out, inner) along the axis. */
typedef struct rz_pass {
    int64_t outer, in, out, inner;
    int taps;
    const int64_t *idx;
    const float *w;
} rz_pass;

/* y[b, o, :] = sum_j w[o, j] x[b, idx[o, j], :], or fill where o is extrapolated. Rows of the
 * inner dims are contiguous, so every tap is one scaled row add (the H pass of NCHW). */
static void pass_forward(float *y, const float *x, const rz_pass *s, float fill) {
    int64_t inner = s->inner;
    for (int64_t b = 0; b < s->outer; b++) {
        const float *xb = x + b * s->in * inner;
        float *yb = y + b * s->out * inner;
        for (int64_t o = 0; o < s->out; o++) {
            const int64_t *id = s->idx + o * s->taps;
            const float *w = s->w + o * s->taps;
            float *yr = yb + o * inner;
            if (id[0] < 0) {
                for (int64_t i = 0; i < inner; i++) yr[i] = fill;
                continue;
            }
            if (inner == 1) { /* the last axis: a dot product of the taps */
                float sum = 0.0f;
                for (int j = 0; j < s->taps; j++) sum += w[j] * xb[id[j]];
                yr[0] = sum;
                continue;
            }
            const float *x0 = xb + id[0] * inner;
            for (int64_t i = 0; i < inner; i++) yr[i] = w[0] * x0[i];
            for (int j = 1; j < s->taps; j++) {
                const float *xj = xb + id[j] * inner;
                float wj = w[j];
                for (int64_t i = 0; i < inner; i++) yr[i] += wj * xj[i];
            }
        }
    }
}

/* The transpose: dx[b, idx[o, j], :] += w[o, j] dy[b, o, :] (extrapolated o add nothing). */
static void pass_backward(float *dx, const float *dy, const rz_pass *s) {
    int64_t inner = s->inner;
    for (int64_t b = 0; b < s->outer; b++) {
        float *dxb = dx + b * s->in * inner;
        const float *dyb = dy + b * s->out * inner;
        for (int64_t o = 0; o < s->out; o++) {
            const int64_t *id = s->idx + o * s->taps;
            const float *w = s->w + o * s->taps, *dyr = dyb + o * inner;
            if (id[0] < 0) continue;
            for (int j = 0; j < s->taps; j++) {
                float *dxj = dxb + id[j] * inner, wj = w[j];
                for (int64_t i = 0; i < inner; i++) dxj[i] += wj * dyr[i];
            }
        }
    }
}

/* The passes in order (active axes, first to last): passes[k] and how many. */
static int plan_passes(const rz_geometry *g, const rz_tables *t, rz_pass *passes) {
    int64_t dims[OT_MAX_DIMS];
    int n = 0;
    for (int d = 0; d < g->rank; d++) dims[d] = g->ax[d].in;
    for (int d = 0; d < g->rank; d++) {
        const rz_axis *a = &g->ax[d];
        if (!a->active) continue;
        passes[n] = (rz_pass){.outer = ot_dims_numel(d, dims), .in = a->in, .out = a->out,
                              .inner = ot_dims_numel(g->rank - d - 1, dims + d + 1),
                              .taps = a->taps, .idx = t->idx[d], .w = t->w[d]};
        dims[d] = a->out;
        n++;
    }
    return n;
}

/* x -> buf[0] -> buf[1] -> buf[0] ... -> y. */
static void passes_forward(float *y, const float *x, const rz_tables *t, const rz_pass *passes,
                           int n, float fill) {
    const float *src = x;
    for (int k = 0; k < n; k++) {
        float *dst = k == n - 1 ? y : t->buf[k % 2];
        pass_forward(dst, src, &passes[k], fill);
        src = dst;
    }
}

/* Back through the passes: pass k's input gradient lands in buf[(k - 1) % 2] (zeroed first),
 * the first pass's adds into dx. */
static void passes_backward(float *dx, const float *dy, const rz_tables *t, const rz_pass *passes,
                            int n) {
    const float *grad = dy;
    for (int k = n - 1; k >= 0; k--) {
        const rz_pass *s = &passes[k];
        float *dst = k == 0 ? dx : t->buf[(k - 1) % 2];
        if (k > 0) memset(dst, 0, sizeof(float) * (size_t)(s->outer * s->in * s->inner));
        pass_backward(dst, grad, s);
        grad = dst;
    }
}

/* Entry points ------------------------------------------------------------------------------- */

static ot_status infer_resize(ot_node_ctx *c) {
    const resize_params *p = c->params;
    OT_NODE_CHECK(c, c->n_in >= 1 && c->in[0], "needs an input X");
    const ot_tensor *x = c->in[0];
    OT_NODE_CHECK(c, x->dtype == OT_FLOAT, "X is %s; Resize computes float32",
                  ot_dtype_name(x->dtype));
    OT_NODE_CHECK(c, x->ndim >= 1, "X must have at least one axis");
    rz_geometry g;
    OT_TRY(oti_resize_geometry(c, &g));
    int64_t dims[OT_MAX_DIMS];
    for (int d = 0; d < g.rank; d++) dims[d] = g.ax[d].out;
    ot_tensor_set_shape(c->out[0], OT_FLOAT, g.rank, dims);
    c->workspace_bytes = carve(p, &g, NULL, NULL); /* the tables and the passes' buffers */
    return OT_OK;
}

/* One call's geometry, tables (in the workspace) and passes. */
typedef struct rz_call {
    rz_geometry g;
    rz_tables t;
    rz_pass passes[OT_MAX_DIMS];
    int n_passes; /* linear, cubic: 0 is the identity */
    int empty;    /* Y or X has no elements */
} rz_call;

static ot_status prepare(const ot_node_ctx *c, rz_call *k) {
    const resize_params *p = c->params;
    OT_TRY(oti_resize_geometry(c, &k->g));
    OT_ASSERT(carve(p, &k->g, NULL, NULL) <= c->workspace_bytes);
    carve(p, &k->g, c->workspace, &k->t);
    k->empty = ot_tensor_numel(c->out[0]) == 0 || ot_tensor_numel(c->in[0]) == 0;
    if (!k->empty) fill_tables(p, &k->g, &k->t);
    k->n_passes = p->mode == RZ_NEAREST ? 0 : plan_passes(&k->g, &k->t, k->passes);
    return OT_OK;
}

static ot_status forward_resize(ot_node_ctx *c) {
    const resize_params *p = c->params;
    rz_call k;
    OT_TRY(prepare(c, &k));
    float *y = c->out[0]->data;
    const float *x = c->in[0]->data;
    int64_t n = ot_tensor_numel(c->out[0]);
    if (k.empty) {
        for (int64_t i = 0; i < n; i++) y[i] = p->extrapolation;
    } else if (p->mode == RZ_NEAREST) {
        nearest_forward(y, x, &k.g, k.t.idx, p->extrapolation);
    } else if (k.n_passes == 0) {
        memcpy(y, x, sizeof(float) * (size_t)n);
    } else {
        passes_forward(y, x, &k.t, k.passes, k.n_passes, p->extrapolation);
    }
    return OT_OK;
}

static ot_status backward_resize(ot_node_ctx *c) {
    const resize_params *p = c->params;
    if (!c->din[0] || !c->dout[0]) return OT_OK;
    rz_call k;
    OT_TRY(prepare(c, &k));
    float *dx = c->din[0]->data;
    const float *dy = c->dout[0]->data;
    if (k.empty) return OT_OK;
    if (p->mode == RZ_NEAREST) {
        nearest_backward(dx, dy, &k.g, k.t.idx);
    } else if (k.n_passes == 0) {
        for (int64_t i = 0; i < ot_tensor_numel(c->din[0]); i++) dx[i] += dy[i];
    } else {
        passes_backward(dx, dy, &k.t, k.passes, k.n_passes);
    }
    return OT_OK;
}

/* roi, scales and sizes are plan-time constants, never trained. */
#define RESIZE_ROW(op_name, since)                                                             \
    {.name = op_name, .since_version = since, .params_size = sizeof(resize_params),             \
     .parse = oti_resize_parse, .infer = infer_resize, .forward = forward_resize,                  \
     .backward = backward_resize, .inputs = {[1] = C, [2] = C, [3] = C}}
#define C OT_ROLE_CONSTANT

const ot_op oti_ops_resize[] = {
    RESIZE_ROW("Upsample", 7), RESIZE_ROW("Upsample", 9), RESIZE_ROW("Resize", 10),
    RESIZE_ROW("Resize", 11),  RESIZE_ROW("Resize", 13),  RESIZE_ROW("Resize", 18),
    {.name = "GridSample", .since_version = 16, .params_size = sizeof(ot_grid_sample_params),
     .parse = oti_grid_sample_parse, .infer = oti_grid_sample_infer, .forward = oti_grid_sample_forward,
     .backward = oti_grid_sample_backward},
};
#undef C
const ot_op_family oti_family_resize = {oti_ops_resize, OT_COUNT(oti_ops_resize)};
