/* Views of a model: a shallow copy in which one layer is replaced by others (an If by its
 * branch, a Loop by copies of its body: inline.h; a sequence op by tensor ops: sequence.h).
 * Values [0, base->n_values) and every other layer are base's (the same indices, names, data
 * and parsed attributes), so value-indexed arrays made for base still apply. */
#ifndef OT_GRAPH_VIEW_H
#define OT_GRAPH_VIEW_H

#include "onnxtrain/model.h"

typedef struct oti_inlined_model {
    ot_model model;
    /* What the view owns beyond its arrays: the appended values' names (and the data of the
     * constants it made), the index arrays of layers [first_layer, first_layer + n_layers). */
    int first_value, first_layer, n_layers;
    void **owned; /* the attributes and parsed parameters of the layers it made */
    int n_owned, cap_owned;
} oti_inlined_model;

/* A view of base with room for extra values and layers; base's layers before `layer` copied.
 * *out belongs to the caller also when this fails. */
ot_status oti_view_begin(const ot_model *base, int layer, size_t extra_values, size_t extra_layers,
                         oti_inlined_model **out);
/* Base's layers after the replaced one (-1: every layer, after those the view added). */
void oti_view_end(oti_inlined_model *inlined, const ot_model *base, int layer);
/* A new value: a shallow copy of `from` (data borrowed), its own name. */
ot_status oti_view_append_value(ot_model *view, const ot_value *from, int *index);
/* A new activation named after `name`. */
ot_status oti_view_append_activation(ot_model *view, const char *name, int *index);
/* A new int64 or bool constant holding `value`: a scalar (ndim 0) or one value (ndim 1). */
ot_status oti_view_append_constant(oti_inlined_model *inlined, const char *name, ot_dtype dtype, int ndim,
                                   int64_t value, int *index);
/* The next layer of the view: a copy of src with inputs and outputs renumbered through map
 * (NULL: as they are). */
ot_status oti_view_append_rewritten(ot_model *view, const ot_layer *src, const int *map);
/* The next layer of the view: Identity(from) -> to, named after the replaced node l. */
ot_status oti_view_append_copy(ot_model *view, const ot_layer *l, int from, int to);
/* The next layer of the view: op_type(inputs) -> output, named after l, with one attribute
 * (`attr` ints, one int when n_ints is 0; no attribute for a NULL name), parsed as an
 * imported one would be. */
ot_status oti_view_append_made(oti_inlined_model *inlined, const ot_layer *l, const char *op_type, int n_in,
                               const int *inputs, int output, const char *attr, int n_ints, int64_t value);
/* block belongs to the view from here on (freed with it, also when this fails). */
ot_status oti_view_own(oti_inlined_model *inlined, void *block);
/* `output` = the values slices[0..count) (backwards when reverse), each unsqueezed at `axis`,
 * concatenated along it (a Scan's outputs, ConcatFromSequence with new_axis). */
ot_status oti_view_stack(oti_inlined_model *inlined, const ot_layer *l, const int *slices, int64_t count,
                         int axis, int reverse, int output);
void oti_graph_inlined_free(oti_inlined_model *inlined);

#endif
