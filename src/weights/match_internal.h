/* Shared by the matcher's files: what an ONNX initializer is for (its role in the layer that
 * reads it), layout transforms by role, and report building. */
#ifndef OT_WEIGHTS_MATCH_INTERNAL_H
#define OT_WEIGHTS_MATCH_INTERNAL_H

#include "onnxtrain/weights.h"
#include "ops/op.h"

typedef struct match_target {
    int value;        /* model value index */
    int layer;        /* the first layer reading it, -1 if none */
    const char *role; /* "kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance",
                         "alpha", "embeddings", or NULL */
    ot_kernel_layout layout; /* the op table's, for kernels; OT_KERNEL_NONE otherwise */
    int trans_b;      /* OT_KERNEL_GEMM_B */
    int is_param;     /* a trained parameter or BN statistic: should be filled */
    int taken;        /* matched (or claimed by a conflicting name match) */
} match_target;

/* The normalised form used by OT_MATCH_NORMALIZED ("module.features/0:0" -> "features.0").
 * Caller frees; NULL when out of memory. */
char *oti_weights_normalize_name(const char *name);

/* Converts a source tensor to the target's layout (Keras sources by role; others as they
 * are, up to dims of size 1). On success *out is a new tensor with the target's dtype and
 * shape and *transform names what was done (NULL: nothing). Returns 0 and fills `why`
 * when they cannot be reconciled, -1 when out of memory (the message is set). */
int oti_match_convert(const ot_named_tensor *source, const match_target *target,
                     const ot_tensor *target_tensor, ot_tensor *out, const char **transform,
                     char *why, size_t why_size);

/* Report building (match_report.c): appends one entry; the list is unchanged when out of
 * memory. */
ot_status oti_match_report_add(ot_match_entry **list, int *count, const char *source,
                               const char *target, ot_match_how how, const char *transform,
                               const char *detail);

#endif
