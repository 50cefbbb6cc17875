/* Planning If, Loop and Scan steps (control.h): subgraph plans, output shapes, and the known
 * If conditions that make the plan inline a branch instead. */
#include <string.h>
#include <stdlib.h>

#include "control.h"
#include "core/context_internal.h"
#include "core/util.h"
#include "graph/subgraph.h"
#include "onnxtrain/context.h"

/* Feeds of body b: its n_inputs inputs with the given shapes (data where constant), then
 * every enclosing value it reads, constant where the parent's is. */
static ot_status setup_body(const ot_plan *p, const plan_step *s, control_body *b, const ot_model *model,
                            int n_inputs, const ot_tensor *input_shapes) {
    const ot_layer *l = &p->model->layers[s->layer];
    b->model = (ot_model *)model; /* plans never change the model they plan */
    size_t cap = (size_t)model->n_values + 1;
    b->feeds = oti_calloc(cap, sizeof(int));
    b->source = oti_calloc(cap, sizeof(int));
    b->shapes = oti_calloc(cap, sizeof(ot_tensor));
    b->constant = oti_calloc(cap, 1);
    if (!b->feeds || !b->source || !b->shapes || !b->constant) return OT_ERR_MEMORY;
    for (int k = 0; k < n_inputs; k++) {
        b->feeds[k] = model->inputs[k];
        b->source[k] = -1;
        b->shapes[k] = input_shapes[k];
        b->constant[k] = input_shapes[k].data != NULL;
    }
    b->n_feeds = n_inputs;
    for (int v = 0; v < model->n_values; v++) {
        if (model->values[v].kind != OT_VALUE_OUTER) continue;
        int source = oti_layer_outer_value(p->model, l, model->values[v].name);
        if (source < 0 || p->state[source] == VALUE_UNUSED)
            return oti_fail(OT_ERR_INVALID, "%s node '%s': its subgraph reads '%s', which the enclosing graph "
                            "does not compute here", l->op_type, l->name, model->values[v].name);
        int f = b->n_feeds++;
        b->feeds[f] = v;
        b->source[f] = source;
        b->shapes[f] = p->vals[source];
        b->constant[f] = p->state[source] == VALUE_CONST;
        if (!b->constant[f]) b->shapes[f].data = NULL;
    }
    return OT_OK;
}

ot_status oti_control_plan_body(const ot_plan *p, control_step *c, int b) {
    control_body *body = &c->bodies[b];
    ot_plan_free(body->plan);
    body->plan = NULL;
    return oti_plan_create_sub(p, body->model, body->n_feeds, body->feeds, body->shapes, body->constant, &body->plan);
}

void oti_control_bind_outer(const ot_plan *p, control_body *body) {
    for (int f = 0; f < body->n_feeds; f++)
        if (body->source[f] >= 0 && !body->constant[f])
            ot_plan_value(body->plan, body->feeds[f])->data = p->vals[body->source[f]].data;
}

static ot_status shape_mismatch(const ot_layer *l, const char *what, int k, const ot_tensor *a, const ot_tensor *b) {
    char x[96], y[96];
    return oti_fail(OT_ERR_UNSUPPORTED, "%s node '%s': %s %d is %s %s in one place and %s %s in another; a plan "
                    "needs one shape (fix the input shapes, or make the condition known when the plan is made)",
                    l->op_type, l->name, what, k, ot_dtype_name(a->dtype), ot_shape_string(a->ndim, a->dims, x, sizeof x),
                    ot_dtype_name(b->dtype), ot_shape_string(b->ndim, b->dims, y, sizeof y));
}

static int same_type(const ot_tensor *a, const ot_tensor *b) {
    return a->dtype == b->dtype && a->ndim == b->ndim && ot_tensor_same_shape(a, b);
}

