/* ModelProto -> ot_model: values, layers with attributes (subgraphs become models of their
 * own, reading enclosing values by name), opsets, metadata; then op resolution, topological
 * checks and constant folding. */
#include <string.h>
#include <stdlib.h>

#include "core/util.h"
#include "onnx_internal.h"
#include "core/file_io.h"
#include "onnxtrain/graph.h"
#include "onnxtrain/onnx_io.h"
#include "onnxtrain/context.h"

static const char *or_empty(const char *s) { return s ? s : ""; }

/* Declared type and shape of a graph input/output/value_info. */
static ot_status import_value_info(ot_value *v, const Onnx__ValueInfoProto *info) {
    const Onnx__TypeProto *type = info->type;
    if (!type) return OT_OK;
    if (type->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE && type->sequence_type) {
        v->type = OT_TYPE_SEQUENCE; /* a sequence of tensors: what follows describes them */
        type = type->sequence_type->elem_type;
        if (!type) return OT_OK;
    }
    if (type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !type->tensor_type)
        return oti_fail(OT_ERR_UNSUPPORTED, "value '%s' is not a tensor nor a sequence of tensors (maps, "
                       "optionals and nested sequences are not supported)", v->name);
    const Onnx__TypeProto__Tensor *tt = type->tensor_type;
    if (tt->has_elem_type) {
        v->tensor.dtype = (ot_dtype)tt->elem_type;
        v->has_type = 1;
    }
    if (!tt->shape) return OT_OK;
    if (tt->shape->n_dim > OT_MAX_DIMS)
        return oti_fail(OT_ERR_UNSUPPORTED, "value '%s' has %zu dims; at most %d are supported",
                       v->name, tt->shape->n_dim, OT_MAX_DIMS);
    v->has_shape = 1;
    v->tensor.ndim = (int)tt->shape->n_dim;
    for (size_t d = 0; d < tt->shape->n_dim; d++) {
        const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
        free(v->dim_names[d]);
        v->dim_names[d] = NULL;
        if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (dim->dim_value < 0)
                return oti_fail(OT_ERR_FORMAT, "value '%s' has a negative dim (%lld)", v->name,
                               (long long)dim->dim_value);
            v->tensor.dims[d] = dim->dim_value;
        } else {
            v->tensor.dims[d] = -1;
            if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                dim->dim_param && *dim->dim_param)
                OT_ALLOC_CHECK(v->dim_names[d] = oti_strdup(dim->dim_param));
        }
    }
    return OT_OK;
}

static ot_status import_subgraph(const ot_context *ctx, const ot_model *parent, const Onnx__GraphProto *g,
                                 const char *node, const char *model_dir, int depth, ot_model **out);

