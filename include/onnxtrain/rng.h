/* The run's random numbers (PCG32): shuffling, dropout masks, initializers.
 * One generator per run, seeded by --seed, so the same seed gives the same weights. The state
 * is two integers, saved in checkpoints. */
#ifndef ONNXTRAIN_RNG_H
#define ONNXTRAIN_RNG_H

#include <stdint.h>

#include "onnxtrain/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ot_rng {
    uint64_t state;
    uint64_t increment;
} ot_rng;

OT_API void ot_rng_seed(ot_rng *rng, uint64_t seed);
OT_API uint32_t ot_rng_u32(ot_rng *rng);
/* Uniform in [0, 1) with 24 random bits (exactly representable floats). */
OT_API float ot_rng_uniform(ot_rng *rng);
/* Uniform integer in [0, n). */
OT_API uint32_t ot_rng_below(ot_rng *rng, uint32_t n);
/* Standard normal (Box-Muller, double precision inside). */
OT_API double ot_rng_normal(ot_rng *rng);
/* Standard normal redrawn until |x| <= 2 (TensorFlow's truncated_normal). */
OT_API double ot_rng_truncated_normal(ot_rng *rng);
/* Fisher-Yates shuffle of n ints. */
OT_API void ot_rng_shuffle(ot_rng *rng, int64_t *items, int64_t n);

#ifdef __cplusplus
}
#endif
#endif
