/* Row-wise softmax kernels shared by the Softmax ops (softmax.c) and the training losses
 * (softmax cross-entropy). Numerically stable: the row maximum is subtracted first. */
#ifndef OT_SOFTMAX_KERNELS_H
#define OT_SOFTMAX_KERNELS_H

#include <stdint.h>

/* y (rows, cols) = softmax of each row of x (rows, cols). y may alias x. */
void oti_softmax_rows(float *y, const float *x, int64_t rows, int64_t cols);
/* y (rows, cols) = log softmax of each row of x (rows, cols). y may alias x. */
void oti_log_softmax_rows(float *y, const float *x, int64_t rows, int64_t cols);

#endif
