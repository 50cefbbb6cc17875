/* Winograd convolution for 2-D Convs with stride 1, no dilation and one group. By default
 * 3x3 kernels use F(2x2, 3x3) on 4x4 tiles (points 0, 1, -1 and infinity): 16 multiplies per
 * 4 outputs instead of 36, with rounding errors of a dot product's order (the conv tests'
 * 1e-4 agreement with PyTorch holds with room: worst 0.2 of it). ot_set_fast_convolution adds
 * F(4x4, 3x3) and F(2x2, 5x5) on 6x6 tiles (points 0, 1, -1, 2, -2, infinity): 36 per 16 and
 * 36 per 4 instead of 144 and 100, but their coefficients (up to 16 and 1/24) leave errors of
 * 1e-6 to 1e-5 of a tensor's scale, about ten times im2col's, so they are opt-in.
 *
 * Shapes (alpha the tile side, P = alpha^2 points, O output channels, I input channels, Tc
 * tiles of one chunk of whole tile rows, Tp that rounded up to whole 16-column blocks;
 * [panels] marks panel_gemm.h's packed layout):
 *   U (P, O, I) [panels]  the weights G w G^T, once per call
 *   V (P, I, Tp)          the input tiles B^T d B (columns past Tc zero)
 *   M (P, O, Tp)          U[xi] @ V[xi] for each point xi (ot_panel_gemm)
 *   Y                     A^T M[tile] A, m x m outputs per tile (+ bias, or added into Y)
 * dX is the same algorithm run on dY with the weights flipped and transposed. dW correlates
 * the same input tiles with dY's m x m tiles, F(r x r, m x m) on the same points, O16 being
 * O rounded up to 16:
 *   V (P, I, Tc) [panels], D (P, Tc, O16) = G' dy G'^T;  W^T (P, I, O16) += V[xi] @ D[xi];
 *   dW += A'^T W^[.] A'.
 * The transforms of one family share B^T (it depends on the points only); G and A^T are the
 * points' Vandermonde rows (Lavin & Gray, "Fast Algorithms for Convolutional Neural
 * Networks", 2016). conv_winograd_min_channels turns the path off (a huge value) or on for
 * small test convs (a small one). */
#include <string.h>

#include "../core/util.h"
#include "conv_internal.h"
#include "gemm.h"
#include "onnxtrain/plan.h"
#include "panel_gemm.h"

#define MAX_ALPHA 6 /* the largest tile side, m + r - 1 */
#define MAX_POINTS (MAX_ALPHA * MAX_ALPHA)

int64_t conv_winograd_min_channels = 16;
int conv_winograd_fast = 0;

/* A family of transforms: tiles of side alpha, the finite points a_i with the scale f_i that
 * G carries (f_i = 1 / prod_{j != i}(a_i - a_j), up to the sign the fixed B^T below was
 * written with), then the point at infinity, whose entry in A^T's last row is
 * infinity_sign. */
typedef struct wino_points {
    int alpha;
    double point[MAX_ALPHA - 1], scale[MAX_ALPHA - 1];
    double infinity_sign;
} wino_points;

static const wino_points points_4 = {4, {0, 1, -1}, {1, 0.5, 0.5}, -1};
static const wino_points points_6 = {6, {0, 1, -1, 2, -2}, {1.0 / 4, -1.0 / 6, -1.0 / 6, 1.0 / 24, 1.0 / 24}, 1};

/* G (alpha, r) of F(m, r): G[i][k] = f_i a_i^k, the last row picks the top coefficient. */
static void matrix_g(float *g, int r, const wino_points *p) {
    int alpha = p->alpha;
    for (int i = 0; i < alpha; i++)
        for (int k = 0; k < r; k++) {
            double v = i < alpha - 1 ? p->scale[i] : (k == r - 1);
            for (int e = 0; e < k && i < alpha - 1; e++) v *= p->point[i];
            g[i * r + k] = (float)v;
        }
}

/* A^T (m, alpha) of F(m, r): A^T[k][i] = a_i^k; the last column takes infinity's entry in
 * the last row. */
static void matrix_at(float *at, int m, const wino_points *p) {
    int alpha = p->alpha;
    for (int k = 0; k < m; k++)
        for (int i = 0; i < alpha; i++) {
            double v = i < alpha - 1 ? 1.0 : (k == m - 1) * p->infinity_sign;
            for (int e = 0; e < k && i < alpha - 1; e++) v *= p->point[i];
            at[k * alpha + i] = (float)v;
        }
}

/* B^T d for six values d0..d5 (any expression), written to o[0..5 * os]. B^T's rows:
 *   4 0 -5 0 1 0 / 0 -4 -4 1 1 0 / 0 4 -4 -1 1 0 / 0 -2 -1 2 1 0 / 0 2 -1 -2 1 0 /
 *   0 4 0 -5 0 1 */
