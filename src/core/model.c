/* The layer list: values, layers, attributes, lookups. What needs the op table (resolving,
 * checks, parameters, folding) lives in src/graph/. */
#include "onnxtrain/model.h"

#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "model_internal.h"
#include "name_index.h"
#include "util.h"

ot_model *ot_model_new(void) {
    ot_model *m = oti_calloc(1, sizeof *m);
    if (!m) return NULL;
    m->index = oti_name_index_new();
    if (!m->index) {
        free(m);
        oti_fail(OT_ERR_MEMORY, "out of memory making a model");
        return NULL;
    }
    m->ir_version = 8;
    return m;
}

void ot_attr_free(ot_attr *a) {
    free(a->name);
    free(a->s);
    ot_tensor_free(&a->t);
    free(a->floats);
    free(a->ints);
    if (a->strings)
        for (int i = 0; i < a->count; i++) free(a->strings[i]);
    free(a->strings);
    ot_model_free(a->g);
    memset(a, 0, sizeof *a);
}

ot_status ot_attr_copy(ot_attr *dst, const ot_attr *src) {
    /* Subgraphs are read-only once imported and nothing copies a control flow node yet. */
    if (src->g)
        return oti_fail(OT_ERR_UNSUPPORTED, "attribute '%s' holds a subgraph, which cannot be copied",
                        src->name);
    ot_attr a = *src;
    a.name = oti_strdup(src->name);
    OT_ALLOC_CHECK_COPY(a.name, src->name);
    a.s = src->s ? oti_strndup(src->s, src->s_len) : NULL;
    if (src->s && !a.s) {
        free(a.name);
        return OT_ERR_MEMORY;
    }
    a.floats = NULL;
    a.ints = NULL;
    a.strings = NULL;
    memset(&a.t, 0, sizeof a.t);
    if (src->type == OT_ATTR_TENSOR && src->t.data) {
        ot_status status = ot_tensor_copy(&a.t, &src->t, src->name);
        if (status != OT_OK) {
            free(a.name);
            free(a.s);
            return status;
        }
    }
    if (src->floats) {
        a.floats = oti_malloc(sizeof(float) * (size_t)src->count);
        if (!a.floats) {
            ot_attr_free(&a);
            return OT_ERR_MEMORY;
        }
        memcpy(a.floats, src->floats, sizeof(float) * (size_t)src->count);
    }
    if (src->ints) {
        a.ints = oti_malloc(sizeof(int64_t) * (size_t)src->count);
        if (!a.ints) {
            ot_attr_free(&a);
            return OT_ERR_MEMORY;
        }
        memcpy(a.ints, src->ints, sizeof(int64_t) * (size_t)src->count);
    }
    if (src->strings) {
        a.strings = oti_calloc((size_t)src->count, sizeof(char *));
        if (!a.strings) {
            ot_attr_free(&a);
            return OT_ERR_MEMORY;
        }
        for (int i = 0; i < src->count; i++) {
            a.strings[i] = oti_strdup(src->strings[i]);
            if (src->strings[i] && !a.strings[i]) {
                ot_attr_free(&a);
                return OT_ERR_MEMORY;
            }
        }
    }
    *dst = a;
    return OT_OK;
}

void oti_layer_free(ot_layer *l) {
    free(l->name);
    free(l->op_type);
    free(l->domain);
    free(l->doc_string);
    free(l->inputs);
    free(l->outputs);
    for (int i = 0; i < l->n_attrs; i++) ot_attr_free(&l->attrs[i]);
    free(l->attrs);
    free(l->params);
}

void oti_value_free(ot_value *v) {
    free(v->name);
    ot_tensor_free(&v->tensor);
    for (int d = 0; d < OT_MAX_DIMS; d++) free(v->dim_names[d]);
}

void ot_model_free(ot_model *m) {
    if (!m) return;
    for (int i = 0; i < m->n_values; i++) oti_value_free(&m->values[i]);
    free(m->values);
    for (int i = 0; i < m->n_layers; i++) oti_layer_free(&m->layers[i]);
    free(m->layers);
    free(m->inputs);
    free(m->outputs);
    for (int i = 0; i < m->n_retained_blocks; i++) free(m->retained_blocks[i]);
    free(m->retained_blocks);
    for (int i = 0; i < m->n_opsets; i++) free(m->opsets[i].domain);
    free(m->opsets);
    for (int i = 0; i < m->n_metadata; i++) {
        free(m->metadata[i].key);
        free(m->metadata[i].value);
    }
    free(m->metadata);
    free(m->producer_name);
    free(m->producer_version);
    free(m->domain);
    free(m->doc_string);
    free(m->graph_name);
    free(m->source_path);
    oti_name_index_free(m->index);
    free(m);
}

int ot_model_find_value(const ot_model *m, const char *name) {
    return oti_name_index_get(m->index, name);
}

