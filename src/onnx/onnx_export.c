/* ot_model -> ModelProto -> bytes. The proto borrows the model's strings and tensor data, so
 * building it allocates only the pointer arrays, which free_export releases. */
#include <setjmp.h>
#include <string.h>
#include <stdlib.h>

#include "core/util.h"
#include "onnx_internal.h"
#include "core/file_io.h"
#include "onnxtrain/onnx_io.h"

/* Everything allocated while building one ModelProto, released together. Running out of
 * memory jumps back to ot_onnx_serialize (out_of_memory), which frees the pool: every block
 * is in it, and building takes no lock. */
typedef struct export_pool {
    void **blocks;
    int count, capacity;
    jmp_buf out_of_memory;
} export_pool;

static void *pool_alloc(export_pool *pool, size_t size) {
    if (oti_grow_array((void **)&pool->blocks, &pool->capacity, pool->count + 1, sizeof(void *)) != OT_OK)
        longjmp(pool->out_of_memory, 1);
    void *p = oti_calloc(1, size);
    if (!p) longjmp(pool->out_of_memory, 1);
    pool->blocks[pool->count++] = p;
    return p;
}

static void pool_free(export_pool *pool) {
    for (int i = 0; i < pool->count; i++) free(pool->blocks[i]);
    free(pool->blocks);
}

/* A TensorProto in t's declared dtype; narrowed values live in the pool. */
static Onnx__TensorProto *export_tensor(export_pool *pool, const ot_tensor *t, const char *name) {
    Onnx__TensorProto *proto = pool_alloc(pool, sizeof *proto);
    void *narrowed = NULL;
    if (ot_tensor_declared(t) != t->dtype)
        narrowed = pool_alloc(pool, (size_t)ot_tensor_numel(t) * ot_dtype_size(ot_tensor_declared(t)) + 1);
    oti_onnx_tensor_export(t, name, narrowed, proto);
    return proto;
}

static Onnx__ValueInfoProto *export_value_info(export_pool *pool, const ot_value *v) {
    Onnx__ValueInfoProto *info = pool_alloc(pool, sizeof *info);
    onnx__value_info_proto__init(info);
    info->name = v->name;
    if (!v->has_type && !v->has_shape && v->type == OT_TYPE_TENSOR) return info;
    Onnx__TypeProto *type = pool_alloc(pool, sizeof *type);
    onnx__type_proto__init(type);
    Onnx__TypeProto__Tensor *tt = pool_alloc(pool, sizeof *tt);
    onnx__type_proto__tensor__init(tt);
    type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    type->tensor_type = tt;
    info->type = type;
    if (v->type == OT_TYPE_SEQUENCE) { /* sequence(tensor(...)): the elements' type */
        Onnx__TypeProto__Sequence *sequence = pool_alloc(pool, sizeof *sequence);
        onnx__type_proto__sequence__init(sequence);
        info->type = pool_alloc(pool, sizeof *info->type);
        onnx__type_proto__init(info->type);
        info->type->value_case = ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE;
        info->type->sequence_type = sequence;
        sequence->elem_type = type;
    }
    if (v->has_type) {
        tt->has_elem_type = 1;
        tt->elem_type = (int32_t)ot_tensor_declared(&v->tensor);
    }
    if (!v->has_shape) return info;
    Onnx__TensorShapeProto *shape = pool_alloc(pool, sizeof *shape);
    onnx__tensor_shape_proto__init(shape);
    shape->n_dim = (size_t)v->tensor.ndim;
    shape->dim = pool_alloc(pool, sizeof(void *) * (size_t)(v->tensor.ndim + 1));
    for (int d = 0; d < v->tensor.ndim; d++) {
        Onnx__TensorShapeProto__Dimension *dim = pool_alloc(pool, sizeof *dim);
        onnx__tensor_shape_proto__dimension__init(dim);
        if (v->tensor.dims[d] >= 0) {
            dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            dim->dim_value = v->tensor.dims[d];
        } else if (v->dim_names[d]) {
            dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            dim->dim_param = v->dim_names[d];
        }
        shape->dim[d] = dim;
    }
    tt->shape = shape;
    return info;
}

static Onnx__GraphProto *export_graph(export_pool *pool, const ot_model *m, int64_t ir_version);