#define INPUT6_1D(d0, d1, d2, d3, d4, d5, o, os)                                                \
    do {                                                                                        \
        float s34_ = (d3) + (d4), s12_ = (d1) + (d2), d43_ = (d4) - (d3), d12_ = (d1) - (d2);    \
        float d42_ = (d4) - (d2), d31_ = (d3) - (d1);                                           \
        (o)[0 * (os)] = 4.0f * (d0) - 5.0f * (d2) + (d4);                                       \
        (o)[1 * (os)] = s34_ - 4.0f * s12_;                                                     \
        (o)[2 * (os)] = d43_ + 4.0f * d12_;                                                     \
        (o)[3 * (os)] = d42_ + 2.0f * d31_;                                                     \
        (o)[4 * (os)] = d42_ - 2.0f * d31_;                                                     \
        (o)[5 * (os)] = 4.0f * (d1) - 5.0f * (d3) + (d5);                                       \
    } while (0)

/* The same for four values: B^T's rows 1 0 -1 0 / 0 1 1 0 / 0 -1 1 0 / 0 1 0 -1. */
#define INPUT4_1D(d0, d1, d2, d3, o, os)                                                        \
    do {                                                                                        \
        (o)[0 * (os)] = (d0) - (d2);                                                            \
        (o)[1 * (os)] = (d1) + (d2);                                                            \
        (o)[2 * (os)] = (d2) - (d1);                                                            \
        (o)[3 * (os)] = (d1) - (d3);                                                            \
    } while (0)

/* Geometry of one Winograd conv: image (C_in, H, W) -> output (C_out, OH, OW). */
typedef struct wino_geom {
    const wino_points *p;
    int alpha, m, r, points;            /* tile side, output tile, kernel; points = alpha^2 */
    int64_t batch, in_ch, out_ch;
    int64_t h, w, oh, ow, pad_h, pad_w; /* pads before the image (may be negative) */
    int64_t tiles_h, tiles_w;           /* tiles per image */
    int64_t row_floats;                 /* one padded line of a tile row: tiles_w * m + alpha - m */
} wino_geom;

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

static wino_geom geom_of(const wino_points *p, int r, int64_t batch, int64_t in_ch,
                         int64_t out_ch, int64_t h, int64_t w, int64_t oh, int64_t ow,
                         int64_t pad_h, int64_t pad_w) {
    int m = p->alpha + 1 - r;
    wino_geom g = {p, p->alpha, m, r, p->alpha * p->alpha, batch, in_ch, out_ch, h, w, oh, ow,
                   pad_h, pad_w, 0, 0, 0};
    g.tiles_h = ceil_div(oh, m);
    g.tiles_w = ceil_div(ow, m);
    g.row_floats = g.tiles_w * m + g.alpha - m;
    return g;
}

/* Tile rows per chunk: the chunk's transformed tiles in about conv_winograd_chunk_floats
 * floats (they are written, multiplied and read back while in the caches), never fewer
 * than MIN_CHUNK_TILES tiles (the products' width) nor more than exist. */
int64_t conv_winograd_chunk_floats = (int64_t)1 << 18;
#define MIN_CHUNK_TILES 64

static int64_t chunk_rows(const wino_geom *g) {
    int64_t rows = g->batch * g->tiles_h;
    int64_t tiles = conv_winograd_chunk_floats / (g->points * (g->in_ch + g->out_ch));
    if (tiles < MIN_CHUNK_TILES) tiles = MIN_CHUNK_TILES;
    int64_t n = ceil_div(tiles, g->tiles_w);
    return n < rows ? n : rows;
}

/* Distance between one point's values and the next's: the transforms write (or read) all
 * points of a tile at once, and 16 or 36 streams a multiple of 4 KiB apart would share one
 * set of the 8-way L1 cache (input transform 2.5x slower). This puts them 64 bytes apart
 * modulo 4 KiB. */
static int64_t point_stride(int64_t floats) { return round_up(floats, 1024) + 16; }

/* Rows of a zero-padded input plane: every line some tile reads (plane row p is image row
 * p - pad_h). */
static int64_t plane_rows(const wino_geom *g) { return g->tiles_h * g->m + g->alpha - g->m; }

/* Per-thread scratch for the transforms: a panel's worth of padded planes and alpha lines. */
static int64_t line_scratch(const wino_geom *g) {
    return (OT_PANEL_ROWS * plane_rows(g) + g->alpha) * g->row_floats;
}

/* Where the transforms put (or find) value (channel c, tile t) of point 0; point xi is
 * xi * xi_stride further. */
typedef enum layout_kind { BY_CHANNEL, BY_TILE, PANELS } layout_kind;
typedef struct layout {
    layout_kind kind;
    int64_t ld;        /* BY_CHANNEL: floats per channel; BY_TILE: per tile; PANELS: K (tiles) */
    int64_t xi_stride;
} layout;

