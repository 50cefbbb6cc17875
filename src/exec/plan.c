/* Building a plan: select layers, infer shapes, fold what is known, decide which gradients
 * flow, and lay out one arena for activations, gradients and saved state. */
#include <string.h>
#include <stdlib.h>

#include "core/context_internal.h"
#include "core/util.h"
#include "control.h"
#include "graph/view.h"
#include "onnxtrain/graph.h"
#include "plan_internal.h"
#include "profile_internal.h"

#define ARENA_ALIGN 64

static size_t align_up(size_t n) { return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1); }

/* A block in the arena, alive from step `first` to step `last` (inclusive). */
typedef struct arena_block {
    size_t offset, size;
    int first, last;
} arena_block;

/* Greedy placement: the lowest offset that overlaps no block alive at the same time. */
static size_t place_block(arena_block *blocks, int n, size_t size, int first, int last) {
    size_t offset = 0;
    for (int moved = 1; moved;) {
        moved = 0;
        for (int i = 0; i < n; i++) {
            const arena_block *b = &blocks[i];
            if (b->last < first || b->first > last) continue;
            if (offset < b->offset + b->size && b->offset < offset + size) {
                offset = align_up(b->offset + b->size);
                moved = 1;
            }
        }
    }
    return offset;
}

static ot_status select_layers(ot_plan *p, unsigned char *selected) {
    const ot_model *m = p->model;
    unsigned char *needed = oti_calloc((size_t)m->n_values + 1, 1);
    OT_ALLOC_CHECK(needed);
    const int *targets = p->options.targets ? p->options.targets : m->outputs;
    int n_targets = p->options.targets ? p->options.n_targets : m->n_outputs;
    for (int k = 0; k < n_targets; k++) needed[targets[k]] = 1;
    for (int i = m->n_layers - 1; i >= 0; i--) {
        const ot_layer *l = &m->layers[i];
        for (int k = 0; k < l->n_outputs; k++) {
            int v = l->outputs[k];
            if (v >= 0 && needed[v] && p->state[v] != VALUE_FEED) selected[i] = 1;
        }
        if (!selected[i]) continue;
        for (int k = 0; k < l->n_inputs; k++)
            if (l->inputs[k] >= 0) needed[l->inputs[k]] = 1;
    }
    ot_status status = OT_OK;
    for (int v = 0; v < m->n_values && status == OT_OK; v++)
        if (needed[v] && m->values[v].kind == OT_VALUE_INPUT && p->state[v] == VALUE_UNUSED)
            status = oti_fail(OT_ERR_INVALID, "graph input '%s' is needed but was not given",
                             m->values[v].name);
    free(needed);
    return status;
}

/* The step's arrays belong to the plan from here on (ot_plan_free frees them, also after a
 * failure half way). */
static ot_status build_step(ot_plan *p, plan_step *s, int layer) {
    const ot_layer *l = &p->model->layers[layer];
    s->layer = layer;
    s->in = oti_calloc((size_t)l->n_inputs + 1, sizeof(ot_tensor *));
    s->din = oti_calloc((size_t)l->n_inputs + 1, sizeof(ot_tensor *));
    s->in_known = oti_calloc((size_t)l->n_inputs + 1, 1);
    s->out = oti_calloc((size_t)l->n_outputs + 1, sizeof(ot_tensor *));
    s->dout = oti_calloc((size_t)l->n_outputs + 1, sizeof(ot_tensor *));
    if (!s->in || !s->din || !s->in_known || !s->out || !s->dout) return OT_ERR_MEMORY;
    for (int k = 0; k < l->n_inputs; k++) {
        int v = l->inputs[k];
        s->in[k] = v >= 0 ? &p->vals[v] : NULL;
        s->in_known[k] = v >= 0 && p->state[v] == VALUE_CONST;
    }
    for (int k = 0; k < l->n_outputs; k++)
        s->out[k] = l->outputs[k] >= 0 ? &p->vals[l->outputs[k]] : NULL;
    ot_node_ctx *c = &s->ctx;
    c->model = p->model;
    c->layer = l;
    c->params = l->params;
    c->n_in = l->n_inputs;
    c->n_out = l->n_outputs;
    c->in = s->in;
    c->out = s->out;
    c->in_known = s->in_known;
    c->din = s->din;
    c->dout = s->dout;
    c->training = p->options.training && !l->frozen;
    c->rng = p->options.rng;
    c->cross_sum = c->training ? p->options.cross_sum : NULL;
    c->pool = oti_context_pool(p->options.context);
    c->fast_convolution = p->options.fast_convolution;
    c->conv_tuning = p->options.conv_tuning;
    s->profile_row = oti_profile_row(p->options.profile, l->name, l->op_type);
    return OT_OK;
}

