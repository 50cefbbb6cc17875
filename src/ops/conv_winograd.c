/* Winograd convolution for 2-D Convs with stride 1, no dilation and one group. By default
 * 3x3 kernels use F(2x2, 3x3) on 4x4 tiles (points 0, 1, -1 and infinity): 16 multiplies per
 * 4 outputs instead of 36, with rounding errors of a dot product's order (the conv tests'
 * 1e-4 agreement with PyTorch holds with room: worst 0.2 of it). A plan's fast_convolution adds
 * F(4x4, 3x3) and F(2x2, 5x5) on 6x6 tiles (points 0, 1, -1, 2, -2, infinity): 36 per 16 and
 * 36 per 4 instead of 144 and 100, but their coefficients (up to 16 and 1/24) leave errors of
 * 1e-6 to 1e-5 of a tensor's scale, about ten times im2col's, so they are opt-in.
 *
 * Shapes (alpha the tile side, P = alpha^2 points, O output channels, I input channels, Tc
 * tiles of one chunk of whole tile rows, Tp that rounded up to whole 16-column blocks;
 * [panels] marks panel_gemm.h's packed layout):
 *   U (P, O, I) [panels]  the weights G w G^T, once per call
 *   V (P, I, Tp)          the input tiles B^T d B (columns past Tc zero)
 *   M (P, O, Tp)          U[xi] @ V[xi] for each point xi (oti_panel_gemm)
 *   Y                     A^T M[tile] A, m x m outputs per tile (+ bias, or added into Y)
 * dX is the same algorithm run on dY with the weights flipped and transposed. dW correlates
 * the same input tiles with dY's m x m tiles, F(r x r, m x m) on the same points, O16 being
 * O rounded up to 16:
 *   V (P, I, Tc) [panels], D (P, Tc, O16) = G' dy G'^T;  W^T (P, I, O16) += V[xi] @ D[xi];
 *   dW += A'^T W^[.] A'.
 * The transforms of one family share B^T (it depends on the points only); G and A^T are the
 * points' Vandermonde rows (Lavin & Gray, "Fast Algorithms for Convolutional Neural
 * Networks", 2016). This file runs the passes (chunks of tiles, the products, the workspace);
 * the transforms are in conv_winograd_tiles.c. The plan's tuning (conv_tuning.h:
 * winograd_min_channels) turns the path off (a huge value) or on for small test convs. */
#include <string.h>

#include "core/util.h"
#include "conv_internal.h"
#include "conv_winograd.h"
#include "gemm.h"
#include "panel_gemm.h"

/* Tile rows per chunk: the chunk's transformed tiles in about g->chunk_floats floats (they
 * are written, multiplied and read back while in the caches), never fewer than
 * MIN_CHUNK_TILES tiles (the products' width) nor more than exist. */
#define MIN_CHUNK_TILES 64

static int64_t chunk_rows(const wino_geom *g) {
    int64_t rows = g->batch * g->tiles_h;
    int64_t tiles = g->chunk_floats / (g->points * (g->in_ch + g->out_ch));
    if (tiles < MIN_CHUNK_TILES) tiles = MIN_CHUNK_TILES;
    int64_t n = wino_ceil_div(tiles, g->tiles_w);
    return n < rows ? n : rows;
}

/* --- the products, one per point ------------------------------------------------------------ */

typedef struct product_job {
    int64_t m, n, k;                      /* of each product */
    const float *a, *b;                   /* A in panels, B row-major (ldb = n) */
    float *c;                             /* row-major, ldc = n */
    int64_t a_stride, b_stride, c_stride; /* from one point's operands to the next */
    int accumulate;
} product_job;

static void products(int64_t begin, int64_t end, int part, void *arg) {
    (void)part;
    const product_job *j = arg;
    for (int64_t xi = begin; xi < end; xi++)
        oti_panel_gemm(j->m, j->n, j->k, j->a + xi * j->a_stride, j->b + xi * j->b_stride, j->n,
                      j->c + xi * j->c_stride, j->n, j->accumulate);
}

