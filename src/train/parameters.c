/* Packing trained parameters into one block; which of them max-norm constrains. */
#include "parameters.h"

#include <string.h>
#include <stdlib.h>

#include "core/util.h"
#include "onnxtrain/graph.h"
#include "ops/op.h"
#include "core/context_internal.h"

/* Output units of a weight read as input k of layer l, for max-norm: the kernels of Conv
 * (a unit per output channel) and of Gemm and MatMul (a unit per output column). */
static void unit_layout(const ot_model *m, const ot_layer *l, int k, const ot_tensor *w,
                        int64_t *units, int64_t *unit_len, int64_t *unit_stride, int64_t *elem_stride) {
    *units = 0;
    if (oti_op_input_role(l->op, k) != OT_ROLE_KERNEL) return;
    ot_kernel_layout layout = l->op->kernel_layout;
    if (layout == OT_KERNEL_OIHW && w->ndim >= 3) {
        *units = w->dims[0];
        *unit_len = ot_tensor_numel(w) / w->dims[0];
        *unit_stride = *unit_len;
        *elem_stride = 1;
    } else if ((layout == OT_KERNEL_GEMM_B || layout == OT_KERNEL_IN_OUT) && w->ndim == 2) {
        const ot_attr *trans = ot_layer_find_attr(l, "transB");
        int trans_b = layout == OT_KERNEL_GEMM_B && trans && trans->i;
        /* transB: (N, K), a unit is a row; otherwise (K, N), a unit is a column. */
        *units = trans_b ? w->dims[0] : w->dims[1];
        *unit_len = trans_b ? w->dims[1] : w->dims[0];
        *unit_stride = trans_b ? w->dims[1] : 1;
        *elem_stride = trans_b ? 1 : w->dims[1];
    }
    (void)m;
}

int oti_parameter_is_trained(const ot_model *m, int v) {
    return !m->values[v].frozen && ot_graph_is_parameter(m, v);
}

/* Gives every tensor of m that points into block (floats floats) storage of its own. */
static ot_status own_tensors_in(ot_model *m, const float *block, int64_t floats) {
    for (int v = 0; block && v < m->n_values; v++) {
        ot_tensor *t = &m->values[v].tensor;
        if (t->owns || !t->data || (float *)t->data < block || (float *)t->data >= block + floats) continue;
        ot_tensor copy;
        OT_TRY(ot_tensor_copy(&copy, t, m->values[v].name));
        t->data = copy.data;
        t->owns = 1;
    }
    return OT_OK;
}

ot_status oti_parameters_collect(const ot_context *ctx, ot_model *m, const ot_parameters *previous,
                                ot_parameters *p) {
    memset(p, 0, sizeof *p);
    /* A slot for this block and the previous one in m->retained_blocks, taken now so that
     * releasing them never needs memory (see oti_parameters_release). */
    OT_TRY(oti_grow_array((void **)&m->retained_blocks, &m->cap_retained_blocks,
                          m->n_retained_blocks + 2, sizeof(void *)));
    p->values = oti_calloc((size_t)m->n_values + 1, sizeof(int));
    p->offsets = oti_calloc((size_t)m->n_values + 1, sizeof(int64_t));
    p->trainable = oti_calloc((size_t)m->n_values + 1, 1);
    p->grad_of_value = oti_calloc((size_t)m->n_values + 1, sizeof(float *));
    p->units = oti_calloc((size_t)m->n_values + 1, sizeof(int64_t));
    p->unit_len = oti_calloc((size_t)m->n_values + 1, sizeof(int64_t));
    p->unit_stride = oti_calloc((size_t)m->n_values + 1, sizeof(int64_t));
    p->elem_stride = oti_calloc((size_t)m->n_values + 1, sizeof(int64_t));
    if (!p->values || !p->offsets || !p->trainable || !p->grad_of_value || !p->units ||
        !p->unit_len || !p->unit_stride || !p->elem_stride) {
        oti_parameters_free(p);
        return OT_ERR_MEMORY;
    }
    for (int v = 0; v < m->n_values; v++) {
        if (!oti_parameter_is_trained(m, v)) continue;
        p->values[p->count] = v;
        p->offsets[p->count] = p->total;
        p->total += ot_tensor_numel(&m->values[v].tensor);
        p->trainable[v] = 1;
        p->count++;
    }
    size_t bytes = sizeof(float) * (size_t)(p->total + 1);
    /* Optimizer state is checked where it is allocated (ot_optimizer_create). */
    ot_status checked = oti_check_memory(ctx, 2 * bytes, "the trained parameters and their gradients");
    if (checked != OT_OK) {
        oti_parameters_free(p);
        return checked;
    }
    float *block = malloc(bytes), *grads = calloc(1, bytes);
    if (!block || !grads) {
        free(block);
        free(grads);
        oti_parameters_free(p);
        return oti_fail(OT_ERR_MEMORY, "out of memory allocating %.1f MiB for parameters", 2.0 * bytes / 1048576);
    }
    for (int i = 0; i < p->count; i++) {
        ot_tensor *t = &m->values[p->values[i]].tensor;
        memcpy(block + p->offsets[i], t->data, sizeof(float) * (size_t)ot_tensor_numel(t));
    }
    /* Point the tensors into the new block only after every copy: a repack may be reading
     * from the old block. */
    for (int i = 0; i < p->count; i++) {
        ot_tensor *t = &m->values[p->values[i]].tensor;
        if (t->owns) free(t->data);
        t->data = block + p->offsets[i];
        t->owns = 0;
        p->grad_of_value[p->values[i]] = grads + p->offsets[i];
    }
    p->block = block;
    p->grads = grads;
    /* Tensors left in the previous block (no longer trained) get their own storage before
     * it goes. */
    if (previous) {
        ot_status status = own_tensors_in(m, previous->block, previous->total);
        if (status != OT_OK) {
            oti_parameters_release(m, p);
            return status;
        }
    }
    for (int i = 0; i < p->count; i++)
        for (int li = 0; li < m->n_layers && !p->units[i]; li++) {
            const ot_layer *l = &m->layers[li];
            for (int k = 0; k < l->n_inputs; k++)
                if (l->inputs[k] == p->values[i])
                    unit_layout(m, l, k, &m->values[p->values[i]].tensor, &p->units[i], &p->unit_len[i],
                                &p->unit_stride[i], &p->elem_stride[i]);
        }
    return OT_OK;
}

ot_status oti_parameters_release(ot_model *m, ot_parameters *p) {
    ot_status status = own_tensors_in(m, p->block, p->total);
    if (status != OT_OK && p->block) {
        /* Some tensors still point into the block: the model keeps it (the slot was reserved
         * by oti_parameters_collect), so nothing dangles. */
        OT_ASSERT(m->n_retained_blocks < m->cap_retained_blocks);
        m->retained_blocks[m->n_retained_blocks++] = p->block;
        p->block = NULL;
    }
    oti_parameters_free(p);
    return status;
}

void oti_parameters_free(ot_parameters *p) {
    free(p->block);
    free(p->values);
    free(p->offsets);
    free(p->trainable);
    free(p->grad_of_value);
    free(p->grads);
    free(p->units);
    free(p->unit_len);
    free(p->unit_stride);
    free(p->elem_stride);
    memset(p, 0, sizeof *p);
}
