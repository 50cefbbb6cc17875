/* FFT convolution for 2-D Convs with stride 1, no dilation and one group whose kernels are
 * too large for Winograd's accurate tiles (4x4 and up: 5x5 is LeNet's and AlexNet's) on small
 * planes (a padded plane of at most FFT_MAX_SIDE x FFT_MAX_SIDE). Each plane is transformed
 * whole, in the frame of the padded input (nh, nw): correlating a plane with a kernel there
 * is circular, but no output a conv keeps wraps around (o + k < nh), so it is exact. Per pair
 * of channels this costs 4 nh (nw / 2 + 1) multiplies (LeNet's second conv: 720 against 4900
 * for the 14 x 14 x 25 direct sums), and every value is a sum of products like a dot
 * product's: errors of the order of im2col's (the conv tests' 1e-4 agreement with PyTorch).
 *
 * Shapes (B the samples of one chunk, C input and O output channels, F = nh (nw / 2 + 1)
 * frequencies, X16 the count X rounded up to 16; a spectrum of P planes is (F, 2, P): real
 * parts, then imaginary; the DFT matrices' entries are rounded from double):
 *   forward  W^ planes (c, o) [O16], X^ (c, b) [B16]; per frequency
 *            Y^ (O, B16) = conj(W^) (O, C) @ X^ (C, B16);  Y = inverse of Y^ + bias
 *   dX       dY^ (o, b) [B16], W^ (o, c) [C16]; dX^ (C, B16) = W^T (C, O) @ dY^ (O, B16)
 *   dW       X^ (b, c) [C16]; dW^ (O, C16) = conj(dY^) (O, B) @ X^ (B, C16);  dW += inverse
 * Each complex product runs as one real product on oti_panel_gemm, the left operand packed as
 * [[Re, -Im], [Im, Re]] (2m, 2k) per frequency (the plane orders above make its rows
 * contiguous, except dW's); each frequency is one thread's, each plane's transform too, so
 * the bits do not depend on the thread count. A NaN or infinity in a plane spreads to every
 * output of its sample (every frequency holds it). The transforms are in
 * conv_fft_transforms.c. */
#include <string.h>

#include "core/util.h"
#include "conv_fft.h"
#include "conv_internal.h"
#include "gemm.h"
#include "panel_gemm.h"


static int64_t round16(int64_t n) {
    return (n + OT_PANEL_COLS - 1) / OT_PANEL_COLS * OT_PANEL_COLS;
}

static fft_frame frame_of(const conv_shape *s) {
    const ot_conv_geom *g = &s->geom;
    fft_frame f = {g->out[1] + g->kernel[1] - 1, g->out[2] + g->kernel[2] - 1, 0, 0};
    f.fws = f.nw / 2 + 1;
    f.freqs = f.nh * f.fws;
    return f;
}

/* Multiply-adds of one plane's transform. */
static double transform_macs(const fft_frame *f, int inverse, int64_t rows, int64_t cols) {
    double fws = (double)f->fws, nh = (double)f->nh;
    return inverse ? fws * 2 * rows * 2 * nh + (double)(rows * cols) * 2 * fws
                   : (double)rows * 2 * fws * (double)cols + fws * 2 * nh * 2 * (double)rows;
}

/* The forward pass's multiply-adds by FFT against im2col's: worth it when fewer by
 * tuning->fft_min_gain (its passes over memory cost more per multiply than one deep product). */
static int worth_it(const conv_shape *s, const fft_frame *f) {
    const ot_conv_geom *g = &s->geom;
    int64_t chunk = OT_MIN(s->batch, OT_MAX(s->tuning->fft_chunk_samples, 1));
    double b16 = (double)(round16(chunk) * ((s->batch + chunk - 1) / chunk)); /* columns in all */
    double c = (double)s->in_channels, o = (double)s->out_channels;
    double fft =
        c * b16 * transform_macs(f, 0, g->image[1], g->image[2]) +
        c * (double)round16(s->out_channels) * transform_macs(f, 0, g->kernel[1], g->kernel[2]) +
        4.0 * (double)f->freqs * o * c * b16 + o * b16 * transform_macs(f, 1, g->out[1], g->out[2]);
    double direct = (double)g->out_size * (double)g->kernel_size * c * o * (double)s->batch;
    return fft * s->tuning->fft_min_gain <= direct;
}

