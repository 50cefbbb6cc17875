/* deploy.prototxt (+ .caffemodel) -> ot_model: the net's inputs, each included layer through
 * its converter (caffe_layers.c) with blob names bound to values as Caffe runs them (in-place
 * layers rebind a name), outputs (blobs no later layer reads), preprocessing notes in the
 * metadata; then the same checks, op resolution and folding as an ONNX import. */
#include <stdlib.h>
#include <string.h>

#include "caffe_internal.h"
#include "core/file_io.h"
#include "core/model_internal.h"
#include "core/util.h"
#include "onnxtrain/caffe_io.h"
#include "onnxtrain/graph.h"
#include "onnxtrain/onnx_io.h"

#define CAFFE_OPSET 17

int ot_caffe_is_prototxt(const char *path) {
    size_t n = path ? strlen(path) : 0;
    return n >= 9 && !strcmp(path + n - 9, ".prototxt");
}

/* Adds graph input `name` of shape dims; the first dim (Caffe's batch) stays symbolic. */
ot_status oti_caffe_add_input(caffe_builder *b, const char *name, int ndim, const int64_t *dims) {
    if (!*name) return oti_fail(OT_ERR_FORMAT, "%s: an input has an empty name", b->what);
    if (ndim < 1 || ndim > OT_MAX_DIMS)
        return oti_fail(OT_ERR_FORMAT, "%s: input '%s' has %d dims", b->what, name, ndim);
    for (int d = 0; d < ndim; d++)
        if (dims[d] < 1)
            return oti_fail(OT_ERR_FORMAT, "%s: input '%s' has dim %d of size %lld", b->what, name,
                            d, (long long)dims[d]);
    int v;
    if (ot_model_find_value(b->m, name) >= 0)
        return oti_fail(OT_ERR_FORMAT, "%s: input '%s' is declared twice", b->what, name);
    OT_TRY(ot_model_add_value(b->m, name, OT_VALUE_INPUT, &v));
    ot_value *value = &b->m->values[v];
    ot_tensor_set_shape(&value->tensor, OT_FLOAT, ndim, dims);
    value->tensor.dims[0] = -1;
    value->has_shape = value->has_type = 1;
    OT_ALLOC_CHECK(value->dim_names[0] = oti_strdup("N"));
    void *grown = oti_realloc(b->m->inputs, sizeof(int) * (size_t)(b->m->n_inputs + 1));
    OT_ALLOC_CHECK(grown);
    b->m->inputs = grown;
    b->m->inputs[b->m->n_inputs++] = v;
    return oti_caffe_bind(b, name, name);
}

/* dim fields of a BlobShape message. */
ot_status oti_caffe_shape_dims(const ot_prototxt_message *shape, const char *what, int *ndim,
                               int64_t *dims) {
    *ndim = oti_prototxt_count(shape, "dim");
    if (*ndim > OT_MAX_DIMS)
        return oti_fail(OT_ERR_UNSUPPORTED, "%s: a shape with %d dims", what, *ndim);
    for (int d = 0; d < *ndim; d++)
        OT_TRY(oti_prototxt_int(oti_prototxt_find(shape, "dim", d), what, &dims[d]));
    return OT_OK;
}

/* NetParameter's own inputs: `input` with `input_shape { dim }` each or four `input_dim`s each. */
static ot_status net_inputs(caffe_builder *b, const ot_prototxt_message *net) {
    int n = oti_prototxt_count(net, "input"), shapes = oti_prototxt_count(net, "input_shape");
    int legacy = oti_prototxt_count(net, "input_dim");
    if (n && shapes != n && legacy != 4 * n)
        return oti_fail(OT_ERR_FORMAT,
                        "%s: %d inputs need %d input_shape or %d input_dim fields (there are %d "
                        "and %d)",
                        b->what, n, n, 4 * n, shapes, legacy);
    for (int i = 0; i < n; i++) {
        const char *name;
        int ndim = 4;
        int64_t dims[OT_MAX_DIMS];
        OT_TRY(oti_prototxt_string(oti_prototxt_find(net, "input", i), b->what, &name));
        const ot_prototxt_field *shape =
            shapes == n ? oti_prototxt_find(net, "input_shape", i) : NULL;
        if (shape && shape->kind != OT_PROTOTXT_MESSAGE)
            return oti_fail(OT_ERR_FORMAT, "%s: input_shape (line %d) must be a message", b->what,
                            shape->line);
        if (shape) OT_TRY(oti_caffe_shape_dims(&shape->message, b->what, &ndim, dims));
        for (int d = 0; !shape && d < 4; d++)
            OT_TRY(oti_prototxt_int(oti_prototxt_find(net, "input_dim", 4 * i + d), b->what,
                                    &dims[d]));
        OT_TRY(oti_caffe_add_input(b, name, ndim, dims));
    }
    return OT_OK;
}

