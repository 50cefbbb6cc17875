/* The trained parameters of a model packed into one contiguous block, owned by the trainer
 * while it trains (the model's tensors point into it), with a gradient block of the same
 * layout: optimizer steps and regularisers are flat loops. */
#ifndef OT_PARAMETERS_H
#define OT_PARAMETERS_H

#include "onnxtrain/model.h"

typedef struct ot_parameters {
    int count;          /* trained tensors */
    int *values;        /* their value indices */
    int64_t *offsets;   /* where each starts in the block */
    int64_t total;      /* floats */
    float *block;       /* total floats; the trained tensors' data */
    float *grads;       /* total floats */
    float **grad_of_value;     /* per value index: its gradient in grads, or NULL */
    unsigned char *trainable;  /* per value index */
    /* max-norm: for each tensor, the number of output units and the layout of a unit's
     * incoming weights: element (u, k) at offset u * unit_stride + k * elem_stride. */
    int64_t *units, *unit_len, *unit_stride, *elem_stride; /* units 0: not constrained */
} ot_parameters;

/* Whether value v is trained: a parameter (ot_graph_is_parameter) that is not frozen. */
int oti_parameter_is_trained(const ot_model *m, int v);

/* Packs every trained value (oti_parameter_is_trained). The model's tensors then point into
 * the block. Tensors still in previous's block (a repack: gradual unfreezing) get their own
 * storage, so previous can be freed afterwards. */
ot_status oti_parameters_collect(const ot_context *ctx, ot_model *m, const ot_parameters *previous,
                                ot_parameters *p);
/* Gives the model's tensors their own storage again and frees p (training is over). */
ot_status oti_parameters_release(ot_model *m, ot_parameters *p);
/* Frees p and its block: only when no tensor of a model points into it. */
void oti_parameters_free(ot_parameters *p);

/* Regularisers and constraints over the block. */
void oti_add_l1_l2(float *grads, const float *params, int64_t n, float l1, float l2);
void oti_clip_by_value(float *grads, int64_t n, float limit);
/* Scales grads so their global L2 norm is at most max_norm (PyTorch clip_grad_norm_);
 * returns the norm before clipping. */
double oti_clip_by_norm(float *grads, int64_t n, double max_norm);
/* Rescales each output unit's incoming weights of Gemm/MatMul/Conv to L2 norm <= r
 * (torch.renorm semantics); biases untouched. */
void oti_apply_max_norm(ot_parameters *p, double r);

#endif
