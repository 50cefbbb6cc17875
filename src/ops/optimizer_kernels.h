/* Per-element optimizer updates, shared by ot_optimizer_step (PyTorch/TensorFlow
 * coefficients) and the ONNX training ops Adagrad, Adam and Momentum (ONNX coefficients).
 *
 * Every kernel updates its buffers in place (parameters first, then state), reads the
 * gradient, and is one flat loop over n elements: callers pick coefficients, never branches.
 * Every kernel first regularises the gradient as g' = g + wd * p (L2 inside the gradient,
 * PyTorch's weight_decay and ONNX's norm_coefficient). Scalar coefficients are float
 * because the element arithmetic is float, as in PyTorch's CPU kernels. */
#ifndef OT_OPTIMIZER_KERNELS_H
#define OT_OPTIMIZER_KERNELS_H

#include <stdint.h>

/* The shortest decimal that rounds to x, as a double: the value typed ("0.99") when x was
 * parsed from text. Frameworks compute coefficients such as 1 - alpha in double from the
 * typed value; from the float alone 1 - 0.99f is 0.0099999905, not 0.01, which moves
 * RMSprop's trajectory by ~1e-6 relative. Callers compute such coefficients from this. */
double oti_typed_value(float x);

/* p -= lr * g'. */
void oti_sgd_update(float *p, const float *g, int64_t n, float lr, float wd);

/* v = momentum * v + grad_scale * g';
 * standard: p -= lr * v;  nesterov: p -= lr * (g' + momentum * v).
 * PyTorch SGD (dampening 0) is grad_scale 1 with v starting at 0, so the first step leaves
 * v = g'. ONNX Momentum passes grad_scale = beta, or 1 on its first update (T == 0). */
void oti_momentum_update(float *p, float *v, const float *g, int64_t n, float lr, float wd,
                        float momentum, float grad_scale, int nesterov);

/* h += g'^2;  p -= lr * g' / (sqrt(h) + eps). lr is already decayed by the caller. */
void oti_adagrad_update(float *p, float *h, const float *g, int64_t n, float lr, float wd,
                       float eps);

/* PyTorch RMSprop (not centered): s = alpha * s + one_minus_alpha * g'^2;
 * p -= lr * g' / (sqrt(s) + eps). */
void oti_rmsprop_update(float *p, float *s, const float *g, int64_t n, float lr, float wd,
                       float alpha, float one_minus_alpha, float eps);
/* The same with momentum: b = momentum * b + g' / (sqrt(s) + eps);  p -= lr * b. */
void oti_rmsprop_momentum_update(float *p, float *s, float *b, const float *g, int64_t n,
                                float lr, float wd, float alpha, float one_minus_alpha,
                                float eps, float momentum);

/* Adam in both forms:
 *   p = pre_scale * p                              (AdamW's decoupled decay 1 - lr*wd)
 *   g' = g + wd * p
 *   m = beta1 * m + (1 - beta1) * g'
 *   v = beta2 * v + (1 - beta2) * g'^2
 *   p = p - step_size * m / (sqrt(v) / denom_scale + eps)
 *   p = post_scale * p                             (ONNX's 1 - norm_coefficient_post)
 * PyTorch: step_size = lr / (1 - beta1^t), denom_scale = sqrt(1 - beta2^t) (eps added after
 * the bias correction). ONNX: step_size = R * sqrt(1 - beta^T) / (1 - alpha^T) (R when
 * T == 0), denom_scale = 1 (eps added to the raw sqrt). */
typedef struct ot_adam_coeffs {
    float step_size, denom_scale, eps;
    float beta1, one_minus_beta1, beta2, one_minus_beta2;
    float wd, pre_scale, post_scale;
} ot_adam_coeffs;
void oti_adam_update(float *p, float *m, float *v, const float *g, int64_t n,
                    const ot_adam_coeffs *c);

/* TensorFlow's FTRL-Proximal (ApplyFtrl, no l2_shrinkage), with n the accumulator and z the
 * linear term:
 *   n_new = n + g'^2
 *   z    += g' - (n_new^(-lr_power) - n^(-lr_power)) / lr * p
 *   p     = |z| > l1 ? (sign(z) * l1 - z) / (n_new^(-lr_power) / lr + 2 * l2) : 0
 *   n     = n_new
 * lr_power == -0.5 (the default) uses sqrt, as TensorFlow's kernel does. */
void oti_ftrl_update(float *p, float *n_acc, float *z, const float *g, int64_t n, float lr,
                    float wd, float l1, float l2, float lr_power);

#endif
