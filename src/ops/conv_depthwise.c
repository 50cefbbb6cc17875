/* Direct depthwise convolution (one input channel per group, 1-D or 2-D): every output
 * plane reads one input plane, so im2col would build C tiny GEMMs. Input planes are copied
 * into a zero-padded scratch plane so the loops carry no bounds checks (forward at stride > 1
 * instead reads the input directly and checks taps only on the border). Planes are spread
 * over the compute threads, each with its own scratch. */
#include <string.h>

#include "conv_internal.h"
#include "gemm.h"
#include "vec.h"

/* One input channel per group, 1-D or 2-D. */
static int one_channel_per_group(const conv_shape *s) {
    return s->in_per_group == 1 && s->geom.kernel[0] == 1 && s->geom.image[0] == 1 &&
           s->geom.out[0] == 1;
}

/* Forward also takes a single-channel input with several outputs (MNIST's first layer),
 * where the GEMM would have a handful of rows and K = kernel size. */
int oti_conv_depthwise_forward_applies(const conv_shape *s) { return one_channel_per_group(s); }

/* Backward only for real groups: with one group, dW is a well-shaped GEMM over the batch
 * (im2col), faster than correlating short rows plane by plane. */
int oti_conv_depthwise_backward_applies(const conv_shape *s) {
    return one_channel_per_group(s) && s->group > 1;
}

/* The padded plane covers every input coordinate some tap reads: rows -pad .. last read. */
typedef struct padded_plane {
    int64_t rows, cols; /* (OH-1)*sh + (KH-1)*dh + 1, likewise for columns */
} padded_plane;

static padded_plane padded_of(const ot_conv_geom *g) {
    padded_plane p;
    p.rows = (g->out[1] - 1) * g->stride[1] + (g->kernel[1] - 1) * g->dilation[1] + 1;
    p.cols = (g->out[2] - 1) * g->stride[2] + (g->kernel[2] - 1) * g->dilation[2] + 1;
    return p;
}

size_t oti_conv_depthwise_workspace(const conv_shape *s) {
    padded_plane p = padded_of(&s->geom);
    /* per thread: the padded input plane and the padded input gradient */
    return sizeof(float) * (size_t)(2 * p.rows * p.cols * oti_pool_threads(s->pool));
}

/* xp (rows, cols) = x (IH, IW) shifted by the begin pads, zero outside. */
static void pad_plane(float *restrict xp, const float *restrict x, const ot_conv_geom *g,
                      padded_plane p) {
    int64_t lo, hi; /* padded columns that hold image columns */
    oti_conv_valid_range(p.cols, g->image[2], 1, -g->pad[2], &lo, &hi);
    for (int64_t r = 0; r < p.rows; r++) {
        float *row = xp + r * p.cols;
        int64_t ih = r - g->pad[1];
        if (ih < 0 || ih >= g->image[1]) {
            memset(row, 0, sizeof(float) * (size_t)p.cols);
            continue;
        }
        memset(row, 0, sizeof(float) * (size_t)lo);
        memcpy(row + lo, x + ih * g->image[2] + lo - g->pad[2], sizeof(float) * (size_t)(hi - lo));
        memset(row + hi, 0, sizeof(float) * (size_t)(p.cols - hi));
    }
}

/* dx (IH, IW) += the image part of dxp (rows, cols). */
static void unpad_add(float *restrict dx, const float *restrict dxp, const ot_conv_geom *g,
                      padded_plane p) {
    int64_t lo, hi;
    oti_conv_valid_range(p.cols, g->image[2], 1, -g->pad[2], &lo, &hi);
    for (int64_t r = 0; r < p.rows; r++) {
        int64_t ih = r - g->pad[1];
        if (ih < 0 || ih >= g->image[1]) continue;
        float *dst = dx + ih * g->image[2] - g->pad[2];
        const float *src = dxp + r * p.cols;
        for (int64_t c = lo; c < hi; c++) dst[c] += src[c];
    }
}

/* y[0 .. n) += a * x[0 .. n) */
static inline void axpy(float *y, const float *x, float a, int64_t n) {
    ot_v4 av = (ot_v4){0.0f, 0.0f, 0.0f, 0.0f} + a;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) ot_store4(y + i, ot_load4(y + i) + av * ot_load4(x + i));
    for (; i < n; i++) y[i] += a * x[i];
}

