/* RoiAlign (opsets 10, 16): Y (num_rois, C, output_height, output_width) pools X (N, C, H, W)
 * over boxes rois (num_rois, 4: x1, y1, x2, y2, scaled by spatial_scale) of the images
 * batch_indices (num_rois, int64). Each output bin averages (avg) or takes the largest of
 * (max) sampling_ratio^2 bilinear samples (sampling_ratio 0: ceil(box / output) per axis), as
 * onnxruntime computes them: max mode takes the largest weighted corner of each sample.
 * coordinate_transformation_mode half_pixel (opset 16's default) shifts box corners by -0.5
 * pixel; output_half_pixel (opset 10's only behaviour) does not and makes boxes at least one
 * pixel. A batch index outside [0, N), a coordinate that is not finite and a box more than
 * ROI_MAX_IMAGES times the image away are errors naming the node.
 *
 * Backward w.r.t. X (boxes get none): avg spreads dY over every sample's four corners by
 * their bilinear weights / sample count; max gives dY * weight to the corner that won. */
#include <math.h>
#include <string.h>

#include "core/util.h"
#include "pool_internal.h"

ot_status oti_pool_parse_roi(const ot_layer *l, void *params) {
    ot_roi_params *p = params;
    const char *mode, *ctm;
    OT_TRY(oti_attr_get_string(l, "mode", "avg", &mode));
    OT_TRY(oti_attr_get_string(l, "coordinate_transformation_mode",
                               l->opset >= 16 ? "half_pixel" : "output_half_pixel", &ctm));
    OT_TRY(oti_attr_get_int(l, "output_height", 1, &p->out_h));
    OT_TRY(oti_attr_get_int(l, "output_width", 1, &p->out_w));
    OT_TRY(oti_attr_get_int(l, "sampling_ratio", 0, &p->sampling_ratio));
    OT_TRY(oti_attr_get_float(l, "spatial_scale", 1.0f, &p->spatial_scale));
    p->max_mode = !strcmp(mode, "max");
    p->half_pixel = !strcmp(ctm, "half_pixel");
    if (!p->max_mode && strcmp(mode, "avg"))
        return oti_node_fail(l, OT_ERR_INVALID, "mode '%s' is not avg or max", mode);
    if (!p->half_pixel && strcmp(ctm, "output_half_pixel"))
        return oti_node_fail(l, OT_ERR_INVALID, "coordinate_transformation_mode '%s' is not half_pixel "
                             "or output_half_pixel", ctm);
    if (p->out_h <= 0 || p->out_w <= 0 || p->sampling_ratio < 0)
        return oti_node_fail(l, OT_ERR_INVALID, "output sizes must be positive, sampling_ratio >= 0");
    return OT_OK;
}

ot_status oti_pool_infer_roi(ot_node_ctx *c) {
    const ot_roi_params *p = c->params;
    OT_NODE_CHECK(c, c->n_in >= 3 && c->in[0] && c->in[1] && c->in[2], "needs inputs X, rois and batch_indices");
    const ot_tensor *x = c->in[0], *rois = c->in[1], *bi = c->in[2];
    OT_NODE_CHECK(c, x->dtype == OT_FLOAT && x->ndim == 4, "X must be float32 (N, C, H, W)");
    OT_NODE_CHECK(c, rois->dtype == OT_FLOAT && rois->ndim == 2 && rois->dims[1] == 4,
                  "rois must be float32 (num_rois, 4)");
    OT_NODE_CHECK(c, bi->dtype == OT_INT64 && bi->ndim == 1 && bi->dims[0] == rois->dims[0],
                  "batch_indices must be int64 (num_rois)");
    int64_t dims[4] = {rois->dims[0], x->dims[1], p->out_h, p->out_w};
    ot_tensor_set_shape(c->out[0], OT_FLOAT, 4, dims);
    return OT_OK;
}

/* One box in input pixels: its corner, bin size and samples per bin. */
typedef struct roi_box {
    float y0, x0, bin_h, bin_w;
    int64_t grid_h, grid_w;
} roi_box;

/* A bilinear sample: four flat plane positions and their weights (all 0 outside X). */
typedef struct roi_sample {
    int64_t pos[4];
    float w[4];
} roi_sample;