/* Input k, when present, holds one value of dtype (a condition, a trip count). */
static ot_status check_scalar(const plan_step *s, int k, ot_dtype dtype, const char *what) {
    const ot_tensor *t = k < s->ctx.n_in ? s->in[k] : NULL;
    if (!t || (t->dtype == dtype && ot_tensor_numel(t) == 1)) return OT_OK;
    char dims[96];
    return oti_fail(OT_ERR_INVALID, "%s node '%s': the %s is %s %s; it needs one %s", s->ctx.layer->op_type,
                    s->ctx.layer->name, what, ot_dtype_name(t->dtype), ot_shape_string(t->ndim, t->dims, dims, sizeof dims),
                    ot_dtype_name(dtype));
}

/* The condition's value when known at plan time, else -1. */
static int known_bool(const plan_step *s, int k) {
    if (k >= s->ctx.n_in || !s->in[k]) return 1; /* an omitted condition is true */
    if (!s->in_known[k] || ot_tensor_numel(s->in[k]) < 1) return -1;
    return ((const unsigned char *)s->in[k]->data)[0] != 0;
}

static ot_status infer_if(ot_plan *p, plan_step *s, control_step *c) {
    const ot_layer *l = &p->model->layers[s->layer];
    OT_TRY(check_scalar(s, 0, OT_BOOL, "condition"));
    int cond = known_bool(s, 0);
    if (cond >= 0) {
        p->inline_layer = s->layer;
        p->inline_choice = cond;
        return OT_OK;
    }
    for (int b = 0; b < 2; b++) {
        OT_TRY(setup_body(p, s, &c->bodies[b], c->params->branches[b], 0, NULL));
        OT_TRY(oti_control_plan_body(p, c, b));
    }
    for (int k = 0; k < l->n_outputs; k++) {
        const ot_tensor *a = control_body_output(&c->bodies[0], k), *b = control_body_output(&c->bodies[1], k);
        if (!same_type(a, b)) return shape_mismatch(l, "output", k, a, b);
        if (s->out[k]) ot_tensor_set_shape(s->out[k], a->dtype, a->ndim, a->dims);
    }
    return OT_OK;
}

/* Whether training needs gradients through the step's inputs. */
static int needs_gradient(const ot_plan *p, const plan_step *s) {
    const ot_layer *l = &p->model->layers[s->layer];
    for (int k = 0; p->options.training && k < l->n_inputs; k++)
        if (l->inputs[k] >= 0 && p->needs_grad[l->inputs[k]]) return 1;
    return 0;
}

/* A training plan goes through a Loop or Scan as c->count copies of its body. */
static ot_status unroll(ot_plan *p, const plan_step *s, const control_step *c) {
    p->inline_layer = s->layer;
    p->inline_choice = c->count;
    return OT_OK;
}

/* Removes dim `axis` of a shape (a slice of it); axis -1 keeps them all. Data: none. */
static ot_tensor drop_dim(const ot_tensor *t, int axis) {
    ot_tensor r = {0};
    r.dtype = t->dtype;
    for (int d = 0; d < t->ndim; d++)
        if (d != axis) r.dims[r.ndim++] = t->dims[d];
    return r;
}

/* Sets out to slice's shape with `length` inserted at `axis` (a stack of slices). */
static ot_status stack_shape(const ot_layer *l, ot_tensor *out, const ot_tensor *slice, int axis, int64_t length) {
    if (slice->ndim + 1 > OT_MAX_DIMS)
        return oti_fail(OT_ERR_UNSUPPORTED, "%s node '%s': scan outputs of %d dims are over the %d supported",
                        l->op_type, l->name, slice->ndim + 1, OT_MAX_DIMS);
    int64_t dims[OT_MAX_DIMS];
    for (int d = 0, from = 0; d <= slice->ndim; d++) dims[d] = d == axis ? length : slice->dims[from++];
    if (out) ot_tensor_set_shape(out, slice->dtype, slice->ndim + 1, dims);
    return OT_OK;
}

/* Double-buffered storage for the loop-carried states, shaped as the body's state feeds
 * first..first+n. */