static Onnx__AttributeProto *export_attr(export_pool *pool, const ot_attr *a, int64_t ir_version) {
    Onnx__AttributeProto *proto = pool_alloc(pool, sizeof *proto);
    onnx__attribute_proto__init(proto);
    proto->name = a->name;
    proto->has_type = 1;
    proto->type = (Onnx__AttributeProto__AttributeType)a->type;
    switch (a->type) {
    case OT_ATTR_FLOAT: proto->has_f = 1; proto->f = a->f; break;
    case OT_ATTR_INT: proto->has_i = 1; proto->i = a->i; break;
    case OT_ATTR_STRING:
        proto->has_s = 1;
        proto->s.data = (uint8_t *)a->s;
        proto->s.len = a->s_len;
        break;
    case OT_ATTR_TENSOR:
        proto->t = export_tensor(pool, &a->t, NULL);
        break;
    case OT_ATTR_FLOATS: proto->n_floats = (size_t)a->count; proto->floats = a->floats; break;
    case OT_ATTR_INTS: proto->n_ints = (size_t)a->count; proto->ints = a->ints; break;
    case OT_ATTR_STRINGS:
        proto->n_strings = (size_t)a->count;
        proto->strings = pool_alloc(pool, sizeof(ProtobufCBinaryData) * (size_t)(a->count + 1));
        for (int i = 0; i < a->count; i++) {
            proto->strings[i].data = (uint8_t *)a->strings[i];
            proto->strings[i].len = strlen(a->strings[i]);
        }
        break;
    case OT_ATTR_GRAPH:
        if (a->g) proto->g = export_graph(pool, a->g, ir_version);
        break;
    default: break;
    }
    return proto;
}

static Onnx__NodeProto *export_node(export_pool *pool, const ot_model *m, const ot_layer *l, int64_t ir_version) {
    Onnx__NodeProto *node = pool_alloc(pool, sizeof *node);
    onnx__node_proto__init(node);
    node->name = l->name;
    node->op_type = l->op_type;
    node->domain = l->domain;
    if (l->doc_string) node->doc_string = l->doc_string;
    node->n_input = (size_t)(l->n_inputs - l->n_implicit_inputs); /* subgraphs name the rest */
    node->input = pool_alloc(pool, sizeof(char *) * (size_t)(l->n_inputs + 1));
    for (int k = 0; k < l->n_inputs; k++)
        node->input[k] = l->inputs[k] >= 0 ? m->values[l->inputs[k]].name : "";
    node->n_output = (size_t)l->n_outputs;
    node->output = pool_alloc(pool, sizeof(char *) * (size_t)(l->n_outputs + 1));
    for (int k = 0; k < l->n_outputs; k++)
        node->output[k] = l->outputs[k] >= 0 ? m->values[l->outputs[k]].name : "";
    node->n_attribute = (size_t)l->n_attrs;
    node->attribute = pool_alloc(pool, sizeof(void *) * (size_t)(l->n_attrs + 1));
    for (int a = 0; a < l->n_attrs; a++) node->attribute[a] = export_attr(pool, &l->attrs[a], ir_version);
    return node;
}

/* The main graph or a subgraph (an If branch, a Loop or Scan body): its inputs, initializers,
 * nodes, outputs and declared value types. Values a subgraph reads from enclosing graphs are
 * not declared: ONNX resolves them by name. */