static inline int64_t layout_at(const layout *l, int64_t c, int64_t t) {
    switch (l->kind) {
    case BY_CHANNEL: return c * l->ld + t;
    case BY_TILE: return t * l->ld + c;
    default: return ot_panel_index(c, t, l->ld);
    }
}

/* --- weights ------------------------------------------------------------------------------- */

typedef struct filter_job {
    const wino_geom *g;
    const float *w; /* the conv's W (O, I, r, r) */
    float *u;       /* (36, out_ch, in_ch) of g, in panels */
    int flip;       /* for dX: g's outputs are W's inputs, the kernel turned 180 degrees */
} filter_job;

static int64_t filter_floats(const wino_geom *g) {
    return point_stride(ot_panel_floats(g->out_ch, g->in_ch));
}

/* Items are U's rows (g's output channels): u[xi][row][col] = (G k G^T)[xi] with k =
 * W[row][col], or for dX k = W[col][row] turned 180 degrees. Columns go BLOCK at a time,
 * innermost, so the arithmetic is vectorised. */
#define BLOCK 16
static void filter_rows(int64_t begin, int64_t end, int part, void *arg) {
    (void)part;
    const filter_job *j = arg;
    int r = j->g->r, rr = r * r, alpha = j->g->alpha;
    int64_t rows = j->g->out_ch, cols = j->g->in_ch, xi_stride = filter_floats(j->g);
    float gm[MAX_ALPHA * 5], k[25][BLOCK], gk[MAX_ALPHA * 5][BLOCK], out[BLOCK];
    matrix_g(gm, r, j->g->p);
    for (int64_t row = begin; row < end; row++)
        for (int64_t col0 = 0; col0 < cols; col0 += BLOCK) {
            int nb = cols - col0 < BLOCK ? (int)(cols - col0) : BLOCK;
            for (int b = 0; b < nb; b++) {
                int64_t col = col0 + b;
                const float *src = j->w + (j->flip ? col * rows + row : row * cols + col) * rr;
                for (int e = 0; e < rr; e++) k[e][b] = j->flip ? src[rr - 1 - e] : src[e];
            }
            for (int i = 0; i < alpha; i++) /* G k: (alpha, r) */
                for (int c = 0; c < r; c++) {
                    float *dst = gk[i * r + c];
                    for (int b = 0; b < BLOCK; b++) dst[b] = 0.0f;
                    for (int e = 0; e < r; e++) {
                        float coef = gm[i * r + e];
                        for (int b = 0; b < BLOCK; b++) dst[b] += coef * k[e * r + c][b];
                    }
                }
            float *u0 = j->u + ot_panel_index(row, col0, cols);
            for (int i = 0; i < alpha; i++) /* (G k) G^T: (alpha, alpha) */
                for (int c = 0; c < alpha; c++) {
                    for (int b = 0; b < BLOCK; b++) out[b] = 0.0f;
                    for (int e = 0; e < r; e++) {
                        float coef = gm[c * r + e];
                        for (int b = 0; b < BLOCK; b++) out[b] += gk[i * r + e][b] * coef;
                    }
                    float *dst = u0 + (i * alpha + c) * xi_stride;
                    for (int b = 0; b < nb; b++) dst[b * OT_PANEL_ROWS] = out[b];
                }
        }
}

static void transform_filter(const wino_geom *g, const float *w, float *u, int flip) {
    int64_t rows = g->out_ch, cols = g->in_ch, per_point = filter_floats(g);
    if (rows % OT_PANEL_ROWS) /* the last panel's missing rows */
        for (int xi = 0; xi < g->points; xi++) {
            float *last = u + xi * per_point + rows / OT_PANEL_ROWS * OT_PANEL_ROWS * cols;
            memset(last, 0, sizeof(float) * (size_t)(OT_PANEL_ROWS * cols));
        }
    filter_job j = {g, w, u, flip};
    ot_parallel_ranges(rows, 4, filter_rows, &j);
}

/* --- input tiles ---------------------------------------------------------------------------- */

/* One chunk: global tile rows row0 .. row0 + rows - 1 (row = sample * tiles_h + tile row),
 * tc = rows * tiles_w tiles, tile (row0 + rr, tx) numbered rr * tiles_w + tx. */
typedef struct chunk {
    int64_t row0, rows, tc;
} chunk;

typedef struct tile_job {
    const wino_geom *g;
    chunk ch;
    const float *src; /* input: X (batch, in_ch, h, w); output: M; gradient: dY like Y */
    float *dst;       /* input: V; output: Y (batch, out_ch, oh, ow); gradient: D */
    layout points;    /* where V, M or D keep the chunk's transformed tiles */
    float *scratch;   /* line_scratch floats per part */
    const float *bias; /* output only */
    int accumulate;    /* output only: add into Y */
} tile_job;

