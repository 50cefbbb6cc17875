/* The Winograd convolution's shared types and its tile transforms (conv_winograd_tiles.c),
 * used by the drivers in conv_winograd.c, which explain the algorithm and the shapes. */
#ifndef OT_CONV_WINOGRAD_H
#define OT_CONV_WINOGRAD_H

#include <stdint.h>

#include "core/thread_pool.h"
#include "panel_gemm.h"

#define MAX_ALPHA 6 /* the largest tile side, m + r - 1 */
#define MAX_POINTS (MAX_ALPHA * MAX_ALPHA)

/* A family of transforms: tiles of side alpha, the finite points a_i with the scale f_i that
 * G carries (f_i = 1 / prod_{j != i}(a_i - a_j), up to the sign the fixed B^T of
 * conv_winograd_tiles.c was written with), then the point at infinity, whose entry in A^T's
 * last row is infinity_sign. */
typedef struct wino_points {
    int alpha;
    double point[MAX_ALPHA - 1], scale[MAX_ALPHA - 1];
    double infinity_sign;
} wino_points;

/* F(2, 3) on 0, 1, -1 (4x4 tiles) and F(4, 3) / F(2, 5) on 0, 1, -1, 2, -2 (6x6 tiles). */
extern const wino_points oti_wino_points_4, oti_wino_points_6;

/* Geometry of one Winograd conv: image (C_in, H, W) -> output (C_out, OH, OW). */
typedef struct wino_geom {
    const wino_points *p;
    int alpha, m, r, points; /* tile side, output tile, kernel; points = alpha^2 */
    int64_t batch, in_ch, out_ch;
    int64_t h, w, oh, ow, pad_h, pad_w; /* pads before the image (may be negative) */
    int64_t tiles_h, tiles_w;           /* tiles per image */
    int64_t row_floats;                 /* one padded line of a tile row: tiles_w * m + alpha - m */
    ot_pool *pool;                      /* the plan's threads */
    int64_t chunk_floats;               /* transformed values per chunk (conv_tuning.h) */
} wino_geom;

static inline int64_t wino_ceil_div(int64_t a, int64_t b) {
    return (a + b - 1) / b;
}
static inline int64_t wino_round_up(int64_t a, int64_t b) {
    return wino_ceil_div(a, b) * b;
}

/* The geometry of F(alpha + 1 - r, r) on p's points for an image (in_ch, h, w) ->
 * (out_ch, oh, ow) with the given begin pads. */
wino_geom oti_wino_geom_of(const wino_points *p, int r, int64_t batch, int64_t in_ch, int64_t out_ch,
                       int64_t h, int64_t w, int64_t oh, int64_t ow, int64_t pad_h, int64_t pad_w);

/* Distance between one point's values and the next's: the transforms write (or read) all
 * points of a tile at once, and 16 or 36 streams a multiple of 4 KiB apart would share one
 * set of the 8-way L1 cache (input transform 2.5x slower). This puts them 64 bytes apart
 * modulo 4 KiB. */
static inline int64_t wino_point_stride(int64_t floats) {
    return wino_round_up(floats, 1024) + 16;
}

/* Rows of a zero-padded input plane: every line some tile reads (plane row p is image row
 * p - pad_h). */
static inline int64_t wino_plane_rows(const wino_geom *g) {
    return g->tiles_h * g->m + g->alpha - g->m;
}

/* Per-thread scratch for the transforms: a panel's worth of padded planes and alpha lines. */
static inline int64_t wino_line_scratch(const wino_geom *g) {
    return (OT_PANEL_ROWS * wino_plane_rows(g) + g->alpha) * g->row_floats;
}

/* Where the transforms put (or find) value (channel c, tile t) of point 0; point xi is
 * xi * xi_stride further. */
typedef enum wino_layout_kind { BY_CHANNEL, BY_TILE, PANELS } wino_layout_kind;
typedef struct wino_layout {
    wino_layout_kind kind;
    int64_t ld; /* BY_CHANNEL: floats per channel; BY_TILE: per tile; PANELS: K (tiles) */
    int64_t xi_stride;
} wino_layout;

static inline int64_t wino_layout_at(const wino_layout *l, int64_t c, int64_t t) {
    switch (l->kind) {
    case BY_CHANNEL:
        return c * l->ld + t;
    case BY_TILE:
        return t * l->ld + c;
    default:
        return ot_panel_index(c, t, l->ld);
    }
}

/* One chunk: global tile rows row0 .. row0 + rows - 1 (row = sample * tiles_h + tile row),
 * tc = rows * tiles_w tiles, tile (row0 + rr, tx) numbered rr * tiles_w + tx. */
typedef struct wino_chunk {
    int64_t row0, rows, tc;
} wino_chunk;

typedef struct wino_tile_job {
    const wino_geom *g;
    wino_chunk ch;
    const float *src;   /* input: X (batch, in_ch, h, w); output: M; gradient: dY like Y */
    float *dst;         /* input: V; output: Y (batch, out_ch, oh, ow); gradient: D */
    wino_layout points; /* where V, M or D keep the chunk's transformed tiles */
    float *scratch;     /* wino_line_scratch floats per part */
    const float *bias;  /* output only */
    int accumulate;     /* output only: add into Y */
} wino_tile_job;

/* U (points, out_ch, in_ch) in panels = G w G^T for every (output, input) channel pair of
 * W (O, I, r, r); with flip, for dX: g's outputs are W's inputs, the kernel turned 180
 * degrees. oti_wino_filter_floats: the floats from one point's U to the next's. */
int64_t oti_wino_filter_floats(const wino_geom *g);
void oti_wino_transform_filter(const wino_geom *g, const float *w, float *u, int flip);
/* The chunk's input tiles B^T d B into j->dst (j->points' layout). */
void oti_wino_transform_inputs(const wino_tile_job *j);
/* A^T M A of the chunk's tiles into the image j->dst (+ bias, or added in). */
void oti_wino_transform_outputs(const wino_tile_job *j);
/* G' dy G'^T of the chunk's dY tiles into j->dst (for dW). */
void oti_wino_transform_gradients(const wino_tile_job *j);
/* dw (O, I, r, r) += A'^T W^ A' from W^T (points, I, ld). */
void oti_wino_finish_weights(const wino_geom *g, const float *wt, int64_t ld, float *dw);

#endif
