/* The subgraph walker (subgraph.h). */
#include <string.h>

#include "core/util.h"
#include "subgraph.h"

ot_status oti_layer_each_subgraph(const ot_layer *l, ot_status (*visit)(ot_model *g, void *context), void *context) {
    for (int a = 0; a < l->n_attrs; a++) {
        if (!l->attrs[a].g) continue;
        ot_status status = visit(l->attrs[a].g, context);
        if (status != OT_OK) {
            oti_error_prefix("%s node '%s', subgraph '%s': ", l->op_type, l->name, l->attrs[a].name);
            return status;
        }
    }
    return OT_OK;
}

ot_status oti_model_each_subgraph(const ot_model *m, ot_status (*visit)(ot_model *g, void *context), void *context) {
    for (int i = 0; i < m->n_layers; i++) OT_TRY(oti_layer_each_subgraph(&m->layers[i], visit, context));
    return OT_OK;
}

int oti_layer_outer_value(const ot_model *m, const ot_layer *l, const char *name) {
    for (int k = l->n_inputs - l->n_implicit_inputs; k < l->n_inputs; k++)
        if (l->inputs[k] >= 0 && strcmp(m->values[l->inputs[k]].name, name) == 0) return l->inputs[k];
    return -1;
}
