/* Losses on the model output (batch, width) and their gradients, as PyTorch defines them:
 * cross_entropy (mean over the labels not ignored, class axis last, label smoothing),
 * mse_loss and binary_cross_entropy_with_logits (mean over all elements). */
#include <math.h>
#include <string.h>

#include "onnxtrain/train.h"

int ot_loss_kind_from_name(const char *name, ot_loss_kind *kind) {
    if (!strcmp(name, "softmax-ce")) *kind = OT_LOSS_SOFTMAX_CE;
    else if (!strcmp(name, "mse")) *kind = OT_LOSS_MSE;
    else if (!strcmp(name, "bce")) *kind = OT_LOSS_BCE;
    else if (!strcmp(name, "output")) *kind = OT_LOSS_OUTPUT;
    else return 0;
    return 1;
}

const char *ot_loss_name(ot_loss_kind kind) {
    switch (kind) {
    case OT_LOSS_SOFTMAX_CE: return "softmax-ce";
    case OT_LOSS_MSE: return "mse";
    case OT_LOSS_BCE: return "bce";
    case OT_LOSS_OUTPUT: return "output";
    }
    return "?";
}

ot_loss ot_loss_of_kind(ot_loss_kind kind) {
    return (ot_loss){.kind = kind, .ignore_index = -100, .label_smoothing = 0};
}

static int64_t label_size_of(const ot_loss_truth *truth) {
    return truth->label_size > 0 ? truth->label_size : 1;
}

/* The truth for element j of row i: a target value, a label's value, or the one-hot/label
 * encoding. */
static float truth_at(const ot_loss_truth *truth, int64_t i, int64_t j, int64_t width) {
    if (truth->targets) return truth->targets[i * width + j];
    if (label_size_of(truth) == width && width > 1) return (float)truth->labels[i * width + j];
    if (width == 1) return (float)truth->labels[i];
    return truth->labels[i] == j ? 1.0f : 0.0f;
}

int64_t ot_loss_items(const ot_loss *loss, int64_t batch, int64_t width, const ot_loss_truth *truth) {
    if (loss->kind == OT_LOSS_OUTPUT) return batch;
    if (loss->kind != OT_LOSS_SOFTMAX_CE) return batch * width;
    int64_t rows = batch * label_size_of(truth), items = 0;
    for (int64_t r = 0; r < rows; r++) items += truth->labels[r] != loss->ignore_index;
    return items;
}

/* One label's logits: `classes` values from `at`, `stride` apart. */
typedef struct logit_row {
    const float *x;
    float *g;
    int64_t stride;
} logit_row;

/* Row r of batch * label_size rows: logits (batch, label_size, C) with the class axis last,
 * or (batch, C, label_size) with the class axis first (class_inner > 1, PyTorch's layout for
 * segmentation). */
static logit_row row_at(const float *logits, float *grad, int64_t r, int64_t classes, const ot_loss_truth *truth) {
    int64_t inner = truth->class_inner > 1 ? truth->class_inner : 1;
    int64_t at = inner > 1 ? (r / inner) * classes * inner + r % inner : r * classes;
    return (logit_row){logits + at, grad ? grad + at : NULL, inner};
}

/* Rows of `classes` logits (batch * label_size of them), one label each. */
static double softmax_cross_entropy(const ot_loss *loss, float *grad, double divisor, const float *logits,
                                    int64_t batch, int64_t width, const ot_loss_truth *truth,
                                    ot_loss_tally *tally) {
    int64_t rows = batch * label_size_of(truth), classes = width / label_size_of(truth);
    double s = loss->label_smoothing, total = 0;
    int64_t items = ot_loss_items(loss, batch, width, truth), correct = 0;
    if (divisor <= 0) divisor = (double)items;
    for (int64_t r = 0; r < rows; r++) {
        logit_row row = row_at(logits, grad, r, classes, truth);
        const float *x = row.x;
        int64_t st = row.stride;
        int64_t label = truth->labels[r];
        if (label == loss->ignore_index) {
            for (int64_t j = 0; row.g && j < classes; j++) row.g[j * st] = 0.0f;
            continue;
        }
        int64_t argmax = 0;
        for (int64_t j = 1; j < classes; j++)
            if (x[j * st] > x[argmax * st]) argmax = j;
        float max = x[argmax * st];
        double sum = 0, mean = 0;
        for (int64_t j = 0; j < classes; j++) sum += exp((double)x[j * st] - max);
        double log_sum = log(sum) + max;
        if (s > 0) {
            for (int64_t j = 0; j < classes; j++) mean += x[j * st];
            mean /= (double)classes;
            /* -(1 - s) log p_y - s mean_j log p_j */
            total += log_sum - (1 - s) * x[label * st] - s * mean;
        } else {
            total += log_sum - x[label * st];
        }
        correct += argmax == label;
        if (!row.g) continue;
        for (int64_t j = 0; j < classes; j++) {
            double p = exp((double)x[j * st] - log_sum);
            double want = s > 0 ? (1 - s) * (j == label) + s / (double)classes : (double)(j == label);
            row.g[j * st] = (float)((p - want) / divisor);
        }
    }
    if (tally) {
        tally->sum += total;
        tally->items += items;
        tally->correct += correct;
        tally->scored += items;
    }
    return items ? total / (double)items : 0.0;
}

