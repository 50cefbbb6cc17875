/* DFT (opset 17) and STFT (opset 17), in double inside, as plain O(n^2) sums over a cos/sin
 * table (n is a frame or a short axis; no FFT needed at these sizes).
 * DFT: X (..., c) with c = 1 (real) or 2 (re, im); transforms along `axis` (default 1; not the
 *   last dim) with length dft_length (input 1, default the axis' size: the signal is cut or
 *   zero-padded to it); inverse scales by 1 / n and turns the sign; onesided keeps the first
 *   n / 2 + 1 bins. Output (..., 2), the axis' size n or n / 2 + 1.
 * STFT: signal (batch, length, c), frame_step, optional window (frame_length) and frame_length
 *   -> (batch, frames, bins, 2), frames = 1 + (length - frame_length) / frame_step, each frame
 *   multiplied by the window and transformed (onesided, the default: bins = frame_length / 2 +
 *   1). Gradients: the transforms are linear, so dX is the adjoint transform of dY (the
 *   opposite sign); STFT's window gets the frames times that adjoint too. */
#include <math.h>
#include <string.h>

#include "core/util.h"
#include "signal_internal.h"

void oti_signal_dft_1d(double *y_re, double *y_im, const double *x_re, const double *x_im, int64_t n_x,
                      int64_t n_y, int64_t n, int sign, double scale, const double *cos_table,
                      const double *sin_table) {
    for (int64_t m = 0; m < n_y; m++) {
        double re = 0.0, im = 0.0;
        for (int64_t l = 0, t = 0; l < n_x; l++, t = (t + m) % n) {
            /* x * (cos + i sign sin) */
            double c = cos_table[t], s = sign * sin_table[t], xi = x_im ? x_im[l] : 0.0;
            re += x_re[l] * c - xi * s;
            im += x_re[l] * s + xi * c;
        }
        y_re[m] = scale * re;
        y_im[m] = scale * im;
    }
}

/* Shared by both ops: the transform's lengths, and the workspace's parts. */
typedef struct dft_call {
    int64_t n, n_x, n_y; /* transform length, signal values used, bins kept */
    double *cos_table, *sin_table, *a_re, *a_im, *b_re, *b_im;
} dft_call;

static size_t dft_workspace(int64_t n, int64_t longest) {
    return sizeof(double) * (size_t)(2 * n + 4 * longest);
}

