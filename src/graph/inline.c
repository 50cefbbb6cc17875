/* An If replaced by one of its branches, or a Loop or Scan by copies of its body, as a shallow
 * view of the model (inline.h). The view owns only what it adds: its value and layer arrays,
 * the new values' names, the index arrays of the layers it wrote, the constants it made (a
 * Loop's iteration numbers, a Scan's positions) and the attributes and parameters of the
 * layers it made (Gather, Unsqueeze, Concat). */
#include <string.h>
#include <stdlib.h>

#include "core/util.h"
#include "inline.h"
#include "ops/control_flow.h"
#include "subgraph.h"

/* A view of base with room for extra values and layers; base's layers before `layer` copied. */
static ot_status view_begin(const ot_model *base, int layer, size_t extra_values, size_t extra_layers,
                            oti_inlined_model **out) {
    oti_inlined_model *inlined = oti_calloc(1, sizeof *inlined);
    OT_ALLOC_CHECK(inlined);
    *out = inlined;
    ot_model *view = &inlined->model;
    *view = *base;
    view->values = NULL;
    view->layers = NULL;
    inlined->first_value = view->n_values = base->n_values; /* what the view owns starts here */
    inlined->first_layer = view->n_layers = layer;
    view->index = NULL; /* views are not searched by name */
    view->retained_blocks = NULL;
    view->n_retained_blocks = view->cap_retained_blocks = 0;
    view->values = oti_calloc((size_t)base->n_values + extra_values + 1, sizeof(ot_value));
    view->layers = oti_calloc((size_t)base->n_layers + extra_layers + 1, sizeof(ot_layer));
    if (!view->values || !view->layers) return OT_ERR_MEMORY;
    memcpy(view->values, base->values, sizeof(ot_value) * (size_t)base->n_values);
    memcpy(view->layers, base->layers, sizeof(ot_layer) * (size_t)layer);
    return OT_OK;
}

/* Base's layers after the replaced one. */
static void view_end(oti_inlined_model *inlined, const ot_model *base, int layer) {
    ot_model *view = &inlined->model;
    memcpy(view->layers + view->n_layers, base->layers + layer + 1, sizeof(ot_layer) * (size_t)(base->n_layers - layer - 1));
    view->n_layers += base->n_layers - layer - 1;
}

/* A new value: a shallow copy of a subgraph's value (data borrowed), its own name. */
static ot_status append_value(ot_model *view, const ot_value *from, int *index) {
    ot_value *nv = &view->values[view->n_values];
    *nv = *from;
    nv->tensor.owns = 0;
    memset(nv->dim_names, 0, sizeof nv->dim_names);
    OT_ALLOC_CHECK(nv->name = oti_strdup(from->name));
    *index = view->n_values++;
    return OT_OK;
}

/* A new int64 or bool constant holding `value`: a scalar (ndim 0) or one value (ndim 1). */
static ot_status append_constant(oti_inlined_model *inlined, const char *name, ot_dtype dtype, int ndim,
                                 int64_t value, int *index) {
    ot_value constant = {.name = (char *)name, .kind = OT_VALUE_INITIALIZER, .has_type = 1, .has_shape = 1};
    int64_t one = 1;
    OT_TRY(ot_tensor_alloc(NULL, &constant.tensor, dtype, ndim, &one, name));
    if (dtype == OT_INT64) *(int64_t *)constant.tensor.data = value;
    else *(unsigned char *)constant.tensor.data = value != 0;
    ot_status status = append_value(&inlined->model, &constant, index);
    if (status == OT_OK) inlined->model.values[*index].tensor.owns = 1; /* freed with the view */
    else ot_tensor_free(&constant.tensor);
    return status;
}

/* The next layer of the view: a copy of src with inputs and outputs renumbered through map
 * (NULL: as they are). */
