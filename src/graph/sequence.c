/* Sequence ops lowered into the list of a sequence's elements or tensor ops on them
 * (sequence.h). Positions follow ONNX: negative ones count from the end; SequenceInsert
 * appends and SequenceErase removes the last element when no position is given. */
#include <stdlib.h>

#include "core/util.h"
#include "ops/sequence.h"
#include "sequence.h"

int oti_sequence_elements(const ot_model *m, int value, const int **elements) {
    for (int i = m->n_layers - 1; i >= 0; i--) {
        const ot_layer *l = &m->layers[i];
        for (int k = 0; k < l->n_outputs; k++) {
            if (l->outputs[k] != value) continue;
            const ot_sequence_params *p = oti_sequence_params(l);
            if (!p || p->kind != OT_SEQUENCE_CONSTRUCT) return -1;
            *elements = l->inputs;
            return l->n_inputs - l->n_implicit_inputs;
        }
    }
    return -1;
}

/* The position input t (NULL: fallback) in [-n, n - 1], or [-n, n] when `end_ok`, as an index. */
static ot_status read_position(const ot_layer *l, const ot_tensor *t, int64_t n, int end_ok, int64_t fallback,
                               int64_t *pos) {
    *pos = fallback;
    if (!t) return OT_OK;
    if (!t->data)
        return oti_node_fail(l, OT_ERR_UNSUPPORTED, "the position must be known when the plan is built (a constant, "
                             "or computed from shapes or small int64 inputs given with data)");
    if (t->dtype != OT_INT64 || ot_tensor_numel(t) != 1)
        return oti_node_fail(l, OT_ERR_INVALID, "the position must be one int64 or int32 value");
    *pos = *(const int64_t *)t->data;
    if (*pos < -n || *pos > n - (end_ok ? 0 : 1))
        return oti_node_fail(l, OT_ERR_INVALID, "position %lld is outside the sequence of %lld elements",
                             (long long)*pos, (long long)n);
    if (*pos < 0) *pos += n;
    return OT_OK;
}

/* SplitToSequence's piece lengths along its axis (*sizes: n_pieces of them, caller frees). */
static ot_status split_sizes(const ot_layer *l, ot_tensor *const *in, int axis, int64_t **sizes, int64_t *n_pieces) {
    const ot_tensor *split = l->n_inputs > 1 ? in[1] : NULL;
    int64_t length = in[0]->dims[axis], chunk = 1, count = length;
    if (split && !split->data)
        return oti_node_fail(l, OT_ERR_UNSUPPORTED, "'split' must be known when the plan is built");
    if (split && (split->dtype != OT_INT64 || split->ndim > 1))
        return oti_node_fail(l, OT_ERR_INVALID, "'split' must be an int64 or int32 scalar or 1-D tensor");
    if (split && split->ndim == 0) {
        chunk = *(const int64_t *)split->data;
        if (chunk <= 0) return oti_node_fail(l, OT_ERR_INVALID, "'split' is %lld; it must be positive", (long long)chunk);
        count = (length + chunk - 1) / chunk;
    } else if (split) {
        count = split->dims[0];
    }
    if (count > OT_SEQUENCE_MAX_LENGTH)
        return oti_node_fail(l, OT_ERR_UNSUPPORTED, "makes %lld elements; a plan holds at most %d", (long long)count,
                             OT_SEQUENCE_MAX_LENGTH);
    OT_ALLOC_CHECK(*sizes = oti_calloc((size_t)count + 1, sizeof(int64_t)));
    int64_t sum = 0;
    for (int64_t t = 0; t < count; t++) {
        (*sizes)[t] = split && split->ndim == 1 ? ((const int64_t *)split->data)[t] : OT_MIN(chunk, length - t * chunk);
        if ((*sizes)[t] < 0) return oti_node_fail(l, OT_ERR_INVALID, "'split' has a negative length");
        sum += (*sizes)[t];
    }
    *n_pieces = count;
    if (sum != length)
        return oti_node_fail(l, OT_ERR_INVALID, "'split' adds up to %lld; axis %d has %lld", (long long)sum, axis,
                             (long long)length);
    return OT_OK;
}

/* Piece t of SplitToSequence: Slice(x, [start], [start + size], [axis]), or without `split`
 * and keepdims 0, Gather(x, t) along axis. */
