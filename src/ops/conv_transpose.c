/* ConvTranspose (1-D, 2-D, 3-D; groups, dilations, strides, pads, output_padding,
 * output_shape, auto_pad): the adjoint of Conv. Per sample and group, the columns
 * W_g^T @ X_g are added into Y with col2im; backward takes im2col of dY, so
 * dX_g = W_g @ cols and dW_g = X_g @ cols^T. Columns cover a range of X's positions at a
 * time so the buffer stays under the plan's column budget (conv_tuning.h). */
#include <string.h>

#include "conv_internal.h"
#include "gemm.h"


/* X positions per tile: all of them unless the columns would exceed the budget. */
static int64_t positions_per_tile(const conv_shape *s) {
    return oti_conv_positions_per_tile(s, s->out_per_group * s->geom.kernel_size);
}

ot_status oti_conv_transpose_parse(const ot_layer *l, void *params) {
    return oti_conv_parse_params(l, params, 1);
}

ot_status oti_conv_transpose_infer(ot_node_ctx *c) {
    conv_shape s;
    OT_TRY(oti_conv_shape_of(c, &s));
    ot_tensor_set_shape(c->out[0], OT_FLOAT, s.spatial + 2, s.y_dims);
    int64_t rows = s.out_per_group * s.geom.kernel_size;
    c->workspace_bytes = sizeof(float) * (size_t)(rows * positions_per_tile(&s));
    return OT_OK;
}

ot_status oti_conv_transpose_forward(ot_node_ctx *c) {
    conv_shape s;
    OT_TRY(oti_conv_shape_of(c, &s));
    const float *x = c->in[0]->data; // (N, C, in...)
    const float *w = c->in[1]->data; // (C, M/group, k...) = per group (C/group, rows)
    const float *bias = c->n_in > 2 && c->in[2] ? c->in[2]->data : NULL;
    float *y = c->out[0]->data;      // (N, M, out...)
    float *col = c->workspace;       // (rows, np)
    const ot_conv_geom *geom = &s.geom;
    int64_t rows = s.out_per_group * geom->kernel_size, cg = s.in_per_group, mg = s.out_per_group;
    int64_t per_tile = positions_per_tile(&s);
    memset(y, 0, sizeof(float) * (size_t)(s.batch * s.out_channels * geom->image_size));
    int64_t ranges = (geom->out_size + per_tile - 1) / per_tile;
    for (int64_t i = 0; i < s.batch * s.group * ranges; i++) {
        /* Tile i: sample n, group g, X positions p0 .. p0+np-1. */
        int64_t p0 = i % ranges * per_tile, g = i / ranges % s.group, n = i / ranges / s.group;
        int64_t np = geom->out_size - p0 < per_tile ? geom->out_size - p0 : per_tile;
        const float *xg = x + (n * s.in_channels + g * cg) * geom->out_size + p0;
        const float *wg = w + g * cg * rows;
        oti_sgemm(s.pool, 1, 0, rows, np, cg, 1.0f, wg, rows, xg, geom->out_size, 0.0f, col, np);
        oti_col2im_add(s.pool, y + (n * s.out_channels + g * mg) * geom->image_size, col, np, 1, 0, mg, geom, p0,
                      p0 + np);
    }
    if (bias)
        for (int64_t n = 0; n < s.batch; n++)
            for (int64_t m = 0; m < s.out_channels; m++) {
                float *plane = y + (n * s.out_channels + m) * geom->image_size;
                for (int64_t i = 0; i < geom->image_size; i++) plane[i] += bias[m];
            }
    return OT_OK;
}

ot_status oti_conv_transpose_backward(ot_node_ctx *c) {
    conv_shape s;
    OT_TRY(oti_conv_shape_of(c, &s));
    const float *x = c->in[0]->data, *w = c->in[1]->data, *dy = c->dout[0]->data;
    float *dx = c->din[0] ? c->din[0]->data : NULL, *dw = c->din[1] ? c->din[1]->data : NULL;
    const ot_conv_geom *geom = &s.geom;
    if (c->n_in > 2 && c->in[2] && c->din[2])
        oti_conv_bias_backward(c->din[2]->data, dy, s.batch, s.out_channels, geom->image_size);
    if (!dx && !dw) return OT_OK;
    float *col = c->workspace; // (rows, np): im2col of dY
    int64_t rows = s.out_per_group * geom->kernel_size, cg = s.in_per_group, mg = s.out_per_group;
    int64_t per_tile = positions_per_tile(&s), p = geom->out_size;
    int64_t ranges = (geom->out_size + per_tile - 1) / per_tile;
    for (int64_t i = 0; i < s.batch * s.group * ranges; i++) {
        /* Tile i: sample n, group g, X positions p0 .. p0+np-1. */
        int64_t p0 = i % ranges * per_tile, g = i / ranges % s.group, n = i / ranges / s.group;
        int64_t np = geom->out_size - p0 < per_tile ? geom->out_size - p0 : per_tile;
        oti_im2col(s.pool, col, np, dy + (n * s.out_channels + g * mg) * geom->image_size, 1, 0, mg, geom, p0,
                  p0 + np);
        int64_t x_at = (n * s.in_channels + g * cg) * p + p0;
        const float *wg = w + g * cg * rows;
        if (dx) oti_sgemm(s.pool, 0, 0, cg, np, rows, 1.0f, wg, rows, col, np, 1.0f, dx + x_at, p);
        if (dw) oti_sgemm(s.pool, 0, 1, cg, rows, np, 1.0f, x + x_at, p, col, np, 1.0f, dw + g * cg * rows, rows);
    }
    return OT_OK;
}
