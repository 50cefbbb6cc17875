/* Direct depthwise convolution (one input channel per group, 1-D or 2-D): every output
 * plane reads one input plane, so im2col would build C tiny GEMMs. The loops run over output
 * rows, then kernel taps, then the in-image span of the row (a strided saxpy). */
#include "conv_internal.h"

int conv_is_depthwise(const conv_shape *s) {
    return s->group > 1 && s->in_per_group == 1 && s->geom.kernel[0] == 1 &&
           s->geom.image[0] == 1 && s->geom.out[0] == 1;
}

/* y (OH, OW) = b + conv of x (IH, IW) with w (KH, KW). */
static void plane_forward(float *y, const float *x, const float *w, float b, const ot_conv_geom *g) {
    int64_t oh_n = g->out[1], ow_n = g->out[2], ih_n = g->image[1], iw_n = g->image[2];
    int64_t kh_n = g->kernel[1], kw_n = g->kernel[2], sw = g->stride[2];
    for (int64_t oh = 0; oh < oh_n; oh++) {
        float *yr = y + oh * ow_n;
        for (int64_t ow = 0; ow < ow_n; ow++) yr[ow] = b;
        for (int64_t kh = 0; kh < kh_n; kh++) {
            int64_t ih = oh * g->stride[1] + kh * g->dilation[1] - g->pad[1];
            if (ih < 0 || ih >= ih_n) continue;
            const float *xr = x + ih * iw_n;
            for (int64_t kw = 0; kw < kw_n; kw++) {
                int64_t off = kw * g->dilation[2] - g->pad[2], lo, hi;
                ot_conv_valid_range(ow_n, iw_n, sw, off, &lo, &hi);
                float wv = w[kh * kw_n + kw];
                if (sw == 1)
                    for (int64_t ow = lo; ow < hi; ow++) yr[ow] += wv * xr[ow + off];
                else
                    for (int64_t ow = lo; ow < hi; ow++) yr[ow] += wv * xr[ow * sw + off];
            }
        }
    }
}

/* dx (IH, IW) += w-weighted dy; dw (KH, KW) += dy correlated with x. Either may be NULL. */
static void plane_backward(float *dx, float *dw, const float *dy, const float *x, const float *w,
                           const ot_conv_geom *g) {
    int64_t oh_n = g->out[1], ow_n = g->out[2], ih_n = g->image[1], iw_n = g->image[2];
    int64_t kh_n = g->kernel[1], kw_n = g->kernel[2], sw = g->stride[2];
    for (int64_t oh = 0; oh < oh_n; oh++) {
        const float *gr = dy + oh * ow_n;
        for (int64_t kh = 0; kh < kh_n; kh++) {
            int64_t ih = oh * g->stride[1] + kh * g->dilation[1] - g->pad[1];
            if (ih < 0 || ih >= ih_n) continue;
            for (int64_t kw = 0; kw < kw_n; kw++) {
                int64_t off = kw * g->dilation[2] - g->pad[2], lo, hi;
                ot_conv_valid_range(ow_n, iw_n, sw, off, &lo, &hi);
                if (dx) {
                    float wv = w[kh * kw_n + kw], *dxr = dx + ih * iw_n;
                    for (int64_t ow = lo; ow < hi; ow++) dxr[ow * sw + off] += wv * gr[ow];
                }
                if (dw) {
                    const float *xr = x + ih * iw_n;
                    float sum = 0.0f;
                    for (int64_t ow = lo; ow < hi; ow++) sum += gr[ow] * xr[ow * sw + off];
                    dw[kh * kw_n + kw] += sum;
                }
            }
        }
    }
}

void conv_depthwise_forward(float *y, const float *x, const float *w, const float *bias,
                            const conv_shape *s) {
    const ot_conv_geom *g = &s->geom;
    int64_t multiplier = s->out_per_group;
    for (int64_t n = 0; n < s->batch; n++)
        for (int64_t oc = 0; oc < s->out_channels; oc++) {
            const float *xp = x + (n * s->in_channels + oc / multiplier) * g->image_size;
            plane_forward(y + (n * s->out_channels + oc) * g->out_size, xp, w + oc * g->kernel_size,
                          bias ? bias[oc] : 0.0f, g);
        }
}

void conv_depthwise_backward(float *dx, float *dw, const float *dy, const float *x,
                             const float *w, const conv_shape *s) {
    const ot_conv_geom *g = &s->geom;
    int64_t multiplier = s->out_per_group;
    for (int64_t n = 0; n < s->batch; n++)
        for (int64_t oc = 0; oc < s->out_channels; oc++) {
            int64_t in_plane = (n * s->in_channels + oc / multiplier) * g->image_size;
            plane_backward(dx ? dx + in_plane : NULL, dw ? dw + oc * g->kernel_size : NULL,
                           dy + (n * s->out_channels + oc) * g->out_size, x + in_plane,
                           w + oc * g->kernel_size, g);
        }
}
