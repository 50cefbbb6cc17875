/* Einsum, part of the matmul family (its row lives in matmul.c's table). */
#ifndef OT_EINSUM_H
#define OT_EINSUM_H

#include "op.h"

#define OT_EINSUM_MAX_INPUTS 8

/* One term of the equation: labels 0..51 ('A'..'Z', 'a'..'z'), OT_EINSUM_ELLIPSIS for "...". */
#define OT_EINSUM_ELLIPSIS (-1)
typedef struct ot_einsum_term {
    int n;
    int8_t sym[OT_MAX_DIMS + 1];
    int ellipsis;
} ot_einsum_term;

typedef struct ot_einsum_params {
    int n_inputs;
    ot_einsum_term in[OT_EINSUM_MAX_INPUTS];
    ot_einsum_term out;
    int explicit_output; /* "->" given; otherwise numpy's implicit output */
} ot_einsum_params;

ot_status oti_einsum_parse(const ot_layer *l, void *params);
ot_status oti_einsum_infer(ot_node_ctx *c);
ot_status oti_einsum_forward(ot_node_ctx *c);
ot_status oti_einsum_backward(ot_node_ctx *c);

#endif
