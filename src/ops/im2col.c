/* im2col / col2im over 3-D geometry (see im2col.h). The innermost loop runs along the last
 * spatial dim with the in-image range computed once per kernel column, so it is a plain
 * copy (memcpy at stride 1) with zero runs on either side, never a per-element branch. */
#include "im2col.h"

#include <string.h>

void ot_conv_geom_finish(ot_conv_geom *g) {
    g->image_size = g->out_size = g->kernel_size = 1;
    for (int d = 0; d < OT_CONV_DIMS; d++) {
        g->image_size *= g->image[d];
        g->out_size *= g->out[d];
        g->kernel_size *= g->kernel[d];
    }
}

int ot_conv_geom_is_pointwise(const ot_conv_geom *g) {
    for (int d = 0; d < OT_CONV_DIMS; d++)
        if (g->kernel[d] != 1 || g->stride[d] != 1 || g->pad[d] != 0 || g->out[d] != g->image[d])
            return 0;
    return 1;
}

static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

void ot_conv_valid_range(int64_t n, int64_t size, int64_t stride, int64_t offset, int64_t *lo,
                         int64_t *hi) {
    int64_t first = offset >= 0 ? 0 : floor_div(-offset + stride - 1, stride);
    int64_t last = floor_div(size - 1 - offset, stride); /* inclusive */
    *lo = first < 0 ? 0 : first > n ? n : first;
    *hi = last + 1 < *lo ? *lo : last + 1 > n ? n : last + 1;
}

/* One kernel tap of one channel: where its columns read from. */
typedef struct tap {
    int64_t offset[OT_CONV_DIMS]; /* k * dilation - pad per dim */
    int64_t lo, hi;               /* output range along the last dim that reads inside */
} tap;

static void tap_of(tap *t, const ot_conv_geom *g, const int64_t *k) {
    for (int d = 0; d < OT_CONV_DIMS; d++) t->offset[d] = k[d] * g->dilation[d] - g->pad[d];
    ot_conv_valid_range(g->out[2], g->image[2], g->stride[2], t->offset[2], &t->lo, &t->hi);
}

/* Start of the image line (row along the last dim) that output line `line` of this tap
 * reads, or -1 when that line is in the padding. */
static int64_t line_start(const ot_conv_geom *g, const tap *t, int64_t line) {
    int64_t od = line / g->out[1], oh = line % g->out[1];
    int64_t id = od * g->stride[0] + t->offset[0], ih = oh * g->stride[1] + t->offset[1];
    if (id < 0 || id >= g->image[0] || ih < 0 || ih >= g->image[1]) return -1;
    return (id * g->image[1] + ih) * g->image[2];
}

static int64_t clamp(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* dst[0 .. end-begin) = the tap's values for outputs begin .. end-1 of one line. */
static void gather_line(float *dst, const float *src_line, const tap *t, int64_t stride,
                        int64_t begin, int64_t end) {
    int64_t a = clamp(t->lo, begin, end), b = clamp(t->hi, a, end), off = t->offset[2];
    if (a > begin) memset(dst, 0, sizeof(float) * (size_t)(a - begin));
    if (stride == 1) {
        if (b > a) memcpy(dst + (a - begin), src_line + a + off, sizeof(float) * (size_t)(b - a));
    } else {
        for (int64_t o = a; o < b; o++) dst[o - begin] = src_line[o * stride + off];
    }
    if (end > b) memset(dst + (b - begin), 0, sizeof(float) * (size_t)(end - b));
}

/* The adjoint of gather_line: image line += the in-image part of src. */
static void scatter_line(float *dst_line, const float *src, const tap *t, int64_t stride,
                         int64_t begin, int64_t end) {
    int64_t a = clamp(t->lo, begin, end), b = clamp(t->hi, a, end), off = t->offset[2];
    if (stride == 1 && b > a) {
        float *dst = dst_line + a + off;
        const float *in = src + (a - begin);
        for (int64_t i = 0; i < b - a; i++) dst[i] += in[i];
    } else if (stride != 1) {
        for (int64_t o = a; o < b; o++) dst_line[o * stride + off] += src[o - begin];
    }
}

/* Calls the line function for every output line segment of positions p0 .. p1-1. */
#define FOR_EACH_SEGMENT(g, p0, p1, body)                                                      \
    for (int64_t p_ = (p0); p_ < (p1);) {                                                      \
        int64_t line = p_ / (g)->out[2], begin = p_ % (g)->out[2];                             \
        int64_t end = begin + ((p1) - p_) < (g)->out[2] ? begin + ((p1) - p_) : (g)->out[2];   \
        int64_t at = p_ - (p0);                                                                \
        body;                                                                                  \
        p_ += end - begin;                                                                     \
    }

void ot_im2col(float *col, int64_t ld, const float *image, int64_t channels,
               const ot_conv_geom *g, int64_t p0, int64_t p1) {
    int64_t row = 0, k[OT_CONV_DIMS];
    for (int64_t c = 0; c < channels; c++) {
        const float *plane = image + c * g->image_size;
        for (k[0] = 0; k[0] < g->kernel[0]; k[0]++)
            for (k[1] = 0; k[1] < g->kernel[1]; k[1]++)
                for (k[2] = 0; k[2] < g->kernel[2]; k[2]++, row++) {
                    tap t;
                    tap_of(&t, g, k);
                    float *dst = col + row * ld;
                    FOR_EACH_SEGMENT(g, p0, p1, {
                        int64_t start = line_start(g, &t, line);
                        if (start < 0) memset(dst + at, 0, sizeof(float) * (size_t)(end - begin));
                        else gather_line(dst + at, plane + start, &t, g->stride[2], begin, end);
                    })
                }
    }
}

void ot_col2im_add(float *image, const float *col, int64_t ld, int64_t channels,
                   const ot_conv_geom *g, int64_t p0, int64_t p1) {
    int64_t row = 0, k[OT_CONV_DIMS];
    for (int64_t c = 0; c < channels; c++) {
        float *plane = image + c * g->image_size;
        for (k[0] = 0; k[0] < g->kernel[0]; k[0]++)
            for (k[1] = 0; k[1] < g->kernel[1]; k[1]++)
                for (k[2] = 0; k[2] < g->kernel[2]; k[2]++, row++) {
                    tap t;
                    tap_of(&t, g, k);
                    const float *src = col + row * ld;
                    FOR_EACH_SEGMENT(g, p0, p1, {
                        int64_t start = line_start(g, &t, line);
                        if (start >= 0) scatter_line(plane + start, src + at, &t, g->stride[2], begin, end);
                    })
                }
    }
}
