/* Whole-graph checks: producers, topological order, pruning. */
#include <string.h>
#include <stdlib.h>

#include "core/model_internal.h"
#include "core/util.h"
#include "onnxtrain/graph.h"
#include "ops/op.h"
#include "subgraph.h"

/* Whether the layer's op may omit its first output (the recurrent ops' Y). */
static int first_output_optional(const ot_model *m, const ot_layer *l) {
    const ot_op *op = l->op ? l->op : oti_op_lookup(l->domain, l->op_type, (int)ot_model_opset(m, l->domain), NULL);
    return op && (op->flags & OT_OP_OPTIONAL_OUTPUTS);
}

/* Subgraphs are checked (and ordered) like the main graph. */
static ot_status check_subgraph(ot_model *g, void *unused) {
    (void)unused;
    return ot_graph_check(g);
}

/* Kahn's algorithm over layers; stable (keeps file order where the file was ordered). */
ot_status ot_graph_check(ot_model *m) {
    OT_TRY(oti_model_each_subgraph(m, check_subgraph, NULL));
    for (int v = 0; v < m->n_values; v++) m->values[v].producer = -1;
    for (int i = 0; i < m->n_layers; i++) {
        ot_layer *l = &m->layers[i];
        /* Only later outputs are optional in most ops (Dropout's mask, MaxPool's indices,
         * BatchNormalization's statistics): their kernels write output 0. Ops flagged
         * OT_OP_OPTIONAL_OUTPUTS (LSTM, GRU, RNN) may omit any. */
        if (l->n_outputs < 1 || (l->outputs[0] < 0 && !first_output_optional(m, l)))
            return oti_fail(OT_ERR_INVALID, "node '%s' (%s) has no first output (an empty name "
                           "omits it); only later outputs may be omitted", l->name, l->op_type);
        for (int k = 0; k < l->n_outputs; k++) {
            int v = l->outputs[k];
            if (v < 0) continue;
            ot_value *value = &m->values[v];
            if (value->kind != OT_VALUE_ACTIVATION)
                return oti_fail(OT_ERR_INVALID, "node '%s' writes tensor '%s', which is a graph %s",
                               l->name, value->name,
                               value->kind == OT_VALUE_INPUT ? "input" : "initializer");
            if (value->producer >= 0)
                return oti_fail(OT_ERR_INVALID, "tensor '%s' is written by both node '%s' and '%s'",
                               value->name, m->layers[value->producer].name, l->name);
            value->producer = i;
        }
    }
    for (int i = 0; i < m->n_layers; i++) {
        ot_layer *l = &m->layers[i];
        for (int k = 0; k < l->n_inputs; k++) {
            int v = l->inputs[k];
            if (v < 0) continue;
            if (m->values[v].kind == OT_VALUE_ACTIVATION && m->values[v].producer < 0)
                return oti_fail(OT_ERR_INVALID,
                               "node '%s' reads tensor '%s'%s, which no node, graph input or "
                               "initializer defines",
                               l->name, m->values[v].name,
                               k >= l->n_inputs - l->n_implicit_inputs ? " (in a subgraph)" : "");
        }
    }
    for (int k = 0; k < m->n_outputs; k++) {
        ot_value *value = &m->values[m->outputs[k]];
        if (value->kind == OT_VALUE_ACTIVATION && value->producer < 0)
            return oti_fail(OT_ERR_INVALID, "graph output '%s' is not computed by any node",
                           value->name);
    }

    /* Order layers so that every layer comes after the producers of its inputs. */
    int n = m->n_layers;
    int *order = oti_malloc(sizeof(int) * (size_t)(n + 1));
    unsigned char *placed = oti_calloc((size_t)n + 1, 1);
    ot_layer *sorted = oti_malloc(sizeof(ot_layer) * (size_t)(n + 1));
    if (!order || !placed || !sorted) {
        free(order);
        free(placed);
        free(sorted);
        return OT_ERR_MEMORY;
    }
    int n_placed = 0, progress = 1;
    while (n_placed < n && progress) {
        progress = 0;
        for (int i = 0; i < n; i++) {
            if (placed[i]) continue;
            const ot_layer *l = &m->layers[i];
            int ready = 1;
            for (int k = 0; k < l->n_inputs && ready; k++) {
                int v = l->inputs[k];
                if (v >= 0 && m->values[v].producer >= 0 && !placed[m->values[v].producer])
                    ready = 0;
            }
            if (ready) {
                placed[i] = 1;
                order[n_placed++] = i;
                progress = 1;
            }
        }
    }
    if (n_placed < n) {
        int stuck = 0;
        while (placed[stuck]) stuck++;
        ot_status status = oti_fail(OT_ERR_INVALID,
                                   "the graph has a cycle through node '%s' (%s)",
                                   m->layers[stuck].name, m->layers[stuck].op_type);
        free(order);
        free(placed);
        free(sorted);
        return status;
    }
    int in_order = 1;
    for (int i = 0; i < n; i++) in_order &= order[i] == i;
    if (!in_order) {
        for (int i = 0; i < n; i++) sorted[i] = m->layers[order[i]];
        memcpy(m->layers, sorted, sizeof(ot_layer) * (size_t)n);
        for (int i = 0; i < n; i++)
            for (int k = 0; k < m->layers[i].n_outputs; k++)
                if (m->layers[i].outputs[k] >= 0) m->values[m->layers[i].outputs[k]].producer = i;
    }
    free(order);
    free(placed);
    free(sorted);
    return OT_OK;
}