static ot_status allocate_states(const ot_plan *p, control_step *c, int first) {
    int n = c->params->n_states;
    c->state_offset = oti_calloc((size_t)n + 1, sizeof(size_t));
    c->state_bytes = oti_calloc((size_t)n + 1, sizeof(size_t));
    if (!c->state_offset || !c->state_bytes) return OT_ERR_MEMORY;
    size_t total = 0;
    for (int j = 0; j < n; j++) {
        const ot_tensor *t = &c->bodies[0].shapes[first + j];
        c->state_offset[j] = total;
        c->state_bytes[j] = (size_t)ot_tensor_numel(t) * ot_dtype_size(t->dtype);
        total += (c->state_bytes[j] + 63) & ~(size_t)63;
    }
    OT_TRY(oti_check_memory(p->options.context, 2 * total, "a loop's carried values"));
    for (int b = 0; b < 2; b++) OT_ALLOC_CHECK(c->carried[b] = oti_calloc(total + 1, 1));
    return OT_OK;
}

/* The loop-carried outputs of the body keep their inputs' shapes. */
static ot_status check_states(const ot_layer *l, const control_step *c, int first_feed, int first_output) {
    for (int j = 0; j < c->params->n_states; j++) {
        const ot_tensor *in = &c->bodies[0].shapes[first_feed + j], *out = control_body_output(&c->bodies[0], first_output + j);
        if (!same_type(in, out)) return shape_mismatch(l, "loop-carried value", j, in, out);
    }
    return OT_OK;
}

/* Whether the body's condition output is the constant true. */
static int body_keeps_going(const control_step *c) {
    const ot_plan *plan = c->bodies[0].plan;
    int v = c->bodies[0].model->outputs[0];
    return plan->state[v] == VALUE_CONST && ot_tensor_numel(&plan->vals[v]) >= 1 && ((const unsigned char *)plan->vals[v].data)[0];
}

/* A scan output whose length is known only at run time: only a graph output may be one. */
static ot_status check_dynamic(const ot_plan *p, const plan_step *s, int i, int v) {
    const ot_layer *l = &p->model->layers[s->layer];
    for (int j = i + 1; j < p->n_steps; j++) {
        const ot_layer *reader = &p->model->layers[p->steps[j].layer];
        for (int k = 0; k < reader->n_inputs; k++)
            if (reader->inputs[k] == v)
                return oti_fail(OT_ERR_UNSUPPORTED, "Loop node '%s': the length of scan output '%s' is known "
                                "only when the loop runs (its trip count or condition depends on data), and node "
                                "'%s' reads it; plans need shapes known in advance (fix the trip count)",
                                l->name, p->model->values[v].name, reader->name);
    }
    return OT_OK;
}

/* The number of iterations when known now, else -1. */
static int64_t loop_count(const plan_step *s, const control_step *c) {
    int cond = known_bool(s, 1);
    if (cond == 0) return 0;
    if (!s->in[0] || !s->in_known[0] || cond < 0) return -1;
    int64_t m = ((const int64_t *)s->in[0]->data)[0];
    if (m <= 0) return 0;
    return !c->per_iteration && body_keeps_going(c) ? m : -1;
}