static inline ot_v4 splat(float v) { return (ot_v4){0.0f, 0.0f, 0.0f, 0.0f} + v; }

/* One output row of a 3x3 kernel at stride 1: rows r0, r1, r2 of the padded plane, taps dw
 * apart. The nine weights stay in registers; each row's three taps form their own partial
 * sum so the additions do not wait on one another. */
static void row_3x3(float *yr, const float *r0, const float *r1, const float *r2, const ot_v4 *wv,
                    const float *w, float b, int64_t dw, int64_t n) {
    int64_t o = 0;
    for (; o + 4 <= n; o += 4) {
        ot_v4 s0 = wv[0] * ot_load4(r0 + o) + wv[1] * ot_load4(r0 + o + dw) + wv[2] * ot_load4(r0 + o + 2 * dw);
        ot_v4 s1 = wv[3] * ot_load4(r1 + o) + wv[4] * ot_load4(r1 + o + dw) + wv[5] * ot_load4(r1 + o + 2 * dw);
        ot_v4 s2 = wv[6] * ot_load4(r2 + o) + wv[7] * ot_load4(r2 + o + dw) + wv[8] * ot_load4(r2 + o + 2 * dw);
        ot_store4(yr + o, splat(b) + s0 + s1 + s2);
    }
    for (; o < n; o++)
        yr[o] = b + (w[0] * r0[o] + w[1] * r0[o + dw] + w[2] * r0[o + 2 * dw]) +
                (w[3] * r1[o] + w[4] * r1[o + dw] + w[5] * r1[o + 2 * dw]) +
                (w[6] * r2[o] + w[7] * r2[o + dw] + w[8] * r2[o + 2 * dw]);
}

/* The same at stride sw > 1, one output at a time with the weights in registers. */
static void row_3x3_strided(float *yr, const float *r0, const float *r1, const float *r2,
                            const float *w, float b, int64_t dw, int64_t sw, int64_t n) {
    float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4], w5 = w[5], w6 = w[6], w7 = w[7],
          w8 = w[8];
    for (int64_t o = 0; o < n; o++) {
        const float *a = r0 + o * sw, *c = r1 + o * sw, *e = r2 + o * sw;
        yr[o] = b + (w0 * a[0] + w1 * a[dw] + w2 * a[2 * dw]) + (w3 * c[0] + w4 * c[dw] + w5 * c[2 * dw]) +
                (w6 * e[0] + w7 * e[dw] + w8 * e[2 * dw]);
    }
}

/* One output row at stride 1 for any kernel (KH, KW): 24 outputs at a time in three
 * 8-float accumulators (three independent chains of multiply-adds keep the FPU busy; one or
 * two would wait on each other's latency), then 8 and 4 at a time; the taps in the inner
 * loops, rows of the taps dh apart, columns dw apart. Every output is b plus its taps in
 * the same order on every path. */
static void row_generic(float *yr, const float *r0, const float *w, float b, int64_t kh_n,
                        int64_t kw_n, int64_t dh, int64_t dw, int64_t n) {
    int64_t o = 0;
    for (; o + 24 <= n; o += 24) {
        ot_v8 a0 = (ot_v8){0} + b, a1 = a0, a2 = a0;
        for (int64_t kh = 0; kh < kh_n; kh++) {
            const float *r = r0 + kh * dh + o;
            for (int64_t kw = 0; kw < kw_n; kw++) {
                ot_v8 wv = (ot_v8){0} + w[kh * kw_n + kw];
                const float *x = r + kw * dw;
                a0 += wv * ot_load8(x);
                a1 += wv * ot_load8(x + 8);
                a2 += wv * ot_load8(x + 16);
            }
        }
        ot_store8(yr + o, a0);
        ot_store8(yr + o + 8, a1);
        ot_store8(yr + o + 16, a2);
    }
    for (; o + 8 <= n; o += 8) {
        ot_v8 a0 = (ot_v8){0} + b;
        for (int64_t kh = 0; kh < kh_n; kh++)
            for (int64_t kw = 0; kw < kw_n; kw++)
                a0 += ((ot_v8){0} + w[kh * kw_n + kw]) * ot_load8(r0 + kh * dh + kw * dw + o);
        ot_store8(yr + o, a0);
    }
    for (; o + 4 <= n; o += 4) {
        ot_v4 a0 = splat(b);
        for (int64_t kh = 0; kh < kh_n; kh++)
            for (int64_t kw = 0; kw < kw_n; kw++)
                a0 += splat(w[kh * kw_n + kw]) * ot_load4(r0 + kh * dh + kw * dw + o);
        ot_store4(yr + o, a0);
    }
    for (; o < n; o++) {
        float acc = b;
        for (int64_t kh = 0; kh < kh_n; kh++)
            for (int64_t kw = 0; kw < kw_n; kw++) acc += w[kh * kw_n + kw] * r0[kh * dh + kw * dw + o];
        yr[o] = acc;
    }
}

