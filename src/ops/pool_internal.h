/* Pooling internals shared by pool.c (attributes, geometry, every pool) and pool_2x2.c (the
 * 2x2 / stride-2 max pool of every CNN). */
#ifndef OT_POOL_INTERNAL_H
#define OT_POOL_INTERNAL_H

#include <stdint.h>

#include "core/thread_pool.h"
#include "onnxtrain/tensor.h"
#include "op.h"

#define POOL_MAX_SPATIAL (OT_MAX_DIMS - 2)

/* The windows for one input shape. */
typedef struct pool_geometry {
    int nd;
    int64_t planes;          /* N * C */
    int64_t in[POOL_MAX_SPATIAL], out[POOL_MAX_SPATIAL];
    int64_t kernel[POOL_MAX_SPATIAL], stride[POOL_MAX_SPATIAL], dilation[POOL_MAX_SPATIAL];
    int64_t pad_begin[POOL_MAX_SPATIAL], pad_end[POOL_MAX_SPATIAL];
    int64_t in_size, out_size; /* elements per plane */
    ot_pool *pool;             /* the plan's threads */
} pool_geometry;

/* Planes per parallel part: at least ~4K outputs, fewer are not worth waking a thread. */
static inline int64_t pool_plane_grain(const pool_geometry *g) {
    return g->out_size > 0 && g->out_size < 4096 ? 4096 / g->out_size : 1;
}

/* 2x2 windows at stride 2, no padding or dilation, every window inside the input. */
int oti_pool_is_plain_2x2_stride_2(const pool_geometry *g);
/* y (planes, out_size) = the windows' maxima; argmax (same layout) their flat input indices,
 * or NULL when no positions are wanted (inference). Same choice as the general loops: a
 * larger value or a NaN takes over, ties keep the first in row-major window order. */
void oti_max_pool_2x2_forward(float *y, int64_t *argmax, const float *x, const pool_geometry *g);

/* pool_unpool.c: MaxUnpool. */
typedef struct ot_unpool_params {
    int nd;
    int64_t kernel[POOL_MAX_SPATIAL], stride[POOL_MAX_SPATIAL], pads[2 * POOL_MAX_SPATIAL];
} ot_unpool_params;
/* Each op of pool_unpool.c and pool_roi.c has parse, infer, forward and backward. */
#define OT_POOL_OP_FUNCS(name)                                                                 \
    ot_status oti_pool_parse_##name(const ot_layer *l, void *params);                           \
    ot_status oti_pool_infer_##name(ot_node_ctx *c);                                            \
    ot_status oti_pool_forward_##name(ot_node_ctx *c);                                          \
    ot_status oti_pool_backward_##name(ot_node_ctx *c);
OT_POOL_OP_FUNCS(unpool)

/* pool_roi.c: RoiAlign. */
typedef struct ot_roi_params {
    int max_mode, half_pixel;
    int64_t out_h, out_w, sampling_ratio;
    float spatial_scale;
} ot_roi_params;
OT_POOL_OP_FUNCS(roi)

#endif
