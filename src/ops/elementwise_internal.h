/* Shared pieces of the elementwise family, which is split over elementwise.c (arithmetic,
 * variadic ops, the op table), elementwise_unary.c (one-input math) and elementwise_logic.c
 * (comparisons, Not, Where). Only the family's own files include this. */
#ifndef OT_ELEMENTWISE_INTERNAL_H
#define OT_ELEMENTWISE_INTERNAL_H

#include "core/util.h"
#include "broadcast.h"
#include "vec.h"

/* Runs BODY for i in [lo, hi) with `xa`, `xb` bound to the i-th row elements of a and b. A
 * row stride is 0 (the operand is broadcast along the row: a[0]) or 1 (contiguous: a[i]);
 * each of the four cases is its own simple loop with the broadcast value hoisted, so the
 * compiler vectorises them. BODY may ignore xa or xb. */
#define OT_EW_ROW_RANGE2(T, a, sa, b, sb, lo, hi, BODY)                                        \
    do {                                                                                       \
        if ((sa) && (sb)) {                                                                    \
            for (int64_t i = (lo); i < (hi); i++) {                                            \
                T xa = (a)[i], xb = (b)[i];                                                    \
                (void)xa, (void)xb;                                                            \
                BODY;                                                                          \
            }                                                                                  \
        } else if (sa) {                                                                       \
            T xb = (b)[0];                                                                     \
            (void)xb;                                                                          \
            for (int64_t i = (lo); i < (hi); i++) {                                            \
                T xa = (a)[i];                                                                 \
                (void)xa;                                                                      \
                BODY;                                                                          \
            }                                                                                  \
        } else if (sb) {                                                                       \
            T xa = (a)[0];                                                                     \
            (void)xa;                                                                          \
            for (int64_t i = (lo); i < (hi); i++) {                                            \
                T xb = (b)[i];                                                                 \
                (void)xb;                                                                      \
                BODY;                                                                          \
            }                                                                                  \
        } else {                                                                               \
            T xa = (a)[0], xb = (b)[0];                                                        \
            (void)xa, (void)xb;                                                                \
            for (int64_t i = (lo); i < (hi); i++) {                                            \
                BODY;                                                                          \
            }                                                                                  \
        }                                                                                      \
    } while (0)
#define OT_EW_ROW_LOOP2(T, a, sa, b, sb, n, BODY) OT_EW_ROW_RANGE2(T, a, sa, b, sb, 0, n, BODY)

/* Row stride (0 or 1) of operand k along the innermost merged dim. */
static inline int64_t ot_ew_row_stride(const ot_bcast *b, int k) {
    return b->strides[k][b->ndim - 1];
}

/* elementwise_unary.c: Sqrt Exp Log ... Sign IsInf IsNaN (params: ot_ew_unary_params). */
typedef struct ot_ew_unary_params {
    int kind;
    int detect_negative, detect_positive; /* IsInf */
} ot_ew_unary_params;
ot_status oti_ew_parse_unary(const ot_layer *l, void *params);
ot_status oti_ew_infer_unary(ot_node_ctx *c);
ot_status oti_ew_forward_unary(ot_node_ctx *c);
ot_status oti_ew_backward_unary(ot_node_ctx *c);

/* elementwise_logic.c: Equal Less Greater LessOrEqual GreaterOrEqual And Or Xor (params: ot_ew_compare_params), Not,
 * Where. */
typedef struct ot_ew_compare_params {
    int kind;
    int legacy_broadcast; /* opset < 7: "broadcast" / "axis" attributes */
    int broadcast;
    int64_t axis;
} ot_ew_compare_params;
ot_status oti_ew_parse_compare(const ot_layer *l, void *params);
ot_status oti_ew_infer_compare(ot_node_ctx *c);
ot_status oti_ew_forward_compare(ot_node_ctx *c);
ot_status oti_ew_infer_not(ot_node_ctx *c);
ot_status oti_ew_forward_not(ot_node_ctx *c);
ot_status oti_ew_infer_where(ot_node_ctx *c);
ot_status oti_ew_forward_where(ot_node_ctx *c);
ot_status oti_ew_backward_where(ot_node_ctx *c);

/* Opset < 7 binary ops broadcast B to A only when broadcast = 1, aligning B's dims with A's
 * from `axis` (default: trailing). Writes into *view a shape-only copy of b that numpy rules
 * broadcast the same way (trailing 1s appended), and checks that the result has A's shape. */
ot_status oti_ew_legacy_view(const ot_layer *l, const ot_tensor *a, const ot_tensor *b,
                            int broadcast, int64_t axis, ot_tensor *view);

#endif
