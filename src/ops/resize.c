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
#include "op.h"
#include "shape_internal.h"

typedef enum rz_mode { RZ_NEAREST, RZ_LINEAR, RZ_CUBIC } rz_mode;

typedef enum rz_coord {
    CT_HALF_PIXEL, CT_HALF_PIXEL_SYMMETRIC, CT_PYTORCH_HALF_PIXEL, CT_ALIGN_CORNERS,
    CT_ASYMMETRIC, CT_TF_HALF_PIXEL_FOR_NN, CT_TF_CROP_AND_RESIZE
} rz_coord;

/* NM_SIMPLE: opset < 11 (no nearest_mode attribute): floor when upsampling, ceil when
 * downsampling, as ONNX Runtime. */
typedef enum rz_nearest {
    NM_ROUND_PREFER_FLOOR, NM_ROUND_PREFER_CEIL, NM_FLOOR, NM_CEIL, NM_SIMPLE
} rz_nearest;

typedef enum rz_keep { KEEP_STRETCH, KEEP_NOT_LARGER, KEEP_NOT_SMALLER } rz_keep;

typedef struct resize_params {
    rz_mode mode;
    rz_coord coord;
    rz_nearest nearest;
    rz_keep keep;
    float cubic_a, extrapolation;
    int exclude_outside, antialias;
    int64_t axes[OT_MAX_DIMS];
    int n_axes;                         /* -1: every axis */
    float scales_attr[OT_MAX_DIMS];     /* Upsample-7 */
    int n_scales_attr;                  /* -1: scales come from an input */
    int roi_slot, scales_slot, sizes_slot; /* input slots, -1 where the opset has none */
} resize_params;

/* One axis of the resize. */
typedef struct rz_axis {
    int64_t in, out;
    double scale;  /* the scale the coordinate transforms use */
    double width;  /* the output length they use: in * scale (not rounded, as ONNX) */
    double roi_start, roi_end;
    int active;    /* not the identity: gets a table and a pass */
    int taps;      /* taps per output index */
} rz_axis;

typedef struct rz_geometry {
    int rank;
    rz_axis ax[OT_MAX_DIMS];
} rz_geometry;

/* Parsing ---------------------------------------------------------------------------------- */

#define LAYER_CHECK(l, cond, ...)                                                              \
    do {                                                                                       \
        if (!(cond)) return oti_node_fail((l), OT_ERR_INVALID, __VA_ARGS__);                    \
    } while (0)

