/* The converter for each Caffe layer type (the tables of caffe_layers_*.c), the Input layer,
 * and the data layers' preprocessing, which the converted net leaves to its caller and so
 * records in the metadata. */
#include <stdlib.h>
#include <string.h>

#include "caffe_internal.h"
#include "core/util.h"

/* Input: one shape for every top, or one per top. */
static ot_status convert_input(caffe_builder *b, const caffe_layer *l) {
    OT_TRY(oti_caffe_need(l, 0, -1));
    const ot_prototxt_message *p;
    OT_TRY(oti_caffe_params(l, "input_param", &p));
    int n = oti_prototxt_count(p, "shape");
    if (n != 1 && n != l->n_tops)
        return oti_fail(OT_ERR_FORMAT, "%s has %d input_param shapes for %d tops", l->what, n,
                        l->n_tops);
    for (int k = 0; k < l->n_tops; k++) {
        const ot_prototxt_field *f = oti_prototxt_find(p, "shape", n == 1 ? 0 : k);
        if (f->kind != OT_PROTOTXT_MESSAGE)
            return oti_fail(OT_ERR_FORMAT, "%s: shape must be a message", l->what);
        int ndim;
        int64_t dims[OT_MAX_DIMS];
        OT_TRY(oti_caffe_shape_dims(&f->message, l->what, &ndim, dims));
        OT_TRY(oti_caffe_add_input(b, l->tops[k], ndim, dims));
    }
    return OT_OK;
}

static const struct caffe_converter_row input_rows[] = {{"Input", convert_input}, {NULL, NULL}};

caffe_convert_fn oti_caffe_converter(const char *type) {
    const struct caffe_converter_row *tables[] = {
        input_rows,          oti_caffe_conv_rows,  oti_caffe_neuron_rows,
        oti_caffe_norm_rows, oti_caffe_shape_rows, oti_caffe_ssd_rows};
    for (int t = 0; t < OT_COUNT(tables); t++)
        for (const struct caffe_converter_row *row = tables[t]; row->type; row++)
            if (!strcmp(row->type, type)) return row->convert;
    return NULL;
}

/* "field: value, field: value" of a message's scalar fields. NULL when out of memory. */
static char *describe(const ot_prototxt_message *p) {
    char *text = oti_strdup("");
    for (int i = 0; text && i < p->count; i++) {
        const ot_prototxt_field *f = &p->fields[i];
        if (f->kind == OT_PROTOTXT_MESSAGE) continue;
        char *next = oti_asprintf("%s%s%s: %s", text, *text ? ", " : "", f->name, f->text);
        free(text);
        text = next;
    }
    return text;
}

static ot_status add_metadata(ot_model *m, const char *key, char *value) {
    void *grown = oti_realloc(m->metadata, sizeof(ot_metadata_prop) * (size_t)(m->n_metadata + 1));
    char *key_copy = grown ? oti_strdup(key) : NULL;
    if (grown) m->metadata = grown;
    if (!key_copy) {
        free(value);
        return OT_ERR_MEMORY;
    }
    m->metadata[m->n_metadata++] = (ot_metadata_prop){key_copy, value};
    return OT_OK;
}

ot_status oti_caffe_note_preprocessing(caffe_builder *b, const ot_prototxt_message *net) {
    const char *forms[2] = {"layer", "layers"};
    for (int form = 0; form < 2; form++)
        for (int i = 0; i < oti_prototxt_count(net, forms[form]); i++) {
            const ot_prototxt_field *layer = oti_prototxt_find(net, forms[form], i);
            const ot_prototxt_field *transform =
                oti_prototxt_find(&layer->message, "transform_param", 0);
            const ot_prototxt_field *name = oti_prototxt_find(&layer->message, "name", 0);
            if (!transform || transform->kind != OT_PROTOTXT_MESSAGE) continue;
            char *key =
                oti_asprintf("caffe.transform_param.%s", name && name->text ? name->text : "?");
            char *value = describe(&transform->message);
            ot_status status = key && value ? add_metadata(b->m, key, value) : OT_ERR_MEMORY;
            if (status != OT_OK && !(key && value)) free(value);
            free(key);
            OT_TRY(status);
        }
    return OT_OK;
}
