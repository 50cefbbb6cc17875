/* Shared by the conv family's files: the attributes of Conv and ConvTranspose, their
 * geometry from the input shapes, the direct depthwise kernels and the ConvTranspose entry
 * points that conv.c lists in the family table. */
#ifndef OT_CONV_INTERNAL_H
#define OT_CONV_INTERNAL_H

#include "conv_tuning.h"
#include "im2col.h"
#include "op.h"

typedef enum conv_auto_pad {
    CONV_PAD_NOTSET, CONV_PAD_SAME_UPPER, CONV_PAD_SAME_LOWER, CONV_PAD_VALID
} conv_auto_pad;

#define CONV_MAX_SPATIAL (OT_MAX_DIMS - 2)

/* Attributes as given; counts are -1 where absent (defaults apply per spatial dim). */
typedef struct conv_params {
    int transpose;
    int integer; /* ConvInteger, QLinearConv: X and W are integers (held as int64) */
    conv_auto_pad auto_pad;
    int64_t group;
    int n_kernel, n_strides, n_dilations, n_pads, n_output_padding, n_output_shape;
    int64_t kernel[CONV_MAX_SPATIAL], strides[CONV_MAX_SPATIAL], dilations[CONV_MAX_SPATIAL];
    int64_t pads[2 * CONV_MAX_SPATIAL];
    int64_t output_padding[CONV_MAX_SPATIAL];
    int64_t output_shape[CONV_MAX_SPATIAL + 2]; /* spatial dims, or N, C and spatial dims */
} conv_params;

/* The sizes one Conv / ConvTranspose call works with. For Conv the geometry's image is X
 * and its columns are Y; for ConvTranspose the image is Y and the columns X. */
typedef struct conv_shape {
    int spatial;                   /* 1, 2 or 3 */
    int64_t batch;                 /* N */
    int64_t in_channels, out_channels, group;
    int64_t in_per_group, out_per_group;
    int64_t y_dims[OT_MAX_DIMS];   /* (N, C_out, spatial...) */
    ot_conv_geom geom;
    /* The plan's options (from the node context): threads, Winograd's fast variants, the
     * algorithms' thresholds (never NULL here). */
    ot_pool *pool;
    int fast;
    const ot_conv_tuning *tuning;
} conv_shape;

/* Output positions per tile whose columns (rows each) fit the budget
 * (tuning->column_budget_floats): all of them, or a number of whole output lines (at least
 * one). */
int64_t oti_conv_positions_per_tile(const conv_shape *s, int64_t rows);

/* Reads and validates the attributes (zero kernel, stride 0, negative pads, ...). */
ot_status oti_conv_parse_params(const ot_layer *l, conv_params *p, int transpose);
/* Checks X, W and B against the attributes and computes the shapes; errors name the node. */
ot_status oti_conv_shape_of(const ot_node_ctx *c, conv_shape *s);

/* Direct depthwise Conv (one input channel per group, 1-D or 2-D); see conv_depthwise.c.
 * The workspace holds per-thread padded planes (oti_conv_depthwise_workspace bytes). */
int oti_conv_depthwise_forward_applies(const conv_shape *s);
int oti_conv_depthwise_backward_applies(const conv_shape *s);
size_t oti_conv_depthwise_workspace(const conv_shape *s);
void oti_conv_depthwise_forward(float *y, const float *x, const float *w, const float *bias,
                            const conv_shape *s, void *workspace);
void oti_conv_depthwise_backward(float *dx, float *dw, const float *dy, const float *x,
                             const float *w, const conv_shape *s, void *workspace);

/* Winograd F(2x2, 3x3), and with s->fast F(4x4, 3x3) / F(2x2, 5x5), for 2-D, stride 1,
 * undilated, ungrouped 3x3 and 5x5 convs with at least tuning->winograd_min_channels input
 * and output channels; see conv_winograd.c. dX and dW are added into. */
int oti_conv_winograd_applies(const conv_shape *s);
/* Whether Winograd also takes dX (input_gradient) or dW of a conv it applies to (the
 * tuning's ratios); im2col takes the other. */
int oti_conv_winograd_backward_applies(const conv_shape *s, int input_gradient);
size_t oti_conv_winograd_workspace(const conv_shape *s);
void oti_conv_winograd_forward(float *y, const float *x, const float *w, const float *bias,
                           const conv_shape *s, void *workspace);
void oti_conv_winograd_backward(float *dx, float *dw, const float *dy, const float *x,
                            const float *w, const conv_shape *s, void *workspace);

/* FFT convolution for 2-D, stride 1, undilated, ungrouped convs with kernels of 16 taps or
 * more on padded planes up to 32 x 32, with at least tuning->fft_min_channels input and
 * output channels and tuning->fft_min_gain times fewer multiply-adds than im2col; see
 * conv_fft.c. dX and dW are added into. */
int oti_conv_fft_applies(const conv_shape *s);
size_t oti_conv_fft_workspace(const conv_shape *s);
void oti_conv_fft_forward(float *y, const float *x, const float *w, const float *bias,
                      const conv_shape *s, void *workspace);
void oti_conv_fft_backward(float *dx, float *dw, const float *dy, const float *x, const float *w,
                       const conv_shape *s, void *workspace);

/* ConvTranspose op functions (conv_transpose.c). */
ot_status oti_conv_transpose_parse(const ot_layer *l, void *params);
ot_status oti_conv_transpose_infer(ot_node_ctx *c);
ot_status oti_conv_transpose_forward(ot_node_ctx *c);
ot_status oti_conv_transpose_backward(ot_node_ctx *c);

/* Bias gradient shared by both: db[m] += sum of dy (N, M, positions) over N and positions. */
void oti_conv_bias_backward(float *db, const float *dy, int64_t batch, int64_t channels,
                        int64_t positions);

#endif