static ot_status infer_loop(ot_plan *p, plan_step *s, control_step *c, int i) {
    const ot_layer *l = &p->model->layers[s->layer];
    int n = c->params->n_states;
    OT_TRY(check_scalar(s, 0, OT_INT64, "trip count"));
    OT_TRY(check_scalar(s, 1, OT_BOOL, "condition"));
    for (int j = 0; j < n; j++)
        if (!s->in[2 + j]) return oti_fail(OT_ERR_INVALID, "Loop node '%s': loop-carried input %d is omitted", l->name, j);
    /* The body's inputs: the iteration number, the condition, the states. */
    ot_tensor *inputs = oti_calloc((size_t)n + 3, sizeof(ot_tensor));
    OT_ALLOC_CHECK(inputs);
    inputs[0].dtype = OT_INT64;
    inputs[1].dtype = OT_BOOL;
    c->body_cond = 1;
    inputs[1].data = &c->body_cond;
    for (int j = 0; j < n; j++) inputs[2 + j] = drop_dim(s->in[2 + j], -1);
    ot_status status = setup_body(p, s, &c->bodies[0], c->params->body, 2 + n, inputs);
    free(inputs);
    OT_TRY(status);
    if (oti_control_plan_body(p, c, 0) != OT_OK) {
        /* Shapes that depend on the iteration number (a Slice at it): planned per iteration. */
        c->per_iteration = 1;
        c->bodies[0].shapes[0].data = &c->iteration;
        c->bodies[0].constant[0] = 1;
        OT_TRY(oti_control_plan_body(p, c, 0));
    }
    const ot_tensor *cond = control_body_output(&c->bodies[0], 0);
    if (cond->dtype != OT_BOOL || ot_tensor_numel(cond) != 1)
        return oti_fail(OT_ERR_INVALID, "Loop node '%s': the body's first output (the condition) is %s with %lld "
                        "values; it needs one bool", l->name, ot_dtype_name(cond->dtype), (long long)ot_tensor_numel(cond));
    OT_TRY(check_states(l, c, 2, 1));
    c->count = loop_count(s, c);
    int64_t limit = ot_context_max_loop_iterations(p->options.context);
    if (c->count > limit)
        return oti_fail(OT_ERR_UNSUPPORTED, "Loop node '%s' runs %lld iterations, over the limit of %lld "
                        "(ot_context_options.max_loop_iterations raises it)", l->name, (long long)c->count, (long long)limit);
    if (c->count > 0 && needs_gradient(p, s)) return unroll(p, s, c);
    for (int j = 0; j < n; j++)
        if (s->out[j]) ot_tensor_set_shape(s->out[j], s->in[2 + j]->dtype, s->in[2 + j]->ndim, s->in[2 + j]->dims);
    for (int k = 0; k < c->params->n_scan_outputs; k++) {
        OT_TRY(stack_shape(l, s->out[n + k], control_body_output(&c->bodies[0], 1 + n + k), 0, c->count < 0 ? 0 : c->count));
        if (c->count < 0 && s->out[n + k]) OT_TRY(check_dynamic(p, s, i, l->outputs[n + k]));
    }
    if (c->count < 0) {
        c->dynamic = oti_calloc((size_t)c->params->n_scan_outputs + 1, sizeof(unsigned char *));
        c->dynamic_capacity = oti_calloc((size_t)c->params->n_scan_outputs + 1, sizeof(size_t));
        if (!c->dynamic || !c->dynamic_capacity) return OT_ERR_MEMORY;
    }
    return allocate_states(p, c, 2);
}

/* The sequence length every scan input agrees on; the body's feeds are the states and one
 * slice of each scan input (without the batch dim in opset 8). */
static ot_status scan_inputs(const ot_plan *p, const plan_step *s, control_step *c, ot_tensor *inputs) {
    const ot_layer *l = &p->model->layers[s->layer];
    const ot_control_params *pr = c->params;
    c->count = -1;
    c->batches = 1;
    for (int j = 0; j < pr->n_states + pr->n_scan_inputs; j++) {
        const ot_tensor *t = s->in[pr->first_state + j];
        if (!t) return oti_fail(OT_ERR_INVALID, "Scan node '%s': input %d is omitted", l->name, pr->first_state + j);
        if (pr->batched && (t->ndim < 1 || (j > 0 && t->dims[0] != c->batches)))
            return oti_fail(OT_ERR_INVALID, "Scan node '%s': input %d has no batch dim of %lld", l->name,
                            pr->first_state + j, (long long)c->batches);
        if (pr->batched) c->batches = t->dims[0];
        ot_tensor state = pr->batched ? drop_dim(t, 0) : drop_dim(t, -1);
        if (j < pr->n_states) {
            inputs[j] = state;
            continue;
        }
        int axis = oti_normalize_axis(pr->input_axes[j - pr->n_states], state.ndim);
        if (axis < 0)
            return oti_fail(OT_ERR_INVALID, "Scan node '%s': scan input %d has no axis %d", l->name,
                            j - pr->n_states, pr->input_axes[j - pr->n_states]);
        if (c->count >= 0 && state.dims[axis] != c->count)
            return oti_fail(OT_ERR_INVALID, "Scan node '%s': scan inputs have lengths %lld and %lld", l->name,
                            (long long)c->count, (long long)state.dims[axis]);
        c->count = state.dims[axis];
        inputs[j] = drop_dim(&state, axis);
    }
    return OT_OK;
}