/* --- drivers -------------------------------------------------------------------------------- */

static wino_chunk chunk_at(const wino_geom *g, int64_t row0, int64_t per_chunk) {
    int64_t rows = g->batch * g->tiles_h - row0;
    if (rows > per_chunk) rows = per_chunk;
    wino_chunk ch = {row0, rows, rows * g->tiles_w};
    return ch;
}

/* Floats of one chunk's V (transformed inputs, by channel, columns in whole panels), and of
 * V and M together (M, the products, follows V). */
static int64_t chunk_columns(const wino_geom *g) {
    return wino_round_up(chunk_rows(g) * g->tiles_w, OT_PANEL_COLS);
}

static int64_t chunk_v_floats(const wino_geom *g) {
    return g->points * wino_point_stride(g->in_ch * chunk_columns(g));
}

static int64_t chunk_buffer_floats(const wino_geom *g) {
    return chunk_v_floats(g) + g->points * wino_point_stride(g->out_ch * chunk_columns(g));
}

/* Floats of the forward (and dX) pass: U, then V, M and lines for each thread. */
static int64_t conv_pass_floats(const wino_geom *g) {
    return g->points * oti_wino_filter_floats(g) +
           oti_pool_threads(g->pool) * (chunk_buffer_floats(g) + wino_line_scratch(g));
}

typedef struct conv_pass {
    const wino_geom *g; /* pool NULL when each thread runs whole chunks */
    const float *u, *x, *bias;
    float *y, *work; /* work: V, M and lines of each part, part_floats apart */
    int64_t part_floats;
    int accumulate;
} conv_pass;

/* One chunk: y's tile rows row0 .. of it from x (+ bias, or added in), with U transformed;
 * v: its V, then M, then the lines of every thread in g's pool. */
static void conv_chunk(const conv_pass *c, int64_t row0, float *v) {
    const wino_geom *g = c->g;
    float *mm = v + chunk_v_floats(g), *scratch = v + chunk_buffer_floats(g);
    wino_chunk ch = chunk_at(g, row0, chunk_rows(g));
    int64_t tp = wino_round_up(ch.tc, OT_PANEL_COLS);
    wino_layout vl = {BY_CHANNEL, tp, wino_point_stride(g->in_ch * tp)};
    wino_layout ml = {BY_CHANNEL, tp, wino_point_stride(g->out_ch * tp)};
    for (int xi = 0; xi < g->points && tp > ch.tc; xi++) /* unused columns */
        for (int64_t k = 0; k < g->in_ch; k++)
            memset(v + xi * vl.xi_stride + k * tp + ch.tc, 0, sizeof(float) * (size_t)(tp - ch.tc));
    wino_tile_job in = {g, ch, c->x, v, vl, scratch, NULL, 0};
    oti_wino_transform_inputs(&in);
    product_job p = {g->out_ch,    tp,           g->in_ch, c->u, v, mm, oti_wino_filter_floats(g),
                     vl.xi_stride, ml.xi_stride, 0};
    oti_parallel_ranges(g->pool, g->points, 1, products, &p);
    wino_tile_job out = {g, ch, mm, c->y, ml, scratch, c->bias, c->accumulate};
    oti_wino_transform_outputs(&out);
}

/* Chunks begin .. end of a part, on its own V, M and lines. */
static void conv_chunks(int64_t begin, int64_t end, int part, void *arg) {
    const conv_pass *c = arg;
    for (int64_t chunk = begin; chunk < end; chunk++)
        conv_chunk(c, chunk * chunk_rows(c->g), c->work + part * c->part_floats);
}

/* y (batch, out_ch, oh, ow) = conv(x) + bias, or += conv(x), with U already transformed;
 * work is the rest of the pass's workspace.
 * Chunks run one after another, each with its transforms and products split over the
 * threads, or, with enough chunks to go round, whole chunks per thread with no barrier
 * between their steps (a chunk of 64-channel tiles is done in tens of microseconds, about
 * what a barrier costs on a busy machine); each thread then has its own V and M. Outputs are
 * disjoint tile rows either way, so the results do not depend on it. */
