/* Shared by the Caffe importer's files: the weights read from a .caffemodel, and the state
 * that turns the .prototxt's layers into the layer list (blob names to values, new layers
 * and initializers). The protobuf-c types stay in caffe_weights.c. */
#ifndef OT_CAFFE_INTERNAL_H
#define OT_CAFFE_INTERNAL_H

#include "formats/prototxt.h"
#include "onnxtrain/model.h"

/* One layer's weight blobs from a .caffemodel, as float tensors in the blob's own shape. */
typedef struct caffe_layer_blobs {
    char *layer;
    int count;
    ot_tensor *blobs;
} caffe_layer_blobs;

typedef struct caffe_weights {
    int count;
    caffe_layer_blobs *layers;
} caffe_weights;

/* Reads a serialized NetParameter (both `layer` and legacy `layers`). */
ot_status oti_caffe_weights_read(const ot_context *ctx, const void *data, size_t size,
                                 const char *what, caffe_weights *out);
void oti_caffe_weights_free(caffe_weights *w);
/* The blobs of the layer with this name, or NULL. */
const caffe_layer_blobs *oti_caffe_weights_find(const caffe_weights *w, const char *layer);
/* The layer type a legacy V1 enum value stands for ("Convolution" for CONVOLUTION), or NULL. */
const char *oti_caffe_v1_type(const char *enum_name);

#define CAFFE_MAX_TOPS 64

/* One .prototxt layer being converted. */
typedef struct caffe_layer {
    const char *name, *type;
    const ot_prototxt_message *fields;
    char what[320]; /* "deploy.prototxt: layer 'conv1' (Convolution)", for messages */
    int n_bottoms, n_tops;
    const char *bottoms[CAFFE_MAX_TOPS]; /* value names the bottoms are bound to now */
    const char *tops[CAFFE_MAX_TOPS];    /* Caffe's top blob names */
    const caffe_layer_blobs *blobs;      /* NULL: none in the .caffemodel */
} caffe_layer;

typedef struct caffe_builder {
    const ot_context *ctx;
    ot_model *m;
    const char *what; /* the .prototxt's name */
    const caffe_weights *weights;
    /* Caffe blob names and the value each is bound to now (in-place layers rebind them). */
    char **blob_names;
    int *blob_values;
    int n_blobs, cap_blobs;
    /* Every layer of the file and the one being converted: BatchNorm looks at the next
     * (a Scale it absorbs sets skip_next). */
    const caffe_layer *layers;
    int n_layers, index;
    int skip_next;
} caffe_builder;

/* Node building (caffe_build.c) --------------------------------------------------------- */
/* Appends node `op` named after the layer (suffix NULL: the layer's own name, else
 * "<layer>/<suffix>") with inputs given by value name. Its one output is new: top k's name
 * when top >= 0 (bound to that blob), else a fresh "<layer>/<suffix>" value. *out (may be
 * NULL) receives the output's name, owned by the model. */
ot_status oti_caffe_node(caffe_builder *b, const caffe_layer *l, const char *op, const char *suffix,
                         int n_in, const char *const *inputs, int n_attrs, const ot_attr *attrs,
                         int top, const char **out);
/* Adds initializer "<layer>.<role>" owning t's data (freed on failure); *out its name. */
ot_status oti_caffe_initializer(caffe_builder *b, const caffe_layer *l, const char *role,
                                ot_tensor *t, const char **out);
/* A float initializer "<layer>.<role>" of the given shape filled with values (n = numel). */
ot_status oti_caffe_constant(caffe_builder *b, const caffe_layer *l, const char *role, int ndim,
                             const int64_t *dims, const float *values, const char **out);
/* A 1-D int64 initializer "<layer>.<role>" (shapes, axes, slice bounds). */
ot_status oti_caffe_int64_constant(caffe_builder *b, const caffe_layer *l, const char *role,
                                   int count, const int64_t *values, const char **out);
/* Copies blob k of the layer, checked against dims (at most one -1: inferred from the count;
 * legacy 4-D blobs such as (1, 1, O, I) are reshaped when the counts agree), into a new
 * initializer "<layer>.<role>". Missing or mis-sized blobs are errors naming the layer. */
ot_status oti_caffe_blob(caffe_builder *b, const caffe_layer *l, int k, const char *role, int ndim,
                         const int64_t *dims, const char **out);
/* Binds Caffe blob `top` to an existing value (Split, Dropout-free aliases). */
ot_status oti_caffe_bind(caffe_builder *b, const char *top, const char *value);
/* The inferred shape of a value (see ot_plan_infer_value_shape). */
ot_status oti_caffe_shape(caffe_builder *b, const char *value, const caffe_layer *l,
                          ot_tensor *out);
/* Reads repeated-or-_h/_w spatial fields (kernel_size / kernel_h, kernel_w) into out[2]. */
ot_status oti_caffe_spatial(const caffe_layer *l, const ot_prototxt_message *p, const char *name,
                            const char *name_h, const char *name_w, int64_t fallback,
                            int64_t out[2]);
/* Error for a value out of range: "<what>: <field> is <v>; <rule>". */
ot_status oti_caffe_bad_field(const caffe_layer *l, const char *field, const char *rule);

/* Graph input `name` (the first dim, Caffe's batch, symbolic), bound as a blob. */
ot_status oti_caffe_add_input(caffe_builder *b, const char *name, int ndim, const int64_t *dims);
/* The dims of a BlobShape message ({ dim: 1 dim: 3 ... }). */
ot_status oti_caffe_shape_dims(const ot_prototxt_message *shape, const char *what, int *ndim,
                               int64_t *dims);
/* Data layers' transform_param (mean, scale, crop) into the model's metadata, as notes for
 * whoever feeds the model: the converted net does not preprocess. */
ot_status oti_caffe_note_preprocessing(caffe_builder *b, const ot_prototxt_message *net);
/* The parameter message `name` of a layer (NULL when absent: every field at its default). */
ot_status oti_caffe_params(const caffe_layer *l, const char *name, const ot_prototxt_message **out);

/* Error unless the layer has this many bottoms and tops (-1: any number, at least one). */
ot_status oti_caffe_need(const caffe_layer *l, int bottoms, int tops);

/* Layer converters: one per Caffe type, in a table per family (caffe_layers_*.c), each ending
 * with a NULL row; oti_caffe_converter finds one by type name. */
typedef ot_status (*caffe_convert_fn)(caffe_builder *b, const caffe_layer *l);
struct caffe_converter_row {
    const char *type;
    caffe_convert_fn convert;
};
extern const struct caffe_converter_row oti_caffe_conv_rows[], oti_caffe_neuron_rows[],
    oti_caffe_norm_rows[], oti_caffe_shape_rows[], oti_caffe_ssd_rows[];
caffe_convert_fn oti_caffe_converter(const char *type);

#endif