/* Whether a step's outputs can be computed now, once, for every run. */
static int can_fold(const ot_plan *p, const plan_step *s) {
    const ot_layer *l = &p->model->layers[s->layer];
    if ((l->op->flags & OT_OP_RANDOM) && s->ctx.training) return 0;
    if (l->op->flags & OT_OP_SAMPLES) return 0;
    if ((l->op->flags & OT_OP_WRITES_INPUTS) && s->ctx.training) return 0;
    if (l->op->flags & OT_OP_SHAPE_ONLY) return 1;
    for (int k = 0; k < l->n_inputs; k++) {
        if (l->inputs[k] < 0) continue;
        if (!s->in_known[k] || plan_is_trainable(p, l->inputs[k])) return 0;
    }
    return 1;
}

static ot_status check_outputs(const ot_plan *p, const plan_step *s) {
    const ot_layer *l = &p->model->layers[s->layer];
    for (int k = 0; k < l->n_outputs; k++) {
        const ot_tensor *t = s->out[k];
        if (!t) continue;
        size_t bytes;
        if (t->dtype == OT_UNDEFINED)
            return oti_fail(OT_ERR_INVALID, "%s node '%s': output %d has no inferred type",
                           l->op_type, l->name, k);
        const char *name = p->model->values[l->outputs[k]].name;
        ot_status status = ot_tensor_byte_size(t->dtype, t->ndim, t->dims, name, &bytes);
        if (status == OT_OK) status = oti_check_memory(p->options.context, bytes, name);
        if (status != OT_OK) {
            oti_error_prefix("%s node '%s': ", l->op_type, l->name);
            return status;
        }
    }
    return OT_OK;
}

static ot_status fold_step(ot_plan *p, plan_step *s) {
    const ot_layer *l = &p->model->layers[s->layer];
    for (int k = 0; k < l->n_outputs; k++) {
        ot_tensor *t = s->out[k];
        if (!t) continue;
        void **blocks = oti_realloc(p->folded_blocks, sizeof(void *) * (size_t)(p->n_folded_blocks + 1));
        OT_ALLOC_CHECK(blocks);
        p->folded_blocks = blocks;
        ot_tensor owned;
        OT_TRY(ot_tensor_alloc(p->options.context, &owned, t->dtype, t->ndim, t->dims, p->model->values[l->outputs[k]].name));
        t->data = owned.data;
        p->folded_blocks[p->n_folded_blocks++] = owned.data;
    }
    OT_TRY(oti_op_forward_once(&s->ctx));
    for (int k = 0; k < l->n_outputs; k++)
        if (l->outputs[k] >= 0) p->state[l->outputs[k]] = VALUE_CONST;
    s->folded = 1;
    return OT_OK;
}

