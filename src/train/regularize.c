/* L1/L2 penalties, gradient clipping and the max-norm constraint over the parameter block. */
#include <math.h>

#include "parameters.h"

void oti_add_l1_l2(float *grads, const float *params, int64_t n, float l1, float l2) {
    /* d/dw (l1 |w| + l2 w^2) = l1 sign(w) + 2 l2 w; sign(0) = 0 as in torch.sign. */
    for (int64_t i = 0; i < n; i++) {
        float w = params[i];
        float sign = (float)((w > 0.0f) - (w < 0.0f));
        grads[i] += l1 * sign + 2.0f * l2 * w;
    }
}

void oti_clip_by_value(float *grads, int64_t n, float limit) {
    for (int64_t i = 0; i < n; i++) grads[i] = fminf(fmaxf(grads[i], -limit), limit);
}

double oti_clip_by_norm(float *grads, int64_t n, double max_norm) {
    double sum = 0;
    for (int64_t i = 0; i < n; i++) sum += (double)grads[i] * grads[i];
    double norm = sqrt(sum);
    /* PyTorch: coefficient max_norm / (norm + 1e-6), applied only when below 1. */
    double coefficient = max_norm / (norm + 1e-6);
    if (coefficient < 1.0) {
        float c = (float)coefficient;
        for (int64_t i = 0; i < n; i++) grads[i] *= c;
    }
    return norm;
}

void oti_apply_max_norm(ot_parameters *p, double r) {
    for (int i = 0; i < p->count; i++) {
        float *w = p->block + p->offsets[i];
        for (int64_t u = 0; u < p->units[i]; u++) {
            float *unit = w + u * p->unit_stride[i];
            double sum = 0;
            for (int64_t k = 0; k < p->unit_len[i]; k++) {
                double v = unit[k * p->elem_stride[i]];
                sum += v * v;
            }
            double norm = sqrt(sum);
            if (norm <= r) continue;
            float scale = (float)(r / (norm + 1e-7));
            for (int64_t k = 0; k < p->unit_len[i]; k++) unit[k * p->elem_stride[i]] *= scale;
        }
    }
}
