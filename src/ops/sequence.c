/* Sequence ops: SequenceConstruct, SequenceEmpty, SequenceInsert, SequenceErase, SequenceAt,
 * SequenceLength, ConcatFromSequence, SplitToSequence. Their rows only parse: the plan
 * rewrites each one, once its positions and shapes are known, into the list of its elements
 * or into tensor ops on them (graph/sequence.c), so no kernel runs on a sequence. */
#include "sequence.h"

static ot_status parse_kind(const ot_layer *l, void *out, ot_sequence_kind kind) {
    ot_sequence_params *p = out;
    p->kind = kind;
    (void)l;
    return OT_OK;
}

static ot_status parse_construct(const ot_layer *l, void *out) { return parse_kind(l, out, OT_SEQUENCE_CONSTRUCT); }
static ot_status parse_insert(const ot_layer *l, void *out) { return parse_kind(l, out, OT_SEQUENCE_INSERT); }
static ot_status parse_erase(const ot_layer *l, void *out) { return parse_kind(l, out, OT_SEQUENCE_ERASE); }
static ot_status parse_at(const ot_layer *l, void *out) { return parse_kind(l, out, OT_SEQUENCE_AT); }
static ot_status parse_length(const ot_layer *l, void *out) { return parse_kind(l, out, OT_SEQUENCE_LENGTH); }

static ot_status parse_empty(const ot_layer *l, void *out) {
    ot_sequence_params *p = out;
    int64_t dtype;
    OT_TRY(oti_attr_get_int(l, "dtype", OT_FLOAT, &dtype));
    p->kind = OT_SEQUENCE_EMPTY;
    p->dtype = (ot_dtype)dtype;
    return OT_OK;
}

static ot_status parse_concat(const ot_layer *l, void *out) {
    ot_sequence_params *p = out;
    int64_t new_axis;
    p->kind = OT_SEQUENCE_CONCAT;
    if (!ot_layer_find_attr(l, "axis")) return oti_node_fail(l, OT_ERR_INVALID, "needs the attribute 'axis'");
    OT_TRY(oti_attr_get_int(l, "axis", 0, &p->axis));
    OT_TRY(oti_attr_get_int(l, "new_axis", 0, &new_axis));
    p->new_axis = new_axis != 0;
    return OT_OK;
}

static ot_status parse_split(const ot_layer *l, void *out) {
    ot_sequence_params *p = out;
    int64_t keepdims;
    p->kind = OT_SEQUENCE_SPLIT;
    OT_TRY(oti_attr_get_int(l, "axis", 0, &p->axis));
    OT_TRY(oti_attr_get_int(l, "keepdims", 1, &keepdims));
    p->keepdims = keepdims != 0;
    return OT_OK;
}

#define SEQUENCE_ROW(op_name, parser, ...)                                                     \
    {.name = op_name, .since_version = 11, .params_size = sizeof(ot_sequence_params),          \
     .parse = parser, .flags = OT_OP_SEQUENCE, __VA_ARGS__}

/* Positions and split sizes decide which tensors a sequence holds: constant slots. */
const ot_op oti_ops_sequence[] = {
    SEQUENCE_ROW("SequenceConstruct", parse_construct),
    SEQUENCE_ROW("SequenceEmpty", parse_empty),
    SEQUENCE_ROW("SequenceInsert", parse_insert, .inputs = {[2] = OT_ROLE_CONSTANT}),
    SEQUENCE_ROW("SequenceErase", parse_erase, .inputs = {[1] = OT_ROLE_CONSTANT}),
    SEQUENCE_ROW("SequenceAt", parse_at, .inputs = {[1] = OT_ROLE_CONSTANT}),
    SEQUENCE_ROW("SequenceLength", parse_length),
    SEQUENCE_ROW("ConcatFromSequence", parse_concat),
    SEQUENCE_ROW("SplitToSequence", parse_split, .inputs = {[1] = OT_ROLE_CONSTANT}),
};
const ot_op_family oti_family_sequence = {oti_ops_sequence, (int)(sizeof oti_ops_sequence / sizeof oti_ops_sequence[0])};

const ot_sequence_params *oti_sequence_params(const ot_layer *l) {
    return l->op && (l->op->flags & OT_OP_SEQUENCE) ? l->params : NULL;
}
