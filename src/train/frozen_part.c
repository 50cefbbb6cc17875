/* Which layers the frozen-feature cache can compute once, and where they hand over to the
 * trainable part. */
#include <string.h>
#include <stdlib.h>

#include "core/util.h"
#include "ops/op.h"
#include "cache.h"
#include "onnxtrain/graph.h"
#include "onnxtrain/transfer.h"

/* Adds v to the frontier once. */
static ot_status add_frontier(ot_frozen_part *out, int v) {
    for (int f = 0; f < out->n_frontier; f++)
        if (out->frontier[f] == v) return OT_OK;
    if (out->n_frontier == OT_MAX_FEEDS)
        return oti_fail(OT_ERR_UNSUPPORTED, "caching: more than %d frozen tensors feed the trainable layers",
                       OT_MAX_FEEDS);
    out->frontier[out->n_frontier++] = v;
    return OT_OK;
}

int oti_frozen_part_is_empty(const ot_model *m, const ot_frozen_part *part) {
    for (int f = 0; f < part->n_frontier; f++)
        if (m->values[part->frontier[f]].kind != OT_VALUE_INPUT) return 0;
    return 1;
}

/* Marks the layers computable once (inputs known before training, forward the same every
 * step), except those in `kept_out` (computed every step, though their results do not
 * change); fixed[v] marks the values the data and the part give. Errors when a frozen layer
 * with parameters depends on a trained parameter (caching it would change results). */
static ot_status mark_part(const ot_model *m, const unsigned char *trainable, const ot_io_binding *io,
                           const unsigned char *kept_out, unsigned char *in_part, unsigned char *fixed,
                           unsigned char *varies) {
    memset(in_part, 0, (size_t)m->n_layers);
    memset(fixed, 0, (size_t)m->n_values);
    memset(varies, 0, (size_t)m->n_values);
    fixed[io->input] = 1;
    for (int a = 0; a < io->n_arrays; a++) fixed[io->array_inputs[a]] = 1;
    for (int v = 0; v < m->n_values; v++)
        if (m->values[v].kind == OT_VALUE_INITIALIZER) {
            fixed[v] = !trainable[v];
            varies[v] = trainable[v];
        }
    for (int i = 0; i < m->n_layers; i++) {
        const ot_layer *l = &m->layers[i];
        int ok = 1, varying = 0;
        for (int k = 0; k < l->n_inputs; k++)
            if (l->inputs[k] >= 0) {
                ok &= fixed[l->inputs[k]];
                varying |= varies[l->inputs[k]];
            }
        if (varying && ot_transfer_layer_is_frozen(m, i) && ot_graph_layer_parameter_count(m, l) > 0)
            return oti_fail(OT_ERR_INVALID, "caching: frozen layer '%s' depends on trainable layers, so its "
                           "output changes every step and cannot be cached; freeze the layers up to '%s' too",
                           l->name, l->name);
        /* Random or self-updating layers in training mode give different results each step. */
        varying |= !l->frozen && (l->op->flags & (OT_OP_RANDOM | OT_OP_WRITES_INPUTS));
        for (int k = 0; k < l->n_outputs; k++)
            if (l->outputs[k] >= 0) varies[l->outputs[k]] = (unsigned char)varying;
        if (!ok || varying || kept_out[i]) continue;
        in_part[i] = 1;
        for (int k = 0; k < l->n_outputs; k++)
            if (l->outputs[k] >= 0) fixed[l->outputs[k]] = 1;
    }
    return OT_OK;
}

/* Values of the part that depend on input shapes only (Shape -> Gather -> Concat -> a
 * Reshape's shape): the trained part's plan computes them itself when it is built, from the
 * shapes of what the Shape layers read, which is fed to it (and cached) for that. Caching
 * their values instead would make them data, unknown when the plan is built. */
static void mark_from_shapes(const ot_model *m, const unsigned char *in_part, unsigned char *from_shapes) {
    memset(from_shapes, 0, (size_t)m->n_values);
    for (int i = 0; i < m->n_layers; i++) {
        const ot_layer *l = &m->layers[i];
        if (!in_part[i]) continue;
        int only = (l->op->flags & OT_OP_SHAPE_ONLY) != 0;
        if (!only) { /* every input derived from shapes, or a constant (Constant has none) */
            only = 1;
            for (int k = 0; k < l->n_inputs && only; k++) {
                int v = l->inputs[k];
                only = v < 0 || from_shapes[v] || m->values[v].kind == OT_VALUE_INITIALIZER;
            }
        }
        for (int k = 0; k < l->n_outputs && only; k++)
            if (l->outputs[k] >= 0) from_shapes[l->outputs[k]] = 1;
    }
}

/* Frontier: values of the part read by a layer outside it, except those derived from shapes;
 * for those, what the Shape layers they come from read (their shapes must reach the plan). */