static ot_status infer_scan(ot_plan *p, plan_step *s, control_step *c) {
    const ot_layer *l = &p->model->layers[s->layer];
    const ot_control_params *pr = c->params;
    ot_tensor *inputs = oti_calloc((size_t)(pr->n_states + pr->n_scan_inputs) + 1, sizeof(ot_tensor));
    OT_ALLOC_CHECK(inputs);
    ot_status status = scan_inputs(p, s, c, inputs);
    if (status == OT_OK) status = setup_body(p, s, &c->bodies[0], pr->body, pr->n_states + pr->n_scan_inputs, inputs);
    free(inputs);
    OT_TRY(status);
    OT_TRY(oti_control_plan_body(p, c, 0));
    OT_TRY(check_states(l, c, 0, 0));
    if (!pr->batched && c->count > 0 && needs_gradient(p, s)) return unroll(p, s, c);
    for (int j = 0; j < pr->n_states; j++) {
        const ot_tensor *in = s->in[pr->first_state + j];
        if (s->out[j]) ot_tensor_set_shape(s->out[j], in->dtype, in->ndim, in->dims);
    }
    for (int k = 0; k < pr->n_scan_outputs; k++) {
        const ot_tensor *slice = control_body_output(&c->bodies[0], pr->n_states + k);
        int axis = pr->batched ? 0 : oti_normalize_axis(pr->output_axes[k], slice->ndim + 1);
        if (axis < 0)
            return oti_fail(OT_ERR_INVALID, "Scan node '%s': scan output %d has no axis %d", l->name, k, pr->output_axes[k]);
        ot_tensor stacked = {0};
        OT_TRY(stack_shape(l, &stacked, slice, axis, c->count));
        if (pr->batched) OT_TRY(stack_shape(l, &stacked, &stacked, 0, c->batches));
        if (s->out[pr->n_states + k]) *s->out[pr->n_states + k] = stacked;
    }
    c->slices = oti_calloc((size_t)pr->n_scan_inputs + 1, sizeof(unsigned char *));
    OT_ALLOC_CHECK(c->slices);
    for (int j = 0; j < pr->n_scan_inputs; j++) {
        const ot_tensor *t = &c->bodies[0].shapes[pr->n_states + j];
        OT_ALLOC_CHECK(c->slices[j] = oti_calloc((size_t)ot_tensor_numel(t) * ot_dtype_size(t->dtype) + 1, 1));
    }
    return allocate_states(p, c, 0);
}

/* Gradients do not flow through subgraphs run as nested plans: only inlined Ifs and
 * unrolled Loops train. */
static ot_status check_no_gradient(const ot_plan *p, const plan_step *s) {
    const ot_layer *l = &p->model->layers[s->layer];
    if (!needs_gradient(p, s)) return OT_OK;
    if (((const ot_control_params *)l->params)->kind == OT_CONTROL_IF)
        return oti_fail(OT_ERR_UNSUPPORTED, "If node '%s': its condition depends on input values, so training "
                        "cannot run through it (gradients flow through an If whose condition is known when the "
                        "plan is made: fix the input shapes or make the condition constant), or freeze the "
                        "layers up to '%s'", l->name, l->name);
    if (((const ot_control_params *)l->params)->kind == OT_CONTROL_LOOP)
        return oti_fail(OT_ERR_UNSUPPORTED, "Loop node '%s': training runs through a Loop whose trip count is known "
                        "when the plan is made (from shapes or constants, with a condition that stays true); fix "
                        "the trip count, or freeze the layers up to '%s'", l->name, l->name);
    return oti_fail(OT_ERR_UNSUPPORTED, "Scan node '%s': training runs through Scan from opset 9 (opset 8's batch "
                    "dim is not unrolled); freeze the layers up to '%s'", l->name, l->name);
}