static ot_status append_rewritten(ot_model *view, const ot_layer *src, const int *map) {
    ot_layer *dst = &view->layers[view->n_layers++]; /* freed from here on, also half built */
    *dst = *src;
    dst->inputs = dst->outputs = NULL; /* src's stay src's */
    dst->inputs = oti_calloc((size_t)src->n_inputs + 1, sizeof(int));
    dst->outputs = oti_calloc((size_t)src->n_outputs + 1, sizeof(int));
    if (!dst->inputs || !dst->outputs) return OT_ERR_MEMORY;
    for (int k = 0; k < src->n_inputs; k++)
        dst->inputs[k] = src->inputs[k] >= 0 && map ? map[src->inputs[k]] : src->inputs[k];
    for (int k = 0; k < src->n_outputs; k++)
        dst->outputs[k] = src->outputs[k] >= 0 && map ? map[src->outputs[k]] : src->outputs[k];
    return OT_OK;
}

/* The next layer of the view: Identity(from) -> to, named after the replaced node l. */
static ot_status append_copy(ot_model *view, const ot_layer *l, int from, int to) {
    int map[2] = {from, to};
    ot_layer identity = {.name = l->name, .op_type = (char *)"Identity", .domain = (char *)"", .opset = l->opset,
                         .op = oti_op_lookup("", "Identity", l->opset, NULL), .n_inputs = 1, .n_outputs = 1,
                         .inputs = (int[]){0}, .outputs = (int[]){1}};
    return append_rewritten(view, &identity, map);
}

/* block belongs to the view from here on (freed with it, also when this fails). */
static ot_status own(oti_inlined_model *inlined, void *block) {
    if (!block) return OT_ERR_MEMORY;
    if (oti_grow_array((void **)&inlined->owned, &inlined->cap_owned, inlined->n_owned + 1, sizeof(void *)) != OT_OK) {
        free(block);
        return OT_ERR_MEMORY;
    }
    inlined->owned[inlined->n_owned++] = block;
    return OT_OK;
}

/* A new activation named after `name`. */
static ot_status append_activation(ot_model *view, const char *name, int *index) {
    ot_value value = {.name = (char *)name, .kind = OT_VALUE_ACTIVATION};
    return append_value(view, &value, index);
}

/* The next layer of the view: op_type(inputs) -> output with one attribute (`attr` ints, one
 * int when n_ints is 0; no attribute for a NULL name), parsed as an imported one would be. */
static ot_status append_made(oti_inlined_model *inlined, const ot_layer *l, const char *op_type, int n_in,
                             const int *inputs, int output, const char *attr, int n_ints, int64_t value) {
    ot_layer made = {.name = l->name, .op_type = (char *)op_type, .domain = (char *)"", .opset = l->opset,
                     .op = oti_op_lookup("", op_type, l->opset, NULL), .n_inputs = n_in, .n_outputs = 1,
                     .inputs = (int *)inputs, .outputs = &output, .n_attrs = attr != NULL};
    OT_ASSERT(made.op);
    ot_attr *a = oti_calloc(1, sizeof(ot_attr) + sizeof(int64_t));
    OT_TRY(own(inlined, a));
    a->name = (char *)attr;
    a->type = n_ints ? OT_ATTR_INTS : OT_ATTR_INT;
    a->i = value;
    a->count = n_ints;
    a->ints = (int64_t *)(a + 1);
    a->ints[0] = value;
    made.attrs = a;
    void *params = oti_calloc(1, made.op->params_size + 1);
    OT_TRY(own(inlined, params));
    if (made.op->parse) OT_TRY(made.op->parse(&made, params));
    made.params = params;
    return append_rewritten(&inlined->model, &made, NULL);
}

/* map[v]: the view's value for subgraph value v that is neither an input nor an outer read:
 * a new value. Outer reads become l's implicit inputs. */
static ot_status map_subgraph_values(ot_model *view, const ot_model *base, const ot_layer *l, const ot_model *g,
                                     int *map) {
    for (int v = 0; v < g->n_values; v++) {
        const ot_value *gv = &g->values[v];
        if (gv->kind == OT_VALUE_INPUT) continue; /* the caller maps the subgraph's inputs */
        if (gv->kind != OT_VALUE_OUTER) {
            OT_TRY(append_value(view, gv, &map[v]));
            continue;
        }
        if ((map[v] = oti_layer_outer_value(base, l, gv->name)) < 0)
            return oti_fail(OT_ERR_INVALID, "%s node '%s': its subgraph reads '%s' from the enclosing graph, which "
                            "does not define it", l->op_type, l->name, gv->name);
    }
    return OT_OK;
}