static void run_conv(const wino_geom *g, const float *u, const float *x, float *y,
                     const float *bias, int accumulate, float *work) {
    int64_t chunks = wino_ceil_div(g->batch * g->tiles_h, chunk_rows(g));
    wino_geom alone = *g;
    alone.pool = NULL;
    conv_pass c = {g, u, x, bias, y, work, chunk_buffer_floats(g) + wino_line_scratch(g), accumulate};
    int threads = oti_pool_threads(g->pool);
    if (threads > 1 && chunks >= 2 * threads) {
        c.g = &alone;
        oti_parallel_ranges(g->pool, chunks, 1, conv_chunks, &c);
        return;
    }
    for (int64_t chunk = 0; chunk < chunks; chunk++) conv_chunk(&c, chunk * chunk_rows(g), work);
}

/* Floats of the dW pass: W^T, V and D of a chunk, the threads' lines. */
static int64_t weight_pass_floats(const wino_geom *g) {
    int64_t tc = chunk_rows(g) * g->tiles_w, o16 = wino_round_up(g->out_ch, OT_PANEL_COLS);
    return g->points * (g->in_ch * o16 + wino_point_stride(ot_panel_floats(g->in_ch, tc)) +
                        wino_point_stride(tc * o16)) +
           oti_pool_threads(g->pool) * wino_line_scratch(g);
}

/* dw (O, I, r, r) += the correlation of x with dy, through W^T. */
static void run_weights(const wino_geom *g, const float *x, const float *dy, float *dw,
                        float *work) {
    int64_t per_chunk = chunk_rows(g), tc_max = per_chunk * g->tiles_w;
    int64_t o16 = wino_round_up(g->out_ch, OT_PANEL_COLS), wt_floats = g->points * g->in_ch * o16;
    float *wt = work, *v = wt + wt_floats;
    float *d = v + g->points * wino_point_stride(ot_panel_floats(g->in_ch, tc_max));
    float *scratch = d + g->points * wino_point_stride(tc_max * o16);
    memset(wt, 0, sizeof(float) * (size_t)wt_floats);
    for (int64_t row0 = 0; row0 < g->batch * g->tiles_h; row0 += per_chunk) {
        wino_chunk ch = chunk_at(g, row0, per_chunk);
        wino_layout vl = {PANELS, ch.tc, wino_point_stride(ot_panel_floats(g->in_ch, ch.tc))};
        wino_layout dl = {BY_TILE, o16, wino_point_stride(ch.tc * o16)};
        if (g->in_ch % OT_PANEL_ROWS) /* the last panel's missing rows */
            for (int xi = 0; xi < g->points; xi++)
                memset(v + xi * vl.xi_stride +
                           ot_panel_index(g->in_ch / OT_PANEL_ROWS * OT_PANEL_ROWS, 0, ch.tc),
                       0, sizeof(float) * (size_t)(OT_PANEL_ROWS * ch.tc));
        for (int xi = 0; xi < g->points && o16 > g->out_ch; xi++) /* unused columns */
            for (int64_t t = 0; t < ch.tc; t++)
                memset(d + xi * dl.xi_stride + t * o16 + g->out_ch, 0,
                       sizeof(float) * (size_t)(o16 - g->out_ch));
        wino_tile_job in = {g, ch, x, v, vl, scratch, NULL, 0};
        oti_wino_transform_inputs(&in);
        wino_tile_job grad = {g, ch, dy, d, dl, scratch, NULL, 0};
        oti_wino_transform_gradients(&grad);
        product_job p = {g->in_ch,     o16,          ch.tc,          v, d, wt,
                         vl.xi_stride, dl.xi_stride, g->in_ch * o16, 1};
        oti_parallel_ranges(g->pool, g->points, 1, products, &p);
    }
    oti_wino_finish_weights(g, wt, o16, dw);
}

