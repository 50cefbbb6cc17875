/* GridSample (opset 16; opset 20's 4-D form too): Y (N, C, Ho, Wo) samples X (N, C, H, W) at
 * grid (N, Ho, Wo, 2) = normalized (x, y) in [-1, 1], as PyTorch's grid_sample does:
 * coordinates unnormalized by align_corners, padding_mode zeros (reads outside give 0), border
 * (clamped) or reflection (mirrored, then clamped); mode bilinear ("linear"), nearest (rounded
 * half to even) or bicubic ("cubic"; A = -0.75, the padding applied to each of the 16 taps).
 * Backward: X gets every mode's weights; the grid gets bilinear's derivative through the
 * unnormalization and the padding (nearest's is 0); bicubic has no grid gradient (an error
 * naming the node when one is needed). */
#include <math.h>
#include <string.h>

#include "resize_internal.h"

enum { GS_BILINEAR, GS_NEAREST, GS_BICUBIC };
enum { GS_ZEROS, GS_BORDER, GS_REFLECTION };

ot_status oti_grid_sample_parse(const ot_layer *l, void *params) {
    ot_grid_sample_params *p = params;
    const char *mode, *padding;
    OT_TRY(oti_attr_get_int(l, "align_corners", 0, &p->align_corners));
    OT_TRY(oti_attr_get_string(l, "mode", "bilinear", &mode));
    OT_TRY(oti_attr_get_string(l, "padding_mode", "zeros", &padding));
    if (!strcmp(mode, "bilinear") || !strcmp(mode, "linear")) p->mode = GS_BILINEAR;
    else if (!strcmp(mode, "nearest")) p->mode = GS_NEAREST;
    else if (!strcmp(mode, "bicubic") || !strcmp(mode, "cubic")) p->mode = GS_BICUBIC;
    else return oti_node_fail(l, OT_ERR_INVALID, "mode '%s' is not bilinear, nearest or bicubic", mode);
    if (!strcmp(padding, "zeros")) p->padding = GS_ZEROS;
    else if (!strcmp(padding, "border")) p->padding = GS_BORDER;
    else if (!strcmp(padding, "reflection")) p->padding = GS_REFLECTION;
    else return oti_node_fail(l, OT_ERR_INVALID, "padding_mode '%s' is not zeros, border or reflection", padding);
    return OT_OK;
}

ot_status oti_grid_sample_infer(ot_node_ctx *c) {
    OT_NODE_CHECK(c, c->n_in == 2 && c->in[0] && c->in[1], "needs inputs X and grid");
    const ot_tensor *x = c->in[0], *g = c->in[1];
    OT_NODE_CHECK(c, x->dtype == OT_FLOAT && g->dtype == OT_FLOAT, "X and grid must be float32");
    OT_NODE_CHECK(c, x->ndim == 4, "X must be (N, C, H, W), not of rank %d", x->ndim);
    OT_NODE_CHECK(c, g->ndim == 4 && g->dims[0] == x->dims[0] && g->dims[3] == 2,
                  "grid must be (N, H_out, W_out, 2) with N = %lld", (long long)x->dims[0]);
    ot_tensor_set_shape(c->out[0], OT_FLOAT, 4, (const int64_t[]){x->dims[0], x->dims[1], g->dims[1], g->dims[2]});
    return OT_OK;
}

/* A coordinate and d(coordinate)/d(its input), through each step. */
typedef struct coord {
    double v, grad;
} coord;

static coord unnormalize(double g, int64_t size, int align) {
    if (align) return (coord){(g + 1) / 2 * (double)(size - 1), (double)(size - 1) / 2};
    return (coord){((g + 1) * (double)size - 1) / 2, (double)size / 2};
}

static coord clip(coord c, int64_t size) {
    if (c.v <= 0) return (coord){0, 0};
    if (c.v >= (double)(size - 1)) return (coord){(double)(size - 1), 0};
    return c;
}

