/* Resize and Upsample (resize.c: tables and kernels; resize_geometry.c: attributes and the
 * output geometry from scales / sizes / roi). */
#ifndef OT_RESIZE_INTERNAL_H
#define OT_RESIZE_INTERNAL_H

#include "op.h"

typedef enum rz_mode { RZ_NEAREST, RZ_LINEAR, RZ_CUBIC } rz_mode;

typedef enum rz_coord {
    CT_HALF_PIXEL, CT_HALF_PIXEL_SYMMETRIC, CT_PYTORCH_HALF_PIXEL, CT_ALIGN_CORNERS,
    CT_ASYMMETRIC, CT_TF_HALF_PIXEL_FOR_NN, CT_TF_CROP_AND_RESIZE
} rz_coord;

/* NM_SIMPLE: opset < 11 (no nearest_mode attribute): floor when upsampling, ceil when
 * downsampling, as ONNX Runtime. */
typedef enum rz_nearest {
    NM_ROUND_PREFER_FLOOR, NM_ROUND_PREFER_CEIL, NM_FLOOR, NM_CEIL, NM_SIMPLE
} rz_nearest;

typedef enum rz_keep { KEEP_STRETCH, KEEP_NOT_LARGER, KEEP_NOT_SMALLER } rz_keep;

typedef struct resize_params {
    rz_mode mode;
    rz_coord coord;
    rz_nearest nearest;
    rz_keep keep;
    float cubic_a, extrapolation;
    int exclude_outside, antialias;
    int64_t axes[OT_MAX_DIMS];
    int n_axes;                         /* -1: every axis */
    float scales_attr[OT_MAX_DIMS];     /* Upsample-7 */
    int n_scales_attr;                  /* -1: scales come from an input */
    int roi_slot, scales_slot, sizes_slot; /* input slots, -1 where the opset has none */
} resize_params;

/* One axis of the resize. */
typedef struct rz_axis {
    int64_t in, out;
    double scale;  /* the scale the coordinate transforms use */
    double width;  /* the output length they use: in * scale (not rounded, as ONNX) */
    double roi_start, roi_end;
    int active;    /* not the identity: gets a table and a pass */
    int taps;      /* taps per output index */
} rz_axis;

typedef struct rz_geometry {
    int rank;
    rz_axis ax[OT_MAX_DIMS];
} rz_geometry;

ot_status oti_resize_parse(const ot_layer *l, void *params);
/* Per axis: input and output sizes, scales, roi and taps, from the node's attributes and its
 * plan-time constant inputs; errors name the node. */
ot_status oti_resize_geometry(const ot_node_ctx *c, rz_geometry *g);
/* Taps per output index for an axis resized by `scale` (first: the first tap's offset). */
int oti_resize_axis_taps(const resize_params *p, double scale, int *first);

/* grid_sample.c: GridSample, sampling at given points rather than on a scaled grid. */
typedef struct ot_grid_sample_params {
    int64_t align_corners;
    int mode, padding;
} ot_grid_sample_params;
ot_status oti_grid_sample_parse(const ot_layer *l, void *params);
ot_status oti_grid_sample_infer(ot_node_ctx *c);
ot_status oti_grid_sample_forward(ot_node_ctx *c);
ot_status oti_grid_sample_backward(ot_node_ctx *c);

#endif