/* Channels an input item transforms: one, or a whole panel of them, so that the values of
 * one tile for neighbouring channels, side by side in panel layout, are written together. */
static int64_t item_channels(const layout *l) { return l->kind == PANELS ? OT_PANEL_ROWS : 1; }

/* dst (plane_rows, row_floats) = the plane (h, w) with its pads, zeros outside. */
static void pad_plane(float *dst, const float *plane, const wino_geom *g) {
    int64_t rf = g->row_floats, lo, hi; /* line positions holding image columns */
    ot_conv_valid_range(rf, g->w, 1, -g->pad_w, &lo, &hi);
    if (hi < lo) hi = lo;
    for (int64_t p = 0; p < plane_rows(g); p++) {
        float *line = dst + p * rf;
        int64_t y = p - g->pad_h;
        if (y < 0 || y >= g->h) {
            memset(line, 0, sizeof(float) * (size_t)rf);
            continue;
        }
        memset(line, 0, sizeof(float) * (size_t)lo);
        memcpy(line + lo, plane + y * g->w + lo - g->pad_w, sizeof(float) * (size_t)(hi - lo));
        memset(line + hi, 0, sizeof(float) * (size_t)(rf - hi));
    }
}

/* B^T down the columns of alpha padded lines l (rf floats apart) into alpha lines out,
 * vectorised along the line. */
static void input_columns(float *restrict out, const float *restrict l, int64_t rf, int alpha) {
    if (alpha == 6)
        for (int64_t x = 0; x < rf; x++)
            INPUT6_1D(l[x], l[rf + x], l[2 * rf + x], l[3 * rf + x], l[4 * rf + x], l[5 * rf + x], out + x, rf);
    else
        for (int64_t x = 0; x < rf; x++) INPUT4_1D(l[x], l[rf + x], l[2 * rf + x], l[3 * rf + x], out + x, rf);
}

/* B^T along the rows of one tile (alpha x alpha at t, lines rf apart) into v[xi * xs]. */
static inline void input_rows(float *v, int64_t xs, const float *t, int64_t rf, int alpha) {
    for (int i = 0; i < alpha; i++) {
        const float *d = t + i * rf;
        if (alpha == 6) INPUT6_1D(d[0], d[1], d[2], d[3], d[4], d[5], v + (i * 6) * xs, xs);
        else INPUT4_1D(d[0], d[1], d[2], d[3], v + (i * 4) * xs, xs);
    }
}

/* Items are (channel group, tile row) of the chunk, group-major: per channel, B^T down the
 * columns of the row's padded lines, then B^T along each tile's rows. A part pads a plane
 * once for the consecutive tile rows it takes. */
static void input_items(int64_t begin, int64_t end, int part, void *arg) {
    const tile_job *j = arg;
    const wino_geom *g = j->g;
    int64_t rf = g->row_floats, xs = j->points.xi_stride, group = item_channels(&j->points);
    int64_t plane_floats = plane_rows(g) * rf;
    float *planes = j->scratch + part * line_scratch(g), *cols = planes + OT_PANEL_ROWS * plane_floats;
    int64_t padded_image = -1, padded_group = -1; /* what planes holds */
    for (int64_t item = begin; item < end; item++) {
        int64_t rr = item % j->ch.rows, row = j->ch.row0 + rr, c0 = item / j->ch.rows * group;
        int64_t n = row / g->tiles_h, top = row % g->tiles_h * g->m;
        int64_t count = OT_MIN(group, g->in_ch - c0);
        if (n != padded_image || c0 != padded_group) {
            for (int64_t k = 0; k < count; k++)
                pad_plane(planes + k * plane_floats, j->src + (n * g->in_ch + c0 + k) * g->h * g->w, g);
            padded_image = n;
            padded_group = c0;
        }
        for (int64_t k = 0; k < count; k++) {
            int64_t c = c0 + k;
            input_columns(cols, planes + k * plane_floats + top * rf, rf, g->alpha);
            int64_t t0 = rr * g->tiles_w, base = layout_at(&j->points, c, t0);
            int64_t step = layout_at(&j->points, c, t0 + 1) - base;
            float *v = j->dst + base;
            for (int64_t tx = 0; tx < g->tiles_w; tx++, v += step)
                input_rows(v, xs, cols + tx * g->m, rf, g->alpha);
        }
    }
}

static void transform_inputs(const tile_job *j) {
    int64_t groups = ceil_div(j->g->in_ch, item_channels(&j->points));
    ot_parallel_ranges(groups * j->ch.rows, 1, input_items, (void *)j);
}

/* --- output tiles --------------------------------------------------------------------------- */

/* A^T s for alpha values s[0], s[ss], ... into o[0], o[os], ... (m of them): rows of A^T
 * are the powers 0 .. m-1 of the points, the last one also takes infinity's value. Written
 * out for the convs' tiles: F(4, 3) and F(2, 5) on 6 points, F(2, 3) on 4. */
