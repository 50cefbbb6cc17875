/* SSD's PriorBox: anchor boxes for one feature map, computed at import from the map's and
 * the image's sizes (both known once the input shape is) into a constant of shape
 * (1, 2, H * W * priors * 4): boxes (xmin, ymin, xmax, ymax, normalized), then variances.
 * Order per position, as SSD's Caffe: for each min_size, the square box, the box of side
 * sqrt(min * max), then one per aspect ratio other than 1. */
#include <math.h>
#include <stdlib.h>

#include "caffe_internal.h"
#include "core/util.h"

#define PRIOR_MAX_SIZES 16

typedef struct prior_params {
    double min[PRIOR_MAX_SIZES], max[PRIOR_MAX_SIZES], ratios[2 * PRIOR_MAX_SIZES + 1], variance[4];
    int n_min, n_max, n_ratios, clip;
    double img_w, img_h, step_w, step_h, offset;
} prior_params;

static ot_status read_list(const caffe_layer *l, const ot_prototxt_message *p, const char *name,
                           int max, double *out, int *n) {
    *n = oti_prototxt_count(p, name);
    if (*n > max) return oti_fail(OT_ERR_UNSUPPORTED, "%s: over %d %s values", l->what, max, name);
    for (int k = 0; k < *n; k++) {
        OT_TRY(oti_prototxt_float(oti_prototxt_find(p, name, k), l->what, &out[k]));
        if (!(out[k] > 0) || !isfinite(out[k]))
            return oti_caffe_bad_field(l, name, "values must be positive");
    }
    return OT_OK;
}

/* Aspect ratios: 1, then each given one (and its inverse with flip) not yet listed. */
static ot_status read_ratios(const caffe_layer *l, const ot_prototxt_message *p, prior_params *pp) {
    double given[PRIOR_MAX_SIZES];
    int n, flip;
    OT_TRY(read_list(l, p, "aspect_ratio", PRIOR_MAX_SIZES, given, &n));
    OT_TRY(oti_prototxt_get_bool(p, "flip", 1, l->what, &flip));
    pp->ratios[0] = 1;
    pp->n_ratios = 1;
    for (int k = 0; k < n; k++) {
        int seen = 0;
        for (int j = 0; j < pp->n_ratios; j++) seen |= fabs(given[k] - pp->ratios[j]) < 1e-6;
        if (seen) continue;
        pp->ratios[pp->n_ratios++] = given[k];
        if (flip) pp->ratios[pp->n_ratios++] = 1 / given[k];
    }
    return OT_OK;
}

/* A size given as `name` or `name_h` / `name_w` (0 when absent). */
static ot_status size_pair(const caffe_layer *l, const ot_prototxt_message *p, const char *name,
                           const char *h, const char *w, double *out_h, double *out_w) {
    double both;
    OT_TRY(oti_prototxt_get_float(p, name, 0, l->what, &both));
    OT_TRY(oti_prototxt_get_float(p, h, both, l->what, out_h));
    OT_TRY(oti_prototxt_get_float(p, w, both, l->what, out_w));
    if (!(*out_h >= 0 && *out_w >= 0 && isfinite(*out_h) && isfinite(*out_w)))
        return oti_caffe_bad_field(l, name, "must be positive");
    return OT_OK;
}

static ot_status read_params(const caffe_layer *l, prior_params *pp) {
    const ot_prototxt_message *p;
    OT_TRY(oti_caffe_params(l, "prior_box_param", &p));
    OT_TRY(read_list(l, p, "min_size", PRIOR_MAX_SIZES, pp->min, &pp->n_min));
    OT_TRY(read_list(l, p, "max_size", PRIOR_MAX_SIZES, pp->max, &pp->n_max));
    if (!pp->n_min) return oti_caffe_bad_field(l, "min_size", "must be given");
    if (pp->n_max && pp->n_max != pp->n_min)
        return oti_caffe_bad_field(l, "max_size", "needs one value per min_size");
    for (int k = 0; k < pp->n_max; k++)
        if (pp->max[k] <= pp->min[k])
            return oti_caffe_bad_field(l, "max_size", "must exceed its min_size");
    OT_TRY(read_ratios(l, p, pp));
    OT_TRY(oti_prototxt_get_bool(p, "clip", 0, l->what, &pp->clip));
    OT_TRY(oti_prototxt_get_float(p, "offset", 0.5, l->what, &pp->offset));
    int n_variance;
    OT_TRY(read_list(l, p, "variance", 4, pp->variance, &n_variance));
    if (n_variance != 0 && n_variance != 1 && n_variance != 4)
        return oti_caffe_bad_field(l, "variance", "needs 1 or 4 values");
    for (int k = n_variance ? n_variance : 0; k < 4; k++)
        pp->variance[k] = n_variance ? pp->variance[0] : 0.1;
    OT_TRY(size_pair(l, p, "img_size", "img_h", "img_w", &pp->img_h, &pp->img_w));
    return size_pair(l, p, "step", "step_h", "step_w", &pp->step_h, &pp->step_w);
}