/* Shapes, folding and gradient flags, step by step in topological order. */
static ot_status infer_steps(ot_plan *p) {
    for (int i = 0; i < p->n_steps; i++) {
        plan_step *s = &p->steps[i];
        const ot_layer *l = &p->model->layers[s->layer];
        for (int k = 0; k < l->n_inputs; k++) {
            int v = l->inputs[k];
            if (v < 0) continue;
            if (p->state[v] == VALUE_UNUSED)
                return oti_fail(OT_ERR_INVALID, "%s node '%s': input '%s' is not available",
                               l->op_type, l->name, p->model->values[v].name);
            s->in_known[k] = p->state[v] == VALUE_CONST;
        }
        for (int k = 0; k < l->n_outputs; k++)
            if (s->out[k]) memset(s->out[k], 0, sizeof(ot_tensor));
        s->ctx.saved_bytes = s->ctx.workspace_bytes = 0;
        if (oti_step_uses_sequence(p, s)) {
            OT_TRY(oti_sequence_infer(p, s));
            if (p->inline_layer >= 0) return OT_OK;
            continue;
        }
        if (l->op->flags & OT_OP_CONTROL_FLOW) {
            /* Never folded nor differentiated here: a known If condition inlines the branch. */
            OT_TRY(oti_control_infer(p, s, i));
            if (p->inline_layer >= 0) return OT_OK;
            oti_op_declare_outputs(&s->ctx); /* as other ops: value_info, else a same-typed input */
            OT_TRY(check_outputs(p, s));
            for (int k = 0; k < l->n_outputs; k++)
                if (l->outputs[k] >= 0) p->state[l->outputs[k]] = VALUE_COMPUTED;
            continue;
        }
        OT_TRY(l->op->infer(&s->ctx));
        oti_op_declare_outputs(&s->ctx);
        OT_TRY(check_outputs(p, s));
        if (can_fold(p, s)) {
            OT_TRY(fold_step(p, s));
            continue;
        }
        for (int k = 0; k < l->n_outputs; k++)
            if (l->outputs[k] >= 0) p->state[l->outputs[k]] = VALUE_COMPUTED;
        if (!p->options.training) continue;
        int grad_in = 0;
        for (int k = 0; k < l->n_inputs; k++) {
            int v = l->inputs[k];
            int param_slot = oti_role_is_trained(oti_op_input_role(l->op, k));
            if (v >= 0 && p->needs_grad[v] && param_slot) grad_in = 1;
        }
        if (!grad_in) continue;
        int float_out = 0;
        for (int k = 0; k < l->n_outputs; k++)
            if (s->out[k] && s->out[k]->dtype == OT_FLOAT) float_out = 1;
        if (!float_out) continue;
        if (!l->op->backward)
            return oti_fail(OT_ERR_UNSUPPORTED,
                           "%s node '%s' has no backward pass, but trainable parameters feed it; "
                           "freeze the layers up to '%s'",
                           l->op_type, l->name, l->name);
        s->run_backward = 1;
        s->ctx.backward = 1;
        for (int k = 0; k < l->n_outputs; k++)
            if (s->out[k] && s->out[k]->dtype == OT_FLOAT) p->needs_grad[l->outputs[k]] = 1;
    }
    return OT_OK;
}

static size_t value_bytes(const ot_tensor *t) {
    return (size_t)ot_tensor_numel(t) * ot_dtype_size(t->dtype);
}

/* Lifetimes of gradients in backward, which runs the steps from the last to the first: in
 * "backward time" t = n_steps - 1 - i for step i; -1 for the targets' gradients (set by the
 * caller before backward) and n_steps for gradients read after it (of inputs and weights,
 * which no step produces). Gradients whose lifetimes do not overlap share memory; returns the
 * bytes the gradients take, with each one's offset in offsets. first, last and blocks are
 * scratch of n_values entries. */
static size_t place_gradients(ot_plan *p, int *first, int *last, arena_block *blocks, size_t *offsets) {
    const ot_model *m = p->model;
    int n = p->n_values, end = p->n_steps;
    for (int v = 0; v < n; v++) {
        first[v] = end + 1;
        last[v] = end; /* no producing step: read after backward */
    }
    for (int i = 0; i < p->n_steps; i++) {
        const plan_step *s = &p->steps[i];
        if (s->folded || !s->run_backward) continue;
        const ot_layer *l = &m->layers[s->layer];
        int t = p->n_steps - 1 - i;
        for (int k = 0; k < l->n_outputs; k++) {
            int v = l->outputs[k];
            if (v < 0 || !p->needs_grad[v]) continue;
            last[v] = t; /* the producer's backward reads it last */
            first[v] = OT_MIN(first[v], t);
        }
        for (int k = 0; k < l->n_inputs; k++) {
            int v = l->inputs[k];
            if (v >= 0 && p->needs_grad[v] && oti_role_is_trained(oti_op_input_role(l->op, k)))
                first[v] = OT_MIN(first[v], t);
        }
    }
    const int *targets = p->options.targets ? p->options.targets : m->outputs;
    int n_targets = p->options.targets ? p->options.n_targets : m->n_outputs;
    for (int k = 0; k < n_targets; k++) first[targets[k]] = -1;
    int n_blocks = 0;
    size_t total = 0;
    for (int v = 0; v < n; v++) {
        /* The step where the gradient is zeroed, as a forward index (n_steps: before backward). */
        p->grad_first[v] = first[v] < 0 ? p->n_steps : p->n_steps - 1 - first[v];
        if (!p->needs_grad[v] || plan_param_grad(p, v)) continue;
        if (first[v] > last[v]) first[v] = last[v]; /* never written: zeroed where it is read */
        size_t size = align_up(value_bytes(&p->vals[v]) + 1);
        offsets[v] = place_block(blocks, n_blocks, size, first[v], last[v]);
        blocks[n_blocks++] = (arena_block){offsets[v], size, first[v], last[v]};
        total = OT_MAX(total, offsets[v] + size);
    }
    return total;
}

