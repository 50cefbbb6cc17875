/* Entry points of the 'normalization' family's files other than normalization.c (which holds
 * the table). */
#ifndef OT_NORMALIZATION_INTERNAL_H
#define OT_NORMALIZATION_INTERNAL_H

#include "op.h"

typedef struct ot_mvn_params {
    int64_t axes[OT_MAX_DIMS];
    int n_axes;
} ot_mvn_params;
ot_status oti_mvn_parse(const ot_layer *l, void *params);
ot_status oti_mvn_infer(ot_node_ctx *c);
ot_status oti_mvn_forward(ot_node_ctx *c);
ot_status oti_mvn_backward(ot_node_ctx *c);

/* BatchNormalization's per-feature passes (normalization_batch.c) over x (n, features,
 * spatial); each feature's sums are one thread's, in a fixed order. */
typedef struct oti_bn_view {
    int64_t n, features, spatial;
} oti_bn_view;
/* sums (F) of x, or of (x - mean)^2 with mean given, in double. */
void oti_bn_feature_sums(ot_pool *pool, double *sums, const float *x, const double *mean, const oti_bn_view *v);
/* sums (2F): sum dy, then sum dy * xhat (xhat = (x - mean) * rstd). */
void oti_bn_gradient_sums(ot_pool *pool, double *sums, const float *x, const float *dy, const float *mean,
                          const float *rstd, const oti_bn_view *v);
/* dx += scale * rstd * (dy - sum dy / count - xhat * sum dy xhat / count), without the two
 * means with fixed statistics (batch 0). */
void oti_bn_input_gradient(ot_pool *pool, float *dx, const float *x, const float *dy, const float *scale,
                           const float *mean, const float *rstd, const double *sums, double count, int batch,
                           const oti_bn_view *v);

#endif