/* Caffe's NetStateRule for the TEST phase (what deploy runs): a layer with include rules is
 * kept if one says TEST (or names no phase); exclude rules with TEST drop it. */
static ot_status in_test_phase(const ot_prototxt_message *layer, const char *what, int *keep) {
    int n_include = oti_prototxt_count(layer, "include"),
        n_exclude = oti_prototxt_count(layer, "exclude");
    *keep = n_include == 0;
    for (int k = 0; k < n_include + n_exclude; k++) {
        const ot_prototxt_field *rule = k < n_include
                                            ? oti_prototxt_find(layer, "include", k)
                                            : oti_prototxt_find(layer, "exclude", k - n_include);
        if (rule->kind != OT_PROTOTXT_MESSAGE) continue;
        const char *phase;
        OT_TRY(oti_prototxt_get_enum(&rule->message, "phase", "TEST", what, &phase));
        int test = !strcmp(phase, "TEST");
        if (k < n_include && test) *keep = 1;
        if (k >= n_include && test) *keep = 0;
    }
    return OT_OK;
}

/* The k-th bottom or top: a string, not empty (an empty name means "none" in the layer list). */
static ot_status blob_name(const ot_prototxt_message *fields, const char *field, int k,
                           const char *what, const char **out) {
    const ot_prototxt_field *f = oti_prototxt_find(fields, field, k);
    OT_TRY(oti_prototxt_string(f, what, out));
    if (!**out)
        return oti_fail(OT_ERR_FORMAT, "%s: %s %d (line %d) is an empty name", what, field, k,
                        f->line);
    return OT_OK;
}

/* Name, type and blob names of one layer message (V1: the type is an enum value). */
static ot_status read_layer(const caffe_builder *b, const ot_prototxt_message *fields, int v1,
                            int index, caffe_layer *l) {
    memset(l, 0, sizeof *l);
    l->fields = fields;
    l->name = "";
    const ot_prototxt_field *f = oti_prototxt_find(fields, "name", 0);
    if (f) OT_TRY(oti_prototxt_string(f, b->what, &l->name));
    snprintf(l->what, sizeof l->what, "%s: layer %d '%.200s'", b->what, index, l->name);
    if (!*l->name) return oti_fail(OT_ERR_FORMAT, "%s has no name", l->what);
    if (v1) {
        const char *enum_name;
        OT_TRY(oti_prototxt_get_enum(fields, "type", "NONE", l->what, &enum_name));
        l->type = oti_caffe_v1_type(enum_name);
        if (!l->type)
            return oti_fail(OT_ERR_UNSUPPORTED, "%s: unknown layer type %s", l->what, enum_name);
    } else {
        f = oti_prototxt_find(fields, "type", 0);
        if (!f) return oti_fail(OT_ERR_FORMAT, "%s has no type", l->what);
        OT_TRY(oti_prototxt_string(f, l->what, &l->type));
    }
    snprintf(l->what, sizeof l->what, "%s: layer '%.200s' (%.60s)", b->what, l->name, l->type);
    l->n_bottoms = oti_prototxt_count(fields, "bottom");
    l->n_tops = oti_prototxt_count(fields, "top");
    if (l->n_bottoms > CAFFE_MAX_TOPS || l->n_tops > CAFFE_MAX_TOPS)
        return oti_fail(OT_ERR_UNSUPPORTED, "%s has over %d bottoms or tops", l->what,
                        CAFFE_MAX_TOPS);
    for (int k = 0; k < l->n_bottoms; k++)
        OT_TRY(blob_name(fields, "bottom", k, l->what, &l->bottoms[k]));
    for (int k = 0; k < l->n_tops; k++) {
        OT_TRY(blob_name(fields, "top", k, l->what, &l->tops[k]));
        for (int j = 0; j < k; j++)
            if (!strcmp(l->tops[j], l->tops[k]))
                return oti_fail(OT_ERR_FORMAT, "%s names top '%s' twice", l->what, l->tops[k]);
    }
    l->blobs = oti_caffe_weights_find(b->weights, l->name);
    return OT_OK;
}