/* y (OH, OW) = b + the taps w over the zero-padded plane xp (rows, cols), at stride 1: every
 * output is interior, so whole rows go through the row kernel. */
static void plane_forward_padded(float *y, const float *xp, const float *w, float b,
                                 const ot_conv_geom *g, padded_plane p) {
    int64_t ow_n = g->out[2], kh_n = g->kernel[1], kw_n = g->kernel[2];
    int64_t dh = g->dilation[1] * p.cols, dw = g->dilation[2];
    ot_v4 wv[9];
    if (kh_n == 3 && kw_n == 3)
        for (int k = 0; k < 9; k++) wv[k] = splat(w[k]);
    for (int64_t oh = 0; oh < g->out[1]; oh++) {
        float *yr = y + oh * ow_n;
        const float *r0 = xp + oh * p.cols;
        if (kh_n == 3 && kw_n == 3) {
            row_3x3(yr, r0, r0 + dh, r0 + 2 * dh, wv, w, b, dw, ow_n);
            continue;
        }
        row_generic(yr, r0, w, b, kh_n, kw_n, dh, dw, ow_n);
    }
}

/* One output by the definition, skipping taps in the padding (border outputs only). */
static float output_checked(const float *x, const float *w, float b, const ot_conv_geom *g,
                            int64_t oh, int64_t ow) {
    float acc = b;
    for (int64_t kh = 0; kh < g->kernel[1]; kh++) {
        int64_t ih = oh * g->stride[1] + kh * g->dilation[1] - g->pad[1];
        if (ih < 0 || ih >= g->image[1]) continue;
        for (int64_t kw = 0; kw < g->kernel[2]; kw++) {
            int64_t iw = ow * g->stride[2] + kw * g->dilation[2] - g->pad[2];
            if (iw >= 0 && iw < g->image[2]) acc += w[kh * g->kernel[2] + kw] * x[ih * g->image[2] + iw];
        }
    }
    return acc;
}

/* y (OH, OW) = b + the taps w (KH, KW) over x (IH, IW), at any stride. Outputs whose taps
 * all fall inside the image (the interior: rows [r_lo, r_hi), columns [c_lo, c_hi)) read x
 * directly, each summed in a register over all taps (3x3, MobileNet's case, has its own row
 * kernel); the border checks every tap. */