static roi_box roi_box_of(const ot_roi_params *p, const float *r) {
    float off = p->half_pixel ? 0.5f : 0.0f, s = p->spatial_scale;
    float x0 = r[0] * s - off, y0 = r[1] * s - off, w = r[2] * s - off - x0, h = r[3] * s - off - y0;
    if (!p->half_pixel) {
        w = fmaxf(w, 1.0f);
        h = fmaxf(h, 1.0f);
    }
    roi_box b = {y0, x0, h / (float)p->out_h, w / (float)p->out_w, p->sampling_ratio, p->sampling_ratio};
    if (!p->sampling_ratio) {
        b.grid_h = (int64_t)ceilf(h / (float)p->out_h);
        b.grid_w = (int64_t)ceilf(w / (float)p->out_w);
    }
    return b;
}

/* Low index and fraction along one axis of size n for coordinate v (clamped at the edges). */
static void roi_axis(float v, int64_t n, int64_t *lo, int64_t *hi, float *frac) {
    if (v <= 0) v = 0;
    *lo = (int64_t)v;
    if (*lo >= n - 1) {
        *lo = *hi = n - 1;
        v = (float)*lo;
    } else {
        *hi = *lo + 1;
    }
    *frac = v - (float)*lo;
}

static roi_sample roi_sample_at(float y, float x, int64_t h, int64_t w) {
    roi_sample s = {{0, 0, 0, 0}, {0, 0, 0, 0}};
    if (y < -1.0f || y > (float)h || x < -1.0f || x > (float)w) return s;
    int64_t yl, yh, xl, xh;
    float ly, lx;
    roi_axis(y, h, &yl, &yh, &ly);
    roi_axis(x, w, &xl, &xh, &lx);
    float hy = 1 - ly, hx = 1 - lx;
    roi_sample r = {{yl * w + xl, yl * w + xh, yh * w + xl, yh * w + xh}, {hy * hx, hy * lx, ly * hx, ly * lx}};
    return r;
}

/* Sample (iy, ix) of bin (ph, pw) of box b in an (h, w) plane. */
static roi_sample roi_bin_sample(const roi_box *b, int64_t ph, int64_t pw, int64_t iy, int64_t ix,
                                 int64_t h, int64_t w) {
    float y = b->y0 + (float)ph * b->bin_h + ((float)iy + 0.5f) * b->bin_h / (float)b->grid_h;
    float x = b->x0 + (float)pw * b->bin_w + ((float)ix + 0.5f) * b->bin_w / (float)b->grid_w;
    return roi_sample_at(y, x, h, w);
}

/* A box may reach past the image (its samples there count as 0, as in ONNX Runtime), but not
 * absurdly far: with sampling_ratio 0 its sample count grows with its size. */
#define ROI_MAX_IMAGES 1000.0f

/* Batch index and box of ROI r, checked: a batch index outside the batch, a coordinate that is
 * not finite or a box more than ROI_MAX_IMAGES times the image are errors naming the node. */
static ot_status roi_checked(const ot_node_ctx *c, int64_t r, int64_t *n, roi_box *b) {
    const ot_roi_params *p = c->params;
    const float *roi = (const float *)c->in[1]->data + 4 * r;
    int64_t h = c->in[0]->dims[2], w = c->in[0]->dims[3];
    *n = ((const int64_t *)c->in[2]->data)[r];
    OT_NODE_CHECK(c, *n >= 0 && *n < c->in[0]->dims[0], "batch_indices[%lld] = %lld is outside [0, %lld)",
                  (long long)r, (long long)*n, (long long)c->in[0]->dims[0]);
    OT_NODE_CHECK(c, isfinite(roi[0] * p->spatial_scale) && isfinite(roi[1] * p->spatial_scale) &&
                         isfinite(roi[2] * p->spatial_scale) && isfinite(roi[3] * p->spatial_scale),
                  "rois[%lld] has a coordinate that is not finite", (long long)r);
    float box_w = fabsf(roi[2] - roi[0]) * p->spatial_scale, box_h = fabsf(roi[3] - roi[1]) * p->spatial_scale;
    float far_x = fmaxf(fabsf(roi[0]), fabsf(roi[2])) * p->spatial_scale;
    float far_y = fmaxf(fabsf(roi[1]), fabsf(roi[3])) * p->spatial_scale;
    OT_NODE_CHECK(c, fmaxf(box_w, far_x) <= ROI_MAX_IMAGES * (float)w && fmaxf(box_h, far_y) <= ROI_MAX_IMAGES * (float)h,
                  "rois[%lld] = [%g, %g, %g, %g] lies more than %g times the %lld x %lld image away: check the "
                  "boxes' scale (spatial_scale %g)", (long long)r, (double)roi[0], (double)roi[1], (double)roi[2],
                  (double)roi[3], (double)ROI_MAX_IMAGES, (long long)h, (long long)w, (double)p->spatial_scale);
    *b = roi_box_of(p, roi);
    return OT_OK;
}