static ot_status split_piece(oti_inlined_model *inlined, const ot_layer *l, int axis, int64_t start, int64_t size,
                             int gather, int *piece) {
    const ot_sequence_params *p = l->params;
    int in[4] = {l->inputs[0], -1, -1, -1};
    OT_TRY(oti_view_append_activation(&inlined->model, l->name, piece));
    if (gather && !p->keepdims) {
        OT_TRY(oti_view_append_constant(inlined, l->name, OT_INT64, 0, start, &in[1]));
        return oti_view_append_made(inlined, l, "Gather", 2, in, *piece, "axis", 0, axis);
    }
    OT_TRY(oti_view_append_constant(inlined, l->name, OT_INT64, 1, start, &in[1]));
    OT_TRY(oti_view_append_constant(inlined, l->name, OT_INT64, 1, start + size, &in[2]));
    OT_TRY(oti_view_append_constant(inlined, l->name, OT_INT64, 1, axis, &in[3]));
    return oti_view_append_made(inlined, l, "Slice", 4, in, *piece, NULL, 0, 0);
}

static ot_status lower_split(oti_inlined_model *inlined, const ot_layer *l, int axis, const int64_t *sizes,
                             int64_t count) {
    int *pieces = oti_calloc((size_t)count + 1, sizeof(int));
    OT_TRY(oti_view_own(inlined, pieces));
    int gather = l->n_inputs < 2 || l->inputs[1] < 0;
    for (int64_t t = 0, start = 0; t < count; start += sizes[t++])
        OT_TRY(split_piece(inlined, l, axis, start, sizes[t], gather, &pieces[t]));
    return oti_view_append_made(inlined, l, "SequenceConstruct", (int)count, pieces, l->outputs[0], NULL, 0, 0);
}

/* The list `elements` (n) with value `insert` put at `at`, or element `at` removed when insert
 * is -1, as the SequenceConstruct writing l's output. */
static ot_status lower_edit(oti_inlined_model *inlined, const ot_layer *l, const int *elements, int n, int64_t at,
                            int insert) {
    int *list = oti_calloc((size_t)n + 2, sizeof(int));
    OT_TRY(oti_view_own(inlined, list));
    int count = 0;
    for (int k = 0; k <= n; k++) {
        if (k == at && insert >= 0) list[count++] = insert;
        if (k < n && !(k == at && insert < 0)) list[count++] = elements[k];
    }
    return oti_view_append_made(inlined, l, "SequenceConstruct", count, list, l->outputs[0], NULL, 0, 0);
}

static ot_status lower_concat(oti_inlined_model *inlined, const ot_layer *l, const int *elements, int n) {
    const ot_sequence_params *p = l->params;
    if (n == 0) return oti_node_fail(l, OT_ERR_INVALID, "the sequence is empty; there is nothing to concatenate");
    if (p->new_axis) return oti_view_stack(inlined, l, elements, n, (int)p->axis, 0, l->outputs[0]);
    return oti_view_append_made(inlined, l, "Concat", n, elements, l->outputs[0], "axis", 0, p->axis);
}

/* Lowers l, which reads the sequence `elements` (n of them; none for SequenceEmpty and
 * SplitToSequence). */
static ot_status lower(oti_inlined_model *inlined, const ot_layer *l, ot_tensor *const *in, const int *elements, int n,
                       int axis, const int64_t *sizes, int64_t count) {
    const ot_sequence_params *p = oti_sequence_params(l);
    int64_t at;
    int constant;
    switch (p ? p->kind : OT_SEQUENCE_CONSTRUCT) { /* an Identity of a sequence: the same list */
    case OT_SEQUENCE_CONSTRUCT: return lower_edit(inlined, l, elements, n, -1, -1);
    case OT_SEQUENCE_EMPTY: return lower_edit(inlined, l, NULL, 0, -1, -1);
    case OT_SEQUENCE_SPLIT: return lower_split(inlined, l, axis, sizes, count);
    case OT_SEQUENCE_CONCAT: return lower_concat(inlined, l, elements, n);
    case OT_SEQUENCE_INSERT:
        OT_TRY(read_position(l, l->n_inputs > 2 ? in[2] : NULL, n, 1, n, &at));
        return lower_edit(inlined, l, elements, n, at, l->inputs[1]);
    case OT_SEQUENCE_ERASE:
        if (n == 0) return oti_node_fail(l, OT_ERR_INVALID, "the sequence is empty; there is nothing to erase");
        OT_TRY(read_position(l, l->n_inputs > 1 ? in[1] : NULL, n, 0, n - 1, &at));
        return lower_edit(inlined, l, elements, n, at, -1);
    case OT_SEQUENCE_AT:
        if (n == 0) return oti_node_fail(l, OT_ERR_INVALID, "the sequence is empty; it has no element to take");
        OT_TRY(read_position(l, l->n_inputs > 1 ? in[1] : NULL, n, 0, 0, &at));
        return oti_view_append_copy(&inlined->model, l, elements[at], l->outputs[0]);
    case OT_SEQUENCE_LENGTH:
        OT_TRY(oti_view_append_constant(inlined, l->name, OT_INT64, 0, n, &constant));
        return oti_view_append_copy(&inlined->model, l, constant, l->outputs[0]);
    }
    return OT_ERR_INVALID;
}

