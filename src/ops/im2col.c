/* im2col / col2im over 3-D geometry (see im2col.h). The innermost loop runs along one output
 * line with the in-image range computed once per kernel tap, so it is a plain (vectorised)
 * copy with zero runs on either side, never a per-element branch. */
#include "im2col.h"

#include <string.h>

#include "gemm.h"
#include "onnxtrain/status.h"
#include "core/error.h"

void oti_conv_geom_finish(ot_conv_geom *g) {
    g->image_size = g->out_size = g->kernel_size = 1;
    for (int d = 0; d < OT_CONV_DIMS; d++) {
        g->image_size *= g->image[d];
        g->out_size *= g->out[d];
        g->kernel_size *= g->kernel[d];
    }
}

int oti_conv_geom_is_pointwise(const ot_conv_geom *g) {
    for (int d = 0; d < OT_CONV_DIMS; d++)
        if (g->kernel[d] != 1 || g->stride[d] != 1 || g->pad[d] != 0 || g->out[d] != g->image[d])
            return 0;
    return 1;
}

static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

void oti_conv_valid_range(int64_t n, int64_t size, int64_t stride, int64_t offset, int64_t *lo,
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
    oti_conv_valid_range(g->out[2], g->image[2], g->stride[2], t->offset[2], &t->lo, &t->hi);
}

/* Start of the image line that output line (od, oh) reads through this tap, or -1 when that
 * line lies in the padding. */
static int64_t line_start(const ot_conv_geom *g, const tap *t, int64_t od, int64_t oh) {
    int64_t id = od * g->stride[0] + t->offset[0], ih = oh * g->stride[1] + t->offset[1];
    if (id < 0 || id >= g->image[0] || ih < 0 || ih >= g->image[1]) return -1;
    return (id * g->image[1] + ih) * g->image[2];
}

/* dst[0 .. n) = the tap's values along one output line: line[o * stride + off] where that is
 * inside the image (o in [lo, hi)), zero elsewhere; line NULL when the whole line is padding.
 * restrict lets the compiler vectorise the copies. */
static inline void gather_line(float *restrict dst, const float *restrict line, int64_t off,
                               int64_t stride, int64_t lo, int64_t hi, int64_t n) {
    if (!line) {
        memset(dst, 0, sizeof(float) * (size_t)n);
        return;
    }
    for (int64_t o = 0; o < lo; o++) dst[o] = 0.0f;
    if (stride == 1)
        for (int64_t o = lo; o < hi; o++) dst[o] = line[o + off];
    else
        for (int64_t o = lo; o < hi; o++) dst[o] = line[o * stride + off];
    for (int64_t o = hi; o < n; o++) dst[o] = 0.0f;
}

/* The adjoint of gather_line: line[o * stride + off] += src[o] inside the image. */
static inline void scatter_line(float *restrict line, const float *restrict src, int64_t off,
                                int64_t stride, int64_t lo, int64_t hi) {
    if (stride == 1)
        for (int64_t o = lo; o < hi; o++) line[o + off] += src[o];
    else
        for (int64_t o = lo; o < hi; o++) line[o * stride + off] += src[o];
}

/* Ranges are whole output lines (see im2col.h); returns the first and end line. */
static void line_range(const ot_conv_geom *g, int64_t p0, int64_t p1, int64_t *l0, int64_t *l1) {
    OT_ASSERT(p0 % g->out[2] == 0 && p1 % g->out[2] == 0);
    *l0 = p0 / g->out[2];
    *l1 = p1 / g->out[2];
}

/* One call's arguments, shared by the threads that split its rows (im2col) or channels
 * (col2im: taps of one channel add into the same plane, so a channel stays on one thread). */
typedef struct column_job {
    float *col_out;         /* im2col writes columns from images_in */
    const float *images_in;
    const float *col_in;    /* col2im adds columns into images_out */
    float *images_out;
    int64_t ld, count, image_stride;
    const ot_conv_geom *g;
    int64_t l0, l1; /* output lines */
} column_job;

