/* Resize and Upsample: attributes by opset, and the output geometry (sizes, per-axis scales,
 * roi) from the scales / sizes / roi inputs or Upsample-7's attribute. */
#include <math.h>
#include <string.h>

#include "core/util.h"
#include "resize_internal.h"
#include "shape_internal.h"

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

ot_status oti_resize_parse(const ot_layer *l, void *params) {
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
int oti_resize_axis_taps(const resize_params *p, double scale, int *first) {
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

ot_status oti_resize_geometry(const ot_node_ctx *c, rz_geometry *g) {
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
        g->ax[d].taps = oti_resize_axis_taps(p, g->ax[d].scale, &first);
    }
    return OT_OK;
}