/* parent and depth (how deep the node's graph is nested) are for GRAPH attributes. */
static ot_status import_attr(const ot_context *ctx, const ot_model *parent, const Onnx__AttributeProto *proto,
                             const char *node, const char *model_dir, int depth, ot_attr *out) {
    ot_attr a = {0};
    a.name = oti_strdup(or_empty(proto->name));
    OT_ALLOC_CHECK_COPY(a.name, or_empty(proto->name));
    a.type = proto->has_type ? (ot_attr_type)proto->type : OT_ATTR_UNDEFINED;
    if (a.type == OT_ATTR_UNDEFINED) {
        /* Old exporters omit the type: infer it from the field that is set. */
        if (proto->has_f) a.type = OT_ATTR_FLOAT;
        else if (proto->has_i) a.type = OT_ATTR_INT;
        else if (proto->has_s) a.type = OT_ATTR_STRING;
        else if (proto->t) a.type = OT_ATTR_TENSOR;
        else if (proto->g) a.type = OT_ATTR_GRAPH;
        else if (proto->n_floats) a.type = OT_ATTR_FLOATS;
        else if (proto->n_ints) a.type = OT_ATTR_INTS;
        else if (proto->n_strings) a.type = OT_ATTR_STRINGS;
    }
    ot_status status = OT_OK;
    switch (a.type) {
    case OT_ATTR_FLOAT: a.f = proto->f; break;
    case OT_ATTR_INT: a.i = proto->i; break;
    case OT_ATTR_STRING:
        a.s = oti_strndup((const char *)proto->s.data, proto->s.len);
        if (!a.s) status = OT_ERR_MEMORY;
        a.s_len = proto->s.len;
        break;
    case OT_ATTR_TENSOR:
        if (!proto->t) {
            status = oti_fail(OT_ERR_FORMAT, "node '%s': attribute '%s' has no tensor", node, a.name);
            break;
        }
        {
            char *what = oti_asprintf("%s.%s", node, a.name);
            status = what ? oti_onnx_tensor_import(ctx, proto->t, model_dir, what, &a.t) : OT_ERR_MEMORY;
            free(what);
        }
        break;
    case OT_ATTR_FLOATS:
        a.count = (int)proto->n_floats;
        a.floats = oti_malloc(sizeof(float) * (proto->n_floats + 1));
        if (!a.floats) status = OT_ERR_MEMORY;
        else if (proto->n_floats) memcpy(a.floats, proto->floats, sizeof(float) * proto->n_floats);
        break;
    case OT_ATTR_INTS:
        a.count = (int)proto->n_ints;
        a.ints = oti_malloc(sizeof(int64_t) * (proto->n_ints + 1));
        if (!a.ints) status = OT_ERR_MEMORY;
        else if (proto->n_ints) memcpy(a.ints, proto->ints, sizeof(int64_t) * proto->n_ints);
        break;
    case OT_ATTR_STRINGS:
        a.count = (int)proto->n_strings;
        a.strings = oti_calloc(proto->n_strings + 1, sizeof(char *));
        if (!a.strings) status = OT_ERR_MEMORY;
        for (size_t i = 0; a.strings && i < proto->n_strings; i++) {
            a.strings[i] = oti_strndup((const char *)proto->strings[i].data, proto->strings[i].len);
            if (!a.strings[i]) {
                status = OT_ERR_MEMORY;
                break;
            }
        }
        break;
    case OT_ATTR_GRAPH:
        if (!proto->g) {
            status = oti_fail(OT_ERR_FORMAT, "node '%s': attribute '%s' has no graph", node, a.name);
            break;
        }
        status = import_subgraph(ctx, parent, proto->g, node, model_dir, depth + 1, &a.g);
        if (status != OT_OK) oti_error_prefix("node '%s', subgraph '%s': ", node, a.name);
        break;
    default:
        status = oti_fail(OT_ERR_UNSUPPORTED, "node '%s': attribute '%s' has unsupported type %d",
                         node, a.name, (int)a.type);
    }
    if (status != OT_OK) {
        ot_attr_free(&a);
        return status;
    }
    *out = a;
    return OT_OK;
}

/* A node name for nodes the file leaves unnamed (or names twice): "<op>_<index>". NULL when
 * out of memory. */
static char *layer_name(const ot_model *m, const Onnx__NodeProto *node, size_t index,
                        const char *op_type) {
    int named = node->name && *node->name;
    char *base = named ? oti_strdup(node->name) : oti_asprintf("%s_%zu", op_type, index);
    for (int k = 1; base; k++) {
        int taken = 0;
        for (int i = 0; i < m->n_layers && !taken; i++) taken = strcmp(m->layers[i].name, base) == 0;
        if (!taken) return base;
        char *next = named ? oti_asprintf("%s_%d", node->name, k) : oti_asprintf("%s_%zu_%d", op_type, index, k);
        free(base);
        base = next;
    }
    return NULL;
}

/* The names a node's subgraphs read from enclosing graphs (their OT_VALUE_OUTER values),
 * appended to names[first..*n) once each; names is large enough for every outer value. */