/* Rows row0 .. row1-1 of the column matrix: row = (channel, kd, kh, kw). */
static void im2col_rows(int64_t row0, int64_t row1, int part, void *arg) {
    (void)part;
    const column_job *j = arg;
    const ot_conv_geom *g = j->g;
    int64_t n = g->out[2], taps = g->kernel_size;
    for (int64_t row = row0; row < row1; row++) {
        int64_t c = row / taps, tap_index = row % taps, k[OT_CONV_DIMS];
        k[2] = tap_index % g->kernel[2];
        k[1] = tap_index / g->kernel[2] % g->kernel[1];
        k[0] = tap_index / g->kernel[2] / g->kernel[1];
        tap t;
        tap_of(&t, g, k);
        float *dst = j->col_out + row * j->ld;
        for (int64_t b = 0; b < j->count; b++) {
            const float *plane = j->images_in + b * j->image_stride + c * g->image_size;
            int64_t od = j->l0 / g->out[1], oh = j->l0 % g->out[1];
            for (int64_t l = j->l0; l < j->l1; l++, dst += n) {
                int64_t start = line_start(g, &t, od, oh);
                gather_line(dst, start < 0 ? NULL : plane + start, t.offset[2], g->stride[2],
                            t.lo, t.hi, n);
                if (++oh == g->out[1]) {
                    oh = 0;
                    od++;
                }
            }
        }
    }
}

/* Channels c0 .. c1-1: every tap's columns added back into the channel's planes. */
static void col2im_channels(int64_t c0, int64_t c1, int part, void *arg) {
    (void)part;
    const column_job *j = arg;
    const ot_conv_geom *g = j->g;
    int64_t n = g->out[2], k[OT_CONV_DIMS];
    for (int64_t c = c0; c < c1; c++) {
        int64_t row = c * g->kernel_size;
        for (k[0] = 0; k[0] < g->kernel[0]; k[0]++)
            for (k[1] = 0; k[1] < g->kernel[1]; k[1]++)
                for (k[2] = 0; k[2] < g->kernel[2]; k[2]++, row++) {
                    tap t;
                    tap_of(&t, g, k);
                    const float *src = j->col_in + row * j->ld;
                    for (int64_t b = 0; b < j->count; b++) {
                        float *plane = j->images_out + b * j->image_stride + c * g->image_size;
                        int64_t od = j->l0 / g->out[1], oh = j->l0 % g->out[1];
                        for (int64_t l = j->l0; l < j->l1; l++, src += n) {
                            int64_t start = line_start(g, &t, od, oh);
                            if (start >= 0)
                                scatter_line(plane + start, src, t.offset[2], g->stride[2], t.lo, t.hi);
                            if (++oh == g->out[1]) {
                                oh = 0;
                                od++;
                            }
                        }
                    }
                }
    }
}

/* Threads pay off from about this many floats moved per range. */
#define FLOATS_PER_RANGE ((int64_t)1 << 16)

void oti_im2col(ot_pool *pool, float *col, int64_t ld, const float *images, int64_t count, int64_t image_stride,
               int64_t channels, const ot_conv_geom *g, int64_t p0, int64_t p1) {
    column_job j = {col, images, NULL, NULL, ld, count, image_stride, g, 0, 0};
    line_range(g, p0, p1, &j.l0, &j.l1);
    int64_t row_floats = count * (p1 - p0) + 1;
    oti_parallel_ranges(pool, channels * g->kernel_size, FLOATS_PER_RANGE / row_floats + 1, im2col_rows, &j);
}

void oti_col2im_add(ot_pool *pool, float *images, const float *col, int64_t ld, int64_t count,
                   int64_t image_stride, int64_t channels, const ot_conv_geom *g, int64_t p0,
                   int64_t p1) {
    column_job j = {NULL, NULL, col, images, ld, count, image_stride, g, 0, 0};
    line_range(g, p0, p1, &j.l0, &j.l1);
    int64_t channel_floats = count * (p1 - p0) * g->kernel_size + 1;
    oti_parallel_ranges(pool, channels, FLOATS_PER_RANGE / channel_floats + 1, col2im_channels, &j);
}