static void dft_call_init(dft_call *k, void *workspace, int64_t n, int64_t n_x, int64_t n_y) {
    int64_t longest = n_x > n_y ? n_x : n_y;
    double *w = workspace;
    *k = (dft_call){.n = n, .n_x = n_x, .n_y = n_y, .cos_table = w, .sin_table = w + n, .a_re = w + 2 * n,
                    .a_im = w + 2 * n + longest, .b_re = w + 2 * n + 2 * longest, .b_im = w + 2 * n + 3 * longest};
    for (int64_t t = 0; t < n; t++) {
        k->cos_table[t] = cos(2.0 * M_PI * (double)t / (double)n);
        k->sin_table[t] = sin(2.0 * M_PI * (double)t / (double)n);
    }
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* ---- DFT ---- */

ot_status oti_signal_parse_dft(const ot_layer *l, void *params) {
    ot_signal_dft_params *p = params;
    OT_TRY(oti_attr_get_int(l, "axis", 1, &p->axis));
    OT_TRY(oti_attr_get_int(l, "inverse", 0, &p->inverse));
    return oti_attr_get_int(l, "onesided", 0, &p->onesided);
}

/* X as (outer, along, inner, c) around the axis. */
typedef struct dft_view {
    int axis;
    int64_t outer, along, inner, channels, n, bins;
} dft_view;

static ot_status dft_view_of(const ot_node_ctx *c, dft_view *v) {
    const ot_signal_dft_params *p = c->params;
    const ot_tensor *x = c->in[0];
    OT_NODE_CHECK(c, x->dtype == OT_FLOAT, "input must be float32, not %s", ot_dtype_name(x->dtype));
    OT_NODE_CHECK(c, x->ndim >= 3 && (x->dims[x->ndim - 1] == 1 || x->dims[x->ndim - 1] == 2),
                  "input must be (batch, ..., 1 or 2), not of rank %d", x->ndim);
    v->axis = oti_normalize_axis(p->axis, x->ndim);
    OT_NODE_CHECK(c, v->axis >= 0 && v->axis < x->ndim - 1, "axis %lld must name a dim before the last", (long long)p->axis);
    v->outer = ot_dims_numel(v->axis, x->dims);
    v->along = x->dims[v->axis];
    v->inner = ot_dims_numel(x->ndim - v->axis - 2, x->dims + v->axis + 1);
    v->channels = x->dims[x->ndim - 1];
    v->n = v->along;
    if (c->n_in > 1 && c->in[1] && ot_tensor_numel(c->in[1]) > 0) OT_TRY(oti_signal_known_int(c, 1, "dft_length", &v->n));
    OT_NODE_CHECK(c, v->n > 0, "dft_length must be positive, not %lld", (long long)v->n);
    v->bins = p->onesided ? v->n / 2 + 1 : v->n;
    return OT_OK;
}

ot_status oti_signal_infer_dft(ot_node_ctx *c) {
    OT_NODE_CHECK(c, c->n_in >= 1 && c->in[0], "needs an input");
    dft_view v;
    OT_TRY(dft_view_of(c, &v));
    int64_t dims[OT_MAX_DIMS];
    memcpy(dims, c->in[0]->dims, sizeof(int64_t) * (size_t)c->in[0]->ndim);
    dims[v.axis] = v.bins;
    dims[c->in[0]->ndim - 1] = 2;
    ot_tensor_set_shape(c->out[0], OT_FLOAT, c->in[0]->ndim, dims);
    c->workspace_bytes = dft_workspace(v.n, v.along > v.bins ? v.along : v.bins);
    return OT_OK;
}

/* Forward (adjoint = 0) or its adjoint, over every 1-D line of the tensor. */
static ot_status dft_lines(ot_node_ctx *c, int adjoint) {
    const ot_signal_dft_params *p = c->params;
    dft_view v;
    OT_TRY(dft_view_of(c, &v));
    dft_call k;
    dft_call_init(&k, c->workspace, v.n, min64(v.along, v.n), v.bins);
    int sign = p->inverse ? 1 : -1;
    double scale = p->inverse ? 1.0 / (double)v.n : 1.0;
    const float *x = adjoint ? c->dout[0]->data : c->in[0]->data; // (outer, along | bins, inner, channels | 2)
    float *y = adjoint ? c->din[0]->data : c->out[0]->data;       // (outer, bins | along, inner, 2 | channels)
    int64_t src_len = adjoint ? v.bins : v.along, dst_len = adjoint ? v.along : v.bins;
    int64_t src_ch = adjoint ? 2 : v.channels, dst_ch = adjoint ? v.channels : 2;
    int64_t used_src = adjoint ? k.n_y : k.n_x, used_dst = adjoint ? k.n_x : k.n_y;
    for (int64_t o = 0; o < v.outer; o++)
        for (int64_t j = 0; j < v.inner; j++) {
            for (int64_t l = 0; l < used_src; l++) {
                const float *e = x + ((o * src_len + l) * v.inner + j) * src_ch;
                k.a_re[l] = e[0];
                k.a_im[l] = src_ch == 2 ? e[1] : 0.0;
            }
            oti_signal_dft_1d(k.b_re, k.b_im, k.a_re, k.a_im, used_src, used_dst, v.n, adjoint ? -sign : sign, scale,
                              k.cos_table, k.sin_table);
            for (int64_t m = 0; m < dst_len; m++) {
                float *e = y + ((o * dst_len + m) * v.inner + j) * dst_ch;
                double re = m < used_dst ? k.b_re[m] : 0.0, im = m < used_dst ? k.b_im[m] : 0.0;
                if (adjoint) {
                    e[0] += (float)re;
                    if (dst_ch == 2) e[1] += (float)im;
                } else {
                    e[0] = (float)re;
                    e[1] = (float)im;
                }
            }
        }
    return OT_OK;
}

ot_status oti_signal_forward_dft(ot_node_ctx *c) { return dft_lines(c, 0); }

ot_status oti_signal_backward_dft(ot_node_ctx *c) {
    if (!c->din[0] || !c->dout[0]) return OT_OK;
    return dft_lines(c, 1);
}

/* ---- STFT ---- */

ot_status oti_signal_parse_stft(const ot_layer *l, void *params) {
    ot_signal_dft_params *p = params;
    p->axis = 1;
    p->inverse = 0;
    return oti_attr_get_int(l, "onesided", 1, &p->onesided);
}

typedef struct stft_view {
    int64_t batch, length, channels, step, frame, frames, bins;
    const float *window; /* NULL: ones */
} stft_view;

static ot_status stft_view_of(const ot_node_ctx *c, stft_view *v) {
    const ot_signal_dft_params *p = c->params;
    const ot_tensor *x = c->in[0];
    OT_NODE_CHECK(c, x->dtype == OT_FLOAT && x->ndim == 3 && (x->dims[2] == 1 || x->dims[2] == 2),
                  "signal must be float32 (batch, length, 1 or 2)");
    *v = (stft_view){.batch = x->dims[0], .length = x->dims[1], .channels = x->dims[2], .frame = x->dims[1]};
    OT_TRY(oti_signal_known_int(c, 1, "frame_step", &v->step));
    OT_NODE_CHECK(c, v->step > 0, "frame_step must be positive, not %lld", (long long)v->step);
    const ot_tensor *w = c->n_in > 2 && c->in[2] && ot_tensor_numel(c->in[2]) > 0 ? c->in[2] : NULL;
    if (w) {
        OT_NODE_CHECK(c, w->dtype == OT_FLOAT && w->ndim == 1, "window must be a 1-D float32 tensor");
        v->frame = w->dims[0];
        v->window = w->data;
    }
    if (c->n_in > 3 && c->in[3] && ot_tensor_numel(c->in[3]) > 0) {
        OT_TRY(oti_signal_known_int(c, 3, "frame_length", &v->frame));
        OT_NODE_CHECK(c, !w || w->dims[0] == v->frame, "window has %lld values, frame_length is %lld",
                      (long long)w->dims[0], (long long)v->frame);
    }
    OT_NODE_CHECK(c, v->frame > 0 && v->frame <= v->length, "frame_length %lld must be in [1, %lld] (the signal length)",
                  (long long)v->frame, (long long)v->length);
    v->frames = 1 + (v->length - v->frame) / v->step;
    v->bins = p->onesided ? v->frame / 2 + 1 : v->frame;
    return OT_OK;
}

ot_status oti_signal_infer_stft(ot_node_ctx *c) {
    OT_NODE_CHECK(c, c->n_in >= 2 && c->in[0] && c->in[1], "needs inputs signal and frame_step");
    stft_view v;
    OT_TRY(stft_view_of(c, &v));
    ot_tensor_set_shape(c->out[0], OT_FLOAT, 4, (const int64_t[]){v.batch, v.frames, v.bins, 2});
    c->workspace_bytes = dft_workspace(v.frame, v.frame);
    return OT_OK;
}

ot_status oti_signal_forward_stft(ot_node_ctx *c) {
    stft_view v;
    OT_TRY(stft_view_of(c, &v));
    dft_call k;
    dft_call_init(&k, c->workspace, v.frame, v.frame, v.bins);
    const float *x = c->in[0]->data; // (batch, length, channels)
    float *y = c->out[0]->data;      // (batch, frames, bins, 2)
    for (int64_t b = 0; b < v.batch; b++)
        for (int64_t f = 0; f < v.frames; f++) {
            for (int64_t l = 0; l < v.frame; l++) {
                const float *e = x + (b * v.length + f * v.step + l) * v.channels;
                double w = v.window ? v.window[l] : 1.0;
                k.a_re[l] = w * e[0];
                k.a_im[l] = v.channels == 2 ? w * e[1] : 0.0;
            }
            oti_signal_dft_1d(k.b_re, k.b_im, k.a_re, k.a_im, v.frame, v.bins, v.frame, -1, 1.0, k.cos_table,
                              k.sin_table);
            for (int64_t m = 0; m < v.bins; m++) {
                float *e = y + ((b * v.frames + f) * v.bins + m) * 2;
                e[0] = (float)k.b_re[m];
                e[1] = (float)k.b_im[m];
            }
        }
    return OT_OK;
}

ot_status oti_signal_backward_stft(ot_node_ctx *c) {
    float *dx = c->din[0] ? c->din[0]->data : NULL; // (batch, length, channels)
    float *dw = c->n_in > 2 && c->din[2] ? c->din[2]->data : NULL;
    if ((!dx && !dw) || !c->dout[0]) return OT_OK;
    stft_view v;
    OT_TRY(stft_view_of(c, &v));
    dft_call k;
    dft_call_init(&k, c->workspace, v.frame, v.frame, v.bins);
    const float *x = c->in[0]->data, *dy = c->dout[0]->data; // dy: (batch, frames, bins, 2)
    for (int64_t b = 0; b < v.batch; b++)
        for (int64_t f = 0; f < v.frames; f++) {
            for (int64_t m = 0; m < v.bins; m++) {
                k.a_re[m] = dy[((b * v.frames + f) * v.bins + m) * 2];
                k.a_im[m] = dy[((b * v.frames + f) * v.bins + m) * 2 + 1];
            }
            /* The adjoint: the gradient of each windowed frame value. */
            oti_signal_dft_1d(k.b_re, k.b_im, k.a_re, k.a_im, v.bins, v.frame, v.frame, 1, 1.0, k.cos_table,
                              k.sin_table);
            for (int64_t l = 0; l < v.frame; l++) {
                int64_t at = (b * v.length + f * v.step + l) * v.channels;
                double w = v.window ? v.window[l] : 1.0;
                if (dx) {
                    dx[at] += (float)(w * k.b_re[l]);
                    if (v.channels == 2) dx[at + 1] += (float)(w * k.b_im[l]);
                }
                if (dw) dw[l] += (float)(x[at] * k.b_re[l] + (v.channels == 2 ? x[at + 1] * k.b_im[l] : 0.0));
            }
        }
    return OT_OK;
}