/* Whether a Loop body's condition output is its condition input (directly or through an
 * Identity), so that it runs its whole trip count. */
static int body_passes_condition(const ot_model *body) {
    int out = body->outputs[0], in = body->inputs[1];
    if (out == in) return 1;
    for (int i = 0; i < body->n_layers; i++) {
        const ot_layer *b = &body->layers[i];
        if (b->n_outputs >= 1 && b->outputs[0] == out)
            return !strcmp(b->op_type, "Identity") && b->n_inputs >= 1 && b->inputs[0] == in;
    }
    return 0;
}

ot_status oti_control_unroll_sequences(ot_plan *p, const plan_step *s) {
    const ot_layer *l = &p->model->layers[s->layer];
    const ot_control_params *params = l->params;
    OT_TRY(check_scalar(s, 0, OT_INT64, "trip count"));
    OT_TRY(check_scalar(s, 1, OT_BOOL, "condition"));
    int cond = known_bool(s, 1);
    if (!s->in[0] || !s->in_known[0] || cond < 0)
        return oti_fail(OT_ERR_UNSUPPORTED, "Loop node '%s' carries or reads a sequence, so it runs as copies of its "
                        "body: its trip count and condition must be known when the plan is made (constants, values "
                        "computed from shapes, or small graph inputs given with data)", l->name);
    if (!body_passes_condition(params->body))
        return oti_fail(OT_ERR_UNSUPPORTED, "Loop node '%s' carries or reads a sequence, so it runs as copies of its "
                        "body: the body's condition output must be its condition input (it runs the whole trip "
                        "count)", l->name);
    int64_t count = cond ? OT_MAX(((const int64_t *)s->in[0]->data)[0], 0) : 0;
    int64_t limit = ot_context_max_loop_iterations(p->options.context);
    if (count > limit)
        return oti_fail(OT_ERR_UNSUPPORTED, "Loop node '%s' runs %lld iterations, over the limit of %lld "
                        "(ot_context_options.max_loop_iterations raises it)", l->name, (long long)count, (long long)limit);
    p->inline_layer = s->layer;
    p->inline_choice = count;
    return OT_OK;
}

ot_status oti_control_infer(ot_plan *p, plan_step *s, int i) {
    const ot_layer *l = &p->model->layers[s->layer];
    oti_control_free(s->control);
    OT_ALLOC_CHECK(s->control = oti_calloc(1, sizeof(control_step)));
    control_step *c = s->control;
    c->params = l->params;
    ot_status status;
    switch (c->params->kind) {
    case OT_CONTROL_IF: status = infer_if(p, s, c); break;
    case OT_CONTROL_LOOP: status = infer_loop(p, s, c, i); break;
    default: status = infer_scan(p, s, c); break;
    }
    if (status == OT_OK && p->inline_layer < 0) status = check_no_gradient(p, s);
    return status;
}

void oti_control_free(control_step *c) {
    if (!c) return;
    for (int b = 0; b < 2; b++) {
        control_body *body = &c->bodies[b];
        ot_plan_free(body->plan);
        free(body->feeds);
        free(body->source);
        free(body->shapes);
        free(body->constant);
    }
    for (int b = 0; b < 2; b++) free(c->carried[b]);
    free(c->state_offset);
    free(c->state_bytes);
    for (int j = 0; c->slices && j < c->params->n_scan_inputs; j++) free(c->slices[j]);
    free(c->slices);
    for (int k = 0; c->dynamic && k < c->params->n_scan_outputs; k++) free(c->dynamic[k]);
    free(c->dynamic);
    free(c->dynamic_capacity);
    free(c);
}
