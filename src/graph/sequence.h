/* Lowering sequence ops: a plan holds a sequence as the list of its elements, known while the
 * plan is built. Each sequence op, once the positions, split sizes and shapes it reads are
 * known, is replaced in a view of the model (view.h) by that list (a SequenceConstruct of the
 * elements: SequenceEmpty, SequenceInsert, SequenceErase, SplitToSequence, an Identity of a
 * sequence) or by tensor ops on the elements (SequenceAt: Identity; SequenceLength: a
 * constant; ConcatFromSequence: Concat, or Unsqueeze and Concat). Training then runs through
 * the tensor ops like any others. */
#ifndef OT_GRAPH_SEQUENCE_H
#define OT_GRAPH_SEQUENCE_H

#include "view.h"

/* Longest sequence a plan holds (each element is a value and SplitToSequence one layer each). */
#define OT_SEQUENCE_MAX_LENGTH 100000

/* The number of elements of sequence value `value` of m and their values (*elements, borrowed),
 * when a SequenceConstruct writes it; -1 otherwise. */
int oti_sequence_elements(const ot_model *m, int value, const int **elements);

/* A view of base with sequence op `layer` (or an Identity of a sequence) lowered. in[k]: the
 * plan's tensor for its input k (NULL where omitted): dims, and data where known. Errors name
 * the node: a position or split that is not known or out of range, a sequence not made by a
 * SequenceConstruct here. */
ot_status oti_graph_lower_sequence(const ot_model *base, int layer, ot_tensor *const *in, oti_inlined_model **out);

/* Sequence graph inputs as lists of tensor inputs: a view of base in which each sequence input
 * fed (its value index in feeds[], once per element, in order; once with dtype OT_UNDEFINED
 * for an empty one) is written by a SequenceConstruct, placed first, of new graph inputs, one
 * per element. new_feeds / new_shapes (room for n_feeds) get the feeds with those elements,
 * *n_new how many. *out is NULL when no feed is a sequence. */
ot_status oti_graph_feed_sequences(const ot_model *base, int n_feeds, const int *feeds, const ot_tensor *shapes,
                                   oti_inlined_model **out, int *new_feeds, ot_tensor *new_shapes, int *n_new);

#endif
