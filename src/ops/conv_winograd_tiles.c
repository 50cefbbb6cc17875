/* The Winograd tile transforms (see conv_winograd.c for the algorithm and shapes): the
 * points and their matrices, weights G w G^T, input tiles B^T d B, output tiles A^T M A,
 * dY tiles G' dy G'^T and dW = A'^T W^ A'. Each runs over the compute threads. */
#include <string.h>

#include "core/util.h"
#include "conv_winograd.h"
#include "gemm.h"
#include "im2col.h"

const wino_points oti_wino_points_4 = {4, {0, 1, -1}, {1, 0.5, 0.5}, -1};
const wino_points oti_wino_points_6 = {
    6, {0, 1, -1, 2, -2}, {1.0 / 4, -1.0 / 6, -1.0 / 6, 1.0 / 24, 1.0 / 24}, 1};

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
#define INPUT6_1D(d0, d1, d2, d3, d4, d5, o, os)                                                   \
    do {                                                                                           \
        float s34_ = (d3) + (d4), s12_ = (d1) + (d2), d43_ = (d4) - (d3), d12_ = (d1) - (d2);      \
        float d42_ = (d4) - (d2), d31_ = (d3) - (d1);                                              \
        (o)[0 * (os)] = 4.0f * (d0)-5.0f * (d2) + (d4);                                            \
        (o)[1 * (os)] = s34_ - 4.0f * s12_;                                                        \
        (o)[2 * (os)] = d43_ + 4.0f * d12_;                                                        \
        (o)[3 * (os)] = d42_ + 2.0f * d31_;                                                        \
        (o)[4 * (os)] = d42_ - 2.0f * d31_;                                                        \
        (o)[5 * (os)] = 4.0f * (d1)-5.0f * (d3) + (d5);                                            \
    } while (0)

/* The same for four values: B^T's rows 1 0 -1 0 / 0 1 1 0 / 0 -1 1 0 / 0 1 0 -1. */
#define INPUT4_1D(d0, d1, d2, d3, o, os)                                                           \
    do {                                                                                           \
        (o)[0 * (os)] = (d0) - (d2);                                                               \
        (o)[1 * (os)] = (d1) + (d2);                                                               \
        (o)[2 * (os)] = (d2) - (d1);                                                               \
        (o)[3 * (os)] = (d1) - (d3);                                                               \
    } while (0)

wino_geom oti_wino_geom_of(const wino_points *p, int r, int64_t batch, int64_t in_ch, int64_t out_ch,
                       int64_t h, int64_t w, int64_t oh, int64_t ow, int64_t pad_h, int64_t pad_w) {
    int m = p->alpha + 1 - r;
    wino_geom g = {.p = p, .alpha = p->alpha, .m = m, .r = r, .points = p->alpha * p->alpha,
                   .batch = batch, .in_ch = in_ch, .out_ch = out_ch, .h = h, .w = w, .oh = oh,
                   .ow = ow, .pad_h = pad_h, .pad_w = pad_w};
    g.tiles_h = wino_ceil_div(oh, m);
    g.tiles_w = wino_ceil_div(ow, m);
    g.row_floats = g.tiles_w * m + g.alpha - m;
    return g;
}

/* --- weights ------------------------------------------------------------------------------- */

typedef struct filter_job {
    const wino_geom *g;
    const float *w; /* the conv's W (O, I, r, r) */
    float *u;       /* (points, out_ch, in_ch) of g, in panels */
    int flip;       /* for dX: g's outputs are W's inputs, the kernel turned 180 degrees */
} filter_job;

int64_t oti_wino_filter_floats(const wino_geom *g) {
    return wino_point_stride(ot_panel_floats(g->out_ch, g->in_ch));
}

/* Items are U's panels of OT_PANEL_ROWS rows (g's output channels): u[xi][row][col] =
 * (G k G^T)[xi] with k = W[row][col], or for dX k = W[col][row] turned 180 degrees. A panel
 * stores, for each point, its columns one after another with the panel's 6 rows side by
 * side; the vector lanes follow that order, (column, row) over FILTER_COLS columns, so each
 * point's results leave as one contiguous run and only the kernels' gather is scalar. */
#define FILTER_COLS 8
#define FILTER_LANES (FILTER_COLS * OT_PANEL_ROWS)
typedef float filter_lanes[FILTER_LANES];

/* k (r*r, lanes) = the kernels of rows row0 .. row0+nr-1 and columns col0 .. col0+nc-1, lane
 * c * 6 + pr for (row0 + pr, col0 + c); lanes outside those ranges zero. */