/* The branch's layers, then an Identity from each branch output to the If's. (Every value of
 * the branch keeps its name: nested subgraphs find what they read by name.) */
static ot_status inline_branch(oti_inlined_model *inlined, const ot_model *base, int layer, const ot_model *branch,
                               int *map) {
    const ot_layer *l = &base->layers[layer];
    ot_model *view = &inlined->model;
    OT_TRY(map_subgraph_values(view, base, l, branch, map));
    for (int i = 0; i < branch->n_layers; i++) OT_TRY(append_rewritten(view, &branch->layers[i], map));
    for (int k = 0; k < branch->n_outputs; k++)
        if (l->outputs[k] >= 0) OT_TRY(append_copy(view, l, map[branch->outputs[k]], l->outputs[k]));
    return OT_OK;
}

/* Scan output `output` of the node: the copies' slices (slices[t], t in order), each
 * unsqueezed at `axis`, concatenated along it (backwards when reverse). */
static ot_status stack_slices(oti_inlined_model *inlined, const ot_layer *l, const int *slices, int64_t count,
                              int axis, int reverse, int output) {
    int *parts = oti_calloc((size_t)count + 1, sizeof(int));
    OT_TRY(own(inlined, parts));
    int axes = -1;
    if (l->opset >= 13) OT_TRY(append_constant(inlined, l->name, OT_INT64, 1, axis, &axes));
    for (int64_t t = 0; t < count; t++) {
        int in[2] = {slices[reverse ? count - 1 - t : t], axes};
        OT_TRY(append_activation(&inlined->model, l->name, &parts[t]));
        if (l->opset >= 13) OT_TRY(append_made(inlined, l, "Unsqueeze", 2, in, parts[t], NULL, 0, 0));
        else OT_TRY(append_made(inlined, l, "Unsqueeze", 1, in, parts[t], "axes", 1, axis));
    }
    return append_made(inlined, l, "Concat", (int)count, parts, output, "axis", 0, axis);
}

/* Copy t's Scan slices: scan input j gathered at its position t (from the end when reversed). */
static ot_status gather_slices(oti_inlined_model *inlined, const ot_layer *l, const ot_model *body, int64_t t,
                               int64_t count, int *map) {
    const ot_control_params *params = l->params;
    for (int j = 0; j < params->n_scan_inputs; j++) {
        int in[2] = {l->inputs[params->first_state + params->n_states + j], -1};
        int slice = body->inputs[params->n_states + j];
        OT_TRY(append_constant(inlined, l->name, OT_INT64, 0, params->input_reverse[j] ? count - 1 - t : t, &in[1]));
        OT_TRY(append_activation(&inlined->model, body->values[slice].name, &map[slice]));
        OT_TRY(append_made(inlined, l, "Gather", 2, in, map[slice], "axis", 0, params->input_axes[j]));
    }
    return OT_OK;
}

/* count copies of a Loop's or Scan's body, each reading the previous one's states; the last
 * one's states and the stacked slices become the node's outputs. */