ot_status oti_graph_lower_sequence(const ot_model *base, int layer, ot_tensor *const *in, oti_inlined_model **out) {
    *out = NULL;
    const ot_layer *l = &base->layers[layer];
    const ot_sequence_params *p = oti_sequence_params(l);
    const int *elements = NULL;
    int n = 0, axis = 0;
    int64_t *sizes = NULL, count = 0;
    if (!p || (p->kind != OT_SEQUENCE_EMPTY && p->kind != OT_SEQUENCE_SPLIT)) {
        if ((n = oti_sequence_elements(base, l->inputs[0], &elements)) < 0)
            return oti_node_fail(l, OT_ERR_UNSUPPORTED, "sequence '%s' is not known when the plan is built (a plan "
                                 "holds the sequences that sequence ops make)", base->values[l->inputs[0]].name);
    } else if (p->kind == OT_SEQUENCE_SPLIT) {
        if ((axis = oti_normalize_axis(p->axis, in[0]->ndim)) < 0)
            return oti_node_fail(l, OT_ERR_INVALID, "axis %lld is outside the input's %d dims", (long long)p->axis,
                                 in[0]->ndim);
        ot_status status = split_sizes(l, in, axis, &sizes, &count);
        if (status != OT_OK) {
            free(sizes);
            return status;
        }
    }
    /* Per element: up to three constants and a piece or an unsqueezed copy, and its layer. */
    size_t room = (size_t)(n + count) + 2;
    oti_inlined_model *inlined = NULL;
    ot_status status = oti_view_begin(base, layer, 4 * room, 2 * room, &inlined);
    if (status == OT_OK) status = lower(inlined, l, in, elements, n, axis, sizes, count);
    free(sizes);
    if (inlined) inlined->n_layers = inlined->model.n_layers - inlined->first_layer;
    if (status != OT_OK) {
        oti_graph_inlined_free(inlined);
        return status;
    }
    oti_view_end(inlined, base, layer);
    *out = inlined;
    return OT_OK;
}

/* The SequenceConstruct writing sequence input `value` from its elements, the feeds
 * [first, end) (none when the only one is undefined: an empty sequence). */
static ot_status feed_sequence(oti_inlined_model *inlined, const ot_model *base, int value, int first, int end,
                               const ot_tensor *shapes, int *new_feeds, ot_tensor *new_shapes, int *n_new) {
    ot_model *view = &inlined->model;
    int64_t opset = ot_model_opset(base, "");
    ot_layer named = {.name = base->values[value].name, .opset = opset < 11 ? 11 : (int)opset};
    int *elements = oti_calloc((size_t)(end - first) + 1, sizeof(int)), n = 0;
    OT_TRY(oti_view_own(inlined, elements));
    for (int i = first; i < end; i++) {
        if (shapes[i].dtype == OT_UNDEFINED && end - first == 1) break;
        ot_value element = {.name = base->values[value].name, .kind = OT_VALUE_INPUT};
        OT_TRY(oti_view_append_value(view, &element, &elements[n]));
        new_feeds[*n_new] = elements[n++];
        new_shapes[(*n_new)++] = shapes[i];
    }
    view->values[value].kind = OT_VALUE_ACTIVATION; /* the view's copy: written by the list */
    return oti_view_append_made(inlined, &named, "SequenceConstruct", n, elements, value, NULL, 0, 0);
}

ot_status oti_graph_feed_sequences(const ot_model *base, int n_feeds, const int *feeds, const ot_tensor *shapes,
                                   oti_inlined_model **out, int *new_feeds, ot_tensor *new_shapes, int *n_new) {
    *out = NULL;
    *n_new = 0;
    int any = 0;
    for (int i = 0; i < n_feeds; i++) any |= base->values[feeds[i]].type == OT_TYPE_SEQUENCE;
    if (!any) return OT_OK;
    oti_inlined_model *inlined = NULL;
    ot_status status = oti_view_begin(base, 0, (size_t)n_feeds + 1, (size_t)n_feeds + 1, &inlined);
    for (int i = 0, end; i < n_feeds && status == OT_OK; i = end) {
        for (end = i + 1; end < n_feeds && feeds[end] == feeds[i];) end++;
        if (base->values[feeds[i]].type == OT_TYPE_SEQUENCE) {
            status = feed_sequence(inlined, base, feeds[i], i, end, shapes, new_feeds, new_shapes, n_new);
            continue;
        }
        for (int k = i; k < end; k++) {
            new_feeds[*n_new] = feeds[k];
            new_shapes[(*n_new)++] = shapes[k];
        }
    }
    if (inlined) inlined->n_layers = inlined->model.n_layers - inlined->first_layer;
    if (status != OT_OK) {
        oti_graph_inlined_free(inlined);
        return status;
    }
    oti_view_end(inlined, base, -1); /* every layer of base follows the lists */
    *out = inlined;
    return OT_OK;
}