static inline void output_1d(const float *s, int64_t ss, float *o, int64_t os, int m, int alpha) {
    if (alpha == 4) {
        float s1 = s[ss], s2 = s[2 * ss];
        o[0] = s[0] + s1 + s2;
        o[os] = s1 - s2 - s[3 * ss];
        return;
    }
    float s0 = s[0], s1 = s[ss], s2 = s[2 * ss], s3 = s[3 * ss], s4 = s[4 * ss], s5 = s[5 * ss];
    float t0 = s1 + s2, t1 = s1 - s2, t2 = s3 + s4, t3 = s3 - s4;
    o[0] = s0 + t0 + t2;
    if (m == 4) {
        o[os] = t1 + 2.0f * t3;
        o[2 * os] = t0 + 4.0f * t2;
        o[3 * os] = t1 + 8.0f * t3 + s5;
    } else {
        o[os] = t1 + 2.0f * t3 + s5;
    }
}

/* Row k of A^T down the columns of alpha lines l (rf floats apart): n values into y, added
 * to y or to b. One loop per row, so each is vectorised along the line. */
static void output_line(float *restrict y, const float *restrict l, int64_t rf, int64_t n, int k,
                        int m, int alpha, int accumulate, float b) {
    const float *restrict l0 = l, *restrict l1 = l + rf, *restrict l2 = l + 2 * rf;
    const float *restrict l3 = l + 3 * rf, *restrict l4 = l + 4 * rf, *restrict l5 = l + 5 * rf;
    float add = accumulate ? 0.0f : b;
    /* y[x] = (accumulate ? y[x] : b) + v: written as y[x] * keep + (v + add) would round
     * differently; two loops keep "v + b" and "y + v" exact to their definitions. */
#define OUTPUT_LOOP(expr)                                                                      \
    do {                                                                                       \
        if (accumulate)                                                                        \
            for (int64_t x = 0; x < n; x++) y[x] += (expr);                                    \
        else                                                                                   \
            for (int64_t x = 0; x < n; x++) y[x] = (expr) + add;                               \
    } while (0)
    if (alpha == 4) {
        if (k == 0) OUTPUT_LOOP(l0[x] + l1[x] + l2[x]);
        else OUTPUT_LOOP(l1[x] - l2[x] - l3[x]);
    } else if (k == 0) {
        OUTPUT_LOOP(l0[x] + (l1[x] + l2[x]) + (l3[x] + l4[x]));
    } else if (k == m - 1) {
        float top = m == 4 ? 8.0f : 2.0f;
        OUTPUT_LOOP((l1[x] - l2[x]) + top * (l3[x] - l4[x]) + l5[x]);
    } else if (k == 1) {
        OUTPUT_LOOP((l1[x] - l2[x]) + 2.0f * (l3[x] - l4[x]));
    } else {
        OUTPUT_LOOP((l1[x] + l2[x]) + 4.0f * (l3[x] + l4[x]));
    }
#undef OUTPUT_LOOP
}

/* Items are (channel, tile row): A^T along each tile's rows into alpha lines, then A^T down
 * the columns into the image's m lines. */
static void output_items(int64_t begin, int64_t end, int part, void *arg) {
    const tile_job *j = arg;
    const wino_geom *g = j->g;
    int m = g->m, alpha = g->alpha;
    int64_t rf = g->row_floats, xs = j->points.xi_stride;
    float *lines = j->scratch + part * line_scratch(g);
    for (int64_t item = begin; item < end; item++) {
        int64_t c = item / j->ch.rows, rr = item % j->ch.rows, row = j->ch.row0 + rr;
        int64_t n = row / g->tiles_h, y0 = row % g->tiles_h * m;
        int64_t t0 = rr * g->tiles_w, base = layout_at(&j->points, c, t0);
        int64_t step = layout_at(&j->points, c, t0 + 1) - base;
        const float *mm = j->src + base;
        for (int64_t tx = 0; tx < g->tiles_w; tx++, mm += step)
            for (int i = 0; i < alpha; i++) output_1d(mm + (i * alpha) * xs, xs, lines + i * rf + tx * m, 1, m, alpha);
        float *plane = j->dst + (n * g->out_ch + c) * g->oh * g->ow;
        float b = j->bias ? j->bias[c] : 0.0f;
        for (int k = 0; k < m && y0 + k < g->oh; k++)
            output_line(plane + (y0 + k) * g->ow, lines, rf, g->ow, k, m, alpha, j->accumulate, b);
    }
}

/* --- dY tiles for dW ------------------------------------------------------------------------ */

/* G' u for the m values u[0], u[us], ... into o[0], o[os], ... (alpha of them), G' the
 * (alpha, m) G of F(r, m): row i is f_i times the powers of point i; the last row takes the
 * top value. Written out for m = 2 (F(5, 2) on 6 points, F(3, 2) on 4); gm serves F(3, 4). */
