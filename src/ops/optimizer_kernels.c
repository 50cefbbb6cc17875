/* The per-element optimizer updates of optimizer_kernels.h: one flat loop each, so the
 * compiler vectorises them. The order of the float operations follows PyTorch's CPU
 * kernels (mul_ then add_/addcmul_/addcdiv_) and TensorFlow's Eigen expressions, so results
 * agree to a few ulps. Coefficients like 1 - beta come from the caller, outside the loops. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "optimizer_kernels.h"

double oti_typed_value(float x) {
    char text[32];
    for (int digits = 1; digits <= 9; digits++) { /* 9 digits always round-trip a float */
        snprintf(text, sizeof text, "%.*g", digits, (double)x);
        double typed = strtod(text, NULL);
        if ((float)typed == x) return typed;
    }
    return x; /* NaN */
}

void oti_sgd_update(float *p, const float *g, int64_t n, float lr, float wd) {
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        p[i] = p[i] - lr * gi;
    }
}

void oti_momentum_update(float *p, float *v, const float *g, int64_t n, float lr, float wd,
                        float momentum, float grad_scale, int nesterov) {
    /* Two loops rather than a per-element test of the mode. */
    if (nesterov) {
        for (int64_t i = 0; i < n; i++) {
            float gi = g[i] + wd * p[i];
            v[i] = v[i] * momentum + grad_scale * gi;
            p[i] = p[i] - lr * (gi + momentum * v[i]);
        }
    } else {
        for (int64_t i = 0; i < n; i++) {
            float gi = g[i] + wd * p[i];
            v[i] = v[i] * momentum + grad_scale * gi;
            p[i] = p[i] - lr * v[i];
        }
    }
}

void oti_adagrad_update(float *p, float *h, const float *g, int64_t n, float lr, float wd,
                       float eps) {
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        h[i] = h[i] + gi * gi;
        p[i] = p[i] - lr * gi / (sqrtf(h[i]) + eps);
    }
}

void oti_rmsprop_update(float *p, float *s, const float *g, int64_t n, float lr, float wd,
                       float alpha, float one_minus_alpha, float eps) {
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        s[i] = s[i] * alpha + one_minus_alpha * gi * gi;
        p[i] = p[i] - lr * gi / (sqrtf(s[i]) + eps);
    }
}

void oti_rmsprop_momentum_update(float *p, float *s, float *b, const float *g, int64_t n,
                                float lr, float wd, float alpha, float one_minus_alpha,
                                float eps, float momentum) {
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        s[i] = s[i] * alpha + one_minus_alpha * gi * gi;
        b[i] = b[i] * momentum + gi / (sqrtf(s[i]) + eps);
        p[i] = p[i] - lr * b[i];
    }
}

void oti_adam_update(float *p, float *m, float *v, const float *g, int64_t n,
                    const ot_adam_coeffs *c) {
    /* Locals, so the compiler knows the stores to p/m/v cannot change them. */
    const float step_size = c->step_size, denom_scale = c->denom_scale, eps = c->eps;
    const float beta1 = c->beta1, beta2 = c->beta2;
    const float one_minus_beta1 = c->one_minus_beta1, one_minus_beta2 = c->one_minus_beta2;
    const float wd = c->wd, pre_scale = c->pre_scale, post_scale = c->post_scale;
    for (int64_t i = 0; i < n; i++) {
        float pi = p[i] * pre_scale;
        float gi = g[i] + wd * pi;
        m[i] = m[i] * beta1 + one_minus_beta1 * gi;
        v[i] = v[i] * beta2 + one_minus_beta2 * gi * gi;
        float denom = sqrtf(v[i]) / denom_scale + eps;
        p[i] = (pi - step_size * m[i] / denom) * post_scale;
    }
}

/* FTRL's proximal step for one coordinate: (sign(z) * l1 - z) / quadratic where |z| > l1,
 * else 0. Written as clamp(z, -l1, l1) - z, which is that same numerator where |z| > l1 and
 * exactly 0 elsewhere, so the loop has no branch around its division (GCC will not
 * if-convert a division that may trap). quadratic is 0 only while every gradient so far
 * was 0 (then z is 0 too): dividing by 1 there gives TensorFlow's 0. */
static inline float ftrl_proximal(float z, float l1, float quadratic) {
    /* Two plain selects: GCC does not if-convert the nested form. */
    float clamped = z > l1 ? l1 : z;
    clamped = clamped < -l1 ? -l1 : clamped;
    float divisor = quadratic > 0.0f ? quadratic : 1.0f;
    return (clamped - z) / divisor;
}

/* FTRL with lr_power = -0.5: the powers are square roots (TensorFlow's special case). */
static void ftrl_sqrt_update(float *p, float *n_acc, float *z, const float *g, int64_t n,
                             float lr, float wd, float l1, float two_l2) {
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        float n_new = n_acc[i] + gi * gi;
        float root_new = sqrtf(n_new);
        float sigma = (root_new - sqrtf(n_acc[i])) / lr;
        z[i] = z[i] + (gi - sigma * p[i]);
        p[i] = ftrl_proximal(z[i], l1, root_new / lr + two_l2);
        n_acc[i] = n_new;
    }
}

static void ftrl_pow_update(float *p, float *n_acc, float *z, const float *g, int64_t n,
                            float lr, float wd, float l1, float two_l2, float lr_power) {
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        float n_new = n_acc[i] + gi * gi;
        float power_new = powf(n_new, -lr_power);
        float sigma = (power_new - powf(n_acc[i], -lr_power)) / lr;
        z[i] = z[i] + (gi - sigma * p[i]);
        p[i] = ftrl_proximal(z[i], l1, power_new / lr + two_l2);
        n_acc[i] = n_new;
    }
}

void oti_ftrl_update(float *p, float *n_acc, float *z, const float *g, int64_t n, float lr,
                    float wd, float l1, float l2, float lr_power) {
    if (lr_power == -0.5f) ftrl_sqrt_update(p, n_acc, z, g, n, lr, wd, l1, 2.0f * l2);
    else ftrl_pow_update(p, n_acc, z, g, n, lr, wd, l1, 2.0f * l2, lr_power);
}
