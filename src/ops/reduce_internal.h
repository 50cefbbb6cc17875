/* Shared pieces of the reduce family, which is split over reduce.c (reductions over a set of
 * axes, the op table) and reduce_axis.c (ArgMax ArgMin CumSum TopK). Only the family's own files
 * include this. */
#ifndef OT_REDUCE_INTERNAL_H
#define OT_REDUCE_INTERNAL_H

#include "core/util.h"
#include "op.h"

/* ArgMax / ArgMin along `axis`, keepdims, select_last_index (from opset 12). */
typedef struct ot_arg_params {
    int64_t axis;
    int keepdims, select_last;
    int is_min; /* ArgMin */
} ot_arg_params;
ot_status oti_reduce_parse_arg(const ot_layer *l, void *params);
ot_status oti_reduce_infer_arg(ot_node_ctx *c);
ot_status oti_reduce_forward_arg(ot_node_ctx *c);

typedef struct ot_cumsum_params {
    int exclusive, reverse;
} ot_cumsum_params;
ot_status oti_reduce_parse_cumsum(const ot_layer *l, void *params);
ot_status oti_reduce_infer_cumsum(ot_node_ctx *c);
ot_status oti_reduce_forward_cumsum(ot_node_ctx *c);
ot_status oti_reduce_backward_cumsum(ot_node_ctx *c);

/* TopK: k from the attribute (opset < 10) or input 1. */
typedef struct ot_topk_params {
    int64_t axis, k;
    int largest, k_from_input;
} ot_topk_params;
ot_status oti_reduce_parse_topk(const ot_layer *l, void *params);
ot_status oti_reduce_infer_topk(ot_node_ctx *c);
ot_status oti_reduce_forward_topk(ot_node_ctx *c);
ot_status oti_reduce_backward_topk(ot_node_ctx *c);

#endif