static inline void gradient_1d(const float *u, int64_t us, float *o, int64_t os, int m, int alpha,
                               const float *gm) {
    if (m == 2) {
        float u0 = u[0], u1 = u[us], sum = u0 + u1, diff = u0 - u1;
        if (alpha == 4) {
            o[0] = u0;
            o[os] = sum * 0.5f;
            o[2 * os] = diff * 0.5f;
            o[3 * os] = u1;
            return;
        }
        o[0] = 0.25f * u0;
        o[os] = sum * (-1.0f / 6.0f);
        o[2 * os] = diff * (-1.0f / 6.0f);
        o[3 * os] = (u0 + 2.0f * u1) * (1.0f / 24.0f);
        o[4 * os] = (u0 - 2.0f * u1) * (1.0f / 24.0f);
        o[5 * os] = u1;
        return;
    }
    for (int i = 0; i < alpha; i++) {
        float sum = 0.0f;
        for (int e = 0; e < m; e++) sum += gm[i * m + e] * u[e * us];
        o[i * os] = sum;
    }
}

/* Items are tile rows: each tile's m x m dY (zeros past the output's edge) becomes
 * G' dy G'^T, channel by channel (dY read in order; D's rows for the tile row, all
 * channels, stay in L1 while they fill). */
static void gradient_items(int64_t begin, int64_t end, int part, void *arg) {
    (void)part;
    const tile_job *j = arg;
    const wino_geom *g = j->g;
    int m = g->m, alpha = g->alpha;
    int64_t xs = j->points.xi_stride, plane_floats = g->oh * g->ow;
    float gm[MAX_ALPHA * 4], d[16], gd[MAX_ALPHA * 4];
    matrix_g(gm, m, g->p);
    for (int64_t rr = begin; rr < end; rr++) {
        int64_t row = j->ch.row0 + rr, n = row / g->tiles_h, y0 = row % g->tiles_h * m;
        int64_t rows = OT_MIN(m, g->oh - y0), t0 = rr * g->tiles_w;
        for (int64_t c = 0; c < g->out_ch; c++) {
            const float *plane = j->src + (n * g->out_ch + c) * plane_floats + y0 * g->ow;
            float *dst = j->dst + layout_at(&j->points, c, t0);
            int64_t step = layout_at(&j->points, c, t0 + 1) - layout_at(&j->points, c, t0);
            for (int64_t tx = 0; tx < g->tiles_w; tx++, dst += step) {
                int64_t cols = OT_MIN(m, g->ow - tx * m);
                for (int a = 0; a < m; a++)
                    for (int b = 0; b < m; b++)
                        d[a * m + b] = a < rows && b < cols ? plane[a * g->ow + tx * m + b] : 0.0f;
                for (int b = 0; b < m; b++) gradient_1d(d + b, m, gd + b, m, m, alpha, gm); /* G' d */
                for (int i = 0; i < alpha; i++) /* (G' d) G'^T */
                    gradient_1d(gd + i * m, 1, dst + (i * alpha) * xs, xs, m, alpha, gm);
            }
        }
    }
}

/* --- the products, one per point ------------------------------------------------------------------------ */

typedef struct product_job {
    int64_t m, n, k;        /* of each product */
    const float *a, *b;     /* A in panels, B row-major (ldb = n) */
    float *c;               /* row-major, ldc = n */
    int64_t a_stride, b_stride, c_stride; /* from one point's operands to the next */
    int accumulate;
} product_job;

static void products(int64_t begin, int64_t end, int part, void *arg) {
    (void)part;
    const product_job *j = arg;
    for (int64_t xi = begin; xi < end; xi++)
        ot_panel_gemm(j->m, j->n, j->k, j->a + xi * j->a_stride, j->b + xi * j->b_stride, j->n,
                      j->c + xi * j->c_stride, j->n, j->accumulate);
}

/* --- drivers -------------------------------------------------------------------------------- */

static chunk chunk_at(const wino_geom *g, int64_t row0, int64_t per_chunk) {
    int64_t rows = g->batch * g->tiles_h - row0;
    if (rows > per_chunk) rows = per_chunk;
    chunk ch = {row0, rows, rows * g->tiles_w};
    return ch;
}

/* Floats of the forward (and dX) pass: U, V and M of a chunk, the threads' lines. */
static int64_t conv_pass_floats(const wino_geom *g) {
    int64_t tp = round_up(chunk_rows(g) * g->tiles_w, OT_PANEL_COLS);
    return g->points * (filter_floats(g) + point_stride(g->in_ch * tp) + point_stride(g->out_ch * tp)) +
           ot_compute_threads() * line_scratch(g);
}

/* y (batch, out_ch, oh, ow) = conv(x) + bias, or += conv(x), with U already transformed;
 * work is the rest of the pass's workspace. */