static ot_status unroll(oti_inlined_model *inlined, const ot_model *base, int layer, int64_t count, int *map,
                        int *states, int *slices) {
    const ot_layer *l = &base->layers[layer];
    const ot_control_params *params = l->params;
    const ot_model *body = params->body;
    int loop = params->kind == OT_CONTROL_LOOP, n = params->n_states;
    int first_in = loop ? 2 : 0, first_out = loop ? 1 : 0; /* the body's states */
    for (int j = 0; j < n; j++) states[j] = l->inputs[(loop ? 2 : params->first_state) + j];
    for (int64_t t = 0; t < count; t++) {
        /* Every body input is a value of its own name in each copy (nested subgraphs find
         * what they read by name): the iteration number and condition as constants, the
         * states as Identity copies, a Scan's slices gathered. */
        OT_TRY(map_subgraph_values(&inlined->model, base, l, body, map));
        if (loop) {
            OT_TRY(append_constant(inlined, body->values[body->inputs[0]].name, OT_INT64, 0, t, &map[body->inputs[0]]));
            OT_TRY(append_constant(inlined, body->values[body->inputs[1]].name, OT_BOOL, 0, 1, &map[body->inputs[1]]));
        } else {
            OT_TRY(gather_slices(inlined, l, body, t, count, map));
        }
        for (int j = 0; j < n; j++) {
            int *in = &map[body->inputs[first_in + j]];
            OT_TRY(append_activation(&inlined->model, body->values[body->inputs[first_in + j]].name, in));
            OT_TRY(append_copy(&inlined->model, l, states[j], *in));
        }
        for (int i = 0; i < body->n_layers; i++) OT_TRY(append_rewritten(&inlined->model, &body->layers[i], map));
        for (int j = 0; j < n; j++) states[j] = map[body->outputs[first_out + j]];
        for (int k = 0; k < params->n_scan_outputs; k++)
            slices[k * count + t] = map[body->outputs[first_out + n + k]];
    }
    for (int j = 0; j < n; j++)
        if (l->outputs[j] >= 0) OT_TRY(append_copy(&inlined->model, l, states[j], l->outputs[j]));
    for (int k = 0; k < params->n_scan_outputs; k++)
        if (l->outputs[n + k] >= 0)
            OT_TRY(stack_slices(inlined, l, slices + k * count, count, loop ? 0 : params->output_axes[k],
                                !loop && params->output_reverse[k], l->outputs[n + k]));
    return OT_OK;
}

ot_status oti_graph_inline(const ot_model *base, int layer, int64_t choice, oti_inlined_model **out) {
    *out = NULL;
    const ot_control_params *params = base->layers[layer].params;
    int loop = params->kind != OT_CONTROL_IF; /* Loop and Scan unroll */
    const ot_model *g = loop ? params->body : params->branches[choice != 0];
    int64_t copies = loop ? choice : 1;
    oti_inlined_model *inlined = NULL;
    int *map = oti_calloc((size_t)g->n_values + 1, sizeof(int));
    /* Per copy: the body's values and layers, plus per scan input a constant, a slice and a
     * Gather, per scan output an axes constant, an unsqueezed slice and an Unsqueeze. */
    size_t io = (size_t)(base->layers[layer].n_inputs + base->layers[layer].n_outputs);
    ot_status status = map ? view_begin(base, layer, (size_t)copies * ((size_t)g->n_values + 2 * io + 2) + io + 1,
                                        (size_t)copies * ((size_t)g->n_layers + io) + 2 * io, &inlined)
                           : OT_ERR_MEMORY;
    if (status == OT_OK && !loop) status = inline_branch(inlined, base, layer, g, map);
    if (status == OT_OK && loop) {
        /* Scratch: the states between copies, every copy's scan output slices. */
        int *states = oti_calloc((size_t)base->layers[layer].n_outputs + 1, sizeof(int));
        int *slices = oti_calloc((size_t)(copies * base->layers[layer].n_outputs) + 1, sizeof(int));
        status = states && slices ? unroll(inlined, base, layer, copies, map, states, slices) : OT_ERR_MEMORY;
        free(states);
        free(slices);
    }
    if (inlined) inlined->n_layers = inlined->model.n_layers - inlined->first_layer;
    if (status == OT_OK) view_end(inlined, base, layer);
    free(map);
    if (status != OT_OK) {
        oti_graph_inlined_free(inlined);
        return status;
    }
    *out = inlined;
    return OT_OK;
}

void oti_graph_inlined_free(oti_inlined_model *inlined) {
    if (!inlined) return;
    ot_model *view = &inlined->model;
    for (int v = inlined->first_value; view->values && v < view->n_values; v++) {
        free(view->values[v].name);
        ot_tensor_free(&view->values[v].tensor); /* only the view's own constants own data */
    }
    for (int i = inlined->first_layer; view->layers && i < inlined->first_layer + inlined->n_layers; i++) {
        free(view->layers[i].inputs);
        free(view->layers[i].outputs);
    }
    for (int i = 0; i < inlined->n_owned; i++) free(inlined->owned[i]);
    free(inlined->owned);
    free(view->values);
    free(view->layers);
    free(inlined);
}
