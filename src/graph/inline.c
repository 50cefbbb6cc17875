/* An If replaced by one of its branches, or a Loop or Scan by copies of its body, as a shallow
 * view of the model (inline.h). The view owns only what it adds: its value and layer arrays,
 * the new values' names, the index arrays of the layers it wrote, the constants it made (a
 * Loop's iteration numbers, a Scan's positions) and the attributes and parameters of the
 * layers it made (Gather, Unsqueeze, Concat). */
#include <string.h>
#include <stdlib.h>

#include "core/util.h"
#include "inline.h"
#include "view.h"
#include "ops/control_flow.h"
#include "subgraph.h"

/* map[v]: the view's value for subgraph value v that is neither an input nor an outer read:
 * a new value. Outer reads become l's implicit inputs. */
static ot_status map_subgraph_values(ot_model *view, const ot_model *base, const ot_layer *l, const ot_model *g,
                                     int *map) {
    for (int v = 0; v < g->n_values; v++) {
        const ot_value *gv = &g->values[v];
        if (gv->kind == OT_VALUE_INPUT) continue; /* the caller maps the subgraph's inputs */
        if (gv->kind != OT_VALUE_OUTER) {
            OT_TRY(oti_view_append_value(view, gv, &map[v]));
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
    for (int i = 0; i < branch->n_layers; i++) OT_TRY(oti_view_append_rewritten(view, &branch->layers[i], map));
    for (int k = 0; k < branch->n_outputs; k++)
        if (l->outputs[k] >= 0) OT_TRY(oti_view_append_copy(view, l, map[branch->outputs[k]], l->outputs[k]));
    return OT_OK;
}

/* Copy t's Scan slices: scan input j gathered at its position t (from the end when reversed). */
static ot_status gather_slices(oti_inlined_model *inlined, const ot_layer *l, const ot_model *body, int64_t t,
                               int64_t count, int *map) {
    const ot_control_params *params = l->params;
    for (int j = 0; j < params->n_scan_inputs; j++) {
        int in[2] = {l->inputs[params->first_state + params->n_states + j], -1};
        int slice = body->inputs[params->n_states + j];
        OT_TRY(oti_view_append_constant(inlined, l->name, OT_INT64, 0, params->input_reverse[j] ? count - 1 - t : t, &in[1]));
        OT_TRY(oti_view_append_activation(&inlined->model, body->values[slice].name, &map[slice]));
        OT_TRY(oti_view_append_made(inlined, l, "Gather", 2, in, map[slice], "axis", 0, params->input_axes[j]));
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
            OT_TRY(oti_view_append_constant(inlined, body->values[body->inputs[0]].name, OT_INT64, 0, t, &map[body->inputs[0]]));
            OT_TRY(oti_view_append_constant(inlined, body->values[body->inputs[1]].name, OT_BOOL, 0, 1, &map[body->inputs[1]]));
        } else {
            OT_TRY(gather_slices(inlined, l, body, t, count, map));
        }
        for (int j = 0; j < n; j++) {
            int *in = &map[body->inputs[first_in + j]];
            OT_TRY(oti_view_append_activation(&inlined->model, body->values[body->inputs[first_in + j]].name, in));
            OT_TRY(oti_view_append_copy(&inlined->model, l, states[j], *in));
        }
        for (int i = 0; i < body->n_layers; i++) OT_TRY(oti_view_append_rewritten(&inlined->model, &body->layers[i], map));
        for (int j = 0; j < n; j++) states[j] = map[body->outputs[first_out + j]];
        for (int k = 0; k < params->n_scan_outputs; k++)
            slices[k * count + t] = map[body->outputs[first_out + n + k]];
    }
    for (int j = 0; j < n; j++)
        if (l->outputs[j] >= 0) OT_TRY(oti_view_append_copy(&inlined->model, l, states[j], l->outputs[j]));
    for (int k = 0; k < params->n_scan_outputs; k++)
        if (l->outputs[n + k] >= 0)
            OT_TRY(oti_view_stack(inlined, l, slices + k * count, count, loop ? 0 : params->output_axes[k],
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
    ot_status status = map ? oti_view_begin(base, layer, (size_t)copies * ((size_t)g->n_values + 2 * io + 2) + io + 1,
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
    if (status == OT_OK) oti_view_end(inlined, base, layer);
    free(map);
    if (status != OT_OK) {
        oti_graph_inlined_free(inlined);
        return status;
    }
    *out = inlined;
    return OT_OK;
}