static void run_conv(const wino_geom *g, const float *u, const float *x, float *y, const float *bias,
                     int accumulate, float *work) {
    int64_t per_chunk = chunk_rows(g), tp_max = round_up(per_chunk * g->tiles_w, OT_PANEL_COLS);
    float *v = work, *mm = v + g->points * point_stride(g->in_ch * tp_max);
    float *scratch = mm + g->points * point_stride(g->out_ch * tp_max);
    for (int64_t row0 = 0; row0 < g->batch * g->tiles_h; row0 += per_chunk) {
        chunk ch = chunk_at(g, row0, per_chunk);
        int64_t tp = round_up(ch.tc, OT_PANEL_COLS);
        layout vl = {BY_CHANNEL, tp, point_stride(g->in_ch * tp)};
        layout ml = {BY_CHANNEL, tp, point_stride(g->out_ch * tp)};
        for (int xi = 0; xi < g->points && tp > ch.tc; xi++) /* unused columns */
            for (int64_t c = 0; c < g->in_ch; c++)
                memset(v + xi * vl.xi_stride + c * tp + ch.tc, 0, sizeof(float) * (size_t)(tp - ch.tc));
        tile_job in = {g, ch, x, v, vl, scratch, NULL, 0};
        transform_inputs(&in);
        product_job p = {g->out_ch, tp, g->in_ch, u, v, mm, filter_floats(g), vl.xi_stride,
                         ml.xi_stride, 0};
        ot_parallel_ranges(g->points, 1, products, &p);
        tile_job out = {g, ch, mm, y, ml, scratch, bias, accumulate};
        ot_parallel_ranges(g->out_ch * ch.rows, 1, output_items, &out);
    }
}

typedef struct final_job {
    const wino_geom *g;
    const float *wt; /* W^T (36, I, O16) */
    int64_t ld;      /* O16 */
    float *dw;       /* (O, I, r, r), added into */
} final_job;

/* Items are output channels: dW[o][i] += A'^T W^[.][o][i] A', A'^T the (r, alpha) A^T of
 * F(r, m). */
static void final_items(int64_t begin, int64_t end, int part, void *arg) {
    (void)part;
    const final_job *j = arg;
    const wino_geom *g = j->g;
    int r = g->r;
    int64_t xs = g->in_ch * j->ld;
    int alpha = g->alpha;
    float at[5 * MAX_ALPHA], p[MAX_POINTS], ap[5 * MAX_ALPHA];
    matrix_at(at, r, g->p);
    for (int64_t o = begin; o < end; o++)
        for (int64_t i = 0; i < g->in_ch; i++) {
            for (int xi = 0; xi < g->points; xi++) p[xi] = j->wt[xi * xs + i * j->ld + o];
            for (int u = 0; u < r; u++) /* A'^T p: (r, alpha) */
                for (int b = 0; b < alpha; b++) {
                    float sum = 0.0f;
                    for (int a = 0; a < alpha; a++) sum += at[u * alpha + a] * p[a * alpha + b];
                    ap[u * alpha + b] = sum;
                }
            float *dst = j->dw + (o * g->in_ch + i) * r * r;
            for (int u = 0; u < r; u++) /* (A'^T p) A' */
                for (int v = 0; v < r; v++) {
                    float sum = 0.0f;
                    for (int b = 0; b < alpha; b++) sum += ap[u * alpha + b] * at[v * alpha + b];
                    dst[u * r + v] += sum;
                }
        }
}

/* Floats of the dW pass: W^T, V and D of a chunk, the threads' lines. */
static int64_t weight_pass_floats(const wino_geom *g) {
    int64_t tc = chunk_rows(g) * g->tiles_w, o16 = round_up(g->out_ch, OT_PANEL_COLS);
    return g->points * (g->in_ch * o16 + point_stride(ot_panel_floats(g->in_ch, tc)) +
                     point_stride(tc * o16)) +
           ot_compute_threads() * line_scratch(g);
}

