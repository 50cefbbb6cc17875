/* Losses on the model output (batch, width) and their gradients, as PyTorch defines them:
 * cross_entropy (mean over the batch), mse_loss and binary_cross_entropy_with_logits (mean
 * over all elements). */
#include <math.h>
#include <string.h>

#include "onnxtrain/train.h"

int ot_loss_kind_from_name(const char *name, ot_loss_kind *kind) {
    if (!strcmp(name, "softmax-ce")) *kind = OT_LOSS_SOFTMAX_CE;
    else if (!strcmp(name, "mse")) *kind = OT_LOSS_MSE;
    else if (!strcmp(name, "bce")) *kind = OT_LOSS_BCE;
    else return 0;
    return 1;
}

const char *ot_loss_name(ot_loss_kind kind) {
    switch (kind) {
    case OT_LOSS_SOFTMAX_CE: return "softmax-ce";
    case OT_LOSS_MSE: return "mse";
    case OT_LOSS_BCE: return "bce";
    }
    return "?";
}

/* The truth for element j of row i: a target value, or the one-hot/label encoding. */
static float truth(const int64_t *labels, const float *targets, int64_t i, int64_t j, int64_t width) {
    if (targets) return targets[i * width + j];
    if (width == 1) return (float)labels[i];
    return labels[i] == j ? 1.0f : 0.0f;
}

static double softmax_cross_entropy(float *grad, const float *logits, int64_t batch, int64_t width,
                                    const int64_t *labels, int64_t *correct) {
    double total = 0;
    for (int64_t i = 0; i < batch; i++) {
        const float *x = logits + i * width;
        int64_t argmax = 0;
        for (int64_t j = 1; j < width; j++)
            if (x[j] > x[argmax]) argmax = j;
        float max = x[argmax];
        double sum = 0;
        for (int64_t j = 0; j < width; j++) sum += exp((double)x[j] - max);
        double log_sum = log(sum) + max;
        total += log_sum - x[labels[i]];
        *correct += argmax == labels[i];
        if (!grad) continue;
        for (int64_t j = 0; j < width; j++) {
            double p = exp((double)x[j] - log_sum);
            grad[i * width + j] = (float)((p - (j == labels[i])) / batch);
        }
    }
    return total / batch;
}

static double mean_squared_error(float *grad, const float *y, int64_t batch, int64_t width,
                                 const int64_t *labels, const float *targets, int64_t *correct) {
    double total = 0, count = (double)batch * width;
    for (int64_t i = 0; i < batch; i++) {
        int64_t argmax = 0;
        for (int64_t j = 0; j < width; j++) {
            double diff = (double)y[i * width + j] - truth(labels, targets, i, j, width);
            total += diff * diff;
            if (grad) grad[i * width + j] = (float)(2.0 * diff / count);
            if (y[i * width + j] > y[i * width + argmax]) argmax = j;
        }
        if (labels) *correct += width > 1 ? argmax == labels[i] : lround(y[i]) == labels[i];
    }
    return total / count;
}

static double binary_cross_entropy(float *grad, const float *x, int64_t batch, int64_t width,
                                   const int64_t *labels, const float *targets, int64_t *correct) {
    double total = 0, count = (double)batch * width;
    for (int64_t i = 0; i < batch; i++) {
        int all_right = 1;
        for (int64_t j = 0; j < width; j++) {
            double v = x[i * width + j], t = truth(labels, targets, i, j, width);
            /* max(v, 0) - v t + log(1 + e^-|v|): stable for large |v|. */
            total += fmax(v, 0.0) - v * t + log1p(exp(-fabs(v)));
            if (grad) grad[i * width + j] = (float)((1.0 / (1.0 + exp(-v)) - t) / count);
            all_right &= (v > 0) == (t > 0.5);
        }
        *correct += all_right;
    }
    return total / count;
}

double ot_loss_compute(ot_loss_kind kind, float *grad, const float *output, int64_t batch,
                       int64_t width, const int64_t *labels, const float *targets,
                       int64_t *correct) {
    switch (kind) {
    case OT_LOSS_SOFTMAX_CE: return softmax_cross_entropy(grad, output, batch, width, labels, correct);
    case OT_LOSS_MSE: return mean_squared_error(grad, output, batch, width, labels, targets, correct);
    case OT_LOSS_BCE: return binary_cross_entropy(grad, output, batch, width, labels, targets, correct);
    }
    return NAN;
}
