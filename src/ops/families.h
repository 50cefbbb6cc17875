/* The op families. Each src/ops/<family>.c defines its rows, ot_ops_<family>[], and
 * ot_family_<family> (the rows and their count); adding a family adds one line to
 * OT_FAMILY_LIST. */
#ifndef OT_FAMILIES_H
#define OT_FAMILIES_H

#include "op.h"

#define OT_FAMILY_LIST                                                                         \
    OT_FAMILY(activation)                                                                      \
    OT_FAMILY(elementwise)                                                                     \
    OT_FAMILY(matmul)                                                                          \
    OT_FAMILY(conv)                                                                            \
    OT_FAMILY(pool)                                                                            \
    OT_FAMILY(normalization)                                                                   \
    OT_FAMILY(recurrent)                                                                       \
    OT_FAMILY(softmax)                                                                         \
    OT_FAMILY(shape)                                                                           \
    OT_FAMILY(tensor)                                                                          \
    OT_FAMILY(reduce)                                                                          \
    OT_FAMILY(resize)                                                                          \
    OT_FAMILY(select)                                                                          \
    OT_FAMILY(signal)                                                                          \
    OT_FAMILY(random)                                                                          \
    OT_FAMILY(quantize)                                                                        \
    OT_FAMILY(training)                                                                        \
    OT_FAMILY(control_flow)                                                                    \
    OT_FAMILY(sequence)

#define OT_FAMILY(name) extern const ot_op_family oti_family_##name;
OT_FAMILY_LIST
#undef OT_FAMILY

#endif
