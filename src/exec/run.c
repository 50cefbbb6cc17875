/* Running a plan: forward over the steps in order, backward in reverse. No allocation. */
#include <string.h>

#include "core/context_internal.h"
#include "core/util.h"
#include "control.h"
#include "plan_internal.h"
#include "profile_internal.h"
#include "core/error.h"

ot_status ot_plan_forward(ot_plan *p) {
    if (!p->root) p->loop_iterations = 0;
    for (int v = 0; v < p->n_values; v++)
        if (p->state[v] == VALUE_FEED && !p->vals[v].data)
            return oti_fail(OT_ERR_INVALID, "input '%s' has no data bound",
                           p->model->values[v].name);
    for (int i = 0; i < p->n_steps; i++) {
        plan_step *s = &p->steps[i];
        if (s->folded) continue;
        const ot_layer *l = &p->model->layers[s->layer];
        double start = p->options.profile ? oti_now_ms() : 0.0;
        ot_status status = s->control ? oti_control_forward(p, s) : l->op->forward(&s->ctx);
        if (status != OT_OK) return status;
        oti_op_fit_outputs(&s->ctx);
        if (p->options.profile) oti_profile_add(p->options.profile, s->profile_row, 0, (oti_now_ms() - start) / 1e3);
    }
    return OT_OK;
}

void ot_plan_zero_grads(ot_plan *p) {
    if (p->grad_bytes) oti_parallel_zero(oti_context_pool(p->options.context), p->grad_begin, p->grad_bytes);
}

/* Gradients whose memory another gradient used earlier in this backward start here: zeroed
 * before the step adds into them. */
static void zero_reused_gradients(ot_plan *p, const plan_step *s, int i) {
    const ot_layer *l = &p->model->layers[s->layer];
    for (int k = 0; k < l->n_outputs; k++)
        if (s->dout[k] && p->grad_first[l->outputs[k]] == i) memset(s->dout[k]->data, 0, sizeof(float) * (size_t)ot_tensor_numel(s->dout[k]));
    for (int k = 0; k < l->n_inputs; k++)
        if (s->din[k] && p->grad_first[l->inputs[k]] == i && !plan_param_grad(p, l->inputs[k]))
            memset(s->din[k]->data, 0, sizeof(float) * (size_t)ot_tensor_numel(s->din[k]));
}

ot_status ot_plan_backward(ot_plan *p) {
    for (int i = p->n_steps - 1; i >= 0; i--) {
        plan_step *s = &p->steps[i];
        if (!s->run_backward) continue;
        /* Skip layers none of whose outputs received a gradient path. */
        int has_dout = 0;
        for (int k = 0; k < s->ctx.n_out; k++) has_dout |= s->dout[k] != NULL;
        if (!has_dout) continue;
        double start = p->options.profile ? oti_now_ms() : 0.0;
        zero_reused_gradients(p, s, i);
        ot_status status = p->model->layers[s->layer].op->backward(&s->ctx);
        if (status != OT_OK) return status;
        if (p->options.profile) oti_profile_add(p->options.profile, s->profile_row, 1, (oti_now_ms() - start) / 1e3);
    }
    return OT_OK;
}
