/* The layer list: a model as onnxtrain holds it between import, training and export.
 *
 * Values are every named tensor in the graph: graph inputs, initializers (weights, with
 * data) and activations (outputs of layers, shapes known only once planned). Layers are the
 * graph's nodes in topological order; each names its inputs and outputs by value index and
 * keeps its ONNX attributes both as a generic list (what export writes back) and parsed into
 * its op's own struct (what the kernels read). */
#ifndef ONNXTRAIN_MODEL_H
#define ONNXTRAIN_MODEL_H

#include "onnxtrain/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ot_value_kind {
    OT_VALUE_ACTIVATION = 0, /* produced by a layer */
    OT_VALUE_INPUT,          /* graph input fed by the caller */
    OT_VALUE_INITIALIZER,    /* constant or weight, with data */
    OT_VALUE_OUTER           /* subgraphs only: a value of an enclosing graph, read by name */
} ot_value_kind;

/* What a value holds: a tensor, or a sequence of tensors (ONNX's sequence type; `tensor`
 * then describes the elements: their dtype, and their shape where all share one). */
typedef enum ot_value_type {
    OT_TYPE_TENSOR = 0,
    OT_TYPE_SEQUENCE
} ot_value_type;

typedef struct ot_value {
    char *name;
    ot_value_kind kind;
    ot_value_type type;
    /* Declared dtype and shape (dims -1 where symbolic or unknown); for initializers also the
     * data. has_shape says whether a shape was declared at all. */
    ot_tensor tensor;
    int has_shape;
    int has_type;
    char *dim_names[OT_MAX_DIMS]; /* symbolic dim names ("batch"), NULL where fixed */
    int producer;                 /* index of the layer that writes it, -1 otherwise */
    int frozen;                   /* initializers only: excluded from training */
    int export_value_info;        /* activation with a declared type to keep on export */
} ot_value;

/* Attribute types use ONNX's AttributeProto.AttributeType numbers. */
typedef enum ot_attr_type {
    OT_ATTR_UNDEFINED = 0,
    OT_ATTR_FLOAT = 1,
    OT_ATTR_INT = 2,
    OT_ATTR_STRING = 3,
    OT_ATTR_TENSOR = 4,
    OT_ATTR_GRAPH = 5,
    OT_ATTR_FLOATS = 6,
    OT_ATTR_INTS = 7,
    OT_ATTR_STRINGS = 8
} ot_attr_type;

typedef struct ot_attr {
    char *name;
    ot_attr_type type;
    float f;
    int64_t i;
    char *s; /* STRING: bytes, NUL-terminated for convenience; s_len excludes the NUL */
    size_t s_len;
    ot_tensor t; /* TENSOR (owned) */
    int count;   /* FLOATS / INTS / STRINGS */
    float *floats;
    int64_t *ints;
    char **strings;
    struct ot_model *g; /* GRAPH (owned): an If branch, a Loop or Scan body */
} ot_attr;

struct ot_op;

typedef struct ot_layer {
    char *name;
    char *op_type;
    char *domain; /* "" for the default ONNX domain */
    char *doc_string;
    int opset; /* the model's opset version for this layer's domain */
    int n_inputs, n_outputs;
    int *inputs;  /* value indices; -1 marks an omitted optional input */
    /* The last n_implicit_inputs inputs are not the node's own: they are the values of this
     * graph that its subgraphs (If branches, Loop and Scan bodies) read by name, listed so
     * ordering, pruning and memory planning see those reads. Export leaves them out. */
    int n_implicit_inputs;
    int *outputs; /* value indices; -1 marks an omitted optional output */
    int n_attrs;
    ot_attr *attrs;
    const struct ot_op *op; /* resolved op row, NULL if unsupported */
    void *params;           /* op-owned parsed attributes */
    int frozen; /* set by freezing: runs in inference mode (BatchNorm statistics, Dropout) */
} ot_layer;