/* The included layers of the file, in order (either `layer` or legacy `layers`). */
static ot_status read_layers(const caffe_builder *b, const ot_prototxt_message *net,
                             caffe_layer **out, int *count) {
    int v2 = oti_prototxt_count(net, "layer"), v1 = oti_prototxt_count(net, "layers");
    if (v2 && v1)
        return oti_fail(OT_ERR_FORMAT, "%s mixes 'layer' and legacy 'layers' fields", b->what);
    int v1_form = v1 > 0, n = v1_form ? v1 : v2;
    const char *field = v1_form ? "layers" : "layer";
    *out = oti_calloc((size_t)n + 1, sizeof(caffe_layer));
    OT_ALLOC_CHECK(*out);
    *count = 0;
    for (int i = 0; i < n; i++) {
        const ot_prototxt_field *f = oti_prototxt_find(net, field, i);
        if (f->kind != OT_PROTOTXT_MESSAGE)
            return oti_fail(OT_ERR_FORMAT, "%s:%d: '%s' must be a message { ... }", b->what,
                            f->line, field);
        int keep;
        OT_TRY(in_test_phase(&f->message, b->what, &keep));
        if (keep) OT_TRY(read_layer(b, &f->message, v1_form, i, &(*out)[(*count)++]));
    }
    return OT_OK;
}

/* Bottoms to the values their blob names are bound to now. */
static ot_status bind_bottoms(const caffe_builder *b, caffe_layer *l) {
    for (int k = 0; k < l->n_bottoms; k++) {
        int found = -1;
        for (int i = 0; i < b->n_blobs && found < 0; i++)
            if (!strcmp(b->blob_names[i], l->bottoms[k])) found = b->blob_values[i];
        if (found < 0)
            return oti_fail(OT_ERR_FORMAT,
                            "%s: bottom '%s' is not produced by any earlier layer or input",
                            l->what, l->bottoms[k]);
        l->bottoms[k] = b->m->values[found].name;
    }
    return OT_OK;
}

/* Adds "'name' (Type)" to the list of unsupported layers. */
static ot_status note_unsupported(char **list, const caffe_layer *l) {
    char *item =
        oti_asprintf("%s%s'%s' (%s)", *list ? *list : "", *list ? ", " : "", l->name, l->type);
    OT_ALLOC_CHECK(item);
    free(*list);
    *list = item;
    return OT_OK;
}

static ot_status convert_layers(caffe_builder *b) {
    char *unsupported = NULL;
    ot_status status = OT_OK;
    for (b->index = 0; b->index < b->n_layers && status == OT_OK; b->index++) {
        caffe_layer *l = (caffe_layer *)&b->layers[b->index];
        caffe_convert_fn convert = oti_caffe_converter(l->type);
        if (!convert) status = note_unsupported(&unsupported, l);
        if (!convert || unsupported) continue; /* after one, only collect the others */
        status = bind_bottoms(b, l);
        if (status == OT_OK) status = convert(b, l);
        if (b->skip_next) b->index++;
        b->skip_next = 0;
    }
    if (status == OT_OK && unsupported)
        status =
            oti_fail(OT_ERR_UNSUPPORTED, "%s: unsupported layer types: %s", b->what, unsupported);
    free(unsupported);
    return status;
}

/* A graph output bound to blob B (after in-place layers, a value named otherwise) takes the
 * name B, as Caffe and OpenCV call it; the value that had it takes the output's old name. */
static ot_status name_output_after_blob(ot_model *m, int v, const char *blob) {
    int old = ot_model_find_value(m, blob);
    if (old == v || (old >= 0 && m->values[old].kind != OT_VALUE_ACTIVATION))
        return OT_OK; /* inputs keep theirs */
    char *name = oti_strdup(blob);
    OT_ALLOC_CHECK(name);
    if (old >= 0) {
        free(m->values[old].name);
        m->values[old].name = m->values[v].name;
    } else {
        free(m->values[v].name);
    }
    m->values[v].name = name;
    return oti_model_rebuild_index(m);
}

