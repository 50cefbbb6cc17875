/* Shared pieces of the softmax family, which is split over softmax.c (Softmax, LogSoftmax,
 * Hardmax, the op table) and softmax_loss.c (SoftmaxCrossEntropyLoss,
 * NegativeLogLikelihoodLoss). Only the family's own files include this. */
#ifndef OT_SOFTMAX_INTERNAL_H
#define OT_SOFTMAX_INTERNAL_H

#include "op.h"

/* reduction none / sum / mean, ignore_index (has_ignore: the attribute is present) and
 * whether the scores are logits (SoftmaxCrossEntropyLoss) or log-probabilities (NLL). */
typedef struct ot_loss_params {
    int reduction; /* OT_LOSS_NONE, OT_LOSS_SUM, OT_LOSS_MEAN */
    int has_ignore, from_logits;
    int64_t ignore_index;
} ot_loss_params;
enum { OT_LOSS_NONE, OT_LOSS_SUM, OT_LOSS_MEAN };

ot_status oti_softmax_parse_loss(const ot_layer *l, void *params);
ot_status oti_softmax_infer_loss(ot_node_ctx *c);
ot_status oti_softmax_forward_loss(ot_node_ctx *c);
ot_status oti_softmax_backward_loss(ot_node_ctx *c);

#endif
