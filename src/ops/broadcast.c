/* Broadcast shapes and row iteration. */
#include "broadcast.h"

#include <string.h>
#include "core/error.h"

ot_status oti_broadcast_shape(const ot_layer *l, int n, const ot_tensor *const *operands,
                             int *ndim, int64_t *dims) {
    int rank = 0;
    for (int k = 0; k < n; k++)
        if (operands[k] && operands[k]->ndim > rank) rank = operands[k]->ndim;
    for (int d = 0; d < rank; d++) dims[d] = 1;
    for (int k = 0; k < n; k++) {
        const ot_tensor *t = operands[k];
        if (!t) continue;
        for (int d = 0; d < t->ndim; d++) {
            int64_t size = t->dims[d];
            int64_t *target = &dims[rank - t->ndim + d];
            if (size == *target || size == 1) continue;
            if (*target == 1) {
                *target = size;
                continue;
            }
            char a[128], b[128];
            return oti_node_fail(l, OT_ERR_INVALID, "shapes %s and %s do not broadcast",
                                ot_shape_string(operands[0]->ndim, operands[0]->dims, a, sizeof a),
                                ot_shape_string(t->ndim, t->dims, b, sizeof b));
        }
    }
    *ndim = rank;
    return OT_OK;
}

void oti_bcast_init(ot_bcast *b, int n, const ot_tensor *const *operands, const ot_tensor *out) {
    OT_ASSERT(n <= OT_BCAST_MAX_OPERANDS);
    int rank = out->ndim;
    int64_t strides[OT_BCAST_MAX_OPERANDS][OT_MAX_DIMS];
    for (int k = 0; k < n; k++) {
        const ot_tensor *t = operands[k];
        int64_t stride = 1;
        for (int d = rank - 1; d >= 0; d--) {
            int td = d - (rank - t->ndim);
            int64_t size = td >= 0 ? t->dims[td] : 1;
            strides[k][d] = size == 1 ? 0 : stride;
            stride *= size;
        }
    }
    /* Merge dim d into the previous kept dim when, for every operand, the strides chain. */
    memset(b, 0, sizeof *b);
    b->n_operands = n;
    int m = 0;
    for (int d = 0; d < rank; d++) {
        if (out->dims[d] == 1 && rank > 1) continue; /* size-1 dims do not move anything */
        int merge = m > 0;
        for (int k = 0; k < n && merge; k++)
            merge = strides[k][d] * out->dims[d] == b->strides[k][m - 1] ||
                    (strides[k][d] == 0 && b->strides[k][m - 1] == 0);
        if (merge) {
            b->dims[m - 1] *= out->dims[d];
            for (int k = 0; k < n; k++) b->strides[k][m - 1] = strides[k][d];
            continue;
        }
        b->dims[m] = out->dims[d];
        for (int k = 0; k < n; k++) b->strides[k][m] = strides[k][d];
        m++;
    }
    if (m == 0) {
        b->dims[0] = ot_tensor_numel(out) ? 1 : 0;
        for (int k = 0; k < n; k++) b->strides[k][0] = 0;
        m = 1;
    }
    b->ndim = m;
    b->row_len = b->dims[m - 1];
    b->rows = 1;
    for (int d = 0; d < m - 1; d++) b->rows *= b->dims[d];
    if (b->row_len == 0) b->rows = 0;
}

int64_t oti_bcast_row(const ot_bcast *b, int64_t row, int64_t *offsets) {
    for (int k = 0; k < b->n_operands; k++) offsets[k] = 0;
    int64_t rest = row;
    for (int d = b->ndim - 2; d >= 0; d--) {
        int64_t i = rest % b->dims[d];
        rest /= b->dims[d];
        for (int k = 0; k < b->n_operands; k++) offsets[k] += i * b->strides[k][d];
    }
    return row * b->row_len;
}
