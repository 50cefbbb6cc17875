/* Convolution geometry and the column transforms behind Conv and ConvTranspose.
 *
 * Every convolution is handled as 3-D: 1-D and 2-D ones get leading spatial dims of size 1
 * (kernel 1, stride 1, no padding). im2col lays the receptive fields of a range of output
 * positions side by side as columns, so that a convolution is one GEMM with the weights;
 * col2im adds columns back into an image (the adjoint, used by dX and ConvTranspose). */
#ifndef OT_IM2COL_H
#define OT_IM2COL_H

#include <stdint.h>

#include "core/thread_pool.h"

#define OT_CONV_DIMS 3 /* spatial dims handled (1-D and 2-D are padded to 3) */

typedef struct ot_conv_geom {
    int64_t image[OT_CONV_DIMS];    /* spatial size of the image side (Conv X, ConvTranspose Y) */
    int64_t out[OT_CONV_DIMS];      /* spatial size of the column side (Conv Y, ConvTranspose X) */
    int64_t kernel[OT_CONV_DIMS];
    int64_t stride[OT_CONV_DIMS];
    int64_t dilation[OT_CONV_DIMS];
    int64_t pad[OT_CONV_DIMS];      /* padding before the image; negative crops/extends */
    int64_t image_size, out_size, kernel_size; /* products of the above */
} ot_conv_geom;

/* Fills the products from the per-dim sizes. */
void oti_conv_geom_finish(ot_conv_geom *g);
/* True for a 1x1 kernel with stride 1 and no padding: the image is its own column matrix. */
int oti_conv_geom_is_pointwise(const ot_conv_geom *g);

/* Output indices o in [lo, hi) of [0, n) whose image coordinate o * stride + offset lies in
 * [0, size): the part of a line a kernel tap reads inside the image. */
void oti_conv_valid_range(int64_t n, int64_t size, int64_t stride, int64_t offset, int64_t *lo,
                         int64_t *hi);

/* col (channels * kernel_size, ld): the receptive fields of output positions p0 .. p1-1
 * (flattened over `out`) of `count` images (channels, image...) image_stride floats apart,
 * side by side: image b's take columns b * (p1-p0) .. (b+1) * (p1-p0) - 1. Zeros where a
 * field falls in the padding. Rows are ordered (channel, kd, kh, kw), like the weights.
 * p0 and p1 must be whole output lines (multiples of out[2]). */
void oti_im2col(ot_pool *pool, float *col, int64_t ld, const float *images, int64_t count, int64_t image_stride,
               int64_t channels, const ot_conv_geom *g, int64_t p0, int64_t p1);
/* The adjoint: each image += its columns (same layout as oti_im2col). */
void oti_col2im_add(ot_pool *pool, float *images, const float *col, int64_t ld, int64_t count,
                   int64_t image_stride, int64_t channels, const ot_conv_geom *g, int64_t p0,
                   int64_t p1);

#endif
