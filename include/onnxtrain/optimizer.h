/* Optimizers over one contiguous block of parameters: a step is one flat loop.
 *
 * Semantics and defaults are PyTorch's (torch.optim.SGD with momentum/nesterov and
 * dampening 0, Adagrad, RMSprop, Adam, AdamW); FTRL is TensorFlow's FTRL-Proximal. The
 * per-element update kernels are shared with the ONNX training ops (Adagrad, Adam, Momentum
 * in ai.onnx.preview.training), which call them with their own coefficients. */
#ifndef ONNXTRAIN_OPTIMIZER_H
#define ONNXTRAIN_OPTIMIZER_H

#include <stdint.h>

#include "onnxtrain/context.h"
#include "onnxtrain/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ot_optimizer_kind {
    OT_OPTIMIZER_SGD,
    OT_OPTIMIZER_MOMENTUM,
    OT_OPTIMIZER_NESTEROV,
    OT_OPTIMIZER_ADAGRAD,
    OT_OPTIMIZER_RMSPROP,
    OT_OPTIMIZER_ADAM,
    OT_OPTIMIZER_ADAMW,
    OT_OPTIMIZER_FTRL
} ot_optimizer_kind;

typedef struct ot_optimizer_config {
    ot_optimizer_kind kind;
    float lr;           /* learning rate; the schedule scales it per step */
    float momentum;     /* momentum/nesterov (default 0.9), rmsprop (default 0: none) */
    float decay;        /* rmsprop: PyTorch's alpha (0.99) */
    float beta1, beta2; /* adam/adamw: 0.9, 0.999 */
    float eps;          /* adam/adamw/rmsprop 1e-8, adagrad 1e-10; added outside the sqrt
                         * (for adam/adamw after the bias correction) */
    float weight_decay; /* added to the gradient (PyTorch), decoupled for adamw (0.01) */
    float l1, l2;       /* ftrl's own regularisation strengths */
    float lr_power;     /* ftrl: -0.5 */
    float initial_accumulator; /* adagrad 0, ftrl 0.1 */
} ot_optimizer_config;

/* Name <-> kind: "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw",
 * "ftrl". Returns 0 for an unknown name. */
OT_API int ot_optimizer_kind_from_name(const char *name, ot_optimizer_kind *kind);
OT_API const char *ot_optimizer_name(ot_optimizer_kind kind);
/* Fills PyTorch's (TensorFlow's for ftrl) defaults for the kind; lr defaults to 0.01
 * (0.001 for adam/adamw). */
OT_API void ot_optimizer_defaults(ot_optimizer_kind kind, ot_optimizer_config *config);

typedef struct ot_optimizer {
    ot_optimizer_config config;
    ot_context *context; /* its threads run the step; NULL: the calling thread */
    int64_t n;        /* parameters */
    int64_t step;     /* steps taken (PyTorch's state['step']) */
    int n_state;      /* state buffers used by this kind (0..2); the others are NULL */
    /* Each n floats, in the same layout as the parameters:
     *   sgd: none                      momentum, nesterov: [0] momentum buffer
     *   adagrad: [0] sum of squares    rmsprop: [0] square average, [1] momentum buffer
     *   adam, adamw: [0] exp_avg, [1] exp_avg_sq
     *   ftrl: [0] accumulator (starts at initial_accumulator), [1] linear term */
    float *state[2];
} ot_optimizer;

/* The state is refused (OT_ERR_MEMORY) over ctx's memory limit; ctx must outlive opt. */
OT_API ot_status ot_optimizer_create(ot_context *ctx, const ot_optimizer_config *config, int64_t n_params,
                              ot_optimizer **out);
OT_API void ot_optimizer_free(ot_optimizer *opt);
/* One update of params (n floats) from grads (n floats) with learning rate lr (the
 * scheduled value of config.lr); increments step first (Adam's bias corrections use it).
 * weight_decay adds wd * p to the gradient inside the step, except for adamw, which
 * multiplies p by 1 - lr * wd before its update. One flat loop: no branch per element. */
OT_API void ot_optimizer_step(ot_optimizer *opt, float *params, const float *grads, float lr);

#ifdef __cplusplus
}
#endif
#endif
