/* Building blocks for the Caffe layer converters: new nodes and initializers named after the
 * Caffe layer, weight blobs checked against the layer's parameters, the binding of Caffe's
 * blob names (which in-place layers reuse) to the layer list's values. */
#include <stdlib.h>
#include <string.h>

#include "caffe_internal.h"
#include "core/util.h"
#include "onnxtrain/plan.h"

static int layer_name_taken(const ot_model *m, const char *name) {
    for (int i = 0; i < m->n_layers; i++)
        if (!strcmp(m->layers[i].name, name)) return 1;
    return 0;
}

/* "<layer>" or "<layer>/<suffix>", made unique among the model's layers or values. */
static char *fresh_name(const caffe_builder *b, const caffe_layer *l, const char *suffix,
                        int for_layer) {
    char *base = suffix ? oti_asprintf("%s/%s", l->name, suffix) : oti_strdup(l->name);
    for (int k = 1; base; k++) {
        int taken = for_layer ? layer_name_taken(b->m, base) : ot_model_find_value(b->m, base) >= 0;
        if (!taken) return base;
        char *next = suffix ? oti_asprintf("%s/%s_%d", l->name, suffix, k)
                            : oti_asprintf("%s_%d", l->name, k);
        free(base);
        base = next;
    }
    return NULL;
}

ot_status oti_caffe_bind(caffe_builder *b, const char *top, const char *value) {
    int v = ot_model_find_value(b->m, value);
    OT_ASSERT(v >= 0);
    for (int i = 0; i < b->n_blobs; i++)
        if (!strcmp(b->blob_names[i], top)) {
            b->blob_values[i] = v;
            return OT_OK;
        }
    OT_TRY(oti_grow_array((void **)&b->blob_names, &b->cap_blobs, b->n_blobs + 1, sizeof(char *)));
    int cap = b->cap_blobs;
    void *grown = oti_realloc(b->blob_values, sizeof(int) * (size_t)cap);
    OT_ALLOC_CHECK(grown);
    b->blob_values = grown;
    OT_ALLOC_CHECK(b->blob_names[b->n_blobs] = oti_strdup(top));
    b->blob_values[b->n_blobs++] = v;
    return OT_OK;
}

/* The output value's name: the top's own name when free, else (in-place layers, tops named
 * again) one made from the layer's name. */
static char *output_name(const caffe_builder *b, const caffe_layer *l, int top,
                         const char *suffix) {
    if (top >= 0 && ot_model_find_value(b->m, l->tops[top]) < 0) return oti_strdup(l->tops[top]);
    if (top >= 0 && l->n_tops > 1) return ot_model_unique_value_name(b->m, l->tops[top]);
    return fresh_name(b, l, top >= 0 ? NULL : suffix, 0);
}

ot_status oti_caffe_node(caffe_builder *b, const caffe_layer *l, const char *op, const char *suffix,
                         int n_in, const char *const *inputs, int n_attrs, const ot_attr *attrs,
                         int top, const char **out) {
    char *name = fresh_name(b, l, suffix, 1);
    char *output = name ? output_name(b, l, top, suffix ? suffix : op) : NULL;
    ot_status status = output ? OT_OK : OT_ERR_MEMORY;
    int li = -1;
    const char *outputs[1] = {output};
    if (status == OT_OK)
        status = ot_model_add_layer(b->m, name, op, "", n_in, inputs, 1, outputs, &li);
    for (int a = 0; a < n_attrs && status == OT_OK; a++)
        status = ot_layer_add_attr(&b->m->layers[li], &attrs[a]);
    if (status == OT_OK && top >= 0) status = oti_caffe_bind(b, l->tops[top], output);
    if (status == OT_OK && out) *out = b->m->values[ot_model_find_value(b->m, output)].name;
    free(name);
    free(output);
    return status;
}

ot_status oti_caffe_initializer(caffe_builder *b, const caffe_layer *l, const char *role,
                                ot_tensor *t, const char **out) {
    char *base = oti_asprintf("%s.%s", l->name, role);
    char *name = base ? ot_model_unique_value_name(b->m, base) : NULL;
    free(base);
    int v = -1;
    ot_status status = name ? ot_model_add_initializer(b->m, name, t, &v) : OT_ERR_MEMORY;
    free(name);
    if (status != OT_OK) {
        ot_tensor_free(t);
        return status;
    }
    *out = b->m->values[v].name;
    return OT_OK;
}

ot_status oti_caffe_int64_constant(caffe_builder *b, const caffe_layer *l, const char *role,
                                   int count, const int64_t *values, const char **out) {
    ot_tensor t;
    int64_t dims[1] = {count};
    OT_TRY(ot_tensor_alloc(b->ctx, &t, OT_INT64, 1, dims, role));
    memcpy(t.data, values, sizeof(int64_t) * (size_t)count);
    return oti_caffe_initializer(b, l, role, &t, out);
}

ot_status oti_caffe_constant(caffe_builder *b, const caffe_layer *l, const char *role, int ndim,
                             const int64_t *dims, const float *values, const char **out) {
    ot_tensor t;
    OT_TRY(ot_tensor_alloc(b->ctx, &t, OT_FLOAT, ndim, dims, role));
    memcpy(t.data, values, sizeof(float) * (size_t)ot_tensor_numel(&t));
    return oti_caffe_initializer(b, l, role, &t, out);
}