/* Index of s in names[0..n), or -1. */
static int find_name(const char *s, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

/* Reads string attribute `attr` as one of names (its enum value), failing on others. */
static ot_status parse_choice(const ot_layer *l, const char *attr, const char *fallback,
                              const char *const *names, int n, int *out) {
    const char *s;
    OT_TRY(oti_attr_get_string(l, attr, fallback, &s));
    *out = find_name(s, names, n);
    if (*out >= 0) return OT_OK;
    return oti_node_fail(l, OT_ERR_UNSUPPORTED, "%s '%s' is not supported", attr, s);
}

static ot_status parse_modes(const ot_layer *l, resize_params *p) {
    /* Upsample-1 called linear "bilinear"; ONNX Runtime still accepts it. */
    static const char *const modes[] = {"nearest", "linear", "cubic", "bilinear"};
    static const char *const coords[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",
                                         "align_corners", "asymmetric", "tf_half_pixel_for_nn",
                                         "tf_crop_and_resize"};
    static const char *const nearest[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    static const char *const keep[] = {"stretch", "not_larger", "not_smaller"};
    int v;
    OT_TRY(parse_choice(l, "mode", "nearest", modes, 4, &v));
    p->mode = v == 3 ? RZ_LINEAR : (rz_mode)v;
    int legacy = strcmp(l->op_type, "Resize") || l->opset < 11;
    if (legacy) {
        LAYER_CHECK(l, p->mode != RZ_CUBIC, "mode 'cubic' needs Resize at opset 11 or later");
        p->coord = CT_ASYMMETRIC;
        p->nearest = NM_SIMPLE;
        return OT_OK;
    }
    OT_TRY(parse_choice(l, "coordinate_transformation_mode", "half_pixel", coords, 7, &v));
    p->coord = (rz_coord)v;
    OT_TRY(parse_choice(l, "nearest_mode", "round_prefer_floor", nearest, 4, &v));
    p->nearest = (rz_nearest)v;
    OT_TRY(parse_choice(l, "keep_aspect_ratio_policy", "stretch", keep, 3, &v));
    p->keep = (rz_keep)v;
    return OT_OK;
}

static ot_status parse_resize(const ot_layer *l, void *params) {
    resize_params *p = params;
    int64_t v;
    OT_TRY(parse_modes(l, p));
    OT_TRY(oti_attr_get_float(l, "cubic_coeff_a", -0.75f, &p->cubic_a));
    OT_TRY(oti_attr_get_float(l, "extrapolation_value", 0.0f, &p->extrapolation));
    OT_TRY(oti_attr_get_int(l, "exclude_outside", 0, &v));
    p->exclude_outside = v != 0;
    OT_TRY(oti_attr_get_int(l, "antialias", 0, &v));
    p->antialias = v != 0 && p->mode != RZ_NEAREST; /* nearest ignores it (ONNX Runtime) */
    OT_TRY(oti_attr_get_ints(l, "axes", p->axes, OT_MAX_DIMS, &p->n_axes));
    p->n_scales_attr = -1;
    p->roi_slot = p->sizes_slot = -1;
    if (strcmp(l->op_type, "Resize")) { /* Upsample */
        if (l->opset < 9) {
            OT_TRY(oti_attr_get_floats(l, "scales", p->scales_attr, OT_MAX_DIMS, &p->n_scales_attr));
            LAYER_CHECK(l, p->n_scales_attr >= 0, "needs a 'scales' attribute");
            p->scales_slot = -1;
        } else {
            p->scales_slot = 1;
        }
    } else if (l->opset < 11) {
        p->scales_slot = 1;
    } else {
        p->roi_slot = 1;
        p->scales_slot = 2;
        p->sizes_slot = 3;
    }
    LAYER_CHECK(l, p->coord != CT_TF_CROP_AND_RESIZE || p->roi_slot >= 0,
                    "tf_crop_and_resize needs the roi input (opset 11 or later)");
    return OT_OK;
}

/* Geometry: output sizes and per-axis scales from scales / sizes / roi ------------------------- */

/* Input `slot` when present and not empty (an empty tensor stands for an omitted input). */
static const ot_tensor *given_input(const ot_node_ctx *c, int slot) {
    if (slot < 0 || slot >= c->n_in || !c->in[slot]) return NULL;
    return ot_tensor_numel(c->in[slot]) > 0 ? c->in[slot] : NULL;
}

/* Reads float input `slot` (scales, roi): it decides shapes or tables, so must be known when
 * the plan is built, and hold exactly `want` values. */
static ot_status known_floats(const ot_node_ctx *c, int slot, const char *what, int want,
                              double *out) {
    const ot_tensor *t = c->in[slot];
    OT_NODE_CHECK(c, c->in_known[slot],
                  "input '%s' (%s) must be known when the plan is built (an initializer, a "
                  "Constant, or computed from shapes); data-dependent %s is not supported",
                  c->model->values[c->layer->inputs[slot]].name, what, what);
    OT_NODE_CHECK(c, t->dtype == OT_FLOAT, "%s must be float32, not %s", what,
                  ot_dtype_name(t->dtype));
    OT_NODE_CHECK(c, t->ndim == 1, "%s must be 1-D, not %d-D", what, t->ndim);
    OT_NODE_CHECK(c, ot_tensor_numel(t) == want, "%s has %lld values; %d are needed", what,
                  (long long)ot_tensor_numel(t), want);
    for (int i = 0; i < want; i++) out[i] = ((const float *)t->data)[i];
    return OT_OK;
}

/* The resized axes: the 'axes' attribute (opset 18) or every axis. */
static ot_status resize_axes(const ot_node_ctx *c, int *axes, int *count) {
    const resize_params *p = c->params;
    int rank = c->in[0]->ndim;
    if (p->n_axes < 0 || c->layer->opset < 18) {
        for (int d = 0; d < rank; d++) axes[d] = d;
        *count = rank;
        return OT_OK;
    }
    *count = p->n_axes;
    return oti_shape_normalize_axes(c, p->axes, p->n_axes, rank, axes);
}

/* Largest output dim accepted (a sanity bound against absurd scales). */
#define RZ_MAX_OUT ((int64_t)1 << 40)

/* Output sizes from scales: floor(in * scale), in float64 as the ONNX reference. */
static ot_status apply_scales(const ot_node_ctx *c, rz_geometry *g, const int *axes, int k,
                              const double *scales) {
    for (int i = 0; i < k; i++) {
        rz_axis *a = &g->ax[axes[i]];
        OT_NODE_CHECK(c, scales[i] > 0 && isfinite(scales[i]),
                      "scales[%d] is %g; scales must be positive", i, scales[i]);
        double w = (double)a->in * scales[i];
        OT_NODE_CHECK(c, w < (double)RZ_MAX_OUT, "scales[%d] = %g makes axis %d too large", i,
                      scales[i], axes[i]);
        a->scale = scales[i];
        a->width = w;
        a->out = (int64_t)floor(w);
    }
    return OT_OK;
}

/* Output sizes from sizes; keep_aspect_ratio_policy (18) scales every axis by one factor, the
 * smallest (not_larger) or largest (not_smaller) of sizes / in, rounding half up. */
static ot_status apply_sizes(const ot_node_ctx *c, rz_geometry *g, const int *axes, int k,
                             const int64_t *sizes) {
    const resize_params *p = c->params;
    double keep = p->keep == KEEP_NOT_LARGER ? INFINITY : 0.0;
    for (int i = 0; i < k; i++) {
        rz_axis *a = &g->ax[axes[i]];
        OT_NODE_CHECK(c, sizes[i] > 0 && sizes[i] < RZ_MAX_OUT,
                      "sizes[%d] is %lld; sizes must be positive", i, (long long)sizes[i]);
        OT_NODE_CHECK(c, a->in > 0, "axis %d is empty and cannot be resized to %lld", axes[i],
                      (long long)sizes[i]);
        double s = (double)sizes[i] / (double)a->in;
        keep = p->keep == KEEP_NOT_LARGER ? fmin(keep, s) : fmax(keep, s);
        a->scale = s;
        a->width = (double)sizes[i];
        a->out = sizes[i];
    }
    if (p->keep == KEEP_STRETCH) return OT_OK;
    for (int i = 0; i < k; i++) {
        rz_axis *a = &g->ax[axes[i]];
        a->scale = keep;
        a->width = keep * (double)a->in;
        a->out = (int64_t)(a->width + 0.5);
    }
    return OT_OK;
}

/* roi: [start of each axis..., end of each axis...], used by tf_crop_and_resize only. */
static ot_status apply_roi(const ot_node_ctx *c, rz_geometry *g, const int *axes, int k) {
    const resize_params *p = c->params;
    const ot_tensor *t = given_input(c, p->roi_slot);
    OT_NODE_CHECK(c, t || p->coord != CT_TF_CROP_AND_RESIZE,
                  "tf_crop_and_resize needs a roi input");
    if (!t) return OT_OK;
    double roi[2 * OT_MAX_DIMS];
    OT_NODE_CHECK(c, ot_tensor_numel(t) == 2 * k,
                  "roi has %lld values; %d resized axes need %d (starts, then ends)",
                  (long long)ot_tensor_numel(t), k, 2 * k);
    if (p->coord != CT_TF_CROP_AND_RESIZE) return OT_OK; /* other modes ignore it */
    OT_TRY(known_floats(c, p->roi_slot, "roi", 2 * k, roi));
    for (int i = 0; i < k; i++) {
        g->ax[axes[i]].roi_start = roi[i];
        g->ax[axes[i]].roi_end = roi[k + i];
    }
    return OT_OK;
}

/* Taps per output index: nearest 1, linear 2, cubic 4; antialias widens the kernel's support
 * (1 for linear, 2 for cubic) by 1 / scale when downsampling. */
static int axis_taps(const resize_params *p, double scale, int *first) {
    if (p->mode == RZ_NEAREST) {
        *first = 0;
        return 1;
    }
    double support = p->mode == RZ_LINEAR ? 1.0 : 2.0;
    double s = p->antialias && scale < 1.0 ? scale : 1.0;
    *first = (int)floor(-support / s) + 1; /* tap offset from ceil(x) - 1 */
    return 2 - 2 * *first;
}

/* An axis is the identity (skipped) when its size and scale stay and no roi crops it. */
static int axis_active(const resize_params *p, const rz_axis *a) {
    int crop = p->coord == CT_TF_CROP_AND_RESIZE && (a->roi_start != 0.0 || a->roi_end != 1.0);
    return a->out != a->in || fabs(a->scale - 1.0) > 1e-9 || crop;
}

static ot_status compute_geometry(const ot_node_ctx *c, rz_geometry *g) {
    const resize_params *p = c->params;
    const ot_tensor *x = c->in[0];
    int axes[OT_MAX_DIMS], k;
    g->rank = x->ndim;
    for (int d = 0; d < g->rank; d++)
        g->ax[d] = (rz_axis){.in = x->dims[d], .out = x->dims[d], .scale = 1.0,
                             .width = (double)x->dims[d], .roi_end = 1.0};
    OT_TRY(resize_axes(c, axes, &k));
    const ot_tensor *scales = given_input(c, p->scales_slot), *sizes = given_input(c, p->sizes_slot);
    OT_NODE_CHECK(c, !(scales && sizes), "both scales and sizes are given; give only one");
    double s[OT_MAX_DIMS];
    if (p->n_scales_attr >= 0) {
        OT_NODE_CHECK(c, p->n_scales_attr == k, "scales has %d values; the input has rank %d",
                      p->n_scales_attr, k);
        for (int i = 0; i < k; i++) s[i] = p->scales_attr[i];
        OT_TRY(apply_scales(c, g, axes, k, s));
    } else if (scales) {
        OT_TRY(known_floats(c, p->scales_slot, "scales", k, s));
        OT_TRY(apply_scales(c, g, axes, k, s));
    } else {
        OT_NODE_CHECK(c, sizes, "needs scales or sizes (neither is given)");
        int64_t z[OT_MAX_DIMS];
        int n;
        OT_TRY(oti_shape_known_ints(c, p->sizes_slot, "sizes", z, OT_MAX_DIMS, &n));
        OT_NODE_CHECK(c, n == k, "sizes has %d values; %d are needed", n, k);
        OT_TRY(apply_sizes(c, g, axes, k, z));
    }
    OT_TRY(apply_roi(c, g, axes, k));
    for (int d = 0; d < g->rank; d++) {
        int first;
        g->ax[d].active = axis_active(p, &g->ax[d]);
        g->ax[d].taps = axis_taps(p, g->ax[d].scale, &first);
    }
    return OT_OK;
}

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
    int first, n = axis_taps(p, a->scale, &first);
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
    OT_TRY(compute_geometry(c, &g));
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
    OT_TRY(compute_geometry(c, &k->g));
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
     .parse = parse_resize, .infer = infer_resize, .forward = forward_resize,                  \
     .backward = backward_resize, .inputs = {[1] = C, [2] = C, [3] = C}}
#define C OT_ROLE_CONSTANT

const ot_op oti_ops_resize[] = {
    RESIZE_ROW("Upsample", 7), RESIZE_ROW("Upsample", 9), RESIZE_ROW("Resize", 10),
    RESIZE_ROW("Resize", 11),  RESIZE_ROW("Resize", 13),  RESIZE_ROW("Resize", 18),
};
#undef C
const ot_op_family oti_family_resize = {oti_ops_resize, OT_COUNT(oti_ops_resize)};