static ot_status find_frontier(const ot_model *m, const unsigned char *in_part, const unsigned char *fixed,
                               const unsigned char *from_shapes, unsigned char *shape_needed,
                               ot_frozen_part *out) {
    out->n_frontier = 0;
    memset(shape_needed, 0, (size_t)m->n_values);
    for (int i = 0; i < m->n_layers; i++) {
        if (in_part[i]) continue;
        const ot_layer *l = &m->layers[i];
        for (int k = 0; k < l->n_inputs; k++) {
            int v = l->inputs[k];
            if (v < 0 || !fixed[v] || m->values[v].kind == OT_VALUE_INITIALIZER) continue;
            if (from_shapes[v]) shape_needed[v] = 1;
            else OT_TRY(add_frontier(out, v));
        }
    }
    /* Back through the shape computations that are needed, to the Shape layers' inputs. */
    for (int i = m->n_layers - 1; i >= 0; i--) {
        const ot_layer *l = &m->layers[i];
        int needed = 0;
        for (int k = 0; k < l->n_outputs; k++) needed |= l->outputs[k] >= 0 && shape_needed[l->outputs[k]];
        if (!in_part[i] || !needed) continue;
        for (int k = 0; k < l->n_inputs; k++) {
            int v = l->inputs[k];
            if (v < 0 || m->values[v].kind == OT_VALUE_INITIALIZER) continue;
            if (from_shapes[v]) shape_needed[v] = 1;
            else if (l->op->flags & OT_OP_SHAPE_ONLY) OT_TRY(add_frontier(out, v));
        }
    }
    return OT_OK;
}

/* Shapes of every value for `batch` samples of the data d feeds (out: n_values tensors). */
static ot_status shapes_at(ot_model *m, const ot_io_binding *io, const ot_dataset *d, int64_t batch,
                           ot_tensor *out) {
    int feeds[1 + OT_DATASET_MAX_ARRAYS];
    ot_tensor shapes[1 + OT_DATASET_MAX_ARRAYS];
    ot_feed_set set;
    oti_feed_set_from_dataset(&set, io, d);
    for (int k = 0; k < set.count; k++) {
        feeds[k] = set.values[k];
        shapes[k] = set.shapes[k];
        shapes[k].dims[0] = batch;
    }
    return ot_plan_infer_shapes(m, set.count, feeds, shapes, out);
}

/* Whether v holds one row per sample along its first axis, as the cache stores values: its
 * shape for 1 and 2 samples differs in the first dim only, which is the sample count. Not so
 * inside attention, which works on (T, N, D) transposes. */
static int batch_first(const ot_tensor *one, const ot_tensor *two) {
    if (one->ndim < 1 || one->ndim != two->ndim || one->dims[0] != 1 || two->dims[0] != 2) return 0;
    for (int k = 1; k < one->ndim; k++)
        if (one->dims[k] != two->dims[k]) return 0;
    return 1;
}

ot_status oti_frozen_part_find(ot_model *m, const unsigned char *trainable, const ot_io_binding *io,
                              const ot_dataset *d, ot_frozen_part *out) {
    memset(out, 0, sizeof *out);
    out->in_part = oti_calloc((size_t)m->n_layers + 1, 1);
    unsigned char *fixed = oti_calloc((size_t)m->n_values + 1, 1);
    unsigned char *from_shapes = oti_calloc((size_t)m->n_values + 1, 1);
    unsigned char *kept_out = oti_calloc((size_t)m->n_layers + 1, 1);
    unsigned char *varies = oti_calloc((size_t)m->n_values + 1, 1);
    unsigned char *shape_needed = oti_calloc((size_t)m->n_values + 1, 1);
    ot_tensor *one = oti_calloc((size_t)m->n_values + 1, sizeof(ot_tensor));
    ot_tensor *two = oti_calloc((size_t)m->n_values + 1, sizeof(ot_tensor));
    ot_status status = out->in_part && fixed && from_shapes && kept_out && varies && shape_needed && one && two
                           ? OT_OK : OT_ERR_MEMORY;
    if (status == OT_OK) status = shapes_at(m, io, d, 1, one);
    if (status == OT_OK) status = shapes_at(m, io, d, 2, two);
    /* A frontier value not stored sample by sample leaves the part (its producer runs in every
     * step instead, on the values it reads); repeat until the frontier is all per-sample. */
    for (int changed = 1; status == OT_OK && changed;) {
        changed = 0;
        status = mark_part(m, trainable, io, kept_out, out->in_part, fixed, varies);
        if (status != OT_OK) break;
        mark_from_shapes(m, out->in_part, from_shapes);
        status = find_frontier(m, out->in_part, fixed, from_shapes, shape_needed, out);
        for (int f = 0; f < out->n_frontier && status == OT_OK; f++) {
            int v = out->frontier[f], producer = m->values[v].producer;
            if (producer < 0 || batch_first(&one[v], &two[v])) continue;
            kept_out[producer] = 1;
            changed = 1;
        }
    }
    free(fixed);
    free(from_shapes);
    free(kept_out);
    free(varies);
    free(shape_needed);
    free(one);
    free(two);
    if (status != OT_OK) oti_frozen_part_free(out);
    return status;
}

void oti_frozen_part_free(ot_frozen_part *part) {
    free(part->in_part);
    memset(part, 0, sizeof *part);
}