/* Mirrors into [twice_low / 2, twice_high / 2] (PyTorch's reflect_coordinates). */
static coord reflect(coord c, double twice_low, double twice_high) {
    if (twice_low == twice_high) return (coord){0, 0};
    double low = twice_low / 2, span = (twice_high - twice_low) / 2, in = c.v - low, sign = 1;
    if (in < 0) in = -in, sign = -1;
    double extra = fmod(in, span);
    if ((int64_t)floor(in / span) % 2 == 0) return (coord){extra + low, c.grad * sign};
    return (coord){span - extra + low, -c.grad * sign};
}

static coord pad(coord c, int64_t size, const ot_grid_sample_params *p) {
    if (p->padding == GS_BORDER) return clip(c, size);
    if (p->padding == GS_REFLECTION) {
        c = p->align_corners ? reflect(c, 0, 2.0 * (double)(size - 1)) : reflect(c, -1, 2.0 * (double)size - 1);
        return clip(c, size);
    }
    return c;
}

static int inside(int64_t x, int64_t y, int64_t w, int64_t h) { return x >= 0 && x < w && y >= 0 && y < h; }

static void cubic_weights(double t, double w[4]) {
    const double a = -0.75;
    double x1 = t + 1, x2 = t, x3 = 1 - t, x4 = 2 - t;
    w[0] = ((a * x1 - 5 * a) * x1 + 8 * a) * x1 - 4 * a;
    w[1] = ((a + 2) * x2 - (a + 3)) * x2 * x2 + 1;
    w[2] = ((a + 2) * x3 - (a + 3)) * x3 * x3 + 1;
    w[3] = ((a * x4 - 5 * a) * x4 + 8 * a) * x4 - 4 * a;
}

/* The taps of one output point: up to 16 (x, y, weight) reads of the plane, and for bilinear
 * the weights' derivatives by the unpadded coordinates (for the grid gradient). */
typedef struct taps {
    int n;
    int64_t x[16], y[16];
    double w[16], dw_dx[16], dw_dy[16];
    double gx, gy; /* d(padded coordinate)/d(grid value) */
} taps;

static void add_tap(taps *t, int64_t x, int64_t y, double w, double dx, double dy, int64_t width, int64_t height) {
    if (!inside(x, y, width, height)) return;
    int k = t->n++;
    t->x[k] = x, t->y[k] = y, t->w[k] = w, t->dw_dx[k] = dx, t->dw_dy[k] = dy;
}

static void taps_of(taps *t, const ot_grid_sample_params *p, double gx, double gy, int64_t width, int64_t height) {
    t->n = 0;
    coord ux = unnormalize(gx, width, (int)p->align_corners), uy = unnormalize(gy, height, (int)p->align_corners);
    if (p->mode == GS_BICUBIC) {
        int64_t x0 = (int64_t)floor(ux.v), y0 = (int64_t)floor(uy.v);
        double wx[4], wy[4];
        cubic_weights(ux.v - (double)x0, wx);
        cubic_weights(uy.v - (double)y0, wy);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
                coord cx = pad((coord){(double)(x0 - 1 + j), 1}, width, p), cy = pad((coord){(double)(y0 - 1 + i), 1}, height, p);
                add_tap(t, (int64_t)cx.v, (int64_t)cy.v, wx[j] * wy[i], 0, 0, width, height);
            }
        t->gx = t->gy = 0;
        return;
    }
    coord cx = pad(ux, width, p), cy = pad(uy, height, p);
    t->gx = cx.grad, t->gy = cy.grad; /* the chain through unnormalize and pad */
    if (p->mode == GS_NEAREST) {
        add_tap(t, (int64_t)nearbyint(cx.v), (int64_t)nearbyint(cy.v), 1, 0, 0, width, height);
        return;
    }
    int64_t x0 = (int64_t)floor(cx.v), y0 = (int64_t)floor(cy.v);
    double fx = cx.v - (double)x0, fy = cy.v - (double)y0;
    add_tap(t, x0, y0, (1 - fx) * (1 - fy), -(1 - fy), -(1 - fx), width, height);
    add_tap(t, x0 + 1, y0, fx * (1 - fy), 1 - fy, -fx, width, height);
    add_tap(t, x0, y0 + 1, (1 - fx) * fy, -fy, 1 - fx, width, height);
    add_tap(t, x0 + 1, y0 + 1, fx * fy, fy, fx, width, height);
}

