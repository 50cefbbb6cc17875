/* One forward call outside a plan, for constant folding. */
#include <stdlib.h>
#include "core/util.h"
#include "op.h"

ot_status oti_op_forward_once(ot_node_ctx *c) {
    void *saved = oti_calloc(1, c->saved_bytes + 1);
    void *workspace = oti_calloc(1, c->workspace_bytes + 1);
    if (!saved || !workspace) {
        free(saved);
        free(workspace);
        return OT_ERR_MEMORY;
    }
    c->saved = saved;
    c->workspace = workspace;
    ot_status status = c->layer->op->forward(c);
    if (status == OT_OK) oti_op_fit_outputs(c);
    free(saved);
    free(workspace);
    c->saved = c->workspace = NULL;
    return status;
}