/* One output bin of plane xp (h, w): the average, or the largest weighted corner with its
 * position and weight in *at / *weight (max). */
static float roi_bin(const ot_roi_params *p, const roi_box *b, const float *xp, int64_t h, int64_t w,
                     int64_t ph, int64_t pw, int64_t *at, float *weight) {
    double sum = 0;
    float best = -INFINITY;
    for (int64_t iy = 0; iy < b->grid_h; iy++)
        for (int64_t ix = 0; ix < b->grid_w; ix++) {
            roi_sample s = roi_bin_sample(b, ph, pw, iy, ix, h, w);
            for (int k = 0; k < 4; k++) {
                float v = s.w[k] * xp[s.pos[k]];
                sum += v;
                if (v > best) {
                    best = v;
                    *at = s.pos[k];
                    *weight = s.w[k];
                }
            }
        }
    int64_t count = b->grid_h * b->grid_w;
    if (p->max_mode) return count > 0 ? best : 0.0f;
    return count > 0 ? (float)(sum / (double)count) : 0.0f;
}

ot_status oti_pool_forward_roi(ot_node_ctx *c) {
    const ot_roi_params *p = c->params;
    const ot_tensor *x = c->in[0];
    int64_t ch = x->dims[1], h = x->dims[2], w = x->dims[3], plane = h * w;
    float *y = c->out[0]->data;
    for (int64_t r = 0; r < c->in[1]->dims[0]; r++) {
        int64_t n, at = 0;
        float weight;
        roi_box b;
        OT_TRY(roi_checked(c, r, &n, &b));
        for (int64_t k = 0; k < ch; k++) {
            const float *xp = (const float *)x->data + (n * ch + k) * plane;
            for (int64_t ph = 0; ph < p->out_h; ph++)
                for (int64_t pw = 0; pw < p->out_w; pw++)
                    *y++ = roi_bin(p, &b, xp, h, w, ph, pw, &at, &weight);
        }
    }
    return OT_OK;
}

/* Adds g into the bin's inputs of plane dxp: every sample corner (avg) or the winner (max). */
static void roi_bin_backward(const ot_roi_params *p, const roi_box *b, float *dxp, const float *xp,
                             int64_t h, int64_t w, int64_t ph, int64_t pw, float g) {
    int64_t count = b->grid_h * b->grid_w, at = -1;
    if (count <= 0) return;
    if (p->max_mode) {
        float weight = 0;
        roi_bin(p, b, xp, h, w, ph, pw, &at, &weight);
        if (at >= 0) dxp[at] += g * weight;
        return;
    }
    for (int64_t iy = 0; iy < b->grid_h; iy++)
        for (int64_t ix = 0; ix < b->grid_w; ix++) {
            roi_sample s = roi_bin_sample(b, ph, pw, iy, ix, h, w);
            for (int k = 0; k < 4; k++) dxp[s.pos[k]] += g * s.w[k] / (float)count;
        }
}

ot_status oti_pool_backward_roi(ot_node_ctx *c) {
    const ot_roi_params *p = c->params;
    if (!c->din[0] || !c->dout[0]) return OT_OK;
    const ot_tensor *x = c->in[0];
    int64_t ch = x->dims[1], h = x->dims[2], w = x->dims[3], plane = h * w;
    const float *dy = c->dout[0]->data;
    for (int64_t r = 0; r < c->in[1]->dims[0]; r++) {
        int64_t n;
        roi_box b;
        OT_TRY(roi_checked(c, r, &n, &b));
        for (int64_t k = 0; k < ch; k++) {
            float *dxp = (float *)c->din[0]->data + (n * ch + k) * plane;
            const float *xp = (const float *)x->data + (n * ch + k) * plane;
            for (int64_t ph = 0; ph < p->out_h; ph++)
                for (int64_t pw = 0; pw < p->out_w; pw++)
                    roi_bin_backward(p, &b, dxp, xp, h, w, ph, pw, *dy++);
        }
    }
    return OT_OK;
}