static void collect_outer_names(const ot_attr *attrs, int n_attrs, const char **names, int first, int *n) {
    for (int a = 0; a < n_attrs; a++) {
        const ot_model *g = attrs[a].g;
        for (int v = 0; g && v < g->n_values; v++) {
            if (g->values[v].kind != OT_VALUE_OUTER) continue;
            int seen = 0;
            for (int k = first; k < *n && !seen; k++) seen = strcmp(names[k], g->values[v].name) == 0;
            if (!seen) names[(*n)++] = g->values[v].name;
        }
    }
}

static ot_status add_node_layer(ot_model *m, const Onnx__NodeProto *node, const char *name, const char *op_type,
                                ot_attr *attrs, int n_attrs) {
    /* Explicit inputs, then the implicit ones (what subgraphs read from this graph). */
    size_t n_outer = 0;
    for (int a = 0; a < n_attrs; a++) n_outer += attrs[a].g ? (size_t)attrs[a].g->n_values : 0;
    const char **inputs = oti_calloc(node->n_input + n_outer + 1, sizeof(char *));
    OT_ALLOC_CHECK(inputs);
    for (size_t k = 0; k < node->n_input; k++) inputs[k] = node->input[k];
    int n_inputs = (int)node->n_input;
    collect_outer_names(attrs, n_attrs, inputs, n_inputs, &n_inputs);
    int li;
    ot_status status = ot_model_add_layer(m, name, op_type, or_empty(node->domain), n_inputs, inputs,
                                          (int)node->n_output, (const char *const *)node->output, &li);
    free(inputs);
    if (status != OT_OK) return status;
    ot_layer *l = &m->layers[li];
    l->n_implicit_inputs = n_inputs - (int)node->n_input;
    l->attrs = attrs;
    l->n_attrs = n_attrs;
    if (node->doc_string && *node->doc_string && !(l->doc_string = oti_strdup(node->doc_string)))
        return OT_ERR_MEMORY;
    return OT_OK;
}

/* depth: how deep this node's graph is nested (0: the main graph). */
static ot_status import_node(const ot_context *ctx, ot_model *m, const Onnx__NodeProto *node, size_t index,
                             const char *model_dir, int depth) {
    const char *op_type = or_empty(node->op_type);
    if (!*op_type)
        return oti_fail(OT_ERR_FORMAT, "node %zu ('%s') has no op_type", index, or_empty(node->name));
    char *name = layer_name(m, node, index, op_type);
    OT_ALLOC_CHECK(name);
    ot_attr *attrs = oti_calloc(node->n_attribute + 1, sizeof(ot_attr));
    int n_attrs = 0;
    ot_status status = attrs ? OT_OK : OT_ERR_MEMORY;
    for (size_t a = 0; a < node->n_attribute && status == OT_OK; a++) {
        status = import_attr(ctx, m, node->attribute[a], name, model_dir, depth, &attrs[n_attrs]);
        if (status == OT_OK) n_attrs++;
    }
    if (status == OT_OK) {
        status = add_node_layer(m, node, name, op_type, attrs, n_attrs);
        if (status == OT_OK) attrs = NULL; /* the layer owns them, also after a later failure */
        else oti_error_prefix("node '%s': ", name);
    }
    for (int a = 0; attrs && a < n_attrs; a++) ot_attr_free(&attrs[a]);
    free(attrs);
    free(name);
    return status;
}