/* --- entry points --------------------------------------------------------------------------- */

/* F(2x2, 3x3) on 4 points for 3x3 kernels; with the plan's fast option, F(4x4, 3x3) and
 * F(2x2, 5x5) on 6. */
static const wino_points *points_for(const conv_shape *s, int64_t kernel) {
    return s->fast ? &oti_wino_points_6 : kernel == 3 ? &oti_wino_points_4 : NULL;
}

int oti_conv_winograd_applies(const conv_shape *s) {
    const ot_conv_geom *g = &s->geom;
    int64_t k = g->kernel[1];
    return OT_PANEL_GEMM_FAST && s->spatial == 2 && s->group == 1 && (k == 3 || k == 5) &&
           points_for(s, k) && g->kernel[2] == k && g->stride[1] == 1 && g->stride[2] == 1 &&
           g->dilation[1] == 1 && g->dilation[2] == 1 &&
           s->in_channels >= s->tuning->winograd_min_channels &&
           s->out_channels >= s->tuning->winograd_min_channels;
}

int oti_conv_winograd_backward_applies(const conv_shape *s, int input_gradient) {
    int64_t ratio = input_gradient ? s->tuning->winograd_dx_max_ratio : s->tuning->winograd_dw_max_ratio;
    if (!input_gradient && s->in_channels < s->tuning->winograd_dw_min_channels) return 0;
    return s->out_channels * s->in_channels <= ratio * s->batch * s->geom.out_size;
}

/* The conv's own geometry, and dX's: dY convolved with the flipped, transposed kernel, with
 * the begin pads r - 1 - pad. */
static wino_geom forward_geom(const conv_shape *s) {
    const ot_conv_geom *g = &s->geom;
    int r = (int)g->kernel[1];
    wino_geom w = oti_wino_geom_of(points_for(s, r), r, s->batch, s->in_channels, s->out_channels,
                               g->image[1], g->image[2], g->out[1], g->out[2], g->pad[1], g->pad[2]);
    w.pool = s->pool;
    w.chunk_floats = s->tuning->winograd_chunk_floats;
    return w;
}

static wino_geom input_gradient_geom(const conv_shape *s) {
    const ot_conv_geom *g = &s->geom;
    int r = (int)g->kernel[1];
    wino_geom w = oti_wino_geom_of(points_for(s, r), r, s->batch, s->out_channels, s->in_channels, g->out[1],
                               g->out[2], g->image[1], g->image[2], r - 1 - g->pad[1], r - 1 - g->pad[2]);
    w.pool = s->pool;
    w.chunk_floats = s->tuning->winograd_chunk_floats;
    return w;
}

size_t oti_conv_winograd_workspace(const conv_shape *s) {
    wino_geom f = forward_geom(s), b = input_gradient_geom(s);
    int64_t floats = conv_pass_floats(&f);
    floats = OT_MAX(floats, conv_pass_floats(&b));
    floats = OT_MAX(floats, weight_pass_floats(&f));
    return sizeof(float) * (size_t)floats;
}

void oti_conv_winograd_forward(float *y, const float *x, const float *w, const float *bias,
                           const conv_shape *s, void *workspace) {
    wino_geom g = forward_geom(s);
    float *u = workspace;
    oti_wino_transform_filter(&g, w, u, 0);
    run_conv(&g, u, x, y, bias, 0, u + g.points * oti_wino_filter_floats(&g));
}

void oti_conv_winograd_backward(float *dx, float *dw, const float *dy, const float *x, const float *w,
                            const conv_shape *s, void *workspace) {
    if (dx) {
        wino_geom g = input_gradient_geom(s);
        float *u = workspace;
        oti_wino_transform_filter(&g, w, u, 1);
        run_conv(&g, u, dy, dx, NULL, 1, u + g.points * oti_wino_filter_floats(&g));
    }
    if (dw) {
        wino_geom g = forward_geom(s);
        run_weights(&g, x, dy, dw, workspace);
    }
}
