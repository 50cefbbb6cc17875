/* Sequence ops (sequence.c): what their rows parse. A plan holds a sequence as a list of tensor
 * values known while it is built; graph/sequence.c rewrites every sequence op into that list
 * (SequenceConstruct) or into tensor ops on its elements (docs/OPS.md). */
#ifndef OT_OPS_SEQUENCE_H
#define OT_OPS_SEQUENCE_H

#include "op.h"

typedef enum ot_sequence_kind {
    OT_SEQUENCE_CONSTRUCT, /* the list itself: its inputs are the elements, in order */
    OT_SEQUENCE_EMPTY,
    OT_SEQUENCE_INSERT,
    OT_SEQUENCE_ERASE,
    OT_SEQUENCE_AT,
    OT_SEQUENCE_LENGTH,
    OT_SEQUENCE_CONCAT, /* ConcatFromSequence */
    OT_SEQUENCE_SPLIT   /* SplitToSequence */
} ot_sequence_kind;

typedef struct ot_sequence_params {
    ot_sequence_kind kind;
    int64_t axis;          /* ConcatFromSequence, SplitToSequence */
    int new_axis;          /* ConcatFromSequence: stack along a new axis */
    int keepdims;          /* SplitToSequence without `split`: keep the split axis */
    ot_dtype dtype;        /* SequenceEmpty: the elements' dtype */
} ot_sequence_params;

/* The params of a sequence op's layer, or NULL for any other layer. */
const ot_sequence_params *oti_sequence_params(const ot_layer *l);

#endif
