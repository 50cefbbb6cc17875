/* If, Loop and Scan: the attributes their rows parse (control_flow.c), read by the plan that
 * runs them (src/exec/control*.c). The subgraphs are borrowed from the layer's attributes. */
#ifndef OT_CONTROL_FLOW_H
#define OT_CONTROL_FLOW_H

#include "op.h"

/* Scan inputs or outputs one node may have (each with an axis and a direction). */
#define OT_SCAN_MAX 32

typedef enum ot_control_kind { OT_CONTROL_IF, OT_CONTROL_LOOP, OT_CONTROL_SCAN } ot_control_kind;

typedef struct ot_control_params {
    ot_control_kind kind;
    const ot_model *branches[2]; /* If: else_branch [0], then_branch [1] (indexed by the condition) */
    const ot_model *body;        /* Loop, Scan */
    /* Scan: the node's inputs are [sequence_lens (opset 8 only)] N states, M scan inputs; the
     * body's outputs N states, K scan outputs. Opset 8 has a batch dim before every axis. */
    int first_state, n_states, n_scan_inputs, n_scan_outputs, batched;
    int input_axes[OT_SCAN_MAX], input_reverse[OT_SCAN_MAX];
    int output_axes[OT_SCAN_MAX], output_reverse[OT_SCAN_MAX];
} ot_control_params;

#endif