ot_status ot_graph_prune(ot_model *m) {
    /* Mark layers needed by graph outputs, walking backwards in topological order. Every
     * buffer is allocated before the model changes, so running out leaves it as it was. */
    unsigned char *needed_value = oti_calloc((size_t)m->n_values + 1, 1);
    unsigned char *keep_layer = oti_calloc((size_t)m->n_layers + 1, 1);
    int *renumber = oti_malloc(sizeof(int) * ((size_t)m->n_values + 1));
    if (!needed_value || !keep_layer || !renumber) {
        free(needed_value);
        free(keep_layer);
        free(renumber);
        return OT_ERR_MEMORY;
    }
    for (int k = 0; k < m->n_outputs; k++) needed_value[m->outputs[k]] = 1;
    for (int k = 0; k < m->n_inputs; k++) needed_value[m->inputs[k]] = 1;
    for (int i = m->n_layers - 1; i >= 0; i--) {
        const ot_layer *l = &m->layers[i];
        for (int k = 0; k < l->n_outputs; k++)
            if (l->outputs[k] >= 0 && needed_value[l->outputs[k]]) keep_layer[i] = 1;
        if (!keep_layer[i]) continue;
        for (int k = 0; k < l->n_inputs; k++)
            if (l->inputs[k] >= 0) needed_value[l->inputs[k]] = 1;
        for (int k = 0; k < l->n_outputs; k++)
            if (l->outputs[k] >= 0) needed_value[l->outputs[k]] = 1;
    }
    /* Drop layers. */
    int n_kept = 0;
    for (int i = 0; i < m->n_layers; i++) {
        if (keep_layer[i]) {
            m->layers[n_kept++] = m->layers[i];
            continue;
        }
        oti_layer_free(&m->layers[i]);
    }
    m->n_layers = n_kept;
    /* Drop values and renumber. */
    int n_values = 0;
    for (int v = 0; v < m->n_values; v++) {
        if (needed_value[v]) {
            renumber[v] = n_values;
            m->values[n_values++] = m->values[v];
        } else {
            renumber[v] = -1;
            oti_value_free(&m->values[v]);
        }
    }
    m->n_values = n_values;
    for (int i = 0; i < m->n_layers; i++) {
        ot_layer *l = &m->layers[i];
        for (int k = 0; k < l->n_inputs; k++)
            if (l->inputs[k] >= 0) l->inputs[k] = renumber[l->inputs[k]];
        for (int k = 0; k < l->n_outputs; k++)
            if (l->outputs[k] >= 0) l->outputs[k] = renumber[l->outputs[k]];
    }
    for (int k = 0; k < m->n_inputs; k++) m->inputs[k] = renumber[m->inputs[k]];
    for (int k = 0; k < m->n_outputs; k++) m->outputs[k] = renumber[m->outputs[k]];
    for (int v = 0; v < m->n_values; v++) m->values[v].producer = -1;
    for (int i = 0; i < m->n_layers; i++)
        for (int k = 0; k < m->layers[i].n_outputs; k++)
            if (m->layers[i].outputs[k] >= 0) m->values[m->layers[i].outputs[k]].producer = i;
    free(renumber);
    free(needed_value);
    free(keep_layer);
    return oti_model_rebuild_index(m);
}