static void gather_kernels(filter_lanes *k, const filter_job *j, int64_t row0, int nr, int64_t col0,
                           int nc) {
    int rr = j->g->r * j->g->r;
    int64_t rows = j->g->out_ch, cols = j->g->in_ch;
    if (nr < OT_PANEL_ROWS || nc < FILTER_COLS) memset(k, 0, sizeof(filter_lanes) * (size_t)rr);
    for (int c = 0; c < nc; c++)
        for (int pr = 0; pr < nr; pr++) {
            int lane = c * OT_PANEL_ROWS + pr;
            if (j->flip) {
                const float *src = j->w + ((col0 + c) * rows + row0 + pr) * rr;
                for (int e = 0; e < rr; e++) k[e][lane] = src[rr - 1 - e];
            } else {
                const float *src = j->w + ((row0 + pr) * cols + col0 + c) * rr;
                for (int e = 0; e < rr; e++) k[e][lane] = src[e];
            }
        }
}

/* U's part for panel `panel` and the FILTER_COLS columns from col0; gm: G (alpha, r). */
static void filter_block(const filter_job *j, const float *gm, int64_t panel, int64_t col0) {
    int r = j->g->r, alpha = j->g->alpha;
    int64_t rows = j->g->out_ch, cols = j->g->in_ch, xi_stride = oti_wino_filter_floats(j->g);
    filter_lanes k[25], gk[MAX_ALPHA * 5], out;
    int64_t row0 = panel * OT_PANEL_ROWS;
    int nr = rows - row0 < OT_PANEL_ROWS ? (int)(rows - row0) : OT_PANEL_ROWS;
    int nc = cols - col0 < FILTER_COLS ? (int)(cols - col0) : FILTER_COLS;
    gather_kernels(k, j, row0, nr, col0, nc);
    for (int i = 0; i < alpha; i++) /* G k: (alpha, r) */
        for (int c = 0; c < r; c++) {
            float *dst = gk[i * r + c];
            for (int l = 0; l < FILTER_LANES; l++) dst[l] = 0.0f;
            for (int e = 0; e < r; e++) {
                float coef = gm[i * r + e];
                for (int l = 0; l < FILTER_LANES; l++) dst[l] += coef * k[e * r + c][l];
            }
        }
    float *u0 = j->u + ot_panel_index(row0, col0, cols);
    for (int i = 0; i < alpha; i++) /* (G k) G^T: (alpha, alpha) */
        for (int c = 0; c < alpha; c++) {
            for (int l = 0; l < FILTER_LANES; l++) out[l] = 0.0f;
            for (int e = 0; e < r; e++) {
                float coef = gm[c * r + e];
                for (int l = 0; l < FILTER_LANES; l++) out[l] += gk[i * r + e][l] * coef;
            }
            memcpy(u0 + (i * alpha + c) * xi_stride, out, sizeof(float) * (size_t)(nc * OT_PANEL_ROWS));
        }
}

/* The loops follow W's storage so its reads stream: items are panels with their column
 * blocks inside (W's rows are U's rows), or for dX column blocks with the panels inside (W's
 * rows are then U's columns). */
static void filter_items(int64_t begin, int64_t end, int part, void *arg) {
    (void)part;
    const filter_job *j = arg;
    int64_t panels = (j->g->out_ch + OT_PANEL_ROWS - 1) / OT_PANEL_ROWS, cols = j->g->in_ch;
    float gm[MAX_ALPHA * 5];
    matrix_g(gm, j->g->r, j->g->p);
    for (int64_t item = begin; item < end; item++)
        if (j->flip)
            for (int64_t panel = 0; panel < panels; panel++) filter_block(j, gm, panel, item * FILTER_COLS);
        else
            for (int64_t col0 = 0; col0 < cols; col0 += FILTER_COLS) filter_block(j, gm, item, col0);
}

void oti_wino_transform_filter(const wino_geom *g, const float *w, float *u, int flip) {
    /* the last panel's missing rows are written as zeros */
    filter_job j = {g, w, u, flip};
    int64_t items = flip ? (g->in_ch + FILTER_COLS - 1) / FILTER_COLS : (g->out_ch + OT_PANEL_ROWS - 1) / OT_PANEL_ROWS;
    oti_parallel_ranges(g->pool, items, 1, filter_items, &j);
}

/* --- input tiles ---------------------------------------------------------------------------- */