static void put_box(float *out, double cx, double cy, double bw, double bh,
                    const prior_params *pp) {
    double box[4] = {(cx - bw / 2) / pp->img_w, (cy - bh / 2) / pp->img_h,
                     (cx + bw / 2) / pp->img_w, (cy + bh / 2) / pp->img_h};
    for (int k = 0; k < 4; k++) out[k] = (float)(pp->clip ? fmin(fmax(box[k], 0.0), 1.0) : box[k]);
}

/* boxes (H * W * priors * 4) then as many variances. */
static void fill_priors(float *out, int64_t height, int64_t width, int64_t priors,
                        const prior_params *pp) {
    int64_t at = 0;
    for (int64_t h = 0; h < height; h++)
        for (int64_t w = 0; w < width; w++) {
            double cx = (w + pp->offset) * pp->step_w, cy = (h + pp->offset) * pp->step_h;
            for (int s = 0; s < pp->n_min; s++) {
                put_box(out + 4 * at++, cx, cy, pp->min[s], pp->min[s], pp);
                if (pp->n_max) {
                    double side = sqrt(pp->min[s] * pp->max[s]);
                    put_box(out + 4 * at++, cx, cy, side, side, pp);
                }
                for (int r = 1; r < pp->n_ratios; r++)
                    put_box(out + 4 * at++, cx, cy, pp->min[s] * sqrt(pp->ratios[r]),
                            pp->min[s] / sqrt(pp->ratios[r]), pp);
            }
        }
    int64_t n = height * width * priors * 4;
    for (int64_t i = 0; i < n; i++) out[n + i] = (float)pp->variance[i % 4];
}

static ot_status convert_prior_box(caffe_builder *b, const caffe_layer *l) {
    OT_TRY(oti_caffe_need(l, 2, 1));
    prior_params pp;
    OT_TRY(read_params(l, &pp));
    ot_tensor map, image;
    OT_TRY(oti_caffe_shape(b, l->bottoms[0], l, &map));
    OT_TRY(oti_caffe_shape(b, l->bottoms[1], l, &image));
    if (map.ndim != 4 || image.ndim != 4)
        return oti_fail(OT_ERR_FORMAT, "%s: both bottoms must have 4 dims (%d and %d)", l->what,
                        map.ndim, image.ndim);
    if (pp.img_h == 0) pp.img_h = (double)image.dims[2], pp.img_w = (double)image.dims[3];
    if (pp.step_h == 0)
        pp.step_h = pp.img_h / (double)map.dims[2], pp.step_w = pp.img_w / (double)map.dims[3];
    int64_t priors = (int64_t)pp.n_ratios * pp.n_min + pp.n_max;
    int64_t dims[3] = {1, 2, map.dims[2] * map.dims[3] * priors * 4};
    if (dims[2] > (int64_t)1 << 28)
        return oti_fail(OT_ERR_UNSUPPORTED, "%s: %lld prior coordinates", l->what,
                        (long long)dims[2]);
    ot_tensor t;
    OT_TRY(ot_tensor_alloc(b->ctx, &t, OT_FLOAT, 3, dims, l->what));
    fill_priors(t.data, map.dims[2], map.dims[3], priors, &pp);
    const char *priors_value;
    OT_TRY(oti_caffe_initializer(b, l, "priors", &t, &priors_value));
    return oti_caffe_node(b, l, "Identity", NULL, 1, &priors_value, 0, NULL, 0, NULL);
}

const struct caffe_converter_row oti_caffe_ssd_rows[] = {{"PriorBox", convert_prior_box},
                                                         {NULL, NULL}};
