/* The max pool of every CNN, 2x2 windows at stride 2 (pool_internal.h), written as selects
 * over whole output rows: with positions for training, and 8 outputs at a time without. */
#include <string.h>

#include "gemm.h"
#include "pool_internal.h"
#include "vec.h"

int oti_pool_is_plain_2x2_stride_2(const pool_geometry *g) {
    if (g->nd != 2) return 0;
    for (int d = 0; d < 2; d++)
        if (g->kernel[d] != 2 || g->stride[d] != 2 || g->dilation[d] != 1 || g->pad_begin[d] != 0 ||
            2 * g->out[d] > g->in[d])
            return 0;
    return 1;
}

typedef struct max_pool_job {
    float *y;
    int64_t *argmax;
    const float *x;
    const pool_geometry *g;
} max_pool_job;

static inline void take_if_larger(float v, int64_t at, float *best, int64_t *best_at) {
    int take = (v > *best) | (v != v);
    *best = take ? v : *best;
    *best_at = take ? at : *best_at;
}

static void max_pool_2x2_planes(int64_t begin, int64_t end, int part, void *arg) {
    (void)part;
    const max_pool_job *j = arg;
    const pool_geometry *g = j->g;
    int64_t oh = g->out[0], ow = g->out[1], iw = g->in[1];
    for (int64_t plane = begin; plane < end; plane++) {
        const float *xp = j->x + plane * g->in_size;
        int64_t base = plane * g->in_size;
        for (int64_t oy = 0; oy < oh; oy++) {
            const float *r0 = xp + 2 * oy * iw, *r1 = r0 + iw;
            float *y = j->y + plane * g->out_size + oy * ow;
            int64_t *argmax = j->argmax + plane * g->out_size + oy * ow;
            int64_t row0 = base + 2 * oy * iw, row1 = row0 + iw;
            for (int64_t ox = 0; ox < ow; ox++) {
                float best = r0[2 * ox];
                int64_t at = row0 + 2 * ox;
                take_if_larger(r0[2 * ox + 1], row0 + 2 * ox + 1, &best, &at);
                take_if_larger(r1[2 * ox], row1 + 2 * ox, &best, &at);
                take_if_larger(r1[2 * ox + 1], row1 + 2 * ox + 1, &best, &at);
                y[ox] = best;
                argmax[ox] = at;
            }
        }
    }
}

/* Values only, 2x2 at stride 2 (inference in every CNN): 8 outputs at a time, the window's
 * four elements split from two input rows into even and odd columns, then the positional
 * loop's rule in its order (a larger value or a NaN takes over: top-left, top-right,
 * bottom-left, bottom-right), so even the sign of a zero maximum agrees. A row's last block
 * is aligned to its end and overlaps the one before (recomputing outputs is harmless). */
typedef int32_t pool_v8i __attribute__((vector_size(32)));

static inline ot_v8 take_v8(ot_v8 best, ot_v8 v) {
    pool_v8i take = (v > best) | (v != v);
    return (ot_v8)(((pool_v8i)v & take) | ((pool_v8i)best & ~take));
}

static inline void max_2x2_block8(float *y, const float *r0, const float *r1) {
    ot_v8 t0 = ot_load8(r0), t1 = ot_load8(r0 + 8), b0 = ot_load8(r1), b1 = ot_load8(r1 + 8);
    ot_v8 best = __builtin_shufflevector(t0, t1, 0, 2, 4, 6, 8, 10, 12, 14);
    best = take_v8(best, __builtin_shufflevector(t0, t1, 1, 3, 5, 7, 9, 11, 13, 15));
    best = take_v8(best, __builtin_shufflevector(b0, b1, 0, 2, 4, 6, 8, 10, 12, 14));
    best = take_v8(best, __builtin_shufflevector(b0, b1, 1, 3, 5, 7, 9, 11, 13, 15));
    ot_store8(y, best);
}

static void max_pool_2x2_values_planes(int64_t begin, int64_t end, int part, void *arg) {
    (void)part;
    const max_pool_job *j = arg;
    const pool_geometry *g = j->g;
    int64_t oh = g->out[0], ow = g->out[1], iw = g->in[1];
    for (int64_t plane = begin; plane < end; plane++)
        for (int64_t oy = 0; oy < oh; oy++) {
            const float *r0 = j->x + plane * g->in_size + 2 * oy * iw, *r1 = r0 + iw;
            float *y = j->y + plane * g->out_size + oy * ow;
            int64_t ox = 0;
            if (ow >= 8) {
                for (; ox + 8 <= ow; ox += 8) max_2x2_block8(y + ox, r0 + 2 * ox, r1 + 2 * ox);
                if (ox < ow) max_2x2_block8(y + ow - 8, r0 + 2 * (ow - 8), r1 + 2 * (ow - 8));
                continue;
            }
            for (; ox < ow; ox++) {
                float best = r0[2 * ox];
                int64_t unused = 0;
                take_if_larger(r0[2 * ox + 1], 0, &best, &unused);
                take_if_larger(r1[2 * ox], 0, &best, &unused);
                take_if_larger(r1[2 * ox + 1], 0, &best, &unused);
                y[ox] = best;
            }
        }
}

void oti_max_pool_2x2_forward(float *y, int64_t *argmax, const float *x, const pool_geometry *g) {
    max_pool_job job = {y, argmax, x, g};
    ot_range_fn planes = argmax ? max_pool_2x2_planes : max_pool_2x2_values_planes;
    oti_parallel_ranges(g->pool, g->planes, pool_plane_grain(g), planes, &job);
}
