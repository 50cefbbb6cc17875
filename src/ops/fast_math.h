/* Vectorisable elementwise maths for the activations' hot loops. libm's expm1f is a scalar
 * call per element; this branch-free version lets the compiler vectorise ELU/SELU and stays
 * within 2 ulp of expm1f (tests/unit/test_activation.c checks every float in its range).
 * tanh and sigmoid built on it serve the recurrent ops' gates (tests/unit/test_recurrent.c
 * checks them). */
#ifndef OT_FAST_MATH_H
#define OT_FAST_MATH_H

#include <stdint.h>
#include <string.h>

/* For x <= 0 (larger x are treated as 0): expm1(r) with x = k ln2 + r, and *scale = 2^k.
 * Cody-Waite reduction with |r| <= ln2/2, a degree-9 Taylor polynomial for expm1(r). Below
 * -87, x is -87. */
static inline float ot_exp_parts_nonpositive(float x, float *scale) {
    x = x < 0.0f ? x : 0.0f;
    x = x > -87.0f ? x : -87.0f;
    /* k = round(x / ln2) by the 1.5 * 2^23 trick: plain arithmetic that vectorises (roundf is
     * a libm call without -ffast-math). |x / ln2| < 126, far inside the trick's 2^22. */
    const float shifter = 12582912.0f;
    float k = (x * 1.44269504088896341f + shifter) - shifter;
    float r = x - k * 0.693145751953125f;     /* ln2, high bits (exact product for |k| < 128) */
    r = r - k * 1.428606765330187045e-06f;   /* ln2, low bits */
    float p = 1.0f / 362880.0f;
    p = p * r + 1.0f / 40320.0f;
    p = p * r + 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    int32_t bits = ((int32_t)k + 127) << 23; /* 2^k, k in [-126, 0] */
    memcpy(scale, &bits, sizeof *scale);
    return p * r * r + r; /* expm1(r) */
}

/* expm1(x) for x <= 0: 2^k (expm1(r) + 1) - 1; -1 to float precision below -87. */
static inline float ot_expm1_nonpositive(float x) {
    float scale, p = ot_exp_parts_nonpositive(x, &scale);
    return scale * p + (scale - 1.0f);
}

/* exp(x) for x <= 0 (2^k (expm1(r) + 1), without expm1's cancellation near -1). */
static inline float ot_exp_nonpositive(float x) {
    float scale, p = ot_exp_parts_nonpositive(x, &scale);
    return scale * p + scale;
}

/* Vectorisable tanh and sigmoid (the recurrent ops' gates), within a few ulp of libm:
 * tanh(x) = -e / (e + 2) with e = expm1(-2|x|) and x's sign; sigmoid(x) = 1 / (1 + E) for
 * x >= 0 and E / (1 + E) below, E = exp(-|x|). */
static inline float ot_tanh_fast(float x) {
    float ax = x < 0.0f ? -x : x;
    float e = ot_expm1_nonpositive(-2.0f * ax);
    float t = -e / (e + 2.0f);
    return x < 0.0f ? -t : t;
}

static inline float ot_sigmoid_fast(float x) {
    float ax = x < 0.0f ? -x : x;
    float e = ot_exp_nonpositive(-ax);
    float d = 1.0f / (1.0f + e);
    return x < 0.0f ? e * d : d;
}

#endif
