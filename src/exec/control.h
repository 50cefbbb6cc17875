/* Control flow steps (If, Loop, Scan) inside a plan: their subgraphs' plans and the state a
 * loop carries. control_plan.c builds them when the parent plan is made, control_run.c runs
 * them.
 *
 * An If whose condition is known at plan time is not a step at all: the plan replaces it by
 * its branch (graph/inline.h), so training runs through it; so is a Loop whose trip count is
 * known, or a Scan from opset 9, in a training plan that needs gradients through it
 * (unrolled: one copy of the body per iteration). Otherwise subgraphs run as plans of their own, nested in the step, for inference
 * only:
 * - If: both branches are planned; each output must have one shape in both.
 * - Loop: the body is planned once (again each iteration when its shapes depend on the
 *   iteration number, e.g. a Slice at it: that allocates). Scan outputs are [count, ...];
 *   when the count is known only at run time (a condition from data, a trip count computed
 *   from values), they are allocated when the loop runs, and only graph outputs may be such.
 * - Scan: the body is planned once; the sequence length comes from the input shapes. */
#ifndef OT_EXEC_CONTROL_H
#define OT_EXEC_CONTROL_H

#include "ops/control_flow.h"
#include "plan_internal.h"

/* A subgraph and its plan. Feeds are the subgraph's inputs, then the enclosing values it
 * reads. */
typedef struct control_body {
    ot_model *model;
    ot_plan *plan;
    int n_feeds;
    int *feeds;              /* subgraph value per feed */
    int *source;             /* per feed: the parent plan's value, -1 for the subgraph's inputs */
    ot_tensor *shapes;       /* per feed: dtype, dims; data for constant ones */
    unsigned char *constant; /* per feed: fixed when planned */
} control_body;

typedef struct control_step {
    const ot_control_params *params;
    control_body bodies[2]; /* If: else, then; Loop and Scan: [0] */
    int per_iteration;      /* Loop: the body is planned again each iteration */
    int64_t count;          /* Loop: iterations if known when planned, else -1; Scan: the length */
    int64_t batches;        /* Scan-8: the batch size; 1 otherwise */
    int64_t iteration;      /* Loop: the body's iteration-number input */
    unsigned char cond;     /* Loop: the condition as it runs */
    /* Loop: the body's condition input, the constant true: the body only ever runs while the
     * condition holds, so a body passing it on (Identity) keeps the count known. */
    unsigned char body_cond;
    unsigned char *carried[2]; /* loop-carried states, double buffered, state_offset[j] apart */
    size_t *state_offset, *state_bytes;
    unsigned char **slices;    /* Scan: one slice per scan input */
    unsigned char **dynamic;   /* Loop scan outputs whose length is known only at run time */
    size_t *dynamic_capacity;
} control_step;

/* The planned tensor of output k of a body. */
static inline const ot_tensor *control_body_output(const control_body *b, int k) {
    return ot_plan_value(b->plan, b->model->outputs[k]);
}

/* Plan time, step i of p: plans the subgraphs and sets the outputs' shapes; or, for an If
 * whose condition is known, sets p->inline_layer and p->inline_branch. */
ot_status oti_control_infer(ot_plan *p, plan_step *s, int i);
/* A Loop that carries or reads a sequence: unrolled into copies of its body (the plan's
 * inline_layer and inline_choice), in which the sequence ops lower as anywhere else. Needs the
 * trip count when the plan is made and a body that runs all of it; else an error naming it. */
ot_status oti_control_unroll_sequences(ot_plan *p, const plan_step *s);
ot_status oti_control_forward(ot_plan *p, plan_step *s);
void oti_control_free(control_step *c);

/* control_plan.c, for control_run.c: plans body b (again) with its feeds' current shapes;
 * the loop's iteration number is fixed when per_iteration. */
ot_status oti_control_plan_body(const ot_plan *p, control_step *c, int b);
/* Binds the body's outer feeds to the parent's current data. */
void oti_control_bind_outer(const ot_plan *p, control_body *body);

#endif
