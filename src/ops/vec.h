/* Small float vectors (GCC/clang vector extensions) for kernels that -O2 leaves scalar:
 * 4 floats (one SSE register) and 8 (one AVX register where the build targets AVX, two SSE
 * ones elsewhere). Loads and stores go through memcpy, so they need no alignment. Only
 * static inline helpers take or return these types: they never cross an ABI boundary (hence
 * -Wno-psabi in builds without AVX, see CMakeLists.txt). Also lane-wise sums of float rows
 * in double, which vectorise the same way. */
#ifndef OT_VEC_H
#define OT_VEC_H

#include <stdint.h>
#include <string.h>

typedef float ot_v4 __attribute__((vector_size(16)));
typedef float ot_v8 __attribute__((vector_size(32)));

static inline ot_v4 ot_load4(const float *p) {
    ot_v4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void ot_store4(float *p, ot_v4 v) {
    memcpy(p, &v, sizeof v);
}

static inline ot_v8 ot_load8(const float *p) {
    ot_v8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void ot_store8(float *p, ot_v8 v) {
    memcpy(p, &v, sizeof v);
}

/* Sum of n floats (squared when `square`) in double, over 4 interleaved lanes: the loop
 * vectorises without reassociation flags, and long rows keep their precision. */
static inline double ot_sum_floats(const float *x, int64_t n, int square) {
    double lanes[4] = {0.0, 0.0, 0.0, 0.0};
    int64_t i = 0;
    if (square)
        for (; i + 4 <= n; i += 4)
            for (int k = 0; k < 4; k++) lanes[k] += (double)x[i + k] * x[i + k];
    else
        for (; i + 4 <= n; i += 4)
            for (int k = 0; k < 4; k++) lanes[k] += x[i + k];
    double total = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
    for (; i < n; i++) total += square ? (double)x[i] * x[i] : x[i];
    return total;
}

#endif
