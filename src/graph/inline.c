/* An If replaced by one of its branches, as a shallow view of the model (inline.h). The view
 * owns only what it adds: its value and layer arrays, the branch values' names, and the index
 * arrays of the layers it rewrote. */
#include <string.h>
#include <stdlib.h>

#include "core/util.h"
#include "inline.h"
#include "subgraph.h"
#include "ops/op.h"

/* map[v]: the view's value for branch value v. Branch outputs computed by a branch layer
 * become the If's outputs directly; *n_copies counts the ones that need an Identity. */
static ot_status map_values(ot_model *view, const ot_model *base, const ot_layer *l, const ot_model *branch,
                            int *map, int *n_copies) {
    for (int v = 0; v < branch->n_values; v++) {
        const ot_value *bv = &branch->values[v];
        map[v] = -1;
        if (bv->kind == OT_VALUE_OUTER) {
            if ((map[v] = oti_layer_outer_value(base, l, bv->name)) < 0)
                return oti_fail(OT_ERR_INVALID, "If node '%s': its branch reads '%s' from the enclosing "
                                "graph, which does not define it", l->name, bv->name);
            continue;
        }
        ot_value *nv = &view->values[view->n_values];
        *nv = *bv;
        nv->tensor.owns = 0;
        memset(nv->dim_names, 0, sizeof nv->dim_names);
        OT_ALLOC_CHECK(nv->name = oti_strdup(bv->name));
        map[v] = view->n_values++;
    }
    *n_copies = 0;
    for (int k = 0; k < branch->n_outputs; k++) {
        int v = branch->outputs[k];
        int computed = branch->values[v].kind == OT_VALUE_ACTIVATION; /* by a branch layer */
        int taken = 0;
        for (int j = 0; j < k; j++) taken |= branch->outputs[j] == v;
        if (computed && !taken) map[v] = l->outputs[k];
        else (*n_copies)++;
    }
    return OT_OK;
}

/* Copies of l with inputs and outputs renumbered through map (arrays owned by the view). */
static ot_status rewrite_layer(ot_layer *dst, const ot_layer *src, const int *map) {
    *dst = *src;
    dst->inputs = dst->outputs = NULL; /* src's stay src's */
    dst->inputs = oti_calloc((size_t)src->n_inputs + 1, sizeof(int));
    dst->outputs = oti_calloc((size_t)src->n_outputs + 1, sizeof(int));
    if (!dst->inputs || !dst->outputs) return OT_ERR_MEMORY;
    for (int k = 0; k < src->n_inputs; k++) dst->inputs[k] = src->inputs[k] >= 0 ? map[src->inputs[k]] : -1;
    for (int k = 0; k < src->n_outputs; k++) dst->outputs[k] = src->outputs[k] >= 0 ? map[src->outputs[k]] : -1;
    return OT_OK;
}

/* Identity(from) -> to, named after the If. */
static ot_status copy_layer(ot_layer *dst, const ot_layer *l, int from, int to) {
    memset(dst, 0, sizeof *dst);
    dst->name = l->name;
    dst->op_type = (char *)"Identity";
    dst->domain = (char *)"";
    dst->opset = l->opset;
    dst->op = oti_op_lookup("", "Identity", l->opset, NULL);
    dst->n_inputs = dst->n_outputs = 1;
    dst->inputs = oti_malloc(sizeof(int));
    dst->outputs = oti_malloc(sizeof(int));
    if (!dst->inputs || !dst->outputs) return OT_ERR_MEMORY;
    dst->inputs[0] = from;
    dst->outputs[0] = to;
    return OT_OK;
}

static ot_status build_view(oti_inlined_model *extent, const ot_model *base, int layer, const ot_model *branch,
                            int *map) {
    ot_model *view = &extent->model;
    const ot_layer *l = &base->layers[layer];
    int n_copies = 0;
    OT_TRY(map_values(view, base, l, branch, map, &n_copies));
    int n_new = branch->n_layers + n_copies;
    view->layers = oti_calloc((size_t)(base->n_layers + n_new), sizeof(ot_layer));
    OT_ALLOC_CHECK(view->layers);
    memcpy(view->layers, base->layers, sizeof(ot_layer) * (size_t)layer);
    extent->first_layer = layer;
    for (int i = 0; i < branch->n_layers; i++) {
        extent->n_layers++; /* freed from here on, also when half built */
        OT_TRY(rewrite_layer(&view->layers[layer + i], &branch->layers[i], map));
    }
    for (int k = 0; k < branch->n_outputs; k++) {
        int v = branch->outputs[k];
        if (map[v] == l->outputs[k]) continue;
        extent->n_layers++;
        OT_TRY(copy_layer(&view->layers[layer + extent->n_layers - 1], l, map[v], l->outputs[k]));
    }
    memcpy(view->layers + layer + n_new, base->layers + layer + 1,
           sizeof(ot_layer) * (size_t)(base->n_layers - layer - 1));
    view->n_layers = base->n_layers - 1 + n_new;
    return OT_OK;
}

ot_status oti_graph_inline_branch(const ot_model *base, int layer, const ot_model *branch, oti_inlined_model **out) {
    *out = NULL;
    oti_inlined_model *inlined = oti_calloc(1, sizeof *inlined);
    OT_ALLOC_CHECK(inlined);
    ot_model *view = &inlined->model;
    *view = *base;
    view->layers = NULL;
    view->index = NULL; /* views are not searched by name */
    view->retained_blocks = NULL;
    view->n_retained_blocks = view->cap_retained_blocks = 0;
    view->values = oti_calloc((size_t)(base->n_values + branch->n_values) + 1, sizeof(ot_value));
    int *map = oti_calloc((size_t)branch->n_values + 1, sizeof(int));
    if (!view->values || !map) {
        free(map);
        free(view->values);
        free(inlined);
        return OT_ERR_MEMORY;
    }
    memcpy(view->values, base->values, sizeof(ot_value) * (size_t)base->n_values);
    inlined->first_value = view->n_values = base->n_values;
    ot_status status = build_view(inlined, base, layer, branch, map);
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
    for (int v = inlined->first_value; v < view->n_values; v++) free(view->values[v].name);
    for (int i = inlined->first_layer; view->layers && i < inlined->first_layer + inlined->n_layers; i++) {
        free(view->layers[i].inputs);
        free(view->layers[i].outputs);
    }
    free(view->values);
    free(view->layers);
    free(inlined);
}
