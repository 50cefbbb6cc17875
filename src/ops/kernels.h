/* Kernels shared between op families (fused bias + activation in Conv/Gemm, softmax in the
 * losses). Outputs first, then inputs, then sizes. */
#ifndef OT_KERNELS_H
#define OT_KERNELS_H

#include <stdint.h>

#include "core/util.h"

/* y = f(x) for an activation kind of activation.c (ot_activation_kind_of). */
void oti_activation_forward(float *y, const float *x, int64_t n, int kind, float alpha,
                           float beta, float gamma);
/* dx += dy * f'(x); y is the forward output. */
void oti_activation_backward(float *dx, const float *dy, const float *x, const float *y, int64_t n,
                            int kind, float alpha, float beta, float gamma);

#endif