typedef struct ot_opset_import {
    char *domain;
    int64_t version;
} ot_opset_import;

typedef struct ot_metadata_prop {
    char *key;
    char *value;
} ot_metadata_prop;

typedef struct ot_name_index ot_name_index;

typedef struct ot_model {
    ot_value *values;
    int n_values, cap_values;
    ot_layer *layers;
    int n_layers, cap_layers;
    int *inputs, n_inputs;   /* graph inputs that are not initializers */
    int *outputs, n_outputs; /* graph outputs */
    ot_opset_import *opsets;
    int n_opsets;
    int64_t ir_version;
    char *producer_name, *producer_version, *domain, *doc_string, *graph_name;
    int64_t model_version;
    ot_metadata_prop *metadata;
    int n_metadata;
    char *source_path; /* file it was loaded from, for messages */
    ot_name_index *index;
    /* Training's parameter blocks that tensors still point into because copying them out
     * ran out of memory (src/train/parameters.c); freed with the model. */
    void **retained_blocks;
    int n_retained_blocks, cap_retained_blocks;
} ot_model;

/* An empty model, or NULL when out of memory (ot_last_error says so). */
OT_API ot_model *ot_model_new(void);
OT_API void ot_model_free(ot_model *m);

/* Values ------------------------------------------------------------------------------- */
/* Index of the value with this name, or -1. */
OT_API int ot_model_find_value(const ot_model *m, const char *name);
/* Adds a value (name copied); fails if the name exists. */
OT_API ot_status ot_model_add_value(ot_model *m, const char *name, ot_value_kind kind, int *index);
/* A name not yet used, built from base ("conv1_out", "conv1_out_1", ...). Caller frees;
 * NULL when out of memory. */
OT_API char *ot_model_unique_value_name(const ot_model *m, const char *base);
/* Adds an initializer taking ownership of t's data. */
OT_API ot_status ot_model_add_initializer(ot_model *m, const char *name, ot_tensor *t, int *index);
/* Fixes the symbolic dims of graph input `input` (a model exported with [N,3,H,W]): dims[d]
 * >= 1 fixes dim d, -1 leaves it as declared. A rank other than the declared one, or a
 * fixed dim given another size, is an error naming the input. */
OT_API ot_status ot_model_set_input_shape(ot_model *m, const char *input, int ndim, const int64_t *dims);
/* The declared shape with symbolic names, "[N,3,224,224]" ("?" if none), into buf. */
OT_API const char *ot_value_shape_string(const ot_value *v, char *buf, size_t size);

/* Layers -------------------------------------------------------------------------------- */
/* Appends a layer; names are copied, inputs/outputs are value names ("" = omitted).
 * Outputs that do not exist are created as activations. ot_graph_resolve (onnxtrain/graph.h)
 * then resolves it against the op table (op, params). */
OT_API ot_status ot_model_add_layer(ot_model *m, const char *name, const char *op_type,
                             const char *domain, int n_inputs, const char *const *inputs,
                             int n_outputs, const char *const *outputs, int *index);
/* Appends an attribute to a layer (deep copy of attr). */
OT_API ot_status ot_layer_add_attr(ot_layer *l, const ot_attr *attr);
OT_API const ot_attr *ot_layer_find_attr(const ot_layer *l, const char *name);
/* Finds a layer by node name, output tensor name, or decimal index. -1 if none. */
OT_API int ot_model_find_layer(const ot_model *m, const char *name_or_index);
/* The opset version the model imports for a domain ("" and "ai.onnx" are the same); 0 if
 * absent. */
OT_API int64_t ot_model_opset(const ot_model *m, const char *domain);
OT_API ot_status ot_model_set_opset(ot_model *m, const char *domain, int64_t version);

OT_API void ot_attr_free(ot_attr *a);
OT_API ot_status ot_attr_copy(ot_attr *dst, const ot_attr *src);

#ifdef __cplusplus
}
#endif
#endif
