/* Walking a layer's subgraphs (If branches, Loop and Scan bodies): the graph passes (check,
 * resolve, fold) recurse into them through this one walker; and the enclosing value a
 * subgraph reads by name. */
#ifndef OT_GRAPH_SUBGRAPH_H
#define OT_GRAPH_SUBGRAPH_H

#include "onnxtrain/model.h"

/* Calls visit(g, context) for each subgraph of l, in attribute order; the first failure stops
 * the walk, its message prefixed with the node and attribute. */
ot_status oti_layer_each_subgraph(const ot_layer *l, ot_status (*visit)(ot_model *g, void *context), void *context);
/* The same for every layer of m. */
ot_status oti_model_each_subgraph(const ot_model *m, ot_status (*visit)(ot_model *g, void *context), void *context);
/* The value of m a subgraph of layer l reads as `name`: one of l's implicit inputs, or -1. */
int oti_layer_outer_value(const ot_model *m, const ot_layer *l, const char *name);

#endif
