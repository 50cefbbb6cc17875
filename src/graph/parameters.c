/* Which initializers are trained parameters: the op table says, per input slot, which ones
 * hold constants or statistics. */
#include "onnxtrain/graph.h"
#include "ops/op.h"

int ot_graph_is_parameter(const ot_model *m, int value) {
    const ot_value *v = &m->values[value];
    if (v->kind != OT_VALUE_INITIALIZER || v->tensor.dtype != OT_FLOAT || v->tensor.ndim == 0)
        return 0;
    int used = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const ot_layer *l = &m->layers[i];
        for (int k = 0; k < l->n_inputs; k++) {
            if (l->inputs[k] != value) continue;
            used = 1;
            /* Models loaded structure-only have no resolved ops: ask the op table directly;
             * inputs of ops it does not know count as weights. */
            const struct ot_op *op =
                l->op ? l->op : oti_op_lookup(l->domain, l->op_type, l->opset, NULL);
            if (!oti_role_is_trained(oti_op_input_role(op, k))) return 0;
        }
    }
    return used;
}

int64_t ot_graph_layer_parameter_count(const ot_model *m, const ot_layer *l) {
    int64_t count = 0;
    for (int i = 0; i < l->n_inputs; i++) {
        int v = l->inputs[i];
        if (v < 0 || !ot_graph_is_parameter(m, v)) continue;
        /* An initializer read by several inputs of the layer counts once. */
        int seen = 0;
        for (int j = 0; j < i; j++) seen |= l->inputs[j] == v;
        if (!seen) count += ot_tensor_numel(&m->values[v].tensor);
    }
    return count;
}
