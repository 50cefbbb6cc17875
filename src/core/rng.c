/* PCG32 (O'Neill, pcg-random.org): 64-bit LCG state, xorshift-rotate output. */
#include "onnxtrain/rng.h"

#include <math.h>

void ot_rng_seed(ot_rng *rng, uint64_t seed) {
    rng->state = 0;
    rng->increment = (seed << 1u) | 1u;
    ot_rng_u32(rng);
    rng->state += 0x853c49e6748fea9bull ^ seed;
    ot_rng_u32(rng);
}

uint32_t ot_rng_u32(ot_rng *rng) {
    uint64_t old = rng->state;
    rng->state = old * 6364136223846793005ull + rng->increment;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

float ot_rng_uniform(ot_rng *rng) { return (float)(ot_rng_u32(rng) >> 8) * (1.0f / 16777216.0f); }

uint32_t ot_rng_below(ot_rng *rng, uint32_t n) {
    /* Lemire-free rejection: unbiased and simple. */
    uint32_t threshold = (uint32_t)(-n) % n;
    for (;;) {
        uint32_t r = ot_rng_u32(rng);
        if (r >= threshold) return r % n;
    }
}

double ot_rng_normal(ot_rng *rng) {
    double u1 = ((ot_rng_u32(rng) >> 5) * 67108864.0 + (ot_rng_u32(rng) >> 6) + 1.0) / 9007199254740993.0;
    double u2 = ((ot_rng_u32(rng) >> 5) * 67108864.0 + (ot_rng_u32(rng) >> 6)) / 9007199254740992.0;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

double ot_rng_truncated_normal(ot_rng *rng) {
    for (;;) {
        double x = ot_rng_normal(rng);
        if (fabs(x) <= 2.0) return x;
    }
}

void ot_rng_shuffle(ot_rng *rng, int64_t *items, int64_t n) {
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)ot_rng_below(rng, (uint32_t)(i + 1));
        int64_t t = items[i];
        items[i] = items[j];
        items[j] = t;
    }
}
