/* Running If, Loop and Scan steps (control.h): the chosen branch's plan, or the body's plan
 * once per iteration, with loop-carried values double buffered and scan slices gathered from
 * and scattered into the node's tensors. Only a Loop whose body is planned per iteration or
 * whose scan outputs' length is known at run time allocates here. */
#include <string.h>
#include <stdlib.h>

#include "control.h"
#include "core/context_internal.h"
#include "core/util.h"

static size_t tensor_bytes(const ot_tensor *t) { return (size_t)ot_tensor_numel(t) * ot_dtype_size(t->dtype); }

/* A tensor (one batch of it where batched) as (outer, length, inner bytes) around `axis`:
 * moves slice `at` between it and a contiguous slice buffer. */
typedef struct axis_view {
    unsigned char *data;
    int64_t outer, length;
    size_t inner;
} axis_view;

static axis_view view_of(const ot_tensor *t, int batched, int64_t batch, int axis) {
    axis_view v = {t->data, 1, 1, ot_dtype_size(t->dtype)};
    int first = batched ? 1 : 0;
    if (batched) v.data += (size_t)batch * (tensor_bytes(t) / (size_t)(t->dims[0] ? t->dims[0] : 1));
    for (int d = first; d < t->ndim; d++) {
        if (d - first < axis) v.outer *= t->dims[d];
        else if (d - first == axis) v.length = t->dims[d];
        else v.inner *= (size_t)t->dims[d];
    }
    return v;
}

static void move_slice(const axis_view *v, unsigned char *slice, int64_t at, int to_slice) {
    for (int64_t o = 0; o < v->outer; o++) {
        unsigned char *in_tensor = v->data + ((size_t)(o * v->length + at)) * v->inner;
        unsigned char *in_slice = slice + (size_t)o * v->inner;
        if (to_slice) memcpy(in_slice, in_tensor, v->inner);
        else memcpy(in_tensor, in_slice, v->inner);
    }
}

/* One more body run of a Loop or Scan against the limit for one forward of the root plan. */
static ot_status count_iteration(ot_plan *p, const ot_layer *l) {
    int64_t limit = ot_context_max_loop_iterations(p->options.context);
    ot_plan *root = p->root ? p->root : p;
    if (++root->loop_iterations <= limit) return OT_OK;
    return oti_fail(OT_ERR_UNSUPPORTED, "%s node '%s' is still running after %lld iterations (of every loop in "
                    "this run, nested ones included), the limit (ot_context_options.max_loop_iterations raises it)",
                    l->op_type, l->name, (long long)limit);
}

static ot_status run_body(const ot_plan *p, control_body *b) {
    oti_control_bind_outer(p, b);
    return ot_plan_forward(b->plan);
}

static ot_status run_if(ot_plan *p, plan_step *s, control_step *c) {
    control_body *b = &c->bodies[((const unsigned char *)s->in[0]->data)[0] != 0];
    OT_TRY(run_body(p, b));
    for (int k = 0; k < s->ctx.n_out; k++)
        if (s->out[k]) memcpy(s->out[k]->data, control_body_output(b, k)->data, tensor_bytes(s->out[k]));
    return OT_OK;
}

/* Binds the loop-carried states (body feeds first..) to carried buffer `cur`. */
static void bind_states(control_step *c, int first, int cur) {
    control_body *b = &c->bodies[0];
    for (int j = 0; j < c->params->n_states; j++)
        ot_plan_value(b->plan, b->feeds[first + j])->data = c->carried[cur] + c->state_offset[j];
}

/* The body's state outputs (first_output..) become the next iteration's states. */
static void keep_states(control_step *c, int first_output, int next) {
    for (int j = 0; j < c->params->n_states; j++)
        memcpy(c->carried[next] + c->state_offset[j], control_body_output(&c->bodies[0], first_output + j)->data, c->state_bytes[j]);
}

/* Appends iteration `it`'s slice of Loop scan output k (grown at run time when dynamic). */
static ot_status append_scan_output(ot_plan *p, plan_step *s, control_step *c, int k, int64_t it) {
    const ot_layer *l = &p->model->layers[s->layer];
    const ot_tensor *slice = control_body_output(&c->bodies[0], 1 + c->params->n_states + k);
    ot_tensor *out = s->out[c->params->n_states + k];
    if (!out) return OT_OK;
    int same = slice->ndim + 1 == out->ndim && slice->dtype == out->dtype;
    for (int d = 0; same && d < slice->ndim; d++) same = slice->dims[d] == out->dims[d + 1];
    if (!same)
        return oti_fail(OT_ERR_UNSUPPORTED, "Loop node '%s': scan output %d changes shape in iteration %lld; "
                        "every slice needs the same shape", l->name, k, (long long)it);
    size_t bytes = tensor_bytes(slice);
    if (c->dynamic) {
        size_t need = (size_t)(it + 1) * bytes + 1;
        if (need > c->dynamic_capacity[k]) {
            size_t grown = OT_MAX(need, 2 * c->dynamic_capacity[k]);
            OT_TRY(oti_check_memory(p->options.context, grown, p->model->values[l->outputs[c->params->n_states + k]].name));
            void *more = oti_realloc(c->dynamic[k], grown);
            OT_ALLOC_CHECK(more);
            c->dynamic[k] = more;
            c->dynamic_capacity[k] = grown;
        }
        out->data = c->dynamic[k];
    }
    memcpy((unsigned char *)out->data + (size_t)it * bytes, slice->data, bytes);
    return OT_OK;
}