/* dw (O, I, r, r) += the correlation of x with dy, through W^T. */
static void run_weights(const wino_geom *g, const float *x, const float *dy, float *dw, float *work) {
    int64_t per_chunk = chunk_rows(g), tc_max = per_chunk * g->tiles_w;
    int64_t o16 = round_up(g->out_ch, OT_PANEL_COLS), wt_floats = g->points * g->in_ch * o16;
    float *wt = work, *v = wt + wt_floats;
    float *d = v + g->points * point_stride(ot_panel_floats(g->in_ch, tc_max));
    float *scratch = d + g->points * point_stride(tc_max * o16);
    memset(wt, 0, sizeof(float) * (size_t)wt_floats);
    for (int64_t row0 = 0; row0 < g->batch * g->tiles_h; row0 += per_chunk) {
        chunk ch = chunk_at(g, row0, per_chunk);
        layout vl = {PANELS, ch.tc, point_stride(ot_panel_floats(g->in_ch, ch.tc))};
        layout dl = {BY_TILE, o16, point_stride(ch.tc * o16)};
        if (g->in_ch % OT_PANEL_ROWS) /* the last panel's missing rows */
            for (int xi = 0; xi < g->points; xi++)
                memset(v + xi * vl.xi_stride + ot_panel_index(g->in_ch / OT_PANEL_ROWS * OT_PANEL_ROWS, 0, ch.tc),
                       0, sizeof(float) * (size_t)(OT_PANEL_ROWS * ch.tc));
        for (int xi = 0; xi < g->points && o16 > g->out_ch; xi++) /* unused columns */
            for (int64_t t = 0; t < ch.tc; t++)
                memset(d + xi * dl.xi_stride + t * o16 + g->out_ch, 0, sizeof(float) * (size_t)(o16 - g->out_ch));
        tile_job in = {g, ch, x, v, vl, scratch, NULL, 0};
        transform_inputs(&in);
        tile_job grad = {g, ch, dy, d, dl, scratch, NULL, 0};
        ot_parallel_ranges(ch.rows, 1, gradient_items, &grad);
        product_job p = {g->in_ch, o16, ch.tc, v, d, wt, vl.xi_stride, dl.xi_stride,
                         g->in_ch * o16, 1};
        ot_parallel_ranges(g->points, 1, products, &p);
    }
    final_job f = {g, wt, o16, dw};
    ot_parallel_ranges(g->out_ch, 4, final_items, &f);
}

/* --- entry points --------------------------------------------------------------------------- */

void ot_set_fast_convolution(int enabled) { conv_winograd_fast = enabled != 0; }
int ot_fast_convolution(void) { return conv_winograd_fast; }

/* F(2x2, 3x3) on 4 points for 3x3 kernels; with conv_winograd_fast, F(4x4, 3x3) and
 * F(2x2, 5x5) on 6. */
static const wino_points *points_for(int64_t kernel) {
    return conv_winograd_fast ? &points_6 : kernel == 3 ? &points_4 : NULL;
}

int conv_winograd_applies(const conv_shape *s) {
    const ot_conv_geom *g = &s->geom;
    int64_t k = g->kernel[1];
    return OT_PANEL_GEMM_FAST && s->spatial == 2 && s->group == 1 && (k == 3 || k == 5) && points_for(k) && g->kernel[2] == k &&
           g->stride[1] == 1 && g->stride[2] == 1 && g->dilation[1] == 1 && g->dilation[2] == 1 &&
           s->in_channels >= conv_winograd_min_channels &&
           s->out_channels >= conv_winograd_min_channels;
}

/* The conv's own geometry, and dX's: dY convolved with the flipped, transposed kernel, with
 * the begin pads r - 1 - pad. */
static wino_geom forward_geom(const conv_shape *s) {
    const ot_conv_geom *g = &s->geom;
    int r = (int)g->kernel[1];
    return geom_of(points_for(r), r, s->batch, s->in_channels, s->out_channels, g->image[1],
                   g->image[2], g->out[1], g->out[2], g->pad[1], g->pad[2]);
}

static wino_geom input_gradient_geom(const conv_shape *s) {
    const ot_conv_geom *g = &s->geom;
    int r = (int)g->kernel[1];
    return geom_of(points_for(r), r, s->batch, s->out_channels, s->in_channels, g->out[1],
                   g->out[2], g->image[1], g->image[2], r - 1 - g->pad[1], r - 1 - g->pad[2]);
}

size_t conv_winograd_workspace(const conv_shape *s) {
    wino_geom f = forward_geom(s), b = input_gradient_geom(s);
    int64_t floats = conv_pass_floats(&f);
    floats = OT_MAX(floats, conv_pass_floats(&b));
    floats = OT_MAX(floats, weight_pass_floats(&f));
    return sizeof(float) * (size_t)floats;
}

void conv_winograd_forward(float *y, const float *x, const float *w, const float *bias,
                           const conv_shape *s, void *workspace) {
    wino_geom g = forward_geom(s);
    float *u = workspace;
    transform_filter(&g, w, u, 0);
    run_conv(&g, u, x, y, bias, 0, u + g.points * filter_floats(&g));
}

void conv_winograd_backward(float *dx, float *dw, const float *dy, const float *x,
                            const float *w, const conv_shape *s, void *workspace) {
    if (dx) {
        wino_geom g = input_gradient_geom(s);
        float *u = workspace;
        transform_filter(&g, w, u, 1);
        run_conv(&g, u, dy, dx, NULL, 1, u + g.points * filter_floats(&g));
    }
    if (dw) {
        wino_geom g = forward_geom(s);
        run_weights(&g, x, dy, dw, workspace);
    }
}
