/* Import-time constant folding and un-sharing of initializers.
 *
 * A layer whose inputs are all initializers (Constant, Identity of a weight, Reshape of a
 * constant, shape arithmetic on constants) is computed once and replaced by initializers
 * named after its outputs. Because every Identity output becomes its own tensor, weights that
 * an exporter shared through Identity nodes (PyTorch: a BatchNorm weight and running_var,
 * both all-ones) are separate after import, and training one never changes the other. */
#include <string.h>
#include <stdlib.h>

#include "core/model_internal.h"
#include "core/util.h"
#include "ops/op.h"
#include "onnxtrain/graph.h"
#include "subgraph.h"

static int produces_graph_output(const ot_model *m, const ot_layer *l) {
    for (int k = 0; k < l->n_outputs; k++)
        for (int o = 0; o < m->n_outputs; o++)
            if (l->outputs[k] >= 0 && l->outputs[k] == m->outputs[o]) return 1;
    return 0;
}

/* A weight from the file (float, not a scalar, not a folded constant). */
static int is_weight(const ot_value *v) {
    return v->kind == OT_VALUE_INITIALIZER && v->tensor.dtype == OT_FLOAT && v->tensor.ndim >= 1 && !v->frozen;
}

static int foldable(const ot_model *m, const ot_layer *l) {
    if (!l->op || (l->op->flags & (OT_OP_RANDOM | OT_OP_SAMPLES | OT_OP_CONTROL_FLOW | OT_OP_SEQUENCE)) || produces_graph_output(m, l))
        return 0;
    /* Identity copies a weight; Shape reads only its dims: neither hides a weight's name. */
    int identity = (l->op->flags & (OT_OP_COPY | OT_OP_SHAPE_ONLY)) != 0;
    for (int k = 0; k < l->n_inputs; k++) {
        if (l->inputs[k] < 0) continue;
        const ot_value *v = &m->values[l->inputs[k]];
        if (v->kind != OT_VALUE_INITIALIZER) return 0;
        /* Transpose(W) and the like stay layers, so the weight keeps its name (what other
         * frameworks' files call it) and training updates it through the op. */
        if (!identity && is_weight(v)) return 0;
    }
    return 1;
}

/* Whether value v reaches a weight slot (a kernel, bias, normalization scale or shift, slope
 * or embedding) of some layer, directly or through ops that only rearrange it (Identity,
 * Reshape, Transpose, Cast, ...). depth bounds the walk along such chains. */
static int reaches_weight_slot(const ot_model *m, int v, int depth) {
    if (depth > 8) return 0;
    for (int i = 0; i < m->n_layers; i++) {
        const ot_layer *l = &m->layers[i];
        if (!l->op) continue;
        for (int k = 0; k < l->n_inputs; k++) {
            if (l->inputs[k] != v) continue;
            ot_input_role role = oti_op_input_role(l->op, k);
            if (role == OT_ROLE_KERNEL || role == OT_ROLE_BIAS || role == OT_ROLE_SCALE ||
                role == OT_ROLE_SHIFT || role == OT_ROLE_SLOPE || role == OT_ROLE_EMBEDDING)
                return 1;
            if (k == 0 && (l->op->flags & (OT_OP_COPY | OT_OP_LAYOUT)) && l->n_outputs > 0 && l->outputs[0] >= 0 &&
                reaches_weight_slot(m, l->outputs[0], depth + 1))
                return 1;
        }
    }
    return 0;
}

/* A Constant node's output is a weight when it reaches a weight slot: exporters such as
 * paddle2onnx and tf2onnx store weights as Constant nodes. Any other computed value (shape
 * arithmetic, constants that only scale or shift activations) stays a constant. */
static int constant_is_weight(const ot_model *m, const ot_layer *l, int v) {
    const ot_tensor *t = &m->values[v].tensor;
    return l->n_inputs == 0 && t->dtype == OT_FLOAT && t->ndim >= 1 && reaches_weight_slot(m, v, 0);
}