/* Lays out activations (reusing memory between values whose lifetimes do not overlap in
 * inference plans), gradients (reused in backward) and saved state in one arena. */
static ot_status allocate(ot_plan *p) {
    const ot_model *m = p->model;
    int n = p->n_values;
    int end = p->n_steps + 1;
    int cap = n + p->n_steps + 1;
    int *first = oti_malloc(sizeof(int) * ((size_t)n + 1));
    int *last = oti_malloc(sizeof(int) * ((size_t)n + 1));
    arena_block *blocks = oti_malloc(sizeof(arena_block) * (size_t)cap);
    size_t *offset = oti_calloc((size_t)n + 1, sizeof(size_t));
    size_t *grad_offset = oti_calloc((size_t)n + 1, sizeof(size_t));
    if (!first || !last || !blocks || !offset || !grad_offset) {
        free(first);
        free(last);
        free(blocks);
        free(offset);
        free(grad_offset);
        return OT_ERR_MEMORY;
    }
    for (int v = 0; v < n; v++) first[v] = last[v] = -1;
    for (int i = 0; i < p->n_steps; i++) {
        const plan_step *s = &p->steps[i];
        if (s->folded) continue;
        const ot_layer *l = &m->layers[s->layer];
        for (int k = 0; k < l->n_outputs; k++)
            if (l->outputs[k] >= 0 && first[l->outputs[k]] < 0) first[l->outputs[k]] = last[l->outputs[k]] = i;
        for (int k = 0; k < l->n_inputs; k++)
            if (l->inputs[k] >= 0 && p->state[l->inputs[k]] == VALUE_COMPUTED) last[l->inputs[k]] = i;
    }
    const int *targets = p->options.targets ? p->options.targets : m->outputs;
    int n_targets = p->options.targets ? p->options.n_targets : m->n_outputs;
    for (int k = 0; k < n_targets; k++) {
        last[targets[k]] = end;
        oti_sequence_keep_elements(p, targets[k], last, end); /* a sequence target's elements */
    }
    if (p->options.training)
        for (int v = 0; v < n; v++)
            if (first[v] >= 0) last[v] = end;

    int n_blocks = 0;
    size_t total = 0;
    for (int v = 0; v < n; v++) {
        if (p->state[v] != VALUE_COMPUTED || first[v] < 0) continue;
        size_t size = align_up(value_bytes(&p->vals[v]) + 1);
        offset[v] = place_block(blocks, n_blocks, size, first[v], last[v]);
        blocks[n_blocks++] = (arena_block){offset[v], size, first[v], last[v]};
        total = OT_MAX(total, offset[v] + size);
    }
    /* Saved state: per step in training plans; one shared region otherwise. */
    size_t saved_shared = 0, saved_total = 0, workspace = 0;
    for (int i = 0; i < p->n_steps; i++) {
        const plan_step *s = &p->steps[i];
        if (s->folded) continue;
        saved_shared = OT_MAX(saved_shared, align_up(s->ctx.saved_bytes));
        saved_total += align_up(s->ctx.saved_bytes);
        workspace = OT_MAX(workspace, align_up(s->ctx.workspace_bytes));
    }
    size_t saved_begin = align_up(total);
    total = saved_begin + (p->options.training ? saved_total : saved_shared);
    size_t grad_begin = align_up(total);
    total = grad_begin + place_gradients(p, first, last, blocks, grad_offset);
    size_t grad_end = align_up(total);
    free(first);
    free(last);
    free(blocks);

    ot_status status = oti_check_memory(p->options.context, total + workspace, "the plan (activations, gradients)");
    if (status == OT_OK) {
        p->arena = aligned_alloc(ARENA_ALIGN, align_up(total + 1));
        p->workspace = aligned_alloc(ARENA_ALIGN, align_up(workspace + 1));
        if (!p->arena || !p->workspace)
            status = oti_fail(OT_ERR_MEMORY, "out of memory allocating %.1f MiB for the plan",
                             (total + workspace) / 1048576.0);
    }
    if (status != OT_OK) {
        free(offset);
        free(grad_offset);
        return status;
    }
    memset(p->arena, 0, align_up(total + 1));
    p->arena_bytes = total;
    p->workspace_bytes = workspace;
    p->grad_begin = p->arena + grad_begin;
    p->grad_bytes = grad_end - grad_begin;
    for (int v = 0; v < n; v++)
        if (p->state[v] == VALUE_COMPUTED && !p->vals[v].data) p->vals[v].data = p->arena + offset[v];
    size_t saved_at = saved_begin;
    for (int i = 0; i < p->n_steps; i++) {
        plan_step *s = &p->steps[i];
        if (s->folded) continue;
        s->ctx.saved = p->arena + saved_at;
        s->ctx.workspace = p->workspace;
        if (p->options.training) saved_at += align_up(s->ctx.saved_bytes);
    }
    for (int v = 0; v < n; v++) {
        if (!p->needs_grad[v]) continue;
        ot_tensor *g = &p->grads[v];
        ot_tensor_set_shape(g, OT_FLOAT, p->vals[v].ndim, p->vals[v].dims);
        if (plan_param_grad(p, v)) g->data = plan_param_grad(p, v);
        else g->data = p->grad_begin + grad_offset[v];
    }
    free(offset);
    free(grad_offset);
    return OT_OK;
}