/* The index borrows value names; after the values array moves, re-point every key. */
static ot_status rebuild_index(ot_model *m) {
    oti_name_index_clear(m->index);
    for (int i = 0; i < m->n_values; i++)
        if (!oti_name_index_put(m->index, m->values[i].name, i))
            return oti_fail(OT_ERR_MEMORY, "out of memory indexing tensor names");
    return OT_OK;
}

ot_status ot_model_add_value(ot_model *m, const char *name, ot_value_kind kind, int *index) {
    if (!name || !*name) return oti_fail(OT_ERR_INVALID, "a tensor has an empty name");
    if (ot_model_find_value(m, name) >= 0)
        return oti_fail(OT_ERR_INVALID, "tensor '%s' is defined twice", name);
    OT_TRY(oti_grow_array((void **)&m->values, &m->cap_values, m->n_values + 1, sizeof(ot_value)));
    ot_value *v = &m->values[m->n_values];
    memset(v, 0, sizeof *v);
    v->name = oti_strdup(name);
    OT_ALLOC_CHECK_COPY(v->name, name);
    v->kind = kind;
    v->producer = -1;
    m->n_values++;
    /* Keys are borrowed name pointers, which do not move when the array grows. */
    if (!oti_name_index_put(m->index, v->name, m->n_values - 1))
        return oti_fail(OT_ERR_MEMORY, "out of memory indexing tensor names");
    if (index) *index = m->n_values - 1;
    return OT_OK;
}

char *ot_model_unique_value_name(const ot_model *m, const char *base) {
    if (ot_model_find_value(m, base) < 0) return oti_strdup(base);
    for (int k = 1;; k++) {
        char *name = oti_asprintf("%s_%d", base, k);
        if (!name || ot_model_find_value(m, name) < 0) return name;
        free(name);
    }
}

ot_status ot_model_add_initializer(ot_model *m, const char *name, ot_tensor *t, int *index) {
    int i;
    OT_TRY(ot_model_add_value(m, name, OT_VALUE_INITIALIZER, &i));
    m->values[i].tensor = *t;
    m->values[i].has_shape = 1;
    m->values[i].has_type = 1;
    memset(t, 0, sizeof *t);
    if (index) *index = i;
    return OT_OK;
}

static ot_status resolve_value_list(ot_model *m, int count, const char *const *names,
                                    int *indices, int create) {
    for (int i = 0; i < count; i++) {
        if (!names[i] || !names[i][0]) {
            indices[i] = -1;
            continue;
        }
        int v = ot_model_find_value(m, names[i]);
        if (v < 0) {
            if (!create) return oti_fail(OT_ERR_INVALID, "tensor '%s' is not defined", names[i]);
            OT_TRY(ot_model_add_value(m, names[i], OT_VALUE_ACTIVATION, &v));
        }
        indices[i] = v;
    }
    return OT_OK;
}

ot_status ot_model_add_layer(ot_model *m, const char *name, const char *op_type,
                             const char *domain, int n_inputs, const char *const *inputs,
                             int n_outputs, const char *const *outputs, int *index) {
    int *in = oti_calloc((size_t)n_inputs + 1, sizeof(int));
    int *out = oti_calloc((size_t)n_outputs + 1, sizeof(int));
    ot_status status = in && out ? OT_OK : OT_ERR_MEMORY;
    /* Inputs may be defined later in the file (checked by ot_graph_check). */
    if (status == OT_OK) status = resolve_value_list(m, n_inputs, inputs, in, 1);
    if (status == OT_OK) status = resolve_value_list(m, n_outputs, outputs, out, 1);
    if (status == OT_OK)
        status = oti_grow_array((void **)&m->layers, &m->cap_layers, m->n_layers + 1, sizeof(ot_layer));
    ot_layer *l = status == OT_OK ? &m->layers[m->n_layers] : NULL;
    if (l) {
        memset(l, 0, sizeof *l);
        l->name = oti_strdup(name);
        l->op_type = oti_strdup(op_type);
        l->domain = oti_strdup(domain ? domain : "");
        if ((name && !l->name) || (op_type && !l->op_type) || !l->domain) {
            oti_layer_free(l);
            status = OT_ERR_MEMORY;
        }
    }
    if (status != OT_OK) {
        free(in);
        free(out);
        return status;
    }
    l->n_inputs = n_inputs;
    l->n_outputs = n_outputs;
    l->inputs = in;
    l->outputs = out;
    l->opset = (int)ot_model_opset(m, l->domain);
    if (index) *index = m->n_layers;
    m->n_layers++;
    return OT_OK;
}

ot_status ot_layer_add_attr(ot_layer *l, const ot_attr *attr) {
    ot_attr copy;
    OT_TRY(ot_attr_copy(&copy, attr));
    void *grown = oti_realloc(l->attrs, sizeof(ot_attr) * (size_t)(l->n_attrs + 1));
    if (!grown) {
        ot_attr_free(&copy);
        return OT_ERR_MEMORY;
    }
    l->attrs = grown;
    l->attrs[l->n_attrs++] = copy;
    return OT_OK;
}