int oti_conv_fft_applies(const conv_shape *s) {
    const ot_conv_geom *g = &s->geom;
    if (!OT_PANEL_GEMM_FAST || s->spatial != 2 || s->group != 1 || s->batch < 1) return 0;
    if (g->kernel[1] * g->kernel[2] < 16) return 0;
    for (int d = 1; d <= 2; d++)
        if (g->stride[d] != 1 || g->dilation[d] != 1 || g->pad[d] < 0 || g->out[d] < 1) return 0;
    fft_frame f = frame_of(s);
    if (f.nh > FFT_MAX_SIDE || f.nw > FFT_MAX_SIDE || g->pad[1] + g->image[1] > f.nh ||
        g->pad[2] + g->image[2] > f.nw)
        return 0;
    if (s->in_channels < s->tuning->fft_min_channels || s->out_channels < s->tuning->fft_min_channels) return 0;
    /* The spectra of W are 2 nh (nw / 2 + 1) / (kh kw) times W's size (11x for 5x5 on 16 x 16
     * planes): with hundreds of channels they would outgrow im2col's column budget. */
    return worth_it(s, &f) &&
           oti_conv_fft_workspace(s) <= sizeof(float) * (size_t)s->tuning->column_budget_floats;
}

/* --- the products, one per frequency --------------------------------------------------------- */

/* C (m, n) = op(A) (m, k) @ B (k, n) for every frequency, complex: A's element (i, kk) is
 * plane i * a_rs + kk * a_cs of its spectrum (conjugated when conj is set); B's and C's
 * planes are kk * n + j and i * n + j. */
typedef struct product_job {
    int64_t m, k, n;
    const float *a;
    int64_t a_count, a_rs, a_cs;
    int conj;
    const float *b;
    float *c;
    const fft_frame *f;
    int accumulate; /* C += rather than = */
    float *scratch;
    int64_t part_floats;
} product_job;

/* A' (2m, 2k) = [[Re, -Im], [Im, Re]] of op(A) at frequency fi, in panels. A panel of six
 * rows from one half whose rows are adjacent planes (a_rs 1) copies six floats per column;
 * otherwise row by row. */
static void pack(const product_job *j, int64_t fi, float *a) {
    const float *re = j->a + fi * 2 * j->a_count, *im = re + j->a_count;
    int64_t m = j->m, k = j->k, m2 = 2 * m, cs = j->a_cs;
    float mi = j->conj ? -1.0f : 1.0f; /* op(A)'s imaginary part is mi * im */
    for (int64_t p0 = 0; p0 < m2; p0 += OT_PANEL_ROWS) {
        float *panel = a + p0 * 2 * k;
        int lower = p0 >= m;
        if (j->a_rs == 1 && (p0 + OT_PANEL_ROWS <= m || (lower && p0 + OT_PANEL_ROWS <= m2))) {
            int64_t i0 = p0 - lower * m;
            for (int h = 0; h < 2; h++) { /* upper: Re, -Im; lower: Im, Re */
                const float *src = (lower == h ? re : im) + i0;
                float sign = lower == h ? 1.0f : lower ? mi : -mi;
                for (int64_t kk = 0; kk < k; kk++) {
                    float *dst = panel + (h * k + kk) * OT_PANEL_ROWS;
                    const float *col = src + kk * cs;
                    for (int r = 0; r < OT_PANEL_ROWS; r++) dst[r] = sign * col[r];
                }
            }
            continue;
        }
        for (int r = 0; r < OT_PANEL_ROWS; r++) {
            int64_t row = p0 + r, low = row >= m, i = row - low * m;
            for (int h = 0; h < 2; h++) {
                float *dst = panel + h * k * OT_PANEL_ROWS + r;
                if (row >= m2) {
                    for (int64_t kk = 0; kk < k; kk++) dst[kk * OT_PANEL_ROWS] = 0.0f;
                    continue;
                }
                const float *src = (low == h ? re : im) + i * j->a_rs;
                float sign = low == h ? 1.0f : low ? mi : -mi;
                for (int64_t kk = 0; kk < k; kk++) dst[kk * OT_PANEL_ROWS] = sign * src[kk * cs];
            }
        }
    }
}

/* Up to two products per frequency, one after the other: backward's dX and dW products both
 * read dY^ at that frequency, from the caches the second time. */
typedef struct product_pair {
    const product_job *job[2];
} product_pair;