static void link_gradients(ot_plan *p) {
    for (int i = 0; i < p->n_steps; i++) {
        plan_step *s = &p->steps[i];
        const ot_layer *l = &p->model->layers[s->layer];
        for (int k = 0; k < l->n_inputs; k++) {
            int v = l->inputs[k];
            int param_slot = oti_role_is_trained(oti_op_input_role(l->op, k));
            s->din[k] = s->run_backward && v >= 0 && p->needs_grad[v] && param_slot ? &p->grads[v] : NULL;
        }
        for (int k = 0; k < l->n_outputs; k++) {
            int v = l->outputs[k];
            s->dout[k] = v >= 0 && p->needs_grad[v] ? &p->grads[v] : NULL;
        }
    }
}

/* Value v is read only through constant slots (Resize's roi and scales): its data decides
 * shapes or tables, never an activation, so a feed of it can be fixed when the plan is built. */
static int feeds_constant_slots_only(const ot_model *m, int v) {
    int used = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const ot_layer *l = &m->layers[i];
        for (int k = 0; k < l->n_inputs; k++) {
            if (l->inputs[k] != v) continue;
            if (!l->op || oti_op_input_role(l->op, k) != OT_ROLE_CONSTANT) return 0;
            used = 1;
        }
    }
    return used;
}

/* Whether some layer's output shape depends on values (NonZero, NonMaxSuppression, ...): an
 * inference plan then fixes every feed given with data, so that every step runs while the plan
 * is built, as constant folding does, and such shapes are known. The plan then holds one
 * input's results; ot_plan_forward has nothing left to do. */
static int runs_while_built(const ot_plan *p) {
    if (p->options.training) return 0;
    for (int i = 0; i < p->model->n_layers; i++)
        if (p->model->layers[i].op && (p->model->layers[i].op->flags & OT_OP_VALUE_SHAPED)) return 1;
    return 0;
}

