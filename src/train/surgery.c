/* Cutting a model at a layer, and typing graph outputs after surgery. */
#include <string.h>
#include <stdlib.h>

#include "core/util.h"
#include "onnxtrain/graph.h"
#include "onnxtrain/plan.h"
#include "onnxtrain/transfer.h"

ot_status ot_transfer_cut(ot_model *m, const char *layer) {
    int i = ot_model_find_layer(m, layer);
    if (i < 0) return oti_fail(OT_ERR_INVALID, "no layer has the name, output name or index '%s'", layer);
    int out = m->layers[i].outputs[0];
    if (out < 0) return oti_fail(OT_ERR_INVALID, "layer '%s' has no first output", layer);
    int *outputs = oti_calloc(2, sizeof(int));
    OT_ALLOC_CHECK(outputs);
    free(m->outputs);
    m->outputs = outputs;
    m->outputs[0] = out;
    m->n_outputs = 1;
    OT_TRY(ot_graph_prune(m));
    return ot_transfer_type_outputs(m);
}

ot_status ot_transfer_type_outputs(ot_model *m) {
    /* Infer with every unknown input dim at 1 and at 2: dims that follow stay symbolic. */
    ot_tensor *one = oti_calloc((size_t)m->n_values + 1, sizeof(ot_tensor));
    ot_tensor *two = oti_calloc((size_t)m->n_values + 1, sizeof(ot_tensor));
    if (!one || !two) {
        free(one);
        free(two);
        return OT_ERR_MEMORY;
    }
    ot_tensor feeds[2][16];
    int n = OT_MIN(m->n_inputs, 16);
    for (int s = 0; s < 2; s++)
        for (int k = 0; k < n; k++) {
            feeds[s][k] = m->values[m->inputs[k]].tensor;
            feeds[s][k].data = NULL;
            for (int d = 0; d < feeds[s][k].ndim; d++)
                if (feeds[s][k].dims[d] < 0) feeds[s][k].dims[d] = s + 1;
        }
    ot_status status = ot_plan_infer_shapes(m, n, m->inputs, feeds[0], one);
    if (status == OT_OK) status = ot_plan_infer_shapes(m, n, m->inputs, feeds[1], two);
    for (int k = 0; k < m->n_outputs && status == OT_OK; k++) {
        ot_value *v = &m->values[m->outputs[k]];
        const ot_tensor *a = &one[m->outputs[k]], *b = &two[m->outputs[k]];
        if (v->kind != OT_VALUE_ACTIVATION || a->dtype == OT_UNDEFINED) continue;
        v->has_type = v->has_shape = 1;
        ot_tensor_set_shape(&v->tensor, a->dtype, a->ndim, a->dims);
        for (int d = 0; d < a->ndim; d++) {
            free(v->dim_names[d]);
            v->dim_names[d] = NULL;
            if (b->ndim == a->ndim && b->dims[d] != a->dims[d]) {
                v->tensor.dims[d] = -1;
                v->dim_names[d] = oti_strdup("N");
                if (!v->dim_names[d]) status = OT_ERR_MEMORY;
            }
        }
    }
    free(one);
    free(two);
    return status;
}