static void products(int64_t begin, int64_t end, int part, void *arg) {
    const product_pair *pair = arg;
    for (int64_t fi = begin; fi < end; fi++)
        for (int i = 0; i < 2; i++) {
            const product_job *j = pair->job[i];
            if (!j) continue;
            float *a = j->scratch + part * j->part_floats;
            pack(j, fi, a);
            oti_panel_gemm(2 * j->m, j->n, 2 * j->k, a, j->b + fi * 2 * j->k * j->n, j->n,
                          j->c + fi * 2 * j->m * j->n, j->n, j->accumulate);
        }
}

static void run_products(ot_pool *pool, const product_job *first, const product_job *second) {
    product_pair pair = {{first, second}};
    oti_parallel_ranges(pool, first->f->freqs, 1, products, &pair);
}

/* --- workspace ------------------------------------------------------------------------------- */

/* Everything one call uses, carved from the workspace in this order: the transforms'
 * matrices, the spectra, the threads' scratch. bc is the samples per chunk, b16 that rounded
 * up to 16. */
typedef struct fft_layout {
    fft_frame f;
    int64_t bc, b16, c16, o16;
    int64_t matrix_floats, spectra_floats, part_floats;
} fft_layout;

static fft_layout layout_of(const conv_shape *s) {
    const ot_conv_geom *g = &s->geom;
    fft_layout l;
    l.f = frame_of(s);
    const fft_frame *f = &l.f;
    int64_t c = s->in_channels, o = s->out_channels, h = g->image[1], w = g->image[2];
    int64_t oh = g->out[1], ow = g->out[2], kh = g->kernel[1], kw = g->kernel[2];
    l.bc = OT_MIN(s->batch, OT_MAX(s->tuning->fft_chunk_samples, 1));
    l.b16 = round16(l.bc);
    l.c16 = round16(c);
    l.o16 = round16(o);
    /* the backward pass sets up the most: dY, W and X forward, dX and dW inverse */
    l.matrix_floats = oti_fft_transform_floats(f, 0, oh, ow) + oti_fft_transform_floats(f, 0, kh, kw) +
                      oti_fft_transform_floats(f, 0, h, w) + oti_fft_transform_floats(f, 1, h, w) +
                      oti_fft_transform_floats(f, 1, kh, kw) + oti_fft_transform_floats(f, 1, oh, ow);
    int64_t per = 2 * f->freqs;
    int64_t forward = per * (c * l.o16 + c * l.b16 + o * l.b16);
    /* W^ and dW^ for the whole call; dY^, dX^ and X^ per chunk */
    int64_t backward = per * (2 * o * l.c16 + o * l.b16 + c * l.b16 + l.bc * l.c16);
    l.spectra_floats = OT_MAX(forward, backward);
    int64_t part = ot_panel_floats(2 * o, 2 * c); /* forward's A' */
    part = OT_MAX(part, ot_panel_floats(2 * c, 2 * o));
    part = OT_MAX(part, ot_panel_floats(2 * o, 2 * l.bc));
    part = OT_MAX(part, oti_fft_transform_scratch(f, h, w));
    part = OT_MAX(part, oti_fft_transform_scratch(f, oh, ow));
    l.part_floats = OT_MAX(part, oti_fft_transform_scratch(f, kh, kw));
    return l;
}

size_t oti_conv_fft_workspace(const conv_shape *s) {
    fft_layout l = layout_of(s);
    return sizeof(float) *
           (size_t)(l.matrix_floats + l.spectra_floats + oti_pool_threads(s->pool) * l.part_floats);
}

/* --- entry points ---------------------------------------------------------------------------- */

void oti_conv_fft_forward(float *y, const float *x, const float *w, const float *bias,
                      const conv_shape *s, void *workspace) {
    const ot_conv_geom *g = &s->geom;
    fft_layout l = layout_of(s);
    int64_t c = s->in_channels, o = s->out_channels, kk = g->kernel_size;
    float *mem = workspace;
    fft_transform tw, tx, ty;
    oti_fft_transform_init(&tw, &l.f, 0, g->kernel[1], g->kernel[2], 0, 0, &mem);
    oti_fft_transform_init(&tx, &l.f, 0, g->image[1], g->image[2], g->pad[1], g->pad[2], &mem);
    oti_fft_transform_init(&ty, &l.f, 1, g->out[1], g->out[2], 0, 0, &mem);
    int64_t per = 2 * l.f.freqs;
    float *ws = (float *)workspace + l.matrix_floats, *xs = ws + per * c * l.o16;
    float *ys = xs + per * c * l.b16,
          *scratch = (float *)workspace + l.matrix_floats + l.spectra_floats;
    fft_planes wp = {c, o, l.o16, kk, c * kk}; /* (c, o) */
    oti_fft_forward_pass(s->pool, &tw, &wp, w, ws, scratch, l.part_floats);
    for (int64_t b0 = 0; b0 < s->batch; b0 += l.bc) {
        int64_t nb = OT_MIN(l.bc, s->batch - b0);
        fft_planes xp = {c, nb, l.b16, g->image_size, c * g->image_size}; /* (c, b) */
        fft_planes yp = {o, nb, l.b16, g->out_size, o * g->out_size};     /* (o, b) */
        oti_fft_forward_pass(s->pool, &tx, &xp, x + b0 * c * g->image_size, xs, scratch, l.part_floats);
        product_job p = {o, c,  l.b16, ws,   c * l.o16, 1,       l.o16,
                         1, xs, ys,    &l.f, 0,         scratch, l.part_floats};
        run_products(s->pool, &p, NULL);
        oti_fft_inverse_pass(s->pool, &ty, &yp, ys, y + b0 * o * g->out_size, bias, 0, scratch, l.part_floats);
    }
}

