/* An If replaced by one of its branches, or a Loop by copies of its body, as a shallow view of
 * the model (inline.h). The view owns only what it adds: its value and layer arrays, the new
 * values' names, the index arrays of the layers it wrote, and the constants it made (a Loop's
 * iteration numbers). */
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

/* A new int64 or bool scalar constant holding `value`. */
static ot_status append_constant(oti_inlined_model *inlined, const char *name, ot_dtype dtype, int64_t value,
                                 int *index) {
    ot_value constant = {.name = (char *)name, .kind = OT_VALUE_INITIALIZER, .has_type = 1, .has_shape = 1};
    OT_TRY(ot_tensor_alloc(NULL, &constant.tensor, dtype, 0, NULL, name));
    if (dtype == OT_INT64) *(int64_t *)constant.tensor.data = value;
    else *(unsigned char *)constant.tensor.data = value != 0;
    ot_status status = append_value(&inlined->model, &constant, index);
    if (status == OT_OK) inlined->model.values[*index].tensor.owns = 1; /* freed with the view */
    else ot_tensor_free(&constant.tensor);
    return status;
}

/* The next layer of the view: a copy of src with inputs and outputs renumbered through map. */
static ot_status append_rewritten(ot_model *view, const ot_layer *src, const int *map) {
    ot_layer *dst = &view->layers[view->n_layers++]; /* freed from here on, also half built */
    *dst = *src;
    dst->inputs = dst->outputs = NULL; /* src's stay src's */
    dst->inputs = oti_calloc((size_t)src->n_inputs + 1, sizeof(int));
    dst->outputs = oti_calloc((size_t)src->n_outputs + 1, sizeof(int));
    if (!dst->inputs || !dst->outputs) return OT_ERR_MEMORY;
    for (int k = 0; k < src->n_inputs; k++) dst->inputs[k] = src->inputs[k] >= 0 ? map[src->inputs[k]] : -1;
    for (int k = 0; k < src->n_outputs; k++) dst->outputs[k] = src->outputs[k] >= 0 ? map[src->outputs[k]] : -1;
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

/* The branch's layers, writing its outputs into the If's (directly where a branch layer
 * computes the output, else through an Identity). */
static ot_status inline_branch(oti_inlined_model *inlined, const ot_model *base, int layer, const ot_model *branch,
                               int *map) {
    const ot_layer *l = &base->layers[layer];
    ot_model *view = &inlined->model;
    OT_TRY(map_subgraph_values(view, base, l, branch, map));
    unsigned char *copied = oti_calloc((size_t)branch->n_outputs + 1, 1);
    OT_ALLOC_CHECK(copied);
    for (int k = 0; k < branch->n_outputs; k++) {
        int v = branch->outputs[k], taken = 0;
        for (int j = 0; j < k; j++) taken |= branch->outputs[j] == v;
        copied[k] = branch->values[v].kind != OT_VALUE_ACTIVATION || taken;
        if (!copied[k]) map[v] = l->outputs[k];
    }
    ot_status status = OT_OK;
    for (int i = 0; i < branch->n_layers && status == OT_OK; i++)
        status = append_rewritten(view, &branch->layers[i], map);
    for (int k = 0; k < branch->n_outputs && status == OT_OK; k++)
        if (copied[k]) status = append_copy(view, l, map[branch->outputs[k]], l->outputs[k]);
    free(copied);
    return status;
}

/* count copies of the body, each reading the previous one's states; the last one's states
 * become the Loop's outputs. */
static ot_status unroll_loop(oti_inlined_model *inlined, const ot_model *base, int layer, int64_t count, int *map) {
    const ot_layer *l = &base->layers[layer];
    const ot_control_params *params = l->params;
    const ot_model *body = params->body;
    ot_model *view = &inlined->model;
    int n = params->n_states, yes;
    OT_TRY(append_constant(inlined, l->name, OT_BOOL, 1, &yes));
    int *states = oti_calloc((size_t)n + 1, sizeof(int));
    OT_ALLOC_CHECK(states);
    for (int j = 0; j < n; j++) states[j] = l->inputs[2 + j];
    ot_status status = OT_OK;
    for (int64_t t = 0; t < count && status == OT_OK; t++) {
        status = map_subgraph_values(view, base, l, body, map);
        if (status == OT_OK) status = append_constant(inlined, body->values[body->inputs[0]].name, OT_INT64, t, &map[body->inputs[0]]);
        map[body->inputs[1]] = yes;
        for (int j = 0; j < n; j++) map[body->inputs[2 + j]] = states[j];
        for (int i = 0; i < body->n_layers && status == OT_OK; i++) status = append_rewritten(view, &body->layers[i], map);
        for (int j = 0; j < n; j++) states[j] = map[body->outputs[1 + j]];
    }
    for (int j = 0; j < n && status == OT_OK; j++)
        if (l->outputs[j] >= 0) status = append_copy(view, l, states[j], l->outputs[j]);
    free(states);
    return status;
}

ot_status oti_graph_inline(const ot_model *base, int layer, int64_t choice, oti_inlined_model **out) {
    *out = NULL;
    const ot_control_params *params = base->layers[layer].params;
    int loop = params->kind == OT_CONTROL_LOOP;
    const ot_model *g = loop ? params->body : params->branches[choice != 0];
    int64_t copies = loop ? choice : 1;
    oti_inlined_model *inlined = NULL;
    int *map = oti_calloc((size_t)g->n_values + 1, sizeof(int));
    ot_status status = map ? view_begin(base, layer, (size_t)copies * (size_t)(g->n_values + 1) + 1,
                                        (size_t)copies * (size_t)g->n_layers + (size_t)base->layers[layer].n_outputs,
                                        &inlined) : OT_ERR_MEMORY;
    if (status == OT_OK)
        status = loop ? unroll_loop(inlined, base, layer, copies, map) : inline_branch(inlined, base, layer, g, map);
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
    free(view->values);
    free(view->layers);
    free(inlined);
}
