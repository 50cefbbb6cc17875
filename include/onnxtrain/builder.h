/* Creating layers from a text spec, with initializers chosen per activation.
 *
 *   SPEC := LAYER (',' LAYER)*
 *   LAYER := flatten | dense:N[:ACT] | conv:N:KxK[:STRIDE[:PAD]][:ACT] | maxpool:K | avgpool:K
 *          | globalavgpool | batchnorm | dropout:P | ACT
 *   ACT := relu | leakyrelu[:ALPHA] | prelu | elu[:ALPHA] | selu | sigmoid | tanh | softmax
 *   PAD := a number, same or valid (default 0)
 *
 * Dense layers become Gemm (transB=1, weight (N, in) like torch.nn.Linear), convolutions
 * Conv (weight (N, C, K, K)); biases start at zero. */
#ifndef ONNXTRAIN_BUILDER_H
#define ONNXTRAIN_BUILDER_H

#include "onnxtrain/model.h"
#include "onnxtrain/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ot_fan_mode { OT_FAN_IN, OT_FAN_OUT, OT_FAN_AVG } ot_fan_mode;

typedef struct ot_init_spec {
    int by_activation; /* choose per following activation (He / LeCun / Glorot) */
    double scale;
    ot_fan_mode mode;
    int normal; /* truncated normal (TensorFlow) or uniform */
} ot_init_spec;

/* glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_uniform, lecun_normal,
 * variance_scaling:SCALE:fan_in|fan_out|fan_avg:normal|uniform, or "auto" (by activation). */
OT_API ot_status ot_builder_parse_init(const char *text, ot_init_spec *out);

/* Fills w (n values) for a layer with the given fans. */
OT_API void ot_builder_fill(float *w, int64_t n, const ot_init_spec *spec, int64_t fan_in, int64_t fan_out,
                  ot_rng *rng);

/* A new empty model: opset 17, one float input NAME with shape (N, dims...). */
OT_API ot_status ot_builder_create(const char *input_name, int ndim, const int64_t *dims, ot_model **out);

/* Appends the layers of spec after value `from` (its shape must be inferable from the graph
 * inputs), names them "<prefix><kind><k>", and makes the last one the only graph output.
 * Initializers are drawn from rng, each within ctx's memory limit (NULL: none). */
OT_API ot_status ot_builder_append(const ot_context *ctx, ot_model *m, const char *spec, const char *from,
                                 const ot_init_spec *init, ot_rng *rng, const char *prefix);

#ifdef __cplusplus
}
#endif
#endif