/* Everything ot_plan_create does once p exists; a failure leaves p for ot_plan_free. */
ot_status oti_plan_build(ot_plan *p, int n_feeds, const int *feeds, const ot_tensor *feed_shapes,
                            const unsigned char *constant) {
    ot_model *m = p->model;
    p->n_values = m->n_values;
    p->vals = oti_calloc((size_t)m->n_values + 1, sizeof(ot_tensor));
    p->grads = oti_calloc((size_t)m->n_values + 1, sizeof(ot_tensor));
    p->state = oti_calloc((size_t)m->n_values + 1, 1);
    p->needs_grad = oti_calloc((size_t)m->n_values + 1, 1);
    p->grad_first = oti_calloc((size_t)m->n_values + 1, sizeof(int));
    if (!p->vals || !p->grads || !p->state || !p->needs_grad || !p->grad_first) return OT_ERR_MEMORY;
    for (int v = 0; v < m->n_values; v++) {
        if (m->values[v].kind != OT_VALUE_INITIALIZER) continue;
        p->vals[v] = m->values[v].tensor;
        p->vals[v].owns = 0;
        p->state[v] = VALUE_CONST;
        if (p->options.training && plan_is_trainable(p, v)) p->needs_grad[v] = 1;
    }
    int fix_all = runs_while_built(p);
    for (int i = 0; i < n_feeds; i++) {
        int v = feeds[i];
        OT_ASSERT(v >= 0 && v < m->n_values);
        if (!ot_dtype_is_computed(feed_shapes[i].dtype))
            return oti_fail(OT_ERR_INVALID, "graph input '%s' is given as %s; the engine computes "
                           "float32, int64 and bool (widen it with ot_tensor_widen)",
                           m->values[v].name, ot_dtype_name(feed_shapes[i].dtype));
        ot_tensor_set_shape(&p->vals[v], feed_shapes[i].dtype, feed_shapes[i].ndim, feed_shapes[i].dims);
        p->vals[v].declared = feed_shapes[i].declared;
        p->vals[v].data = NULL;
        p->state[v] = VALUE_FEED;
        if (constant && constant[i]) {
            p->vals[v].data = feed_shapes[i].data;
            p->state[v] = VALUE_CONST;
            continue;
        }
        /* Small int64 inputs given with data (shapes, axes, indices fed as graph inputs),
         * small float ones read only as constants (a Range's bounds, Resize's scales and roi)
         * and single bools are fixed when the plan is built, so the shapes they decide can be
         * inferred. */
        int64_t n = ot_tensor_numel(&feed_shapes[i]);
        int small = n >= 0 && n <= OT_PLAN_FIXED_FEED_MAX && feed_shapes[i].ndim <= 1;
        int fixed_int = feed_shapes[i].dtype == OT_INT64 && n >= 0 && n <= OT_PLAN_FIXED_FEED_MAX;
        int fixed_float = feed_shapes[i].dtype == OT_FLOAT && small && feeds_constant_slots_only(m, v);
        /* A lone bool (an If's condition fed as a graph input) is fixed too: the If then runs
         * as its branch, which is what lets a branch make a sequence. */
        int fixed_bool = feed_shapes[i].dtype == OT_BOOL && n == 1;
        if (feed_shapes[i].data && (fixed_int || fixed_float || fixed_bool || fix_all)) {
            void **blocks = oti_realloc(p->folded_blocks, sizeof(void *) * (size_t)(p->n_folded_blocks + 1));
            OT_ALLOC_CHECK(blocks);
            p->folded_blocks = blocks;
            size_t bytes = ot_dtype_size(feed_shapes[i].dtype) * (size_t)n;
            void *copy = oti_malloc(bytes + sizeof(int64_t));
            OT_ALLOC_CHECK(copy); /* p->folded_blocks holds what was copied so far */
            memcpy(copy, feed_shapes[i].data, bytes);
            p->folded_blocks[p->n_folded_blocks++] = copy;
            p->vals[v].data = copy;
            p->state[v] = VALUE_CONST;
        }
    }
    unsigned char *selected = oti_calloc((size_t)m->n_layers + 1, 1);
    OT_ALLOC_CHECK(selected);
    ot_status status = select_layers(p, selected);
    if (status == OT_OK && !(p->steps = oti_calloc((size_t)m->n_layers + 1, sizeof(plan_step))))
        status = OT_ERR_MEMORY;
    for (int i = 0; i < m->n_layers && status == OT_OK; i++)
        if (selected[i]) status = build_step(p, &p->steps[p->n_steps++], i);
    if (status == OT_OK) status = infer_steps(p);
    free(selected);
    if (p->inline_layer >= 0) return status; /* planned again on the view with the branch */
    if (status == OT_OK) status = allocate(p);
    if (status == OT_OK) link_gradients(p);
    return status;
}