static ot_status import_graph(const ot_context *ctx, ot_model *m, const Onnx__GraphProto *g, const char *model_dir,
                              int depth) {
    m->graph_name = oti_strdup(or_empty(g->name));
    OT_ALLOC_CHECK_COPY(m->graph_name, or_empty(g->name));
    if (g->n_sparse_initializer)
        return oti_fail(OT_ERR_UNSUPPORTED, "sparse initializers are not supported ('%s')",
                       or_empty(g->sparse_initializer[0]->values ?
                                g->sparse_initializer[0]->values->name : ""));
    for (size_t i = 0; i < g->n_initializer; i++) {
        const Onnx__TensorProto *init = g->initializer[i];
        if (!init->name || !*init->name)
            return oti_fail(OT_ERR_FORMAT, "initializer %zu has no name", i);
        ot_tensor t;
        OT_TRY(oti_onnx_tensor_import(ctx, init, model_dir, init->name, &t));
        ot_status status = ot_model_add_initializer(m, init->name, &t, NULL);
        if (status != OT_OK) {
            ot_tensor_free(&t);
            return status;
        }
    }
    m->inputs = oti_calloc(g->n_input + 1, sizeof(int));
    OT_ALLOC_CHECK(m->inputs);
    for (size_t i = 0; i < g->n_input; i++) {
        const char *name = or_empty(g->input[i]->name);
        int v = ot_model_find_value(m, name);
        /* IR < 4 lists initializers among the inputs too: they stay initializers. */
        if (v >= 0 && m->values[v].kind == OT_VALUE_INITIALIZER) continue;
        if (v >= 0) return oti_fail(OT_ERR_FORMAT, "graph input '%s' is listed twice", name);
        OT_TRY(ot_model_add_value(m, name, OT_VALUE_INPUT, &v));
        OT_TRY(import_value_info(&m->values[v], g->input[i]));
        m->inputs[m->n_inputs++] = v;
    }
    m->outputs = oti_calloc(g->n_output + 1, sizeof(int));
    OT_ALLOC_CHECK(m->outputs);
    for (size_t i = 0; i < g->n_output; i++) {
        const char *name = or_empty(g->output[i]->name);
        int v = ot_model_find_value(m, name);
        if (v < 0) OT_TRY(ot_model_add_value(m, name, OT_VALUE_ACTIVATION, &v));
        if (m->values[v].kind == OT_VALUE_ACTIVATION) OT_TRY(import_value_info(&m->values[v], g->output[i]));
        m->outputs[m->n_outputs++] = v;
    }
    for (size_t i = 0; i < g->n_value_info; i++) {
        const char *name = or_empty(g->value_info[i]->name);
        int v = ot_model_find_value(m, name);
        if (v < 0) OT_TRY(ot_model_add_value(m, name, OT_VALUE_ACTIVATION, &v));
        if (m->values[v].kind != OT_VALUE_ACTIVATION) continue;
        OT_TRY(import_value_info(&m->values[v], g->value_info[i]));
        m->values[v].export_value_info = 1;
    }
    for (size_t i = 0; i < g->n_node; i++) OT_TRY(import_node(ctx, m, g->node[i], i, model_dir, depth));
    return OT_OK;
}

/* Names a subgraph reads but does not define come from the enclosing graphs: those values
 * become OT_VALUE_OUTER (the node holding the subgraph lists them as implicit inputs). */
static void mark_outer_values(ot_model *g) {
    for (int v = 0; v < g->n_values; v++) g->values[v].producer = -1;
    for (int i = 0; i < g->n_layers; i++)
        for (int k = 0; k < g->layers[i].n_outputs; k++)
            if (g->layers[i].outputs[k] >= 0) g->values[g->layers[i].outputs[k]].producer = i;
    for (int v = 0; v < g->n_values; v++)
        if (g->values[v].kind == OT_VALUE_ACTIVATION && g->values[v].producer < 0)
            g->values[v].kind = OT_VALUE_OUTER;
}

/* A GRAPH attribute: a model of its own sharing the parent's opsets. depth counts from 1 for
 * the main graph's subgraphs. */
static ot_status import_subgraph(const ot_context *ctx, const ot_model *parent, const Onnx__GraphProto *g,
                                 const char *node, const char *model_dir, int depth, ot_model **out) {
    int limit = ot_context_max_subgraph_depth(ctx);
    if (depth > limit)
        return oti_fail(OT_ERR_UNSUPPORTED, "node '%s': subgraphs nested more than %d deep, over the "
                        "limit (ot_context_options.max_subgraph_depth raises it)", node, limit);
    ot_model *sub = ot_model_new();
    OT_ALLOC_CHECK(sub);
    ot_status status = OT_OK;
    for (int i = 0; i < parent->n_opsets && status == OT_OK; i++)
        status = ot_model_set_opset(sub, parent->opsets[i].domain, parent->opsets[i].version);
    if (status == OT_OK) status = import_graph(ctx, sub, g, model_dir, depth);
    if (status == OT_OK) mark_outer_values(sub);
    if (status != OT_OK) {
        ot_model_free(sub);
        return status;
    }
    sub->ir_version = parent->ir_version;
    *out = sub;
    return OT_OK;
}

