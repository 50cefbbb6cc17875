/* The plan's internals, shared by plan.c (building) and run.c (forward/backward). */
#ifndef OT_PLAN_INTERNAL_H
#define OT_PLAN_INTERNAL_H

#include "ops/op.h"
#include "onnxtrain/plan.h"

/* VALUE_SEQUENCE: a sequence, held as the list of its elements (a SequenceConstruct's inputs,
 * graph/sequence.h); it has no tensor of its own. */
enum { VALUE_UNUSED = 0, VALUE_FEED, VALUE_CONST, VALUE_COMPUTED, VALUE_SEQUENCE };

struct control_step;
struct oti_inlined_model;

typedef struct plan_step {
    int layer;
    int folded;       /* computed once at plan time */
    int run_backward; /* some input needs a gradient */
    ot_node_ctx ctx;  /* prebuilt: every run reuses it */
    ot_tensor **in, **out, **din, **dout;
    unsigned char *in_known;
    struct control_step *control; /* If, Loop, Scan: their subgraphs' plans (control.h) */
    int profile_row;  /* the options' profile row of this layer, -1 if none */
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
    /* model is the caller's, or a view of it with Ifs whose conditions were known at plan
     * time replaced by their branches (graph/inline.h): the caller's values keep their
     * indices, n_caller_values of them; the views are freed with the plan, newest last. */
    int n_caller_values;
    struct oti_inlined_model **inlined;
    int n_inlined;
    /* Set by infer: this If's condition is known (inline_choice: the branch), or this Loop
     * trains with a known trip count (inline_choice: the count), or this sequence op is
     * lowered (sequence_plan.c); -1 otherwise. */
    int inline_layer;
    int64_t inline_choice;
    /* Subgraph plans point to the plan the caller runs: its loop_iterations counts every Loop
     * iteration of one forward, nested ones included, against the context's limit. */
    struct ot_plan *root;
    int64_t loop_iterations;
};

/* The caller's trained flag and gradient storage for value v (none past the caller's values). */
static inline int plan_is_trainable(const ot_plan *p, int v) {
    return p->options.trainable && v >= 0 && v < p->n_caller_values && p->options.trainable[v];
}
static inline float *plan_param_grad(const ot_plan *p, int v) {
    return p->options.param_grads && v >= 0 && v < p->n_caller_values ? p->options.param_grads[v] : NULL;
}

/* Plan time, step s (layer l), which makes or reads a sequence: a SequenceConstruct makes its
 * output a VALUE_SEQUENCE and is folded; any other sequence op, or an Identity of a sequence,
 * sets p->inline_layer to be lowered (graph/sequence.h). Another op reading a sequence is an
 * error naming it. */
int oti_step_uses_sequence(const ot_plan *p, const plan_step *s);
ot_status oti_sequence_infer(ot_plan *p, plan_step *s);
/* allocate(): the elements of sequence target `value` stay alive to the end (last[v] = end). */
void oti_sequence_keep_elements(const ot_plan *p, int value, int *last, int end);

/* Everything ot_plan_create does once p exists (plan.c): steps, shapes, folding, gradients and
 * the arena, unless infer sets p->inline_layer; a failure leaves p for ot_plan_free. */
ot_status oti_plan_build(ot_plan *p, int n_feeds, const int *feeds, const ot_tensor *feed_shapes,
                         const unsigned char *constant);

/* A plan of a subgraph (an If branch, a Loop or Scan body) inside parent's: parent's context
 * and convolution options, inference mode. Feeds with constant[i] set are constants of the
 * subgraph with shapes[i].data (borrowed: parent's folded values and initializers); the others
 * are bound before each run. */
ot_status oti_plan_create_sub(const ot_plan *parent, ot_model *subgraph, int n_feeds, const int *feeds,
                              const ot_tensor *shapes, const unsigned char *constant, ot_plan **out);

#endif