static const char *shape_text(int ndim, const int64_t *dims, char *buf, size_t size) {
    size_t at = 0;
    buf[0] = 0;
    for (int d = 0; d < ndim && at < size; d++) {
        if (dims[d] < 0)
            at += (size_t)snprintf(buf + at, size - at, "%s?", d ? " x " : "");
        else
            at +=
                (size_t)snprintf(buf + at, size - at, "%s%lld", d ? " x " : "", (long long)dims[d]);
    }
    return buf;
}

/* dims with its -1 (if any) filled from count; 0 when count does not fit. */
static int fit_dims(int ndim, const int64_t *want, int64_t count, int64_t *dims) {
    int64_t known = 1;
    int unknown = -1;
    for (int d = 0; d < ndim; d++) {
        dims[d] = want[d];
        if (want[d] < 0)
            unknown = d;
        else
            known *= want[d];
    }
    if (unknown >= 0) {
        if (known <= 0 || count % known) return 0;
        dims[unknown] = count / known;
        return 1;
    }
    return known == count;
}

ot_status oti_caffe_blob(caffe_builder *b, const caffe_layer *l, int k, const char *role, int ndim,
                         const int64_t *dims, const char **out) {
    if (!l->blobs || l->blobs->count <= k)
        return oti_fail(OT_ERR_FORMAT, "%s: the weights have no blob %d (%s)%s", l->what, k, role,
                        b->weights ? "" : ": no .caffemodel was given");
    const ot_tensor *blob = &l->blobs->blobs[k];
    int64_t fitted[OT_MAX_DIMS];
    char want[160], got[160];
    if (!fit_dims(ndim, dims, ot_tensor_numel(blob), fitted))
        return oti_fail(OT_ERR_FORMAT,
                        "%s: blob %d (%s) has shape %s (%lld values); the layer's parameters "
                        "need %s",
                        l->what, k, role, shape_text(blob->ndim, blob->dims, got, sizeof got),
                        (long long)ot_tensor_numel(blob),
                        shape_text(ndim, dims, want, sizeof want));
    ot_tensor t;
    OT_TRY(ot_tensor_copy(&t, blob, role));
    ot_tensor_set_shape(&t, OT_FLOAT, ndim, fitted);
    return oti_caffe_initializer(b, l, role, &t, out);
}

ot_status oti_caffe_shape(caffe_builder *b, const char *value, const caffe_layer *l,
                          ot_tensor *out) {
    ot_status status =
        ot_plan_infer_value_shape(b->ctx, b->m, ot_model_find_value(b->m, value), out);
    if (status != OT_OK) oti_error_prefix("%s: shape of '%s': ", l->what, value);
    return status;
}

ot_status oti_caffe_bad_field(const caffe_layer *l, const char *field, const char *rule) {
    return oti_fail(OT_ERR_INVALID, "%s: %s %s", l->what, field, rule);
}

/* Caffe's spatial parameters come as a repeated field (one value for both dims, or one per
 * dim) or as separate _h and _w fields, never both. */
ot_status oti_caffe_spatial(const caffe_layer *l, const ot_prototxt_message *p, const char *name,
                            const char *name_h, const char *name_w, int64_t fallback,
                            int64_t out[2]) {
    int n = oti_prototxt_count(p, name);
    int has_hw = oti_prototxt_find(p, name_h, 0) || oti_prototxt_find(p, name_w, 0);
    if (n > 2)
        return oti_caffe_bad_field(l, name,
                                   "is given more than twice: only 2-D layers are supported");
    if (n && has_hw)
        return oti_fail(OT_ERR_INVALID, "%s: give %s or %s/%s, not both", l->what, name, name_h,
                        name_w);
    out[0] = out[1] = fallback;
    for (int k = 0; k < n; k++)
        OT_TRY(oti_prototxt_int(oti_prototxt_find(p, name, k), l->what, &out[k]));
    if (n == 1) out[1] = out[0];
    if (has_hw) {
        OT_TRY(oti_prototxt_get_int(p, name_h, fallback, l->what, &out[0]));
        OT_TRY(oti_prototxt_get_int(p, name_w, fallback, l->what, &out[1]));
    }
    return OT_OK;
}

ot_status oti_caffe_need(const caffe_layer *l, int bottoms, int tops) {
    int ok_bottoms = bottoms < 0 ? l->n_bottoms >= 1 : l->n_bottoms == bottoms;
    int ok_tops = tops < 0 ? l->n_tops >= 1 : l->n_tops == tops;
    if (ok_bottoms && ok_tops) return OT_OK;
    return oti_fail(OT_ERR_FORMAT, "%s has %d bottoms and %d tops; it needs %s%d and %s%d", l->what,
                    l->n_bottoms, l->n_tops, bottoms < 0 ? "at least " : "",
                    bottoms < 0 ? 1 : bottoms, tops < 0 ? "at least " : "", tops < 0 ? 1 : tops);
}

ot_status oti_caffe_params(const caffe_layer *l, const char *name,
                           const ot_prototxt_message **out) {
    return oti_prototxt_get_message(l->fields, name, l->what, out);
}