/* Graph outputs: the values blobs end bound to that no layer reads (each once). */
static ot_status set_outputs(caffe_builder *b) {
    ot_model *m = b->m;
    m->outputs = oti_calloc((size_t)b->n_blobs + 1, sizeof(int));
    OT_ALLOC_CHECK(m->outputs);
    for (int i = 0; i < b->n_blobs; i++) {
        int v = b->blob_values[i], used = m->values[v].kind != OT_VALUE_ACTIVATION;
        for (int j = 0; j < m->n_outputs && !used; j++) used = m->outputs[j] == v;
        for (int li = 0; li < m->n_layers && !used; li++)
            for (int k = 0; k < m->layers[li].n_inputs && !used; k++)
                used = m->layers[li].inputs[k] == v;
        if (used) continue;
        m->outputs[m->n_outputs++] = v;
        OT_TRY(name_output_after_blob(m, v, b->blob_names[i]));
    }
    if (!m->n_outputs)
        return oti_fail(OT_ERR_FORMAT, "%s: the net has no outputs (no layers?)", b->what);
    return OT_OK;
}

static ot_status import_net(caffe_builder *b, const ot_prototxt_message *net) {
    ot_model *m = b->m;
    const ot_prototxt_field *name = oti_prototxt_find(net, "name", 0);
    const char *net_name = "";
    if (name) OT_TRY(oti_prototxt_string(name, b->what, &net_name));
    OT_ALLOC_CHECK(m->graph_name = oti_strdup(net_name));
    OT_ALLOC_CHECK(m->producer_name = oti_strdup("onnxtrain (Caffe import)"));
    OT_TRY(ot_model_set_opset(m, "", CAFFE_OPSET));
    m->ir_version = 8;
    OT_TRY(oti_caffe_note_preprocessing(b, net));
    OT_TRY(net_inputs(b, net));
    caffe_layer *layers = NULL;
    ot_status status = read_layers(b, net, &layers, &b->n_layers);
    b->layers = layers;
    if (status == OT_OK) status = convert_layers(b);
    if (status == OT_OK) status = set_outputs(b);
    free(layers);
    b->layers = NULL;
    OT_TRY(status);
    OT_TRY(ot_graph_check(m));
    OT_TRY(ot_graph_resolve(m));
    return ot_graph_fold_constants(b->ctx, m);
}

static void builder_free(caffe_builder *b) {
    for (int i = 0; i < b->n_blobs; i++) free(b->blob_names[i]);
    free(b->blob_names);
    free(b->blob_values);
}

ot_status ot_caffe_load_buffers(const ot_context *ctx, const char *prototxt, size_t prototxt_size,
                                const char *prototxt_what, const void *caffemodel,
                                size_t caffemodel_size, const char *caffemodel_what,
                                ot_model **out) {
    *out = NULL;
    caffe_weights weights = {0};
    if (caffemodel)
        OT_TRY(oti_caffe_weights_read(ctx, caffemodel, caffemodel_size, caffemodel_what, &weights));
    ot_prototxt_message net;
    ot_status status = oti_prototxt_parse(prototxt, prototxt_size, prototxt_what, &net);
    if (status != OT_OK) {
        oti_caffe_weights_free(&weights);
        return status;
    }
    caffe_builder b = {.ctx = ctx,
                       .m = ot_model_new(),
                       .what = prototxt_what,
                       .weights = caffemodel ? &weights : NULL};
    status = b.m ? OT_OK : OT_ERR_MEMORY;
    if (status == OT_OK && !(b.m->source_path = oti_strdup(prototxt_what))) status = OT_ERR_MEMORY;
    if (status == OT_OK) status = import_net(&b, &net);
    builder_free(&b);
    oti_prototxt_free(&net);
    oti_caffe_weights_free(&weights);
    if (status != OT_OK) {
        ot_model_free(b.m);
        return status;
    }
    *out = b.m;
    return OT_OK;
}

ot_status ot_caffe_load(const ot_context *ctx, const char *prototxt, const char *caffemodel,
                        ot_model **out) {
    unsigned char *text = NULL, *weights = NULL;
    size_t text_size = 0, weights_size = 0;
    *out = NULL;
    OT_TRY(oti_read_file(prototxt, OT_CAFFE_MAX_PROTOTXT_BYTES, &text, &text_size));
    ot_status status =
        caffemodel ? oti_read_file(caffemodel, OT_ONNX_MAX_FILE_BYTES, &weights, &weights_size)
                   : OT_OK;
    if (status == OT_OK)
        status = ot_caffe_load_buffers(ctx, (const char *)text, text_size, prototxt, weights,
                                       weights_size, caffemodel, out);
    free(text);
    free(weights);
    return status;
}