static double mean_squared_error(float *grad, double divisor, const float *y, int64_t batch, int64_t width,
                                 const ot_loss_truth *truth, ot_loss_tally *tally) {
    double total = 0, count = (double)batch * width;
    if (divisor <= 0) divisor = count;
    int64_t correct = 0;
    for (int64_t i = 0; i < batch; i++) {
        int64_t argmax = 0;
        for (int64_t j = 0; j < width; j++) {
            double diff = (double)y[i * width + j] - truth_at(truth, i, j, width);
            total += diff * diff;
            if (grad) grad[i * width + j] = (float)(2.0 * diff / divisor);
            if (y[i * width + j] > y[i * width + argmax]) argmax = j;
        }
        if (truth->labels && label_size_of(truth) == 1)
            correct += width > 1 ? argmax == truth->labels[i] : lround(y[i]) == truth->labels[i];
    }
    if (tally) {
        tally->sum += total;
        tally->items += batch * width;
        tally->correct += correct;
        tally->scored += batch;
    }
    return total / count;
}

static double binary_cross_entropy(float *grad, double divisor, const float *x, int64_t batch, int64_t width,
                                   const ot_loss_truth *truth, ot_loss_tally *tally) {
    double total = 0, count = (double)batch * width;
    if (divisor <= 0) divisor = count;
    int64_t correct = 0;
    for (int64_t i = 0; i < batch; i++) {
        int all_right = 1;
        for (int64_t j = 0; j < width; j++) {
            double v = x[i * width + j], t = truth_at(truth, i, j, width);
            /* max(v, 0) - v t + log(1 + e^-|v|): stable for large |v|. */
            total += fmax(v, 0.0) - v * t + log1p(exp(-fabs(v)));
            if (grad) grad[i * width + j] = (float)((1.0 / (1.0 + exp(-v)) - t) / divisor);
            all_right &= (v > 0) == (t > 0.5);
        }
        correct += all_right;
    }
    if (tally) {
        tally->sum += total;
        tally->items += batch * width;
        tally->correct += correct;
        tally->scored += batch;
    }
    return total / count;
}

/* The model's own loss: output[0] is the batch's mean loss, so the batch counts as `batch`
 * items of that loss, and its gradient is batch / divisor (1 for a step of one batch). */
static double model_output_loss(float *grad, double divisor, const float *output, int64_t batch, ot_loss_tally *tally) {
    if (divisor <= 0) divisor = (double)batch;
    if (grad) grad[0] = (float)((double)batch / divisor);
    if (tally) {
        tally->sum += (double)output[0] * (double)batch;
        tally->items += batch;
    }
    return output[0];
}

double ot_loss_compute(const ot_loss *loss, float *grad, double divisor, const float *output,
                       int64_t batch, int64_t width, const ot_loss_truth *truth, ot_loss_tally *tally) {
    switch (loss->kind) {
    case OT_LOSS_SOFTMAX_CE: return softmax_cross_entropy(loss, grad, divisor, output, batch, width, truth, tally);
    case OT_LOSS_MSE: return mean_squared_error(grad, divisor, output, batch, width, truth, tally);
    case OT_LOSS_BCE: return binary_cross_entropy(grad, divisor, output, batch, width, truth, tally);
    case OT_LOSS_OUTPUT: return model_output_loss(grad, divisor, output, batch, tally);
    }
    return NAN;
}
