/* The plan's internals, shared by plan.c (building) and run.c (forward/backward). */
#ifndef OT_PLAN_INTERNAL_H
#define OT_PLAN_INTERNAL_H

#include "ops/op.h"
#include "onnxtrain/plan.h"

enum { VALUE_UNUSED = 0, VALUE_FEED, VALUE_CONST, VALUE_COMPUTED };

typedef struct plan_step {
    int layer;
    int folded;       /* computed once at plan time */
    int run_backward; /* some input needs a gradient */
    ot_node_ctx ctx;  /* prebuilt: every run reuses it */
    ot_tensor **in, **out, **din, **dout;
    unsigned char *in_known;
} plan_step;

struct ot_plan {
    ot_model *model;
    ot_plan_options options;
    int n_values;
    ot_tensor *vals;  /* per value: shape, dtype, data */
    ot_tensor *grads; /* per value: data NULL where no gradient flows */
    unsigned char *state;
    unsigned char *needs_grad;
    plan_step *steps;
    int n_steps;
    unsigned char *arena; /* activations, their gradients, saved state */
    size_t arena_bytes;
    unsigned char *grad_begin; /* the gradient part of the arena, zeroed each step */
    size_t grad_bytes;
    /* Gradients share memory when their lifetimes in backward do not overlap: grad_first[v] is
     * the step (forward index) whose backward first touches value v's gradient, where it is
     * zeroed; n_steps for gradients the caller sets before backward (the targets'). */
    int *grad_first;
    void *workspace; /* shared scratch */
    size_t workspace_bytes;
    void **folded_blocks; /* outputs of folded layers */
    int n_folded_blocks;
};

#endif