/* Channels an input item transforms: one, or a whole panel of them, so that the values of
 * one tile for neighbouring channels, side by side in panel layout, are written together. */
static int64_t item_channels(const wino_layout *l) {
    return l->kind == PANELS ? OT_PANEL_ROWS : 1;
}

/* dst (plane_rows, row_floats) = the plane (h, w) with its pads, zeros outside. */
static void pad_plane(float *dst, const float *plane, const wino_geom *g) {
    int64_t rf = g->row_floats, lo, hi; /* line positions holding image columns */
    oti_conv_valid_range(rf, g->w, 1, -g->pad_w, &lo, &hi);
    if (hi < lo) hi = lo;
    for (int64_t p = 0; p < wino_plane_rows(g); p++) {
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
            INPUT6_1D(l[x], l[rf + x], l[2 * rf + x], l[3 * rf + x], l[4 * rf + x], l[5 * rf + x],
                      out + x, rf);
    else
        for (int64_t x = 0; x < rf; x++)
            INPUT4_1D(l[x], l[rf + x], l[2 * rf + x], l[3 * rf + x], out + x, rf);
}

/* B^T along the rows of one tile (alpha x alpha at t, lines rf apart) into v[xi * xs]. */
static inline void input_rows(float *v, int64_t xs, const float *t, int64_t rf, int alpha) {
    for (int i = 0; i < alpha; i++) {
        const float *d = t + i * rf;
        if (alpha == 6)
            INPUT6_1D(d[0], d[1], d[2], d[3], d[4], d[5], v + (i * 6) * xs, xs);
        else
            INPUT4_1D(d[0], d[1], d[2], d[3], v + (i * 4) * xs, xs);
    }
}

/* input_rows for a tile row's n tiles (tile x at t + x * m) where consecutive tiles are
 * consecutive floats of each point (V by channel): one loop over the tiles per tile row, so
 * the compiler vectorises across tiles instead of storing one value per point per tile. The
 * tile step m is spelled out per case to keep it a constant. */
static void input_rows_of_tiles(float *restrict v, int64_t xs, const float *restrict t, int64_t rf,
                                int alpha, int m, int64_t n) {
    for (int i = 0; i < alpha; i++) {
        const float *restrict d = t + i * rf;
        float *restrict o = v + (i * alpha) * xs;
        if (alpha == 4)
            for (int64_t x = 0; x < n; x++)
                INPUT4_1D(d[2 * x], d[2 * x + 1], d[2 * x + 2], d[2 * x + 3], o + x, xs);
        else if (m == 4)
            for (int64_t x = 0; x < n; x++)
                INPUT6_1D(d[4 * x], d[4 * x + 1], d[4 * x + 2], d[4 * x + 3], d[4 * x + 4],
                          d[4 * x + 5], o + x, xs);
        else
            for (int64_t x = 0; x < n; x++)
                INPUT6_1D(d[2 * x], d[2 * x + 1], d[2 * x + 2], d[2 * x + 3], d[2 * x + 4],
                          d[2 * x + 5], o + x, xs);
    }
}

/* Items are (channel group, tile row) of the chunk, group-major: per channel, B^T down the
 * columns of the row's padded lines, then B^T along each tile's rows. A part pads a plane
 * once for the consecutive tile rows it takes. */
static void input_items(int64_t begin, int64_t end, int part, void *arg) {
    const wino_tile_job *j = arg;
    const wino_geom *g = j->g;
    int64_t rf = g->row_floats, xs = j->points.xi_stride, group = item_channels(&j->points);
    int64_t plane_floats = wino_plane_rows(g) * rf;
    float *planes = j->scratch + part * wino_line_scratch(g),
          *cols = planes + OT_PANEL_ROWS * plane_floats;
    int64_t padded_image = -1, padded_group = -1; /* what planes holds */
    for (int64_t item = begin; item < end; item++) {
        int64_t rr = item % j->ch.rows, row = j->ch.row0 + rr, c0 = item / j->ch.rows * group;
        int64_t n = row / g->tiles_h, top = row % g->tiles_h * g->m;
        int64_t count = OT_MIN(group, g->in_ch - c0);
        if (n != padded_image || c0 != padded_group) {
            for (int64_t k = 0; k < count; k++)
                pad_plane(planes + k * plane_floats, j->src + (n * g->in_ch + c0 + k) * g->h * g->w,
                          g);
            padded_image = n;
            padded_group = c0;
        }
        for (int64_t k = 0; k < count; k++) {
            int64_t c = c0 + k;
            input_columns(cols, planes + k * plane_floats + top * rf, rf, g->alpha);
            int64_t t0 = rr * g->tiles_w, base = wino_layout_at(&j->points, c, t0);
            int64_t step = wino_layout_at(&j->points, c, t0 + 1) - base;
            float *v = j->dst + base;
            if (step == 1)
                input_rows_of_tiles(v, xs, cols, rf, g->alpha, g->m, g->tiles_w);
            else
                for (int64_t tx = 0; tx < g->tiles_w; tx++, v += step)
                    input_rows(v, xs, cols + tx * g->m, rf, g->alpha);
        }
    }
}

void oti_wino_transform_inputs(const wino_tile_job *j) {
    int64_t groups = wino_ceil_div(j->g->in_ch, item_channels(&j->points));
    oti_parallel_ranges(j->g->pool, groups * j->ch.rows, 1, input_items, (void *)j);
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
#define OUTPUT_LOOP(expr)                                                                          \
    do {                                                                                           \
        if (accumulate)                                                                            \
            for (int64_t x = 0; x < n; x++) y[x] += (expr);                                        \
        else                                                                                       \
            for (int64_t x = 0; x < n; x++) y[x] = (expr) + add;                                   \
    } while (0)
    if (alpha == 4) {
        if (k == 0)
            OUTPUT_LOOP(l0[x] + l1[x] + l2[x]);
        else
            OUTPUT_LOOP(l1[x] - l2[x] - l3[x]);
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

/* A^T along the rows of a tile row's n tiles into alpha lines (rf floats apart), where
 * consecutive tiles are consecutive floats of each point (M by channel): one loop over the
 * tiles per line, vectorised across tiles, m spelled out to keep it a constant. */
static void output_rows_of_tiles(float *restrict lines, int64_t rf, const float *restrict mm,
                                 int64_t xs, int m, int alpha, int64_t n) {
    for (int i = 0; i < alpha; i++) {
        const float *restrict s = mm + (i * alpha) * xs;
        float *restrict o = lines + i * rf;
        if (alpha == 4)
            for (int64_t x = 0; x < n; x++) output_1d(s + x, xs, o + 2 * x, 1, 2, 4);
        else if (m == 4)
            for (int64_t x = 0; x < n; x++) output_1d(s + x, xs, o + 4 * x, 1, 4, 6);
        else
            for (int64_t x = 0; x < n; x++) output_1d(s + x, xs, o + 2 * x, 1, 2, 6);
    }
}

/* Items are (channel, tile row): A^T along each tile's rows into alpha lines, then A^T down
 * the columns into the image's m lines. */
static void output_items(int64_t begin, int64_t end, int part, void *arg) {
    const wino_tile_job *j = arg;
    const wino_geom *g = j->g;
    int m = g->m, alpha = g->alpha;
    int64_t rf = g->row_floats, xs = j->points.xi_stride;
    float *lines = j->scratch + part * wino_line_scratch(g);
    for (int64_t item = begin; item < end; item++) {
        int64_t c = item / j->ch.rows, rr = item % j->ch.rows, row = j->ch.row0 + rr;
        int64_t n = row / g->tiles_h, y0 = row % g->tiles_h * m;
        int64_t t0 = rr * g->tiles_w, base = wino_layout_at(&j->points, c, t0);
        int64_t step = wino_layout_at(&j->points, c, t0 + 1) - base;
        const float *mm = j->src + base;
        if (step == 1)
            output_rows_of_tiles(lines, rf, mm, xs, m, alpha, g->tiles_w);
        else
            for (int64_t tx = 0; tx < g->tiles_w; tx++, mm += step)
                for (int i = 0; i < alpha; i++)
                    output_1d(mm + (i * alpha) * xs, xs, lines + i * rf + tx * m, 1, m, alpha);
        float *plane = j->dst + (n * g->out_ch + c) * g->oh * g->ow;
        float b = j->bias ? j->bias[c] : 0.0f;
        for (int k = 0; k < m && y0 + k < g->oh; k++)
            output_line(plane + (y0 + k) * g->ow, lines, rf, g->ow, k, m, alpha, j->accumulate, b);
    }
}

void oti_wino_transform_outputs(const wino_tile_job *j) {
    oti_parallel_ranges(j->g->pool, j->g->out_ch * j->ch.rows, 1, output_items, (void *)j);
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
    const wino_tile_job *j = arg;
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
            float *dst = j->dst + wino_layout_at(&j->points, c, t0);
            int64_t step =
                wino_layout_at(&j->points, c, t0 + 1) - wino_layout_at(&j->points, c, t0);
            for (int64_t tx = 0; tx < g->tiles_w; tx++, dst += step) {
                int64_t cols = OT_MIN(m, g->ow - tx * m);
                for (int a = 0; a < m; a++)
                    for (int b = 0; b < m; b++)
                        d[a * m + b] = a < rows && b < cols ? plane[a * g->ow + tx * m + b] : 0.0f;
                for (int b = 0; b < m; b++)
                    gradient_1d(d + b, m, gd + b, m, m, alpha, gm); /* G' d */
                for (int i = 0; i < alpha; i++)                     /* (G' d) G'^T */
                    gradient_1d(gd + i * m, 1, dst + (i * alpha) * xs, xs, m, alpha, gm);
            }
        }
    }
}

void oti_wino_transform_gradients(const wino_tile_job *j) {
    oti_parallel_ranges(j->g->pool, j->ch.rows, 1, gradient_items, (void *)j);
}

/* --- dW from its transform ------------------------------------------------------------------ */

typedef struct final_job {
    const wino_geom *g;
    const float *wt; /* W^T (36, I, O16) */
    int64_t ld;      /* O16 */
    float *dw;       /* (O, I, r, r), added into */
} final_job;

/* Items are blocks of FINAL_LANES output channels: dW[o][i] += A'^T W^[.][o][i] A', A'^T the
 * (r, alpha) A^T of F(r, m). W^T keeps o innermost (O16 a multiple of the block), so a block
 * reads each point's values for one input channel as one contiguous row and the transform
 * runs with o in the vector lanes; each lane then adds its r x r values to its own dW
 * stream, which moves on by r*r floats per input channel. (Gathering the points of one
 * (o, i) pair instead reads alpha^2 cache lines O times over.) */
#define FINAL_LANES 16
static void final_items(int64_t begin, int64_t end, int part, void *arg) {
    (void)part;
    const final_job *j = arg;
    const wino_geom *g = j->g;
    int r = g->r, rr = r * r;
    int64_t xs = g->in_ch * j->ld;
    int alpha = g->alpha;
    float at[5 * MAX_ALPHA], p[MAX_POINTS][FINAL_LANES], ap[5 * MAX_ALPHA][FINAL_LANES],
        out[25][FINAL_LANES];
    matrix_at(at, r, g->p);
    for (int64_t block = begin; block < end; block++) {
        int64_t o0 = block * FINAL_LANES;
        int nb = g->out_ch - o0 < FINAL_LANES ? (int)(g->out_ch - o0) : FINAL_LANES;
        for (int64_t i = 0; i < g->in_ch; i++) {
            for (int xi = 0; xi < g->points; xi++) /* lanes past O read W^T's zero columns */
                memcpy(p[xi], j->wt + xi * xs + i * j->ld + o0, sizeof p[xi]);
            for (int u = 0; u < r; u++) /* A'^T p: (r, alpha) */
                for (int b = 0; b < alpha; b++) {
                    float *sum = ap[u * alpha + b];
                    for (int l = 0; l < FINAL_LANES; l++) sum[l] = 0.0f;
                    for (int a = 0; a < alpha; a++) {
                        float coef = at[u * alpha + a];
                        for (int l = 0; l < FINAL_LANES; l++) sum[l] += coef * p[a * alpha + b][l];
                    }
                }
            for (int u = 0; u < r; u++) /* (A'^T p) A' */
                for (int v = 0; v < r; v++) {
                    float *sum = out[u * r + v];
                    for (int l = 0; l < FINAL_LANES; l++) sum[l] = 0.0f;
                    for (int b = 0; b < alpha; b++) {
                        float coef = at[v * alpha + b];
                        for (int l = 0; l < FINAL_LANES; l++) sum[l] += ap[u * alpha + b][l] * coef;
                    }
                }
            for (int l = 0; l < nb; l++) {
                float *dst = j->dw + ((o0 + l) * g->in_ch + i) * rr;
                for (int e = 0; e < rr; e++) dst[e] += out[e][l];
            }
        }
    }
}

void oti_wino_finish_weights(const wino_geom *g, const float *wt, int64_t ld, float *dw) {
    final_job f = {g, wt, ld, dw};
    oti_parallel_ranges(g->pool, (g->out_ch + FINAL_LANES - 1) / FINAL_LANES, 1, final_items, &f);
}
