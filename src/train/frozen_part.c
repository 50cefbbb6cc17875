/* Which layers the frozen-feature cache can compute once, and where they hand over to the
 * trainable part. */
#include <string.h>
#include <stdlib.h>

#include "core/util.h"
#include "ops/op.h"
#include "cache.h"
#include "onnxtrain/graph.h"
#include "onnxtrain/transfer.h"

int oti_frozen_part_is_empty(const ot_model *m, const ot_frozen_part *part) {
    for (int f = 0; f < part->n_frontier; f++)
        if (m->values[part->frontier[f]].kind != OT_VALUE_INPUT) return 0;
    return 1;
}

ot_status oti_frozen_part_find(const ot_model *m, const unsigned char *trainable, const ot_io_binding *io,
                              ot_frozen_part *out) {
    memset(out, 0, sizeof *out);
    out->in_part = oti_calloc((size_t)m->n_layers + 1, 1);
    OT_ALLOC_CHECK(out->in_part);
    /* Values known before training: the input, constants and frozen weights. */
    unsigned char *fixed = oti_calloc((size_t)m->n_values + 1, 1);
    OT_ALLOC_CHECK(fixed);
    fixed[io->input] = 1;
    for (int a = 0; a < io->n_arrays; a++) fixed[io->array_inputs[a]] = 1;
    for (int v = 0; v < m->n_values; v++)
        if (m->values[v].kind == OT_VALUE_INITIALIZER && !trainable[v]) fixed[v] = 1;
    for (int i = 0; i < m->n_layers; i++) {
        const ot_layer *l = &m->layers[i];
        int ok = 1;
        for (int k = 0; k < l->n_inputs && ok; k++) ok = l->inputs[k] < 0 || fixed[l->inputs[k]];
        /* Random or self-updating layers in training mode give different results each step. */
        if (ok && !l->frozen && (l->op->flags & (OT_OP_RANDOM | OT_OP_WRITES_INPUTS))) ok = 0;
        if (!ok) {
            if (ot_transfer_layer_is_frozen(m, i) && ot_graph_layer_parameter_count(m, l) > 0) {
                ot_status s = oti_fail(OT_ERR_INVALID,
                                      "caching: frozen layer '%s' depends on trainable layers, so "
                                      "its output changes every step and cannot be cached; freeze "
                                      "the layers up to '%s' too",
                                      l->name, l->name);
                free(fixed);
                oti_frozen_part_free(out);
                return s;
            }
            continue;
        }
        out->in_part[i] = 1;
        for (int k = 0; k < l->n_outputs; k++)
            if (l->outputs[k] >= 0) fixed[l->outputs[k]] = 1;
    }
    /* Frontier: computed-and-fixed values read by a layer outside the part, or graph outputs. */
    ot_status status = OT_OK;
    for (int i = 0; i < m->n_layers && status == OT_OK; i++) {
        if (out->in_part[i]) continue;
        const ot_layer *l = &m->layers[i];
        for (int k = 0; k < l->n_inputs && status == OT_OK; k++) {
            int v = l->inputs[k];
            if (v < 0 || !fixed[v] || m->values[v].kind == OT_VALUE_INITIALIZER) continue;
            int seen = 0;
            for (int f = 0; f < out->n_frontier; f++) seen |= out->frontier[f] == v;
            if (seen) continue;
            if (out->n_frontier == OT_MAX_FEEDS)
                status = oti_fail(OT_ERR_UNSUPPORTED, "caching: more than %d frozen tensors feed the "
                                 "trainable layers", OT_MAX_FEEDS);
            else
                out->frontier[out->n_frontier++] = v;
        }
    }
    free(fixed);
    if (status != OT_OK) oti_frozen_part_free(out);
    return status;
}

void oti_frozen_part_free(ot_frozen_part *part) {
    free(part->in_part);
    memset(part, 0, sizeof *part);
}
