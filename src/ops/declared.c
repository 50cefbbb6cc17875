/* The model's dtype of each op output (`declared`), and fitting results to it.
 *
 * Kernels compute in float32, int64 and bool; an output declared narrower (int8, uint16,
 * float16, ...) is wrapped or rounded to that dtype after every forward, so intermediate
 * values behave as in an engine that stores them narrow. */
#include "core/dtype_convert.h"
#include "op.h"

/* Which dtype output k is declared as: what the model's value_info says (when its computed
 * dtype is the one infer chose), else what infer set, else the declared dtype of the first
 * input held in the same computed dtype (ONNX's ops mostly share one type variable T). */
static ot_dtype output_dtype(const ot_node_ctx *c, int k) {
    const ot_tensor *y = c->out[k];
    int v = c->layer->outputs[k];
    const ot_value *value = c->model && v >= 0 ? &c->model->values[v] : NULL;
    if (value && value->kind != OT_VALUE_INITIALIZER && value->has_type &&
        ot_dtype_storage(value->tensor.dtype) == y->dtype)
        return value->tensor.dtype;
    if (y->declared != OT_UNDEFINED) return y->declared;
    for (int j = 0; j < c->n_in; j++)
        if (c->in[j] && c->in[j]->dtype == y->dtype) return ot_tensor_declared(c->in[j]);
    return y->dtype;
}

void oti_op_declare_outputs(ot_node_ctx *c) {
    for (int k = 0; k < c->n_out; k++)
        if (c->out[k]) ot_tensor_declare(c->out[k], output_dtype(c, k));
}

void oti_op_fit_outputs(const ot_node_ctx *c) {
    for (int k = 0; k < c->n_out; k++) {
        const ot_tensor *y = c->out[k];
        if (y && y->declared != OT_UNDEFINED) oti_fit_values(y->data, y->declared, ot_tensor_numel(y));
    }
}