static ot_status import_model(const ot_context *ctx, ot_model *m, const Onnx__ModelProto *proto, const char *model_dir,
                              ot_load_mode mode) {
    m->ir_version = proto->has_ir_version ? proto->ir_version : 0;
    m->producer_name = oti_strdup(or_empty(proto->producer_name));
    OT_ALLOC_CHECK_COPY(m->producer_name, or_empty(proto->producer_name));
    m->producer_version = oti_strdup(or_empty(proto->producer_version));
    OT_ALLOC_CHECK_COPY(m->producer_version, or_empty(proto->producer_version));
    m->domain = oti_strdup(or_empty(proto->domain));
    OT_ALLOC_CHECK_COPY(m->domain, or_empty(proto->domain));
    m->model_version = proto->has_model_version ? proto->model_version : 0;
    m->doc_string = oti_strdup(or_empty(proto->doc_string));
    OT_ALLOC_CHECK_COPY(m->doc_string, or_empty(proto->doc_string));
    for (size_t i = 0; i < proto->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *op = proto->opset_import[i];
        OT_TRY(ot_model_set_opset(m, or_empty(op->domain), op->has_version ? op->version : 1));
    }
    if (m->n_opsets == 0) {
        if (m->ir_version >= 3)
            return oti_fail(OT_ERR_FORMAT, "the model has no opset_import (which ONNX opset is it?)");
        OT_TRY(ot_model_set_opset(m, "", 1)); /* IR 1-2 models predate opset_import */
    }
    m->metadata = oti_calloc(proto->n_metadata_props + 1, sizeof(ot_metadata_prop));
    OT_ALLOC_CHECK(m->metadata);
    for (size_t i = 0; i < proto->n_metadata_props; i++) {
        m->metadata[i].key = oti_strdup(or_empty(proto->metadata_props[i]->key));
        m->metadata[i].value = oti_strdup(or_empty(proto->metadata_props[i]->value));
        m->n_metadata++; /* ot_model_free frees both */
        if (!m->metadata[i].key || !m->metadata[i].value) return OT_ERR_MEMORY;
    }
    if (!proto->graph) return oti_fail(OT_ERR_FORMAT, "the model has no graph");
    OT_TRY(import_graph(ctx, m, proto->graph, model_dir, 0));
    OT_TRY(ot_graph_check(m));
    if (mode == OT_LOAD_STRUCTURE_ONLY) return OT_OK;
    OT_TRY(ot_graph_resolve(m));
    OT_TRY(ot_graph_fold_constants(ctx, m));
    return OT_OK;
}

ot_status ot_onnx_load_buffer(const ot_context *ctx, const void *data, size_t size,
                                    const char *base_dir, const char *what, ot_load_mode mode,
                                    ot_model **out) {
    *out = NULL;
    OT_TRY(oti_onnx_check_limits(ctx, data, size, &onnx__model_proto__descriptor, what));
    Onnx__ModelProto *proto = onnx__model_proto__unpack(NULL, size, data);
    if (!proto)
        return oti_fail(OT_ERR_FORMAT, "%s: not a valid ONNX model (protobuf parse failed: "
                       "truncated or corrupt file?)", what);
    ot_model *m = ot_model_new();
    if (m) m->source_path = oti_strdup(what);
    if (!m || (what && !m->source_path)) {
        onnx__model_proto__free_unpacked(proto, NULL);
        ot_model_free(m);
        return OT_ERR_MEMORY;
    }
    ot_status status = import_model(ctx, m, proto, base_dir, mode);
    onnx__model_proto__free_unpacked(proto, NULL);
    if (status != OT_OK) {
        oti_error_prefix("%s: ", what);
        ot_model_free(m);
        return status;
    }
    *out = m;
    return OT_OK;
}

