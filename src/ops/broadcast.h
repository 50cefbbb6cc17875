/* Numpy broadcasting: output shape of several operands, and iteration over the output in
 * rows, with each operand's offset (element strides are 0 along broadcast dims). Adjacent
 * dims that broadcast the same way are merged so rows are as long as possible. */
#ifndef OT_BROADCAST_H
#define OT_BROADCAST_H

#include "op.h"

#define OT_BCAST_MAX_OPERANDS 4

typedef struct ot_bcast {
    int ndim; /* after merging; >= 1 */
    int64_t dims[OT_MAX_DIMS];
    int64_t strides[OT_BCAST_MAX_OPERANDS][OT_MAX_DIMS];
    int n_operands;
    int64_t rows;    /* product of all dims but the last */
    int64_t row_len; /* dims[ndim - 1] */
} ot_bcast;

/* Output shape of broadcasting n operands; error names the node and both shapes. */
ot_status oti_broadcast_shape(const ot_layer *l, int n, const ot_tensor *const *operands,
                             int *ndim, int64_t *dims);
/* Prepares iteration of `out` over the operands (shapes must broadcast to out). */
void oti_bcast_init(ot_bcast *b, int n, const ot_tensor *const *operands, const ot_tensor *out);
/* Offsets of row r for each operand (offsets[k]) and the output (returned). */
int64_t oti_bcast_row(const ot_bcast *b, int64_t row, int64_t *offsets);

#endif