void ot_plan_free(ot_plan *p) {
    if (!p) return;
    for (int i = 0; i < p->n_steps; i++) {
        free(p->steps[i].in);
        free(p->steps[i].out);
        free(p->steps[i].din);
        free(p->steps[i].dout);
        free(p->steps[i].in_known);
        oti_control_free(p->steps[i].control);
    }
    free(p->steps);
    for (int i = 0; i < p->n_folded_blocks; i++) free(p->folded_blocks[i]);
    free(p->folded_blocks);
    free(p->arena);
    free(p->workspace);
    free(p->vals);
    free(p->grads);
    free(p->state);
    free(p->needs_grad);
    free(p->grad_first);
    for (int i = p->n_inlined - 1; i >= 0; i--) oti_graph_inlined_free(p->inlined[i]);
    free(p->inlined);
    free(p);
}

ot_tensor *ot_plan_value(ot_plan *p, int value) {
    if (value < 0 || value >= p->n_values || p->state[value] == VALUE_UNUSED) return NULL;
    return &p->vals[value];
}

ot_tensor *ot_plan_grad(ot_plan *p, int value) {
    if (value < 0 || value >= p->n_values || !p->needs_grad[value]) return NULL;
    return &p->grads[value];
}

size_t ot_plan_bytes(const ot_plan *p) { return p->arena_bytes + p->workspace_bytes; }

ot_status ot_plan_infer_shapes(ot_model *m, int n_feeds, const int *feeds,
                                const ot_tensor *feed_shapes, ot_tensor *out) {
    ot_plan *p;
    OT_TRY(ot_plan_create(m, NULL, n_feeds, feeds, feed_shapes, &p));
    for (int v = 0; v < m->n_values; v++) {
        memset(&out[v], 0, sizeof(ot_tensor));
        if (p->state[v] != VALUE_UNUSED)
            ot_tensor_set_shape(&out[v], ot_tensor_declared(&p->vals[v]), p->vals[v].ndim, p->vals[v].dims);
    }
    ot_plan_free(p);
    return OT_OK;
}

ot_status ot_plan_infer_value_shape(const ot_context *ctx, ot_model *m, int value, ot_tensor *out) {
    OT_TRY(ot_graph_check(m));
    OT_TRY(ot_graph_resolve(m));
    /* Plan up to this value only: it stands in for the outputs meanwhile. */
    int saved_outputs = m->n_outputs, *saved = m->outputs;
    m->outputs = &value;
    m->n_outputs = 1;
    ot_tensor feeds[16];
    int n = OT_MIN(m->n_inputs, 16);
    for (int k = 0; k < n; k++) {
        feeds[k] = m->values[m->inputs[k]].tensor;
        feeds[k].data = NULL;
        for (int d = 0; d < feeds[k].ndim; d++)
            if (feeds[k].dims[d] < 0) feeds[k].dims[d] = 1;
    }
    ot_plan_options options = {.context = (ot_context *)ctx}; /* planning only reads its limits */
    ot_plan *p = NULL;
    ot_status status = ot_plan_create(m, &options, n, m->inputs, feeds, &p);
    m->outputs = saved;
    m->n_outputs = saved_outputs;
    if (status != OT_OK) return status;
    memset(out, 0, sizeof *out);
    ot_tensor_set_shape(out, p->vals[value].dtype, p->vals[value].ndim, p->vals[value].dims);
    ot_plan_free(p);
    return OT_OK;
}
