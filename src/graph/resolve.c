/* Resolving layers against the op table: each layer gets its op row and parsed attributes;
 * every unsupported op is reported at once; subgraphs resolve with their node. */
#include <string.h>
#include <stdlib.h>

#include "core/util.h"
#include "onnxtrain/graph.h"
#include "ops/op.h"
#include "subgraph.h"

/* If branches, Loop and Scan bodies resolve like the main graph. */
static ot_status resolve_subgraph(ot_model *g, void *unused) {
    (void)unused;
    return ot_graph_resolve(g);
}

ot_status ot_graph_resolve(ot_model *m) {
    /* Collect every unsupported op so the user sees them all at once. */
    char *missing = NULL;
    size_t missing_len = 0;
    int n_missing = 0;
    for (int i = 0; i < m->n_layers; i++) {
        ot_layer *l = &m->layers[i];
        if (l->op) continue;
        int known_name = 0;
        l->opset = (int)ot_model_opset(m, l->domain);
        if (l->opset <= 0) {
            free(missing);
            return oti_fail(OT_ERR_INVALID,
                           "node '%s' (%s) is in domain '%s', which the model does not import "
                           "(no opset_import entry)",
                           l->name, l->op_type, l->domain);
        }
        const ot_op *op = oti_op_lookup(l->domain, l->op_type, l->opset, &known_name);
        if (!op) {
            char *item = known_name
                             ? oti_asprintf("'%s' (%s at opset %d)", l->name, l->op_type, l->opset)
                             : oti_asprintf("'%s' (%s%s%s)", l->name, *l->domain ? l->domain : "",
                                            *l->domain ? "." : "", l->op_type);
            size_t item_len = item ? strlen(item) : 0;
            void *grown = item ? oti_realloc(missing, missing_len + item_len + 3) : NULL;
            if (!grown) {
                free(item);
                free(missing);
                return OT_ERR_MEMORY;
            }
            missing = grown;
            if (missing_len) {
                memcpy(missing + missing_len, ", ", 2);
                missing_len += 2;
            }
            memcpy(missing + missing_len, item, item_len + 1);
            missing_len += item_len;
            free(item);
            n_missing++;
            continue;
        }
        void *params = op->params_size ? oti_calloc(1, op->params_size) : NULL;
        if (op->params_size && !params) {
            free(missing);
            return OT_ERR_MEMORY;
        }
        if (op->parse) {
            ot_status status = op->parse(l, params);
            if (status != OT_OK) {
                free(params);
                free(missing);
                return status;
            }
        }
        l->op = op;
        l->params = params;
        ot_status status = oti_layer_each_subgraph(l, resolve_subgraph, NULL);
        if (status != OT_OK) {
            free(missing);
            return status;
        }
    }
    if (n_missing) {
        ot_status status =
            oti_fail(OT_ERR_UNSUPPORTED, "%d node%s use%s unsupported ops: %s", n_missing,
                    n_missing == 1 ? "" : "s", n_missing == 1 ? "s" : "", missing);
        free(missing);
        return status;
    }
    return OT_OK;
}
