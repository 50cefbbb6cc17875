/* Shared by the 'signal' family (signal.c: windows and MelWeightMatrix; signal_dft.c: DFT and
 * STFT). */
#ifndef OT_SIGNAL_INTERNAL_H
#define OT_SIGNAL_INTERNAL_H

#include "op.h"

/* The one value of input k (int64 or int32, a scalar or one element), known when the plan is
 * built; `what` names it in errors. */
ot_status oti_signal_known_int(const ot_node_ctx *c, int k, const char *what, int64_t *out);

/* y[m] = scale * sum_{l < n_x} x[l] * exp(sign * 2 pi i l m / n) for m < n_y: one complex
 * transform of length n over a strided signal (x_imag NULL: real), written as re/im pairs
 * with stride y_stride (in pairs). cos_table/sin_table hold cos/sin(2 pi t / n), t < n. The
 * DFT is linear: its gradient is the same sum with the opposite sign, from y back to x. */
void oti_signal_dft_1d(double *y_re, double *y_im, const double *x_re, const double *x_im, int64_t n_x,
                      int64_t n_y, int64_t n, int sign, double scale, const double *cos_table,
                      const double *sin_table);

ot_status oti_signal_parse_dft(const ot_layer *l, void *params);
ot_status oti_signal_infer_dft(ot_node_ctx *c);
ot_status oti_signal_forward_dft(ot_node_ctx *c);
ot_status oti_signal_backward_dft(ot_node_ctx *c);
ot_status oti_signal_parse_stft(const ot_layer *l, void *params);
ot_status oti_signal_infer_stft(ot_node_ctx *c);
ot_status oti_signal_forward_stft(ot_node_ctx *c);
ot_status oti_signal_backward_stft(ot_node_ctx *c);

typedef struct ot_signal_dft_params {
    int64_t axis, inverse, onesided;
} ot_signal_dft_params;

#endif
