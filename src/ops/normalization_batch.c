/* BatchNormalization's per-feature passes over x (N, F, S): the batch statistics' sums, the
 * backward's sums and dX. Features are spread over the compute threads, each summed whole by
 * one thread over 4 interleaved double lanes (the loops vectorise; the lanes' order is fixed),
 * so the results do not depend on the thread count. */
#include "normalization_internal.h"

typedef struct feature_job {
    const oti_bn_view *v;
    double *sums;
    const float *x, *dy, *scale, *mean_f, *rstd;
    const double *mean;
    float *dx;
    double count;
    int batch;
} feature_job;

/* sum over n planes of one feature of x, or of (x - m)^2 when squares. */
static double plane_sum(const float *x, const oti_bn_view *v, int64_t f, int squares, double m) {
    double lanes[4] = {0.0, 0.0, 0.0, 0.0}, rest = 0.0;
    for (int64_t i = 0; i < v->n; i++) {
        const float *row = x + (i * v->features + f) * v->spatial;
        int64_t s = 0;
        if (squares) {
            for (; s + 4 <= v->spatial; s += 4)
                for (int k = 0; k < 4; k++) lanes[k] += (row[s + k] - m) * (row[s + k] - m);
            for (; s < v->spatial; s++) rest += (row[s] - m) * (row[s] - m);
        } else {
            for (; s + 4 <= v->spatial; s += 4)
                for (int k = 0; k < 4; k++) lanes[k] += row[s + k];
            for (; s < v->spatial; s++) rest += row[s];
        }
    }
    return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + rest;
}

static void feature_sum_items(int64_t begin, int64_t end, int part, void *arg) {
    (void)part;
    const feature_job *j = arg;
    for (int64_t f = begin; f < end; f++)
        j->sums[f] = plane_sum(j->x, j->v, f, j->mean != NULL, j->mean ? j->mean[f] : 0.0);
}

void oti_bn_feature_sums(ot_pool *pool, double *sums, const float *x, const double *mean, const oti_bn_view *v) {
    feature_job j = {.v = v, .sums = sums, .x = x, .mean = mean};
    oti_parallel_ranges(pool, v->features, 1, feature_sum_items, &j);
}

static void gradient_sum_items(int64_t begin, int64_t end, int part, void *arg) {
    (void)part;
    const feature_job *j = arg;
    const oti_bn_view *v = j->v;
    for (int64_t f = begin; f < end; f++) {
        double dy_lanes[4] = {0.0, 0.0, 0.0, 0.0}, xhat_lanes[4] = {0.0, 0.0, 0.0, 0.0};
        double dy_rest = 0.0, xhat_rest = 0.0;
        float m = j->mean_f[f], r = j->rstd[f];
        for (int64_t i = 0; i < v->n; i++) {
            int64_t base = (i * v->features + f) * v->spatial, s = 0;
            const float *x = j->x + base, *dy = j->dy + base;
            for (; s + 4 <= v->spatial; s += 4)
                for (int k = 0; k < 4; k++) {
                    dy_lanes[k] += dy[s + k];
                    xhat_lanes[k] += (double)dy[s + k] * ((x[s + k] - m) * r);
                }
            for (; s < v->spatial; s++) {
                dy_rest += dy[s];
                xhat_rest += (double)dy[s] * ((x[s] - m) * r);
            }
        }
        j->sums[f] = (dy_lanes[0] + dy_lanes[1]) + (dy_lanes[2] + dy_lanes[3]) + dy_rest;
        j->sums[v->features + f] = (xhat_lanes[0] + xhat_lanes[1]) + (xhat_lanes[2] + xhat_lanes[3]) + xhat_rest;
    }
}

void oti_bn_gradient_sums(ot_pool *pool, double *sums, const float *x, const float *dy, const float *mean,
                          const float *rstd, const oti_bn_view *v) {
    feature_job j = {.v = v, .sums = sums, .x = x, .dy = dy, .mean_f = mean, .rstd = rstd};
    oti_parallel_ranges(pool, v->features, 1, gradient_sum_items, &j);
}

static void input_gradient_items(int64_t begin, int64_t end, int part, void *arg) {
    (void)part;
    const feature_job *j = arg;
    const oti_bn_view *v = j->v;
    for (int64_t f = begin; f < end; f++) {
        float k = j->scale[f] * j->rstd[f], m = j->mean_f[f], r = j->rstd[f];
        float mean_dy = j->batch ? (float)(j->sums[f] / j->count) : 0.0f;
        float mean_dy_xhat = j->batch ? (float)(j->sums[v->features + f] / j->count) : 0.0f;
        for (int64_t i = 0; i < v->n; i++) {
            int64_t base = (i * v->features + f) * v->spatial;
            const float *x = j->x + base, *dy = j->dy + base;
            float *dx = j->dx + base;
            for (int64_t s = 0; s < v->spatial; s++) {
                float xhat = (x[s] - m) * r;
                dx[s] += k * (dy[s] - mean_dy - xhat * mean_dy_xhat);
            }
        }
    }
}

void oti_bn_input_gradient(ot_pool *pool, float *dx, const float *x, const float *dy, const float *scale,
                           const float *mean, const float *rstd, const double *sums, double count, int batch,
                           const oti_bn_view *v) {
    feature_job j = {.v = v, .sums = (double *)sums, .x = x, .dy = dy, .scale = scale, .mean_f = mean,
                     .rstd = rstd, .dx = dx, .count = count, .batch = batch};
    oti_parallel_ranges(pool, v->features, 1, input_gradient_items, &j);
}
