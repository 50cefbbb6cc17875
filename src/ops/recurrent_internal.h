/* The recurrent ops' attributes (recurrent_attrs.c: parsing, the activation lists) shared
 * with their kernels (recurrent.c). */
#ifndef OT_RECURRENT_INTERNAL_H
#define OT_RECURRENT_INTERNAL_H

#include "op.h"

/* Parameters ------------------------------------------------------------------------------ */

typedef enum rnn_kind { KIND_RNN, KIND_GRU, KIND_LSTM } rnn_kind;

typedef enum act_kind {
    ACT_SIGMOID, ACT_TANH, ACT_RELU, ACT_AFFINE, ACT_LEAKY_RELU, ACT_THRESHOLDED_RELU,
    ACT_SCALED_TANH, ACT_HARD_SIGMOID, ACT_ELU, ACT_SOFTSIGN, ACT_SOFTPLUS
} act_kind;

typedef struct rnn_act {
    act_kind kind;
    float alpha, beta;
} rnn_act;

#define MAX_ACTS 6 /* 3 per direction (LSTM f, g, h) */

typedef struct recurrent_params {
    rnn_kind kind;
    int gates;          /* G: 1, 3, 4 */
    int directions;     /* D: 1 or 2 */
    int reverse;        /* direction "reverse" */
    int layout;         /* 0: time first, 1: batch first */
    int64_t hidden;     /* hidden_size; 0 when absent (then R's last dim) */
    float clip;         /* 0: no clip */
    int linear_before_reset, input_forget;
    int acts_per_dir;   /* RNN 1 (f), GRU 2 (f, g), LSTM 3 (f, g, h) */
    rnn_act acts[MAX_ACTS];
} recurrent_params;

ot_status oti_recurrent_parse_rnn(const ot_layer *l, void *params);
ot_status oti_recurrent_parse_gru(const ot_layer *l, void *params);
ot_status oti_recurrent_parse_lstm(const ot_layer *l, void *params);

/* y (n) = act(clip(z)) (clip 0: none). */
void oti_recurrent_act_forward(const rnn_act *a, float clip, float *y, const float *z, int64_t n);
/* y (n) = act(clip(z)) and dy (n) = its derivative in z (0 where clip bounds z). */
void oti_recurrent_act_backward(const rnn_act *a, float clip, float *y, float *dy, const float *z, int64_t n);

#endif