const ot_attr *ot_layer_find_attr(const ot_layer *l, const char *name) {
    for (int i = 0; i < l->n_attrs; i++)
        if (strcmp(l->attrs[i].name, name) == 0) return &l->attrs[i];
    return NULL;
}

int ot_model_find_layer(const ot_model *m, const char *key) {
    for (int i = 0; i < m->n_layers; i++)
        if (strcmp(m->layers[i].name, key) == 0) return i;
    int v = ot_model_find_value(m, key);
    if (v >= 0 && m->values[v].producer >= 0) return m->values[v].producer;
    int64_t index;
    if (oti_parse_int64(key, &index)) {
        if (index < 0) index += m->n_layers;
        if (index >= 0 && index < m->n_layers) return (int)index;
    }
    return -1;
}

static int is_default_domain(const char *domain) {
    return !domain || !*domain || strcmp(domain, "ai.onnx") == 0;
}

int64_t ot_model_opset(const ot_model *m, const char *domain) {
    for (int i = 0; i < m->n_opsets; i++) {
        const char *d = m->opsets[i].domain;
        if ((is_default_domain(d) && is_default_domain(domain)) ||
            (d && domain && strcmp(d, domain) == 0))
            return m->opsets[i].version;
    }
    return 0;
}

ot_status ot_model_set_opset(ot_model *m, const char *domain, int64_t version) {
    for (int i = 0; i < m->n_opsets; i++) {
        const char *d = m->opsets[i].domain;
        if ((is_default_domain(d) && is_default_domain(domain)) ||
            (d && domain && strcmp(d, domain) == 0)) {
            m->opsets[i].version = version;
            return OT_OK;
        }
    }
    void *grown = oti_realloc(m->opsets, sizeof(ot_opset_import) * (size_t)(m->n_opsets + 1));
    OT_ALLOC_CHECK(grown);
    m->opsets = grown;
    m->opsets[m->n_opsets].domain = oti_strdup(domain ? domain : "");
    OT_ALLOC_CHECK_COPY(m->opsets[m->n_opsets].domain, domain ? domain : "");
    m->opsets[m->n_opsets].version = version;
    m->n_opsets++;
    return OT_OK;
}

/* Used by src/graph after it moves values around. */
ot_status oti_model_rebuild_index(ot_model *m) { return rebuild_index(m); }

ot_status ot_model_set_input_shape(ot_model *m, const char *input, int ndim, const int64_t *dims) {
    int v = -1;
    for (int k = 0; k < m->n_inputs; k++)
        if (!strcmp(m->values[m->inputs[k]].name, input)) v = m->inputs[k];
    if (v < 0) return oti_fail(OT_ERR_INVALID, "the model has no input named '%s'", input);
    ot_value *x = &m->values[v];
    if (ndim < 0 || ndim > OT_MAX_DIMS || (x->has_shape && ndim != x->tensor.ndim))
        return oti_fail(OT_ERR_INVALID, "input '%s' has %d dims, the shape given has %d", input,
                       x->has_shape ? x->tensor.ndim : -1, ndim);
    for (int d = 0; d < ndim; d++) {
        if (dims[d] == 0 || dims[d] < -1)
            return oti_fail(OT_ERR_INVALID, "input '%s': dim %d must be at least 1, not %lld", input, d,
                           (long long)dims[d]);
        if (x->has_shape && dims[d] > 0 && x->tensor.dims[d] > 0 && x->tensor.dims[d] != dims[d])
            return oti_fail(OT_ERR_INVALID, "input '%s': dim %d is %lld in the model, not %lld", input, d,
                           (long long)x->tensor.dims[d], (long long)dims[d]);
    }
    if (!x->has_shape) {
        x->tensor.ndim = ndim;
        for (int d = 0; d < ndim; d++) x->tensor.dims[d] = -1;
        x->has_shape = 1;
    }
    for (int d = 0; d < ndim; d++) {
        if (dims[d] < 0) continue;
        x->tensor.dims[d] = dims[d];
        free(x->dim_names[d]);
        x->dim_names[d] = NULL;
    }
    return OT_OK;
}

const char *ot_value_shape_string(const ot_value *v, char *buf, size_t size) {
    if (!v->has_shape) {
        snprintf(buf, size, "?");
        return buf;
    }
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < v->tensor.ndim && used < size; d++) {
        if (v->tensor.dims[d] >= 0)
            used += (size_t)snprintf(buf + used, size - used, "%s%lld", d ? "," : "", (long long)v->tensor.dims[d]);
        else
            used += (size_t)snprintf(buf + used, size - used, "%s%s", d ? "," : "", v->dim_names[d] ? v->dim_names[d] : "?");
    }
    if (used < size) snprintf(buf + used, size - used, "]");
    return buf;
}