/* Computes layer l and turns its outputs into initializers. */
static ot_status fold_layer(const ot_context *ctx, ot_model *m, ot_layer *l) {
    ot_tensor *in_storage = oti_calloc((size_t)l->n_inputs + 1, sizeof(ot_tensor));
    ot_tensor *out_storage = oti_calloc((size_t)l->n_outputs + 1, sizeof(ot_tensor));
    ot_tensor **in = oti_calloc((size_t)l->n_inputs + 1, sizeof(ot_tensor *));
    ot_tensor **out = oti_calloc((size_t)l->n_outputs + 1, sizeof(ot_tensor *));
    unsigned char *known = oti_calloc((size_t)l->n_inputs + 1, 1);
    if (!in_storage || !out_storage || !in || !out || !known) {
        free(in_storage);
        free(out_storage);
        free(in);
        free(out);
        free(known);
        return OT_ERR_MEMORY;
    }
    for (int k = 0; k < l->n_inputs; k++) {
        if (l->inputs[k] < 0) continue;
        in_storage[k] = m->values[l->inputs[k]].tensor;
        in_storage[k].owns = 0;
        in[k] = &in_storage[k];
        known[k] = 1;
    }
    for (int k = 0; k < l->n_outputs; k++)
        if (l->outputs[k] >= 0) out[k] = &out_storage[k];
    ot_node_ctx c = {.model = m, .layer = l, .params = l->params, .n_in = l->n_inputs,
                     .n_out = l->n_outputs, .in = in, .out = out, .in_known = known};
    ot_status status = l->op->infer(&c);
    if (status == OT_OK) oti_op_declare_outputs(&c);
    for (int k = 0; k < l->n_outputs && status == OT_OK; k++) {
        if (!out[k]) continue;
        ot_tensor shaped = *out[k];
        status = ot_tensor_alloc(ctx, out[k], shaped.dtype, shaped.ndim, shaped.dims,
                                 m->values[l->outputs[k]].name);
        if (status == OT_OK) out[k]->declared = shaped.declared;
    }
    if (status == OT_OK) status = oti_op_forward_once(&c);
    for (int k = 0; k < l->n_outputs; k++) {
        if (!out[k]) continue;
        if (status == OT_OK) {
            ot_value *v = &m->values[l->outputs[k]];
            ot_tensor_free(&v->tensor);
            v->tensor = *out[k];
            v->kind = OT_VALUE_INITIALIZER;
            /* An Identity of a weight is that weight's own copy (trained as it was), and a
             * Constant that reaches a weight slot is a weight; anything else computed here
             * (shape arithmetic) is a constant, not trained unless unfrozen by name. */
            if (constant_is_weight(m, l, l->outputs[k])) v->frozen = 0;
            else v->frozen = !(l->op->flags & OT_OP_COPY) || l->inputs[0] < 0 ? 1 : m->values[l->inputs[0]].frozen;
            v->has_type = v->has_shape = 1;
            v->export_value_info = 0;
            for (int d = 0; d < OT_MAX_DIMS; d++) {
                free(v->dim_names[d]);
                v->dim_names[d] = NULL;
            }
        } else {
            ot_tensor_free(out[k]);
        }
    }
    free(in_storage);
    free(out_storage);
    free(in);
    free(out);
    free(known);
    return status;
}

/* An initializer read both as a trained parameter and as a constant/statistic (a BatchNorm
 * running_var sharing storage with a weight) gets a private copy for each non-parameter use. */
static ot_status unshare_statistics(ot_model *m) {
    int *uses = oti_calloc((size_t)m->n_values + 1, sizeof(int));
    OT_ALLOC_CHECK(uses);
    for (int i = 0; i < m->n_layers; i++)
        for (int k = 0; k < m->layers[i].n_inputs; k++)
            if (m->layers[i].inputs[k] >= 0) uses[m->layers[i].inputs[k]]++;
    ot_status status = OT_OK;
    for (int i = 0; i < m->n_layers && status == OT_OK; i++) {
        ot_layer *l = &m->layers[i];
        if (!l->op) continue;
        for (int k = 0; k < l->n_inputs && status == OT_OK; k++) {
            int v = l->inputs[k];
            if (v < 0 || oti_role_is_trained(oti_op_input_role(l->op, k))) continue;
            if (m->values[v].kind != OT_VALUE_INITIALIZER || uses[v] < 2) continue;
            if (m->values[v].tensor.dtype != OT_FLOAT) continue;
            char *base = oti_asprintf("%s_%s_%d", m->values[v].name, l->name, k);
            char *name = base ? ot_model_unique_value_name(m, base) : NULL;
            free(base);
            ot_tensor copy;
            status = name ? ot_tensor_copy(&copy, &m->values[v].tensor, name) : OT_ERR_MEMORY;
            int copy_index;
            if (status == OT_OK) {
                status = ot_model_add_initializer(m, name, &copy, &copy_index);
                if (status != OT_OK) ot_tensor_free(&copy);
            }
            if (status == OT_OK) {
                /* Out of memory here leaves the copy unused: harmless (pruned on export). */
                void *grown = oti_realloc(uses, sizeof(int) * ((size_t)m->n_values + 1));
                if (!grown) {
                    free(name);
                    status = OT_ERR_MEMORY;
                    break;
                }
                uses = grown;
                uses[copy_index] = 1;
                uses[v]--;
                l->inputs[k] = copy_index;
            }
            free(name);
        }
    }
    free(uses);
    return status;
}

static ot_status fold_subgraph(ot_model *g, void *ctx) { return ot_graph_fold_constants(ctx, g); }

ot_status ot_graph_fold_constants(const ot_context *ctx, ot_model *m) {
    /* Subgraphs first: constants inside a Loop body are computed once, not per iteration. */
    OT_TRY(oti_model_each_subgraph(m, fold_subgraph, (void *)ctx));
    int n_kept = 0;
    ot_status status = OT_OK;
    for (int i = 0; i < m->n_layers; i++) {
        ot_layer *l = &m->layers[i];
        if (status == OT_OK && foldable(m, l)) {
            status = fold_layer(ctx, m, l);
            if (status == OT_OK) {
                /* Emptied, not just freed: later folds walk every slot (reaches_weight_slot)
                 * before the list is compacted, and skip layers without an op. */
                oti_layer_free(l);
                memset(l, 0, sizeof *l);
                continue;
            }
        }
        m->layers[n_kept++] = *l;
    }
    m->n_layers = n_kept;
    OT_TRY(status);
    OT_TRY(ot_graph_check(m));
    OT_TRY(unshare_statistics(m));
    return ot_graph_prune(m);
}
