/* Inlining an If's branch: what a plan does when the condition is known at plan time, so the
 * branch's layers join the plan and training runs through them. */
#ifndef OT_GRAPH_INLINE_H
#define OT_GRAPH_INLINE_H

#include "onnxtrain/model.h"

/* A view of `base` in which layer `layer` (an If) is replaced by the layers of `branch`:
 * values [0, base->n_values) and every other layer are shallow copies of base's (the same
 * indices, names, data and parsed attributes), so value-indexed arrays made for base still
 * apply. The branch's own values are appended (initializers borrow the branch's data); the
 * values it reads from enclosing graphs are base's values of the same name among the If's
 * implicit inputs; its outputs are written into the If's outputs (through an Identity where
 * a branch output is not computed by a branch layer). Free with oti_graph_inlined_free. */
typedef struct oti_inlined_model {
    ot_model model;
    /* What the view owns beyond its arrays: the appended values' names, the index arrays of
     * layers [first_layer, first_layer + n_layers). */
    int first_value, first_layer, n_layers;
} oti_inlined_model;

ot_status oti_graph_inline_branch(const ot_model *base, int layer, const ot_model *branch, oti_inlined_model **out);
void oti_graph_inlined_free(oti_inlined_model *inlined);

#endif
