/* Vectorisable elementwise maths for the activations' hot loops. libm's expm1f is a scalar
 * call per element; this branch-free version lets the compiler vectorise ELU/SELU and stays
 * within 2 ulp of expm1f (tests/unit/test_activation.c checks every float in its range).
 * tanh and sigmoid built on it serve the recurrent ops' gates (tests/unit/test_recurrent.c
 * checks them); erf serves Erf and GELU. */
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

/* Vectorisable erf (the Erf op, GELU), within 3 ulp of erf over all floats (libm's erff is
 * a scalar call per element; tests/unit/test_activation.c checks). Below |x| = 0.8 the
 * Taylor series 2/sqrt(pi) sum (-1)^n x^(2n+1) / (n! (2n+1)) to n = 12; above, 1 - erfc
 * with Numerical Recipes' erfc approximation t exp(-x^2 + P(t)), t = 1 / (1 + |x|/2),
 * relative error 1.2e-7 (its exponent is never positive for |x| >= 0.8). Both are computed
 * and one kept, so the loop has no branch. */
static inline float ot_erf_fast(float x) {
    float ax = x < 0.0f ? -x : x, z = ax * ax;
    float s = 9.422759065e-11f;
    s = s * z + -1.229055530e-09f;
    s = s * z + 1.480719282e-08f;
    s = s * z + -1.636584469e-07f;
    s = s * z + 1.646211437e-06f;
    s = s * z + -1.492565036e-05f;
    s = s * z + 1.205533298e-04f;
    s = s * z + -8.548327023e-04f;
    s = s * z + 5.223977625e-03f;
    s = s * z + -2.686617065e-02f;
    s = s * z + 1.128379167e-01f;
    s = s * z + -3.761263890e-01f;
    s = s * z + 1.128379167e+00f;
    float t = 1.0f / (1.0f + 0.5f * ax);
    float q = 0.17087277f;
    q = q * t - 0.82215223f;
    q = q * t + 1.48851587f;
    q = q * t - 1.13520398f;
    q = q * t + 0.27886807f;
    q = q * t - 0.18628806f;
    q = q * t + 0.09678418f;
    q = q * t + 0.37409196f;
    q = q * t + 1.00002368f;
    q = q * t - 1.26551223f;
    float v = ax < 0.8f ? ax * s : 1.0f - t * ot_exp_nonpositive(q - z);
    return x < 0.0f ? -v : v;
}

#endif
