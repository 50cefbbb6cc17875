/* Shared by the quantize family's files (quantize.c, quantize_matmul.c, quantize_conv.c):
 * quantization parameters (a scale and a zero point per tensor or per channel) and the
 * requantizing of int32 accumulators. Quantized values are held as int64, declared int8/uint8
 * (or int16/uint16/int32), like every integer. */
#ifndef OT_QUANTIZE_INTERNAL_H
#define OT_QUANTIZE_INTERNAL_H

#include "op.h"

/* A scale or zero point: one value, or one per channel (c->in[k] NULL: an absent zero point,
 * 0). */
typedef struct quant_param {
    const ot_tensor *t;
    int64_t count; /* 1, or the channel count */
} quant_param;

/* Checks input k (optional when may_omit) is a scale (float) or zero point (integer) of one
 * value or `channels` values; `what` names it in errors. */
ot_status oti_quant_param_of(const ot_node_ctx *c, int k, int is_scale, int64_t channels,
                             int may_omit, const char *what, quant_param *out);
static inline float oti_quant_scale(const quant_param *q, int64_t channel) {
    return ((const float *)q->t->data)[q->count == 1 ? 0 : channel];
}
static inline int64_t oti_quant_zero(const quant_param *q, int64_t channel) {
    return q->t ? ((const int64_t *)q->t->data)[q->count == 1 ? 0 : channel] : 0;
}
/* round-half-to-even(v) + zero, saturated to dtype's range (uint8 when `dtype` is undefined). */
int64_t oti_quant_saturate(double v, int64_t zero, ot_dtype dtype);
/* An integer sum of (input - zero) * (weight - zero) products requantized to y. */
int64_t oti_quant_requantize(int64_t sum, float in_scale, float weight_scale, float y_scale,
                             int64_t y_zero, ot_dtype dtype);
/* The dtype a zero point declares for the quantized output (uint8 without one). */
ot_dtype oti_quant_dtype(const quant_param *zero);
/* Output k is an integer of `dtype` shaped like dims. */
void oti_quant_set_output(ot_node_ctx *c, int k, ot_dtype dtype, int ndim, const int64_t *dims);

/* Op functions listed in quantize.c's table. */
ot_status oti_matmul_integer_infer(ot_node_ctx *c);
ot_status oti_matmul_integer_forward(ot_node_ctx *c);
ot_status oti_qlinear_matmul_infer(ot_node_ctx *c);
ot_status oti_qlinear_matmul_forward(ot_node_ctx *c);
ot_status oti_conv_integer_parse(const ot_layer *l, void *params);
ot_status oti_conv_integer_infer(ot_node_ctx *c);
ot_status oti_conv_integer_forward(ot_node_ctx *c);
ot_status oti_qlinear_conv_infer(ot_node_ctx *c);
ot_status oti_qlinear_conv_forward(ot_node_ctx *c);

#endif