typedef struct gs_view {
    int64_t n, channels, height, width, out_h, out_w;
} gs_view;

static gs_view view_of(const ot_node_ctx *c) {
    const ot_tensor *x = c->in[0], *g = c->in[1];
    return (gs_view){x->dims[0], x->dims[1], x->dims[2], x->dims[3], g->dims[1], g->dims[2]};
}

ot_status oti_grid_sample_forward(ot_node_ctx *c) {
    const ot_grid_sample_params *p = c->params;
    gs_view v = view_of(c);
    const float *x = c->in[0]->data, *grid = c->in[1]->data; // (N, C, H, W), (N, Ho, Wo, 2)
    float *y = c->out[0]->data;                               // (N, C, Ho, Wo)
    int64_t plane = v.height * v.width, out_plane = v.out_h * v.out_w;
    taps t;
    for (int64_t n = 0; n < v.n; n++)
        for (int64_t o = 0; o < out_plane; o++) {
            const float *g = grid + (n * out_plane + o) * 2;
            taps_of(&t, p, g[0], g[1], v.width, v.height);
            for (int64_t ch = 0; ch < v.channels; ch++) {
                const float *xp = x + (n * v.channels + ch) * plane;
                double sum = 0;
                for (int k = 0; k < t.n; k++) sum += t.w[k] * xp[t.y[k] * v.width + t.x[k]];
                y[(n * v.channels + ch) * out_plane + o] = (float)sum;
            }
        }
    return OT_OK;
}

ot_status oti_grid_sample_backward(ot_node_ctx *c) {
    const ot_grid_sample_params *p = c->params;
    if (!c->dout[0] || (!c->din[0] && !c->din[1])) return OT_OK;
    if (c->din[1] && p->mode == GS_BICUBIC)
        return oti_node_fail(c->layer, OT_ERR_UNSUPPORTED, "bicubic GridSample has no gradient for its grid");
    gs_view v = view_of(c);
    const float *x = c->in[0]->data, *grid = c->in[1]->data, *dy = c->dout[0]->data;
    float *dx = c->din[0] ? c->din[0]->data : NULL, *dgrid = c->din[1] ? c->din[1]->data : NULL;
    int64_t plane = v.height * v.width, out_plane = v.out_h * v.out_w;
    taps t;
    for (int64_t n = 0; n < v.n; n++)
        for (int64_t o = 0; o < out_plane; o++) {
            const float *g = grid + (n * out_plane + o) * 2;
            taps_of(&t, p, g[0], g[1], v.width, v.height);
            double gx = 0, gy = 0;
            for (int64_t ch = 0; ch < v.channels; ch++) {
                double d = dy[(n * v.channels + ch) * out_plane + o];
                const float *xp = x + (n * v.channels + ch) * plane;
                for (int k = 0; k < t.n; k++) {
                    int64_t at = t.y[k] * v.width + t.x[k];
                    if (dx) dx[(n * v.channels + ch) * plane + at] += (float)(d * t.w[k]);
                    gx += d * xp[at] * t.dw_dx[k];
                    gy += d * xp[at] * t.dw_dy[k];
                }
            }
            if (dgrid && p->mode == GS_BILINEAR) {
                float *dg = dgrid + (n * out_plane + o) * 2;
                dg[0] += (float)(gx * t.gx);
                dg[1] += (float)(gy * t.gy);
            }
        }
    return OT_OK;
}
