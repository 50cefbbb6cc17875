/* Entry points of the 'normalization' family's files other than normalization.c (which holds
 * the table). */
#ifndef OT_NORMALIZATION_INTERNAL_H
#define OT_NORMALIZATION_INTERNAL_H

#include "op.h"

typedef struct ot_mvn_params {
    int64_t axes[OT_MAX_DIMS];
    int n_axes;
} ot_mvn_params;
ot_status oti_mvn_parse(const ot_layer *l, void *params);
ot_status oti_mvn_infer(ot_node_ctx *c);
ot_status oti_mvn_forward(ot_node_ctx *c);
ot_status oti_mvn_backward(ot_node_ctx *c);

#endif
