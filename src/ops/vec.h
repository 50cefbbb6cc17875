/* Small float vectors (GCC/clang vector extensions) for kernels that -O2 leaves scalar:
 * 4 floats (one SSE register) and 8 (one AVX register where the build targets AVX, two SSE
 * ones elsewhere). Loads and stores go through memcpy, so they need no alignment. Only
 * static inline helpers take or return these types: they never cross an ABI boundary (hence
 * -Wno-psabi in builds without AVX, see CMakeLists.txt). */
#ifndef OT_VEC_H
#define OT_VEC_H

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

#endif