static void plane_forward(float *y, const float *x, const float *w, float b,
                          const ot_conv_geom *g) {
    int64_t ow_n = g->out[2], sw = g->stride[2], kh_n = g->kernel[1], kw_n = g->kernel[2];
    int64_t iw_n = g->image[2], dh = g->dilation[1] * iw_n, dw = g->dilation[2], unused;
    int64_t r_lo, r_hi, c_lo, c_hi;
    oti_conv_valid_range(g->out[1], g->image[1], g->stride[1], -g->pad[1], &r_lo, &unused);
    oti_conv_valid_range(g->out[1], g->image[1], g->stride[1],
                        (kh_n - 1) * g->dilation[1] - g->pad[1], &unused, &r_hi);
    oti_conv_valid_range(ow_n, iw_n, sw, -g->pad[2], &c_lo, &unused);
    oti_conv_valid_range(ow_n, iw_n, sw, (kw_n - 1) * dw - g->pad[2], &unused, &c_hi);
    if (c_hi < c_lo) c_hi = c_lo;
    ot_v4 wv[9];
    if (kh_n == 3 && kw_n == 3)
        for (int k = 0; k < 9; k++) wv[k] = splat(w[k]);
    for (int64_t oh = 0; oh < g->out[1]; oh++) {
        float *yr = y + oh * ow_n;
        int interior = oh >= r_lo && oh < r_hi;
        int64_t first = interior ? c_lo : ow_n, last = interior ? c_hi : ow_n;
        for (int64_t ow = 0; ow < first; ow++) yr[ow] = output_checked(x, w, b, g, oh, ow);
        for (int64_t ow = last; ow < ow_n; ow++) yr[ow] = output_checked(x, w, b, g, oh, ow);
        if (first >= last) continue;
        /* x + at is the top-left tap of output `first`: inside the image */
        int64_t at = (oh * g->stride[1] - g->pad[1]) * iw_n + first * sw - g->pad[2];
        const float *r0 = x + at;
        if (kh_n == 3 && kw_n == 3 && sw == 1)
            row_3x3(yr + first, r0, r0 + dh, r0 + 2 * dh, wv, w, b, dw, last - first);
        else if (kh_n == 3 && kw_n == 3)
            row_3x3_strided(yr + first, r0, r0 + dh, r0 + 2 * dh, w, b, dw, sw, last - first);
        else
            for (int64_t ow = first; ow < last; ow++) {
                const float *xr = r0 + (ow - first) * sw;
                float acc = b;
                for (int64_t kh = 0; kh < kh_n; kh++)
                    for (int64_t kw = 0; kw < kw_n; kw++) acc += w[kh * kw_n + kw] * xr[kh * dh + kw * dw];
                yr[ow] = acc;
            }
    }
}

/* sum of a[i] * b[i * stride] in eight independent lanes (vectorisable without -ffast-math). */
static float dot(const float *restrict a, const float *restrict b, int64_t stride, int64_t n) {
    float lanes[8] = {0};
    int64_t i = 0;
    if (stride == 1)
        for (; i + 8 <= n; i += 8)
            for (int j = 0; j < 8; j++) lanes[j] += a[i + j] * b[i + j];
    float sum = 0.0f;
    for (; i < n; i++) sum += a[i] * b[i * stride];
    for (int j = 0; j < 8; j++) sum += lanes[j];
    return sum;
}

/* dxp (rows, cols) += the taps w spread over dy (OH, OW); dw (KH, KW) += dy correlated with
 * the padded plane xp. Either output may be NULL. */
static void plane_backward(float *dxp, float *dw, const float *dy, const float *xp,
                           const float *w, const ot_conv_geom *g, padded_plane p) {
    int64_t ow_n = g->out[2], sw = g->stride[2];
    for (int64_t oh = 0; oh < g->out[1]; oh++) {
        const float *gr = dy + oh * ow_n;
        for (int64_t kh = 0; kh < g->kernel[1]; kh++) {
            int64_t r = (oh * g->stride[1] + kh * g->dilation[1]) * p.cols;
            for (int64_t kw = 0; kw < g->kernel[2]; kw++) {
                int64_t at = r + kw * g->dilation[2], k = kh * g->kernel[2] + kw;
                if (dxp && sw == 1) axpy(dxp + at, gr, w[k], ow_n);
                else if (dxp)
                    for (int64_t ow = 0; ow < ow_n; ow++) dxp[at + ow * sw] += w[k] * gr[ow];
                if (dw) dw[k] += dot(gr, xp + at, sw, ow_n);
            }
        }
    }
}

typedef struct depthwise_job {
    float *y, *dx, *dw;
    const float *x, *w, *bias, *dy;
    const conv_shape *s;
    float *scratch; /* per part: padded x plane, padded dx plane */
} depthwise_job;

static float *part_scratch(const depthwise_job *j, int part, int which) {
    padded_plane p = padded_of(&j->s->geom);
    return j->scratch + (2 * part + which) * p.rows * p.cols;
}

