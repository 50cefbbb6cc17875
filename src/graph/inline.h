/* Inlining an If's branch: what a plan does when the condition is known at plan time, so the
 * branch's layers join the plan and training runs through them. */
#ifndef OT_GRAPH_INLINE_H
#define OT_GRAPH_INLINE_H

#include "view.h"

/* A view of `base` in which layer `layer` is replaced: an If by the layers of branch
 * `choice` (1: then); a Loop (whose condition stays true) or a Scan (opset 9 on) by `choice`
 * copies of its body, each reading the previous copy's states, a Loop's with its iteration
 * number as a constant, a Scan's with its slices gathered from the scan inputs; scan outputs
 * are the copies' slices unsqueezed and concatenated. Values [0, base->n_values) and every other layer are shallow
 * copies of base's (the same indices, names, data and parsed attributes), so value-indexed
 * arrays made for base still apply. The subgraph's own values are appended (initializers
 * borrow its data); the values it reads from enclosing graphs are base's values of the same
 * name among the node's implicit inputs; its outputs are written into the node's (through an
 * Identity where no copied layer computes one). Free with oti_graph_inlined_free (view.h). */
ot_status oti_graph_inline(const ot_model *base, int layer, int64_t choice, oti_inlined_model **out);

#endif
