/* Whole-graph work on the layer list that needs the op table: resolving each layer to its op,
 * checking and ordering the graph, pruning, constant folding, and which initializers are
 * trained parameters. Importers call these; so does code that edits a model's layers. */
#ifndef ONNXTRAIN_GRAPH_H
#define ONNXTRAIN_GRAPH_H

#include "onnxtrain/context.h"
#include "onnxtrain/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Resolves every layer against the op table and parses its attributes. All unsupported ops
 * are reported in one error, listing node names and op types. */
OT_API ot_status ot_graph_resolve(ot_model *m);
/* Recomputes producers and checks that every input is defined before use (topological
 * order), that outputs are written once, and that graph outputs exist. Reorders layers
 * topologically if needed; cycles are an error naming a node on the cycle. */
OT_API ot_status ot_graph_check(ot_model *m);
/* Removes layers whose outputs no graph output depends on, and unused values. */
OT_API ot_status ot_graph_prune(ot_model *m);

/* Makes the model's float initializers their own tensors where they are shared between a
 * trainable role and a statistic role (see fold.c), and folds constant subgraphs (each new
 * constant within ctx's memory limit). Called by the importers. */
OT_API ot_status ot_graph_fold_constants(const ot_context *ctx, ot_model *m);

/* Number of parameters (elements of initializers ot_graph_is_parameter accepts: not
 * BatchNorm statistics or constants) a layer reads. */
OT_API int64_t ot_graph_layer_parameter_count(const ot_model *m, const ot_layer *l);

/* True for initializers that training may update: float, not a scalar, and never read in
 * an input slot its op marks as a constant or statistic (BatchNormalization's running
 * mean/var, Clip bounds, Pow exponent, ...). */
OT_API int ot_graph_is_parameter(const ot_model *m, int value);

#ifdef __cplusplus
}
#endif
#endif