ot_status ot_onnx_load(const ot_context *ctx, const char *path, ot_model **out) {
    return ot_onnx_load_mode(ctx, path, OT_LOAD_FULL, out);
}

ot_status ot_onnx_load_mode(const ot_context *ctx, const char *path, ot_load_mode mode,
                                  ot_model **out) {
    unsigned char *data;
    size_t size;
    *out = NULL;
    OT_TRY(oti_onnx_check_file_size(ctx, path));
    OT_TRY(oti_read_file(path, OT_ONNX_MAX_FILE_BYTES, &data, &size));
    char *dir = oti_path_dirname(path);
    ot_status status = dir ? ot_onnx_load_buffer(ctx, data, size, dir, path, mode, out) : OT_ERR_MEMORY;
    free(dir);
    free(data);
    return status;
}

/* A backend test's .pb file unpacked as `descriptor` (a TensorProto, a SequenceProto). */
static ot_status unpack_file(const ot_context *ctx, const char *path, const ProtobufCMessageDescriptor *descriptor,
                             const char *what, void **out) {
    unsigned char *data;
    size_t size;
    OT_TRY(oti_onnx_check_file_size(ctx, path));
    OT_TRY(oti_read_file(path, OT_ONNX_MAX_FILE_BYTES, &data, &size));
    ot_status status = oti_onnx_check_limits(ctx, data, size, descriptor, path);
    if (status == OT_OK && !(*out = protobuf_c_message_unpack(descriptor, NULL, size, data)))
        status = oti_fail(OT_ERR_FORMAT, "%s: not a valid %s", path, what);
    free(data);
    return status;
}

ot_status ot_onnx_load_tensor(const ot_context *ctx, const char *path, ot_tensor *out, char **name) {
    Onnx__TensorProto *proto;
    OT_TRY(unpack_file(ctx, path, &onnx__tensor_proto__descriptor, "TensorProto", (void **)&proto));
    ot_status status = oti_onnx_tensor_import(ctx, proto, NULL, proto->name && *proto->name ? proto->name : path, out);
    if (status == OT_OK && name && !(*name = oti_strdup(or_empty(proto->name)))) {
        ot_tensor_free(out);
        status = OT_ERR_MEMORY;
    }
    onnx__tensor_proto__free_unpacked(proto, NULL);
    if (status != OT_OK) oti_error_prefix("%s: ", path);
    return status;
}

ot_status ot_onnx_load_sequence(const ot_context *ctx, const char *path, ot_tensor **elements, int *count) {
    *elements = NULL;
    *count = 0;
    Onnx__SequenceProto *proto;
    OT_TRY(unpack_file(ctx, path, &onnx__sequence_proto__descriptor, "SequenceProto", (void **)&proto));
    ot_status status = OT_OK;
    if (proto->n_sequence_values || proto->n_optional_values || (proto->has_elem_type && proto->elem_type != 1 && proto->elem_type != 0))
        status = oti_fail(OT_ERR_UNSUPPORTED, "%s: a sequence of sequences, maps or optionals (only tensors are read)", path);
    if (status == OT_OK && !(*elements = oti_calloc(proto->n_tensor_values + 1, sizeof(ot_tensor))))
        status = OT_ERR_MEMORY;
    for (size_t k = 0; k < proto->n_tensor_values && status == OT_OK; k++) {
        status = oti_onnx_tensor_import(ctx, proto->tensor_values[k], NULL, path, &(*elements)[k]);
        if (status == OT_OK) (*count)++;
    }
    onnx__sequence_proto__free_unpacked(proto, NULL);
    if (status != OT_OK) {
        for (int k = 0; k < *count; k++) ot_tensor_free(&(*elements)[k]);
        free(*elements);
        *elements = NULL;
        *count = 0;
    }
    return status;
}
