/* Shared by the 'select' family (select.c, select_unique.c, select_nms.c): ops whose output
 * shape depends on their inputs' values (NonZero, Compress, Unique, NonMaxSuppression). Their
 * infer needs that data, so a plan runs them while it is built (exec/plan.c fixes an inference
 * plan's feeds for it); without the data, infer fails naming the node. */
#ifndef OT_SELECT_INTERNAL_H
#define OT_SELECT_INTERNAL_H

#include "op.h"

/* Fails (naming the node and input k) unless input k's values are known now. */
ot_status oti_select_need_values(const ot_node_ctx *c, int k, const char *what);
/* Whether element i of t (float32, int64 or bool: how the engine holds every dtype) is not zero. */
int oti_select_is_nonzero(const ot_tensor *t, int64_t i);

typedef struct ot_select_axis_params {
    int has_axis;
    int64_t axis;
    int64_t sorted; /* Unique */
} ot_select_axis_params;
ot_status oti_select_parse_axis(const ot_layer *l, void *params);

ot_status oti_select_infer_unique(ot_node_ctx *c);
ot_status oti_select_forward_unique(ot_node_ctx *c);

typedef struct ot_select_nms_params {
    int64_t center_point_box;
} ot_select_nms_params;
ot_status oti_select_parse_nms(const ot_layer *l, void *params);
ot_status oti_select_infer_nms(ot_node_ctx *c);
ot_status oti_select_forward_nms(ot_node_ctx *c);

#endif