void oti_conv_fft_backward(float *dx, float *dw, const float *dy, const float *x, const float *w,
                       const conv_shape *s, void *workspace) {
    const ot_conv_geom *g = &s->geom;
    fft_layout l = layout_of(s);
    int64_t c = s->in_channels, o = s->out_channels, kk = g->kernel_size;
    float *mem = workspace;
    fft_transform tdy, tw, tx, tdx, tdw;
    oti_fft_transform_init(&tdy, &l.f, 0, g->out[1], g->out[2], 0, 0, &mem);
    oti_fft_transform_init(&tw, &l.f, 0, g->kernel[1], g->kernel[2], 0, 0, &mem);
    oti_fft_transform_init(&tx, &l.f, 0, g->image[1], g->image[2], g->pad[1], g->pad[2], &mem);
    oti_fft_transform_init(&tdx, &l.f, 1, g->image[1], g->image[2], g->pad[1], g->pad[2], &mem);
    oti_fft_transform_init(&tdw, &l.f, 1, g->kernel[1], g->kernel[2], 0, 0, &mem);
    int64_t per = 2 * l.f.freqs;
    float *ws = (float *)workspace + l.matrix_floats, *dws = ws + per * o * l.c16;
    float *dys = dws + per * o * l.c16, *dxs = dys + per * o * l.b16, *xs = dxs + per * c * l.b16;
    float *scratch = (float *)workspace + l.matrix_floats + l.spectra_floats;
    fft_planes wp = {o, c, l.c16, c * kk, kk}; /* (o, c), for dX and dW */
    if (dx) oti_fft_forward_pass(s->pool, &tw, &wp, w, ws, scratch, l.part_floats);
    for (int64_t b0 = 0; b0 < s->batch; b0 += l.bc) {
        int64_t nb = OT_MIN(l.bc, s->batch - b0);
        fft_planes dyp = {o, nb, l.b16, g->out_size, o * g->out_size}; /* (o, b) */
        oti_fft_forward_pass(s->pool, &tdy, &dyp, dy + b0 * o * g->out_size, dys, scratch, l.part_floats);
        fft_planes dxp = {c, nb, l.b16, g->image_size, c * g->image_size}; /* (c, b) */
        fft_planes xp = {nb, c, l.c16, c * g->image_size, g->image_size};  /* (b, c) */
        if (dw) oti_fft_forward_pass(s->pool, &tx, &xp, x + b0 * c * g->image_size, xs, scratch, l.part_floats);
        product_job pdx = {c, o,   l.b16, ws,   o * l.c16, 1,       l.c16,
                           0, dys, dxs,   &l.f, 0,         scratch, l.part_floats};
        product_job pdw = {o, nb, l.c16, dys,  o * l.b16, l.b16,   1,
                           1, xs, dws,   &l.f, b0 > 0,    scratch, l.part_floats};
        run_products(s->pool, dx ? &pdx : &pdw, dx && dw ? &pdw : NULL);
        if (dx)
            oti_fft_inverse_pass(s->pool, &tdx, &dxp, dxs, dx + b0 * c * g->image_size, NULL, 1, scratch,
                             l.part_floats);
    }
    fft_planes dwp = {o, c, l.c16, c * kk, kk}; /* (o, c) */
    if (dw) oti_fft_inverse_pass(s->pool, &tdw, &dwp, dws, dw, NULL, 1, scratch, l.part_floats);
}