/* One iteration: plan again if needed, bind, run, keep the states, append the scan slices. */
static ot_status loop_iteration(ot_plan *p, plan_step *s, control_step *c, int64_t it, int cur) {
    control_body *b = &c->bodies[0];
    c->iteration = it;
    if (c->per_iteration) OT_TRY(oti_control_plan_body(p, c, 0));
    if (!b->constant[0]) ot_plan_value(b->plan, b->feeds[0])->data = &c->iteration;
    bind_states(c, 2, cur);
    OT_TRY(run_body(p, b));
    c->cond = ((const unsigned char *)control_body_output(b, 0)->data)[0] != 0;
    keep_states(c, 1, 1 - cur);
    for (int k = 0; k < c->params->n_scan_outputs; k++) OT_TRY(append_scan_output(p, s, c, k, it));
    return OT_OK;
}

static ot_status run_loop(ot_plan *p, plan_step *s, control_step *c) {
    const ot_layer *l = &p->model->layers[s->layer];
    int n = c->params->n_states;
    int64_t m = s->in[0] ? ((const int64_t *)s->in[0]->data)[0] : INT64_MAX;
    c->cond = s->in[1] ? ((const unsigned char *)s->in[1]->data)[0] != 0 : 1;
    for (int j = 0; j < n; j++) memcpy(c->carried[0] + c->state_offset[j], s->in[2 + j]->data, c->state_bytes[j]);
    int cur = 0;
    int64_t it = 0;
    for (; it < m && c->cond; it++, cur = 1 - cur) {
        OT_TRY(count_iteration(p, l));
        OT_TRY(loop_iteration(p, s, c, it, cur));
    }
    for (int j = 0; j < n; j++)
        if (s->out[j]) memcpy(s->out[j]->data, c->carried[cur] + c->state_offset[j], c->state_bytes[j]);
    for (int k = 0; c->dynamic && k < c->params->n_scan_outputs; k++) {
        ot_tensor *out = s->out[n + k];
        if (!out) continue;
        if (!c->dynamic[k]) OT_ALLOC_CHECK(c->dynamic[k] = oti_calloc(1, 1));
        out->data = c->dynamic[k];
        out->dims[0] = it;
    }
    return OT_OK;
}

/* One batch of a Scan (all of it from opset 9). */
static ot_status scan_batch(ot_plan *p, plan_step *s, control_step *c, int64_t batch) {
    const ot_control_params *pr = c->params;
    control_body *b = &c->bodies[0];
    int n = pr->n_states, cur = 0;
    for (int j = 0; j < n; j++)
        memcpy(c->carried[0] + c->state_offset[j], view_of(s->in[pr->first_state + j], pr->batched, batch, 0).data,
               c->state_bytes[j]);
    for (int64_t t = 0; t < c->count; t++, cur = 1 - cur) {
        OT_TRY(count_iteration(p, &p->model->layers[s->layer]));
        for (int j = 0; j < pr->n_scan_inputs; j++) {
            axis_view v = view_of(s->in[pr->first_state + n + j], pr->batched, batch, pr->input_axes[j] < 0 ?
                                  pr->input_axes[j] + s->in[pr->first_state + n + j]->ndim : pr->input_axes[j]);
            move_slice(&v, c->slices[j], pr->input_reverse[j] ? c->count - 1 - t : t, 1);
            ot_plan_value(b->plan, b->feeds[n + j])->data = c->slices[j];
        }
        bind_states(c, 0, cur);
        OT_TRY(run_body(p, b));
        keep_states(c, 0, 1 - cur);
        for (int k = 0; k < pr->n_scan_outputs; k++) {
            ot_tensor *out = s->out[n + k];
            if (!out) continue;
            int axis = pr->output_axes[k] < 0 ? pr->output_axes[k] + out->ndim - pr->batched : pr->output_axes[k];
            axis_view v = view_of(out, pr->batched, batch, axis);
            move_slice(&v, control_body_output(b, n + k)->data, pr->output_reverse[k] ? c->count - 1 - t : t, 0);
        }
    }
    for (int j = 0; j < n; j++)
        if (s->out[j]) memcpy(view_of(s->out[j], pr->batched, batch, 0).data, c->carried[cur] + c->state_offset[j], c->state_bytes[j]);
    return OT_OK;
}

ot_status oti_control_forward(ot_plan *p, plan_step *s) {
    control_step *c = s->control;
    switch (c->params->kind) {
    case OT_CONTROL_IF: return run_if(p, s, c);
    case OT_CONTROL_LOOP: return run_loop(p, s, c);
    default:
        for (int64_t batch = 0; batch < c->batches; batch++) OT_TRY(scan_batch(p, s, c, batch));
        return OT_OK;
    }
}