/* Items are (sample, input channel); each makes its channel's `multiplier` outputs. */
static void forward_items(int64_t begin, int64_t end, int part, void *arg) {
    const depthwise_job *j = arg;
    const conv_shape *s = j->s;
    const ot_conv_geom *g = &s->geom;
    /* At stride 1 a padded copy costs little next to the taps and spares the border checks;
     * at larger strides the outputs are few and the copy would dominate. */
    int padded = g->stride[1] == 1 && g->stride[2] == 1;
    padded_plane p = padded_of(g);
    float *xp = part_scratch(j, part, 0);
    int64_t mult = s->out_per_group;
    for (int64_t item = begin; item < end; item++) {
        int64_t n = item / s->in_channels, ic = item % s->in_channels;
        const float *x = j->x + item * g->image_size;
        if (padded) pad_plane(xp, x, g, p);
        for (int64_t oc = ic * mult; oc < (ic + 1) * mult; oc++) {
            float *y = j->y + (n * s->out_channels + oc) * g->out_size, b = j->bias ? j->bias[oc] : 0.0f;
            if (padded) plane_forward_padded(y, xp, j->w + oc * g->kernel_size, b, g, p);
            else plane_forward(y, x, j->w + oc * g->kernel_size, b, g);
        }
    }
}

/* Input gradient and weight gradient of output channel oc over the batch; dxp (scratch)
 * collects dX of the channel's input plane for sample n when given. */
static void backward_output(const depthwise_job *j, int64_t oc, int64_t n, float *xp, float *dxp) {
    const conv_shape *s = j->s;
    const ot_conv_geom *g = &s->geom;
    plane_backward(dxp, j->dw ? j->dw + oc * g->kernel_size : NULL,
                   j->dy + (n * s->out_channels + oc) * g->out_size, xp, j->w + oc * g->kernel_size,
                   g, padded_of(g));
}

/* Items are input channels, each with its `multiplier` outputs: a channel's dX gathers all
 * of them and its weights' gradients sum over the batch, so one thread owns the channel. */
static void backward_channels(int64_t begin, int64_t end, int part, void *arg) {
    const depthwise_job *j = arg;
    const conv_shape *s = j->s;
    const ot_conv_geom *g = &s->geom;
    padded_plane p = padded_of(g);
    float *xp = part_scratch(j, part, 0), *dxp = part_scratch(j, part, 1);
    int64_t mult = s->out_per_group;
    for (int64_t ic = begin; ic < end; ic++)
        for (int64_t n = 0; n < s->batch; n++) {
            int64_t plane = (n * s->in_channels + ic) * g->image_size;
            if (j->dw) pad_plane(xp, j->x + plane, g, p);
            memset(dxp, 0, sizeof(float) * (size_t)(p.rows * p.cols));
            for (int64_t oc = ic * mult; oc < (ic + 1) * mult; oc++) backward_output(j, oc, n, xp, dxp);
            unpad_add(j->dx + plane, dxp, g, p);
        }
}

/* Without dX, items are output channels (more of them when one input feeds many outputs). */
static void backward_weights(int64_t begin, int64_t end, int part, void *arg) {
    const depthwise_job *j = arg;
    const conv_shape *s = j->s;
    const ot_conv_geom *g = &s->geom;
    float *xp = part_scratch(j, part, 0);
    for (int64_t oc = begin; oc < end; oc++)
        for (int64_t n = 0; n < s->batch; n++) {
            int64_t ic = oc / s->out_per_group;
            pad_plane(xp, j->x + (n * s->in_channels + ic) * g->image_size, g, padded_of(g));
            backward_output(j, oc, n, xp, NULL);
        }
}

/* Work per item below which threads do not pay off, in multiply-adds. */
#define GRAIN_MACS 20000

void oti_conv_depthwise_forward(float *y, const float *x, const float *w, const float *bias,
                            const conv_shape *s, void *workspace) {
    depthwise_job j = {y, NULL, NULL, x, w, bias, NULL, s, workspace};
    int64_t macs = s->out_per_group * s->geom.out_size * s->geom.kernel_size + 1;
    oti_parallel_ranges(s->pool, s->batch * s->in_channels, GRAIN_MACS / macs + 1, forward_items, &j);
}

void oti_conv_depthwise_backward(float *dx, float *dw, const float *dy, const float *x,
                             const float *w, const conv_shape *s, void *workspace) {
    depthwise_job j = {NULL, dx, dw, x, w, NULL, dy, s, workspace};
    int64_t macs = s->batch * s->geom.out_size * s->geom.kernel_size + 1; /* per output channel */
    if (dx)
        oti_parallel_ranges(s->pool, s->in_channels, GRAIN_MACS / (macs * s->out_per_group) + 1,
                           backward_channels, &j);
    else
        oti_parallel_ranges(s->pool, s->out_channels, GRAIN_MACS / macs + 1, backward_weights, &j);
}
