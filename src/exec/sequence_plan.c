/* Sequences in a plan (plan_internal.h): a SequenceConstruct's output is the list of its
 * inputs, known while the plan is built and never a tensor; every other op on a sequence is
 * lowered into tensor ops on the elements in a view of the model (graph/sequence.h), once
 * the shapes and positions it reads are known, and planning starts again on the view. */
#include "core/error.h"
#include "graph/sequence.h"
#include "ops/sequence.h"
#include "control.h"
#include "ops/control_flow.h"
#include "plan_internal.h"

int oti_step_uses_sequence(const ot_plan *p, const plan_step *s) {
    const ot_layer *l = &p->model->layers[s->layer];
    if (l->op->flags & OT_OP_SEQUENCE) return 1;
    for (int k = 0; k < l->n_inputs; k++)
        if (l->inputs[k] >= 0 && p->state[l->inputs[k]] == VALUE_SEQUENCE) return 1;
    return 0;
}

ot_status oti_sequence_infer(ot_plan *p, plan_step *s) {
    const ot_layer *l = &p->model->layers[s->layer];
    const ot_sequence_params *params = oti_sequence_params(l);
    if ((l->op->flags & OT_OP_CONTROL_FLOW) && ((const ot_control_params *)l->params)->kind == OT_CONTROL_LOOP)
        return oti_control_unroll_sequences(p, s);
    for (int k = 0; k < l->n_inputs; k++) {
        int v = l->inputs[k];
        int sequence = v >= 0 && p->state[v] == VALUE_SEQUENCE;
        int wants = params ? params->kind != OT_SEQUENCE_CONSTRUCT && params->kind != OT_SEQUENCE_SPLIT && k == 0
                           : (l->op->flags & OT_OP_COPY) != 0;
        if (sequence && !wants)
            return oti_fail(OT_ERR_UNSUPPORTED, "%s node '%s': input '%s' is a sequence; only sequence ops and "
                            "Identity read sequences here", l->op_type, l->name, p->model->values[v].name);
        if (!sequence && wants && params)
            return oti_fail(OT_ERR_UNSUPPORTED, "%s node '%s': input '%s' is not a sequence made in this graph "
                            "(sequence inputs of a graph are not supported here)", l->op_type, l->name,
                            v >= 0 ? p->model->values[v].name : "");
    }
    if (params && params->kind == OT_SEQUENCE_CONSTRUCT) {
        for (int k = 0; k < l->n_outputs; k++)
            if (l->outputs[k] >= 0) p->state[l->outputs[k]] = VALUE_SEQUENCE;
        s->folded = 1; /* nothing runs: readers of the sequence are lowered to read its elements */
        return OT_OK;
    }
    p->inline_layer = s->layer;
    return OT_OK;
}

void oti_sequence_keep_elements(const ot_plan *p, int value, int *last, int end) {
    const int *elements;
    for (int k = oti_sequence_elements(p->model, value, &elements) - 1; k >= 0; k--) last[elements[k]] = end;
}

/* The plan's model (a view) says which values a sequence holds, also for a sequence input whose
 * list nothing reads (its elements are then unused: NULL). */
int ot_plan_sequence_length(const ot_plan *p, int value) {
    const int *elements;
    if (value < 0 || value >= p->n_values) return -1;
    return oti_sequence_elements(p->model, value, &elements);
}

ot_tensor *ot_plan_sequence_element(ot_plan *p, int value, int k) {
    const int *elements;
    if (k < 0 || k >= ot_plan_sequence_length(p, value)) return NULL;
    oti_sequence_elements(p->model, value, &elements);
    return ot_plan_value(p, elements[k]);
}
