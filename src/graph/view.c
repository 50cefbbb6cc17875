/* Views of a model (view.h): a shallow copy of a model's values and layers in which one layer
 * is replaced by others, and the helpers that append the replacement's values and layers.
 * Inlining control flow (inline.c) and lowering sequence ops (sequence.c) build them. */
#include <string.h>
#include <stdlib.h>

#include "core/util.h"
#include "ops/op.h"
#include "view.h"

/* A view of base with room for extra values and layers; base's layers before `layer` copied. */
ot_status oti_view_begin(const ot_model *base, int layer, size_t extra_values, size_t extra_layers,
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
void oti_view_end(oti_inlined_model *inlined, const ot_model *base, int layer) {
    ot_model *view = &inlined->model;
    memcpy(view->layers + view->n_layers, base->layers + layer + 1, sizeof(ot_layer) * (size_t)(base->n_layers - layer - 1));
    view->n_layers += base->n_layers - layer - 1;
}

/* A new value: a shallow copy of a subgraph's value (data borrowed), its own name. */
ot_status oti_view_append_value(ot_model *view, const ot_value *from, int *index) {
    ot_value *nv = &view->values[view->n_values];
    *nv = *from;
    nv->tensor.owns = 0;
    memset(nv->dim_names, 0, sizeof nv->dim_names);
    OT_ALLOC_CHECK(nv->name = oti_strdup(from->name));
    *index = view->n_values++;
    return OT_OK;
}

/* A new int64 or bool constant holding `value`: a scalar (ndim 0) or one value (ndim 1). */
ot_status oti_view_append_constant(oti_inlined_model *inlined, const char *name, ot_dtype dtype, int ndim,
                                 int64_t value, int *index) {
    ot_value constant = {.name = (char *)name, .kind = OT_VALUE_INITIALIZER, .has_type = 1, .has_shape = 1};
    int64_t one = 1;
    OT_TRY(ot_tensor_alloc(NULL, &constant.tensor, dtype, ndim, &one, name));
    if (dtype == OT_INT64) *(int64_t *)constant.tensor.data = value;
    else *(unsigned char *)constant.tensor.data = value != 0;
    ot_status status = oti_view_append_value(&inlined->model, &constant, index);
    if (status == OT_OK) inlined->model.values[*index].tensor.owns = 1; /* freed with the view */
    else ot_tensor_free(&constant.tensor);
    return status;
}

/* The next layer of the view: a copy of src with inputs and outputs renumbered through map
 * (NULL: as they are). */
ot_status oti_view_append_rewritten(ot_model *view, const ot_layer *src, const int *map) {
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
ot_status oti_view_append_copy(ot_model *view, const ot_layer *l, int from, int to) {
    int map[2] = {from, to};
    ot_layer identity = {.name = l->name, .op_type = (char *)"Identity", .domain = (char *)"", .opset = l->opset,
                         .op = oti_op_lookup("", "Identity", l->opset, NULL), .n_inputs = 1, .n_outputs = 1,
                         .inputs = (int[]){0}, .outputs = (int[]){1}};
    return oti_view_append_rewritten(view, &identity, map);
}

/* block belongs to the view from here on (freed with it, also when this fails). */
ot_status oti_view_own(oti_inlined_model *inlined, void *block) {
    if (!block) return OT_ERR_MEMORY;
    if (oti_grow_array((void **)&inlined->owned, &inlined->cap_owned, inlined->n_owned + 1, sizeof(void *)) != OT_OK) {
        free(block);
        return OT_ERR_MEMORY;
    }
    inlined->owned[inlined->n_owned++] = block;
    return OT_OK;
}

/* A new activation named after `name`. */
ot_status oti_view_append_activation(ot_model *view, const char *name, int *index) {
    ot_value value = {.name = (char *)name, .kind = OT_VALUE_ACTIVATION};
    return oti_view_append_value(view, &value, index);
}

/* The next layer of the view: op_type(inputs) -> output with one attribute (`attr` ints, one
 * int when n_ints is 0; no attribute for a NULL name), parsed as an imported one would be. */
ot_status oti_view_append_made(oti_inlined_model *inlined, const ot_layer *l, const char *op_type, int n_in,
                             const int *inputs, int output, const char *attr, int n_ints, int64_t value) {
    ot_layer made = {.name = l->name, .op_type = (char *)op_type, .domain = (char *)"", .opset = l->opset,
                     .op = oti_op_lookup("", op_type, l->opset, NULL), .n_inputs = n_in, .n_outputs = 1,
                     .inputs = (int *)inputs, .outputs = &output, .n_attrs = attr != NULL};
    OT_ASSERT(made.op);
    ot_attr *a = oti_calloc(1, sizeof(ot_attr) + sizeof(int64_t));
    OT_TRY(oti_view_own(inlined, a));
    a->name = (char *)attr;
    a->type = n_ints ? OT_ATTR_INTS : OT_ATTR_INT;
    a->i = value;
    a->count = n_ints;
    a->ints = (int64_t *)(a + 1);
    a->ints[0] = value;
    made.attrs = a;
    void *params = oti_calloc(1, made.op->params_size + 1);
    OT_TRY(oti_view_own(inlined, params));
    if (made.op->parse) OT_TRY(made.op->parse(&made, params));
    made.params = params;
    return oti_view_append_rewritten(&inlined->model, &made, NULL);
}

/* Scan output `output` of the node: the copies' slices (slices[t], t in order), each
 * unsqueezed at `axis`, concatenated along it (backwards when reverse). */
ot_status oti_view_stack(oti_inlined_model *inlined, const ot_layer *l, const int *slices, int64_t count,
                              int axis, int reverse, int output) {
    int *parts = oti_calloc((size_t)count + 1, sizeof(int));
    OT_TRY(oti_view_own(inlined, parts));
    int axes = -1;
    if (l->opset >= 13) OT_TRY(oti_view_append_constant(inlined, l->name, OT_INT64, 1, axis, &axes));
    for (int64_t t = 0; t < count; t++) {
        int in[2] = {slices[reverse ? count - 1 - t : t], axes};
        OT_TRY(oti_view_append_activation(&inlined->model, l->name, &parts[t]));
        if (l->opset >= 13) OT_TRY(oti_view_append_made(inlined, l, "Unsqueeze", 2, in, parts[t], NULL, 0, 0));
        else OT_TRY(oti_view_append_made(inlined, l, "Unsqueeze", 1, in, parts[t], "axes", 1, axis));
    }
    return oti_view_append_made(inlined, l, "Concat", (int)count, parts, output, "axis", 0, axis);
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