static Onnx__GraphProto *export_graph(export_pool *pool, const ot_model *m, int64_t ir_version) {
    Onnx__GraphProto *graph = pool_alloc(pool, sizeof *graph);
    onnx__graph_proto__init(graph);
    graph->name = m->graph_name && *m->graph_name ? m->graph_name : "onnxtrain";
    graph->node = pool_alloc(pool, sizeof(void *) * (size_t)(m->n_layers + 1));
    for (int i = 0; i < m->n_layers; i++)
        graph->node[graph->n_node++] = export_node(pool, m, &m->layers[i], ir_version);

    /* Initializers (IR < 4 also lists them as graph inputs, as the spec then required). */
    int old_ir = ir_version < 4;
    graph->initializer = pool_alloc(pool, sizeof(void *) * (size_t)(m->n_values + 1));
    graph->input = pool_alloc(pool, sizeof(void *) * (size_t)(m->n_values + m->n_inputs + 1));
    for (int k = 0; k < m->n_inputs; k++)
        graph->input[graph->n_input++] = export_value_info(pool, &m->values[m->inputs[k]]);
    for (int v = 0; v < m->n_values; v++) {
        const ot_value *value = &m->values[v];
        if (value->kind != OT_VALUE_INITIALIZER) continue;
        graph->initializer[graph->n_initializer++] = export_tensor(pool, &value->tensor, value->name);
        if (old_ir) {
            ot_value typed = *value;
            typed.has_type = typed.has_shape = 1;
            graph->input[graph->n_input++] = export_value_info(pool, &typed);
        }
    }
    graph->output = pool_alloc(pool, sizeof(void *) * (size_t)(m->n_outputs + 1));
    for (int k = 0; k < m->n_outputs; k++)
        graph->output[graph->n_output++] = export_value_info(pool, &m->values[m->outputs[k]]);
    graph->value_info = pool_alloc(pool, sizeof(void *) * (size_t)(m->n_values + 1));
    for (int v = 0; v < m->n_values; v++) {
        const ot_value *value = &m->values[v];
        int is_output = 0;
        for (int k = 0; k < m->n_outputs; k++) is_output |= m->outputs[k] == v;
        if (value->kind == OT_VALUE_ACTIVATION && value->export_value_info && !is_output &&
            value->producer >= 0)
            graph->value_info[graph->n_value_info++] = export_value_info(pool, value);
    }
    return graph;
}

static void build_model_proto(export_pool *pool, const ot_model *m, Onnx__ModelProto *model) {
    onnx__model_proto__init(model);
    model->has_ir_version = 1;
    model->ir_version = m->ir_version > 0 ? m->ir_version : 8;
    model->producer_name = m->producer_name ? m->producer_name : "onnxtrain";
    model->producer_version = m->producer_version ? m->producer_version : "";
    model->domain = m->domain ? m->domain : "";
    model->has_model_version = 1;
    model->model_version = m->model_version;
    model->doc_string = m->doc_string ? m->doc_string : "";
    model->n_opset_import = (size_t)m->n_opsets;
    model->opset_import = pool_alloc(pool, sizeof(void *) * (size_t)(m->n_opsets + 1));
    for (int i = 0; i < m->n_opsets; i++) {
        Onnx__OperatorSetIdProto *op = pool_alloc(pool, sizeof *op);
        onnx__operator_set_id_proto__init(op);
        op->domain = m->opsets[i].domain;
        op->has_version = 1;
        op->version = m->opsets[i].version;
        model->opset_import[i] = op;
    }
    model->n_metadata_props = (size_t)m->n_metadata;
    model->metadata_props = pool_alloc(pool, sizeof(void *) * (size_t)(m->n_metadata + 1));
    for (int i = 0; i < m->n_metadata; i++) {
        Onnx__StringStringEntryProto *e = pool_alloc(pool, sizeof *e);
        onnx__string_string_entry_proto__init(e);
        e->key = m->metadata[i].key;
        e->value = m->metadata[i].value;
        model->metadata_props[i] = e;
    }

    model->graph = export_graph(pool, m, model->ir_version);
}

ot_status ot_onnx_serialize(const ot_model *m, unsigned char **data, size_t *size) {
    /* On the heap, and the pointer set before setjmp: nothing setjmp's caller reads after the
     * jump changes in between. */
    export_pool *pool = oti_calloc(1, sizeof *pool);
    OT_ALLOC_CHECK(pool);
    Onnx__ModelProto model;
    if (setjmp(pool->out_of_memory)) {
        pool_free(pool);
        free(pool);
        return OT_ERR_MEMORY; /* oti_calloc or oti_grow_array left the message */
    }
    build_model_proto(pool, m, &model);
    size_t n = onnx__model_proto__get_packed_size(&model);
    unsigned char *buf = malloc(n ? n : 1);
    if (!buf) {
        pool_free(pool);
        free(pool);
        return oti_fail(OT_ERR_MEMORY, "out of memory allocating %zu bytes to serialise the model", n);
    }
    onnx__model_proto__pack(&model, buf);
    pool_free(pool);
    free(pool);
    *data = buf;
    *size = n;
    return OT_OK;
}

ot_status ot_onnx_save(const ot_model *m, const char *path) {
    unsigned char *data;
    size_t size;
    OT_TRY(ot_onnx_serialize(m, &data, &size));
    ot_status status = oti_write_file_atomic(path, data, size);
    free(data);
    return status;
}
