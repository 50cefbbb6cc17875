/* Normalization ops: BatchNormalization, LayerNormalization, LRN, forward and backward.
 *
 * BatchNormalization (opsets 1-15+): y = scale * (x - mean) / sqrt(var + epsilon) + bias per
 * channel, with batch statistics in training plans (and for training_mode=1 nodes) and the
 * running statistics (inputs 3 and 4) otherwise. X is viewed as (N, F, S): F = C features with
 * S = product of the spatial dims, or, for opset < 9 `spatial=0`, F = C * S per-activation
 * features with S = 1. Training plans update the running statistics in place as PyTorch does
 * (unbiased batch variance); the optional outputs follow the ONNX reference (biased batch
 * variance). c->saved holds mean and inverse std per feature, (2, F), for backward.
 *
 * LayerNormalization (opset 17): statistics over the dims from `axis` on, scale and bias
 * broadcast to those dims. InstanceNormalization and GroupNormalization (opset 18): statistics
 * per (sample, channel group), scale and bias per group. LRN: cross-channel normalisation over a window of `size`
 * channels. */
#include <math.h>
#include <string.h>

#include "core/util.h"
#include "gemm.h"
#include "normalization_internal.h"
#include "op.h"
#include "vec.h"

/* BatchNormalization ------------------------------------------------------------------------ */

typedef struct batchnorm_params {
    float epsilon, momentum;
    int spatial;       /* opset < 9; 0: statistics per activation, not per channel */
    int training_mode; /* opset >= 14 attribute: always use batch statistics */
    int new_outputs;   /* opset >= 14: outputs Y, running_mean, running_var */
} batchnorm_params;

/* (N, F, S) view of X. */
typedef oti_bn_view batchnorm_view;

static ot_status batchnorm_parse(const ot_layer *l, void *params) {
    batchnorm_params *p = params;
    memset(p, 0, sizeof *p);
    OT_TRY(oti_attr_get_float(l, "epsilon", 1e-5f, &p->epsilon));
    OT_TRY(oti_attr_get_float(l, "momentum", 0.9f, &p->momentum));
    if (!(p->epsilon >= 0.0f))
        return oti_node_fail(l, OT_ERR_INVALID, "epsilon is %g; it must be >= 0", p->epsilon);
    if (!isfinite(p->momentum))
        return oti_node_fail(l, OT_ERR_INVALID, "momentum is %g; it must be finite", p->momentum);
    int64_t v = 1;
    if (l->opset < 9) OT_TRY(oti_attr_get_int(l, "spatial", 1, &v));
    p->spatial = v != 0;
    v = 0;
    if (l->opset >= 14) OT_TRY(oti_attr_get_int(l, "training_mode", 0, &v));
    if (v != 0 && v != 1)
        return oti_node_fail(l, OT_ERR_INVALID, "training_mode must be 0 or 1, not %lld", (long long)v);
    p->training_mode = (int)v;
    p->new_outputs = l->opset >= 14;
    return OT_OK;
}

static batchnorm_view view_of(const batchnorm_params *p, const ot_tensor *x) {
    batchnorm_view v = {x->dims[0], x->dims[1], ot_dims_numel(x->ndim - 2, x->dims + 2)};
    if (!p->spatial) {
        v.features *= v.spatial;
        v.spatial = 1;
    }
    return v;
}

/* Whether this node normalises with batch statistics in this plan. */
static int uses_batch_statistics(const ot_node_ctx *c) {
    const batchnorm_params *p = c->params;
    return c->training || p->training_mode;
}

static ot_status batchnorm_infer(ot_node_ctx *c) {
    const batchnorm_params *p = c->params;
    static const char *const names[5] = {"X", "scale", "B", "mean", "var"};
    OT_NODE_CHECK(c, c->n_in == 5, "needs 5 inputs (X, scale, B, mean, var), got %d", c->n_in);
    for (int k = 0; k < 5; k++) {
        OT_NODE_CHECK(c, c->in[k] != NULL, "input %s is missing", names[k]);
        OT_NODE_CHECK(c, c->in[k]->dtype == OT_FLOAT, "input %s must be float32, not %s", names[k],
                      ot_dtype_name(c->in[k]->dtype));
    }
    const ot_tensor *x = c->in[0];
    OT_NODE_CHECK(c, x->ndim >= 2, "X must be (N, C, ...), rank >= 2, not rank %d", x->ndim);
    batchnorm_view v = view_of(p, x);
    for (int k = 1; k < 5; k++) {
        char shape[96];
        OT_NODE_CHECK(c, ot_tensor_numel(c->in[k]) == v.features,
                      "%s has shape %s; it needs %lld values (%s)", names[k],
                      ot_shape_string(c->in[k]->ndim, c->in[k]->dims, shape, sizeof shape),
                      (long long)v.features, p->spatial ? "one per channel" : "C x spatial, spatial=0");
    }
    ot_tensor_set_shape(c->out[0], OT_FLOAT, x->ndim, x->dims);
    int max_outputs = p->new_outputs ? 3 : 5;
    OT_NODE_CHECK(c, c->n_out <= max_outputs, "has %d outputs; at most %d in opset %d", c->n_out,
                  max_outputs, c->layer->opset);
    for (int k = 1; k < c->n_out; k++)
        if (c->out[k]) ot_tensor_set_shape(c->out[k], OT_FLOAT, c->in[3]->ndim, c->in[3]->dims);
    /* saved: mean (F), rstd (F) floats, then the values per feature (a double: the global
     * batch's when synchronised); workspace: 2F + 1 doubles of per-feature sums. */
    c->saved_bytes = 2 * sizeof(float) * (size_t)v.features + sizeof(double);
    c->workspace_bytes = sizeof(double) * (size_t)(2 * v.features + 1);
    return OT_OK;
}

/* mean (F), var (F) biased, of x (N, F, S) over N and S - and over every process's batch with
 * a cross sum - in two passes (sum, then squares about the mean), double accumulation.
 * *count: values per feature. scratch: 2F + 1 doubles. */
static ot_status batch_moments(ot_pool *pool, float *mean, float *var, double *count, double *scratch,
                               const float *x, const batchnorm_view *v, const ot_cross_sum *cross) {
    int64_t features = v->features;
    double *means = scratch, *squares = scratch + features + 1;
    oti_bn_feature_sums(pool, means, x, NULL, v);
    means[features] = (double)(v->n * v->spatial);
    if (cross) OT_TRY(cross->sum(cross->user, means, features + 1));
    *count = means[features];
    for (int64_t f = 0; f < features; f++) means[f] = *count > 0 ? means[f] / *count : 0.0;
    oti_bn_feature_sums(pool, squares, x, means, v);
    if (cross) OT_TRY(cross->sum(cross->user, squares, features));
    for (int64_t f = 0; f < features; f++) {
        mean[f] = (float)means[f];
        var[f] = *count > 0 ? (float)(squares[f] / *count) : 0.0f;
    }
    return OT_OK;
}

/* y (N, F, S) = scale * (x - mean) * rstd + bias, per feature. */
typedef struct batchnorm_apply_job {
    float *y;
    const float *x, *scale, *bias, *mean, *rstd;
    const batchnorm_view *v;
} batchnorm_apply_job;

/* Planes [begin, end) of the (N * F) planes of `spatial` values each. */
static void batchnorm_apply_planes(int64_t begin, int64_t end, int part, void *arg) {
    (void)part;
    const batchnorm_apply_job *j = arg;
    int64_t features = j->v->features, spatial = j->v->spatial;
    for (int64_t plane = begin; plane < end; plane++) {
        int64_t f = plane % features, base = plane * spatial;
        float a = j->scale[f] * j->rstd[f], b = j->bias[f] - j->mean[f] * a;
        for (int64_t s = 0; s < spatial; s++) j->y[base + s] = j->x[base + s] * a + b;
    }
}

static void batchnorm_apply(ot_pool *pool, float *y, const float *x, const float *scale, const float *bias,
                            const float *mean, const float *rstd, const batchnorm_view *v) {
    batchnorm_apply_job job = {y, x, scale, bias, mean, rstd, v};
    /* Parts of at least ~16K values: fewer are not worth waking a thread. */
    int64_t grain = v->spatial > 0 ? OT_MAX(1, 16384 / v->spatial) : 1;
    oti_parallel_ranges(pool, v->n * v->features, grain, batchnorm_apply_planes, &job);
}

static void copy_output(ot_node_ctx *c, int k, const float *values, int64_t n) {
    if (k < c->n_out && c->out[k]) memcpy(c->out[k]->data, values, sizeof(float) * (size_t)n);
}

/* Optional outputs after batch statistics: running stats blended as the ONNX reference does
 * (momentum * running + (1 - momentum) * batch, biased variance); opset < 14 also has the
 * batch mean and variance. */
static void write_batch_outputs(ot_node_ctx *c, const float *mean, const float *var, int64_t features) {
    const batchnorm_params *p = c->params;
    const float *running_mean = c->in[3]->data, *running_var = c->in[4]->data;
    float m = p->momentum;
    for (int k = 1; k <= 2; k++) {
        if (k >= c->n_out || !c->out[k]) continue;
        float *out = c->out[k]->data;
        const float *running = k == 1 ? running_mean : running_var, *batch = k == 1 ? mean : var;
        for (int64_t f = 0; f < features; f++) out[f] = m * running[f] + (1.0f - m) * batch[f];
    }
    copy_output(c, 3, mean, features);
    copy_output(c, 4, var, features);
}

/* Training plans: running statistics (inputs 3, 4) updated in place as torch does,
 * r = momentum * r + (1 - momentum) * batch, with the unbiased batch variance. */
static void update_running_statistics(ot_node_ctx *c, const float *mean, const float *var, double count,
                                      int64_t features) {
    const batchnorm_params *p = c->params;
    float *running_mean = c->in[3]->data, *running_var = c->in[4]->data;
    /* With one value per feature the unbiased variance is undefined; keep the biased 0. */
    float unbias = count > 1 ? (float)count / (float)(count - 1) : 1.0f;
    float m = p->momentum;
    for (int64_t f = 0; f < features; f++) {
        running_mean[f] = m * running_mean[f] + (1.0f - m) * mean[f];
        running_var[f] = m * running_var[f] + (1.0f - m) * var[f] * unbias;
    }
}

static ot_status batchnorm_forward(ot_node_ctx *c) {
    const batchnorm_params *p = c->params;
    batchnorm_view v = view_of(p, c->in[0]);
    const float *x = c->in[0]->data, *scale = c->in[1]->data, *bias = c->in[2]->data;
    float *mean = c->saved, *rstd = mean + v.features; /* (F) each; rstd holds var first */
    double *count = (double *)(rstd + v.features);
    if (uses_batch_statistics(c)) {
        OT_TRY(batch_moments(c->pool, mean, rstd, count, c->workspace, x, &v, c->cross_sum));
        write_batch_outputs(c, mean, rstd, v.features);
        if (c->training) update_running_statistics(c, mean, rstd, *count, v.features);
    } else {
        *count = 0; /* unused: backward with fixed statistics needs no count */
        memcpy(mean, c->in[3]->data, sizeof(float) * (size_t)v.features);
        memcpy(rstd, c->in[4]->data, sizeof(float) * (size_t)v.features);
        for (int k = 1; k <= 4; k++) copy_output(c, k, k % 2 ? mean : rstd, v.features);
    }
    for (int64_t f = 0; f < v.features; f++) rstd[f] = 1.0f / sqrtf(rstd[f] + p->epsilon);
    batchnorm_apply(c->pool, c->out[0]->data, x, scale, bias, mean, rstd, &v);
    return OT_OK;
}

/* Backward. With batch statistics (M values per feature in the batch - every process's,
 * synchronised - xhat = (x - mean) * rstd):
 *   dbias = sum dy, dscale = sum dy * xhat (this process's rows: the trainer sums gradients),
 *   dx = scale * rstd * (dy - sum dy / M - xhat * sum dy * xhat / M) (the batch's sums).
 * With fixed statistics: dx = scale * rstd * dy, same dscale and dbias. */
static ot_status batchnorm_backward(ot_node_ctx *c) {
    const batchnorm_params *p = c->params;
    if (!c->dout[0]) return OT_OK;
    batchnorm_view v = view_of(p, c->in[0]);
    const float *x = c->in[0]->data, *scale = c->in[1]->data, *dy = c->dout[0]->data;
    const float *mean = c->saved, *rstd = mean + v.features;
    double count = *(const double *)(rstd + v.features);
    float *dx = c->din[0] ? c->din[0]->data : NULL;
    float *dscale = c->din[1] ? c->din[1]->data : NULL;
    float *dbias = c->din[2] ? c->din[2]->data : NULL;
    int batch = uses_batch_statistics(c);
    double *sums = c->workspace; /* (2F): sum dy, sum dy * xhat */
    oti_bn_gradient_sums(c->pool, sums, x, dy, mean, rstd, &v);
    for (int64_t f = 0; f < v.features; f++) {
        if (dbias) dbias[f] += (float)sums[f];
        if (dscale) dscale[f] += (float)sums[v.features + f];
    }
    if (!dx) return OT_OK;
    if (batch && c->cross_sum) OT_TRY(c->cross_sum->sum(c->cross_sum->user, sums, 2 * v.features));
    oti_bn_input_gradient(c->pool, dx, x, dy, scale, mean, rstd, sums, count, batch, &v);
    return OT_OK;
}

/* LayerNormalization ------------------------------------------------------------------------ */

typedef struct layernorm_params {
    int64_t axis;
    float epsilon;
} layernorm_params;

/* X viewed as (rows, D): rows = product of the dims before axis, D = product of the rest. */
typedef struct layernorm_view {
    int axis;
    int64_t rows, d;
} layernorm_view;

/* Mean and inverse std (biased variance, in double) of a row of d values; sums over 4 lanes
 * so the loops vectorise (vec.h). */
static void row_moments(float *mean, float *rstd, const float *x, int64_t d, float epsilon) {
    double m = ot_sum_floats(x, d, 0) / (double)d, lanes[4] = {0, 0, 0, 0}, squares = 0;
    int64_t j = 0;
    for (; j + 4 <= d; j += 4)
        for (int k = 0; k < 4; k++) lanes[k] += (x[j + k] - m) * (x[j + k] - m);
    for (; j < d; j++) squares += (x[j] - m) * (x[j] - m);
    squares += (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
    *mean = (float)m;
    *rstd = (float)(1.0 / sqrt(squares / (double)d + epsilon));
}

/* The epsilon attribute (default 1e-5), checked to be >= 0. */
static ot_status parse_epsilon(const ot_layer *l, float *epsilon) {
    OT_TRY(oti_attr_get_float(l, "epsilon", 1e-5f, epsilon));
    if (!(*epsilon >= 0.0f))
        return oti_node_fail(l, OT_ERR_INVALID, "epsilon is %g; it must be >= 0", *epsilon);
    return OT_OK;
}

static ot_status layernorm_parse(const ot_layer *l, void *params) {
    layernorm_params *p = params;
    int64_t stash_type;
    OT_TRY(oti_attr_get_int(l, "axis", -1, &p->axis));
    /* Statistics are accumulated in double and stored as float whatever stash_type says
     * (1 = float32 is the only type the engine computes). */
    OT_TRY(oti_attr_get_int(l, "stash_type", 1, &stash_type));
    return parse_epsilon(l, &p->epsilon);
}

static layernorm_view layernorm_view_of(const ot_node_ctx *c) {
    const layernorm_params *p = c->params;
    const ot_tensor *x = c->in[0];
    layernorm_view v;
    v.axis = oti_normalize_axis(p->axis, x->ndim);
    v.rows = ot_dims_numel(v.axis, x->dims);
    v.d = ot_dims_numel(x->ndim - v.axis, x->dims + v.axis);
    return v;
}

/* Scale and bias must broadcast (numpy rules, one way) to the normalised dims X[axis:]; dims
 * beyond those may only be 1 (the result keeps X's shape). */
static ot_status check_trailing_broadcast(const ot_node_ctx *c, const ot_tensor *t, const char *what,
                                          int axis) {
    const ot_tensor *x = c->in[0];
    char a[96], b[96];
    int norm_ndim = x->ndim - axis, ok = 1;
    for (int d = 0; ok && d < t->ndim; d++) {
        int64_t td = t->dims[t->ndim - 1 - d];
        ok = d < norm_ndim ? td == x->dims[x->ndim - 1 - d] || td == 1 : td == 1;
    }
    OT_NODE_CHECK(c, ok, "%s has shape %s, which does not broadcast to the normalised dims %s of X",
                  what, ot_shape_string(t->ndim, t->dims, a, sizeof a),
                  ot_shape_string(norm_ndim, x->dims + axis, b, sizeof b));
    OT_NODE_CHECK(c, t->dtype == OT_FLOAT, "%s must be float32, not %s", what, ot_dtype_name(t->dtype));
    return OT_OK;
}

static ot_status layernorm_infer(ot_node_ctx *c) {
    const layernorm_params *p = c->params;
    OT_NODE_CHECK(c, c->n_in >= 2 && c->in[0] && c->in[1], "needs inputs X and Scale");
    const ot_tensor *x = c->in[0];
    OT_NODE_CHECK(c, x->dtype == OT_FLOAT, "X must be float32, not %s", ot_dtype_name(x->dtype));
    OT_NODE_CHECK(c, x->ndim >= 1, "X must have rank >= 1");
    int axis = oti_normalize_axis(p->axis, x->ndim);
    OT_NODE_CHECK(c, axis >= 0, "axis %lld is out of range for X of rank %d", (long long)p->axis, x->ndim);
    OT_TRY(check_trailing_broadcast(c, c->in[1], "Scale", axis));
    if (c->n_in > 2 && c->in[2]) OT_TRY(check_trailing_broadcast(c, c->in[2], "B", axis));
    OT_NODE_CHECK(c, c->n_out <= 3, "has %d outputs; at most 3 (Y, Mean, InvStdDev)", c->n_out);
    ot_tensor_set_shape(c->out[0], OT_FLOAT, x->ndim, x->dims);
    int64_t stat_dims[OT_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) stat_dims[d] = d < axis ? x->dims[d] : 1;
    for (int k = 1; k < c->n_out; k++)
        if (c->out[k]) ot_tensor_set_shape(c->out[k], OT_FLOAT, x->ndim, stat_dims);
    layernorm_view v = layernorm_view_of(c);
    c->saved_bytes = 2 * sizeof(float) * (size_t)v.rows;  /* mean, inverse std per row */
    c->workspace_bytes = 3 * sizeof(float) * (size_t)v.d; /* scale, bias, (or dscale, dbias) at D */
    return OT_OK;
}

/* Element strides of t for each of the normalised dims (0 where t broadcasts). */
static void trailing_strides(int64_t *strides, const ot_tensor *t, int norm_ndim, const int64_t *norm_dims) {
    int64_t stride = 1;
    for (int d = norm_ndim - 1; d >= 0; d--) {
        int td = t->ndim - (norm_ndim - d);
        int64_t size = td >= 0 ? t->dims[td] : 1;
        strides[d] = size == 1 && norm_dims[d] != 1 ? 0 : stride;
        stride *= size;
    }
}

/* expanded (D) = t broadcast to the normalised dims (scatter = 0), or t += expanded summed over
 * the broadcast positions (scatter = 1). */
static void broadcast_trailing(float *expanded, float *t_data, const ot_tensor *t, const ot_tensor *x,
                               int axis, int scatter) {
    int norm_ndim = x->ndim - axis;
    const int64_t *norm_dims = x->dims + axis;
    int64_t strides[OT_MAX_DIMS], index[OT_MAX_DIMS] = {0}, offset = 0;
    int64_t d_total = ot_dims_numel(norm_ndim, norm_dims);
    trailing_strides(strides, t, norm_ndim, norm_dims);
    for (int64_t j = 0; j < d_total; j++) {
        if (scatter) t_data[offset] += expanded[j];
        else expanded[j] = t_data[offset];
        for (int d = norm_ndim - 1; d >= 0; d--) {
            offset += strides[d];
            if (++index[d] < norm_dims[d]) break;
            offset -= strides[d] * index[d];
            index[d] = 0;
        }
    }
}

static ot_status layernorm_forward(ot_node_ctx *c) {
    const layernorm_params *p = c->params;
    layernorm_view v = layernorm_view_of(c);
    const ot_tensor *x_t = c->in[0];
    const float *x = x_t->data;
    float *y = c->out[0]->data;
    float *scale = c->workspace, *bias = scale + v.d; /* (D) each */
    float *mean = c->saved, *rstd = mean + v.rows;    /* (rows) each */
    broadcast_trailing(scale, c->in[1]->data, c->in[1], x_t, v.axis, 0);
    if (c->n_in > 2 && c->in[2]) broadcast_trailing(bias, c->in[2]->data, c->in[2], x_t, v.axis, 0);
    else memset(bias, 0, sizeof(float) * (size_t)v.d);
    for (int64_t r = 0; r < v.rows; r++) {
        const float *xr = x + r * v.d;
        row_moments(&mean[r], &rstd[r], xr, v.d, p->epsilon);
        for (int64_t j = 0; j < v.d; j++) y[r * v.d + j] = (xr[j] - mean[r]) * rstd[r] * scale[j] + bias[j];
    }
    if (c->n_out > 1 && c->out[1]) memcpy(c->out[1]->data, mean, sizeof(float) * (size_t)v.rows);
    if (c->n_out > 2 && c->out[2]) memcpy(c->out[2]->data, rstd, sizeof(float) * (size_t)v.rows);
    return OT_OK;
}

/* Backward per row, xhat = (x - mean) * rstd, g = dy * scale:
 *   dx = rstd * (g - mean(g) - xhat * mean(g * xhat))
 *        + dMean / D - dInvStdDev * rstd^2 * xhat / D   (when those outputs get gradients),
 *   dscale = sum over rows of dy * xhat, dbias = sum over rows of dy. */
static void layernorm_row_backward(float *dx, float *dscale, float *dbias, const float *dy,
                                   const float *x, const float *scale, float mean, float rstd,
                                   float dmean, float drstd, int64_t d) {
    int64_t terms = dy ? d : 0, j = 0; /* without dy only dMean and dInvStdDev reach dx */
    for (int64_t i = 0; i < terms; i++) dscale[i] += dy[i] * ((x[i] - mean) * rstd), dbias[i] += dy[i];
    /* sum(g) and sum(g * xhat) in double, over 4 lanes so the loop vectorises. */
    double sum_g[4] = {0, 0, 0, 0}, sum_gx[4] = {0, 0, 0, 0};
    for (; j + 4 <= terms; j += 4)
        for (int k = 0; k < 4; k++) {
            float g = dy[j + k] * scale[j + k];
            sum_g[k] += g;
            sum_gx[k] += (double)g * ((x[j + k] - mean) * rstd);
        }
    for (; j < terms; j++) { /* the rest in lane 0 */
        sum_g[0] += dy[j] * scale[j];
        sum_gx[0] += (double)(dy[j] * scale[j]) * ((x[j] - mean) * rstd);
    }
    if (!dx) return;
    float mean_g = (float)(((sum_g[0] + sum_g[1]) + (sum_g[2] + sum_g[3])) / (double)d);
    float mean_gx = (float)(((sum_gx[0] + sum_gx[1]) + (sum_gx[2] + sum_gx[3])) / (double)d);
    float from_mean = dmean / (float)d, from_rstd = -drstd * rstd * rstd / (float)d;
    for (int64_t j = 0; j < d; j++) {
        float xhat = (x[j] - mean) * rstd;
        float g = dy ? dy[j] * scale[j] : 0.0f;
        dx[j] += rstd * (g - mean_g - xhat * mean_gx) + from_mean + from_rstd * xhat;
    }
}

static ot_status layernorm_backward(ot_node_ctx *c) {
    layernorm_view v = layernorm_view_of(c);
    const ot_tensor *x_t = c->in[0];
    const float *x = x_t->data, *mean = c->saved, *rstd = mean + v.rows;
    const float *dy = c->dout[0] ? c->dout[0]->data : NULL;
    const float *dmean = c->n_out > 1 && c->dout[1] ? c->dout[1]->data : NULL;
    const float *drstd = c->n_out > 2 && c->dout[2] ? c->dout[2]->data : NULL;
    float *dx = c->din[0] ? c->din[0]->data : NULL;
    float *scale = c->workspace, *dscale = scale + v.d, *dbias = dscale + v.d; /* (D) each */
    broadcast_trailing(scale, c->in[1]->data, c->in[1], x_t, v.axis, 0);
    memset(dscale, 0, 2 * sizeof(float) * (size_t)v.d);
    for (int64_t r = 0; r < v.rows; r++)
        layernorm_row_backward(dx ? dx + r * v.d : NULL, dscale, dbias, dy ? dy + r * v.d : NULL,
                               x + r * v.d, scale, mean[r], rstd[r], dmean ? dmean[r] : 0.0f,
                               drstd ? drstd[r] : 0.0f, v.d);
    if (c->din[1]) broadcast_trailing(dscale, c->din[1]->data, c->in[1], x_t, v.axis, 1);
    if (c->n_in > 2 && c->din[2]) broadcast_trailing(dbias, c->din[2]->data, c->in[2], x_t, v.axis, 1);
    return OT_OK;
}

/* InstanceNormalization, GroupNormalization ------------------------------------------------ */

/* Both normalise rows of X (N, C, spatial...) viewed as (N * G, C / G * S): G = C for
 * InstanceNormalization, num_groups for GroupNormalization. Scale and bias hold one value
 * per row's group (C for InstanceNormalization; num_groups for opset-18 GroupNormalization,
 * as that spec and ONNX Runtime say; opset 21 made them per channel, which is not served
 * here). c->saved holds mean and inverse std per row, (2, N * G). */
typedef struct groupnorm_params {
    float epsilon;
    int64_t num_groups; /* 0: one group per channel (InstanceNormalization) */
} groupnorm_params;

typedef struct groupnorm_view {
    int64_t rows, groups, d; /* rows = N * groups, d = elements per row */
} groupnorm_view;

static ot_status groupnorm_parse(const ot_layer *l, void *params) {
    groupnorm_params *p = params;
    p->num_groups = 0;
    if (!strcmp(l->op_type, "GroupNormalization")) {
        if (!ot_layer_find_attr(l, "num_groups"))
            return oti_node_fail(l, OT_ERR_INVALID, "attribute num_groups is required");
        OT_TRY(oti_attr_get_int(l, "num_groups", 1, &p->num_groups));
        if (p->num_groups <= 0)
            return oti_node_fail(l, OT_ERR_INVALID, "num_groups is %lld; it must be positive",
                                 (long long)p->num_groups);
    }
    return parse_epsilon(l, &p->epsilon);
}

static groupnorm_view groupnorm_view_of(const ot_node_ctx *c) {
    const groupnorm_params *p = c->params;
    const ot_tensor *x = c->in[0];
    groupnorm_view v;
    v.groups = p->num_groups ? p->num_groups : x->dims[1];
    v.rows = x->dims[0] * v.groups;
    v.d = v.groups ? ot_tensor_numel(x) / OT_MAX(v.rows, 1) : 0;
    return v;
}

static ot_status groupnorm_infer(ot_node_ctx *c) {
    const groupnorm_params *p = c->params;
    OT_NODE_CHECK(c, c->n_in >= 3 && c->in[0] && c->in[1] && c->in[2], "needs inputs X, scale and B");
    const ot_tensor *x = c->in[0];
    OT_NODE_CHECK(c, x->dtype == OT_FLOAT, "X must be float32, not %s", ot_dtype_name(x->dtype));
    OT_NODE_CHECK(c, x->ndim >= 2, "X must be (N, C, ...), rank >= 2, not rank %d", x->ndim);
    OT_NODE_CHECK(c, !p->num_groups || x->dims[1] % p->num_groups == 0,
                  "C %lld is not a multiple of num_groups %lld", (long long)x->dims[1], (long long)p->num_groups);
    groupnorm_view v = groupnorm_view_of(c);
    static const char *const names[3] = {"X", "scale", "B"};
    for (int k = 1; k < 3; k++)
        OT_NODE_CHECK(c, c->in[k]->dtype == OT_FLOAT && ot_tensor_numel(c->in[k]) == v.groups && c->in[k]->ndim == 1,
                      "%s must be float32 of shape (%lld), one value per %s", names[k], (long long)v.groups,
                      p->num_groups ? "group" : "channel");
    ot_tensor_set_shape(c->out[0], OT_FLOAT, x->ndim, x->dims);
    c->saved_bytes = 2 * sizeof(float) * (size_t)v.rows;
    return OT_OK;
}

static ot_status groupnorm_forward(ot_node_ctx *c) {
    const groupnorm_params *p = c->params;
    groupnorm_view v = groupnorm_view_of(c);
    const float *x = c->in[0]->data, *scale = c->in[1]->data, *bias = c->in[2]->data;
    float *y = c->out[0]->data, *mean = c->saved, *rstd = mean + v.rows; /* (rows) each */
    for (int64_t r = 0; r < v.rows; r++) {
        const float *xr = x + r * v.d;
        row_moments(&mean[r], &rstd[r], xr, v.d, p->epsilon);
        float a = rstd[r] * scale[r % v.groups], b = bias[r % v.groups] - mean[r] * a;
        for (int64_t j = 0; j < v.d; j++) y[r * v.d + j] = xr[j] * a + b;
    }
    return OT_OK;
}

/* Per row, xhat = (x - mean) * rstd and s its group's scale:
 *   dx = s * rstd * (dy - mean(dy) - xhat * mean(dy * xhat)),
 *   dscale[g] += sum(dy * xhat), dB[g] += sum(dy). */
static ot_status groupnorm_backward(ot_node_ctx *c) {
    if (!c->dout[0]) return OT_OK;
    groupnorm_view v = groupnorm_view_of(c);
    const float *x = c->in[0]->data, *scale = c->in[1]->data, *dy = c->dout[0]->data;
    const float *mean = c->saved, *rstd = mean + v.rows;
    float *dx = c->din[0] ? c->din[0]->data : NULL;
    float *dscale = c->din[1] ? c->din[1]->data : NULL, *dbias = c->din[2] ? c->din[2]->data : NULL;
    for (int64_t r = 0; r < v.rows; r++) {
        const float *xr = x + r * v.d, *g = dy + r * v.d;
        double sum_g = 0, sum_gx = 0;
        for (int64_t j = 0; j < v.d; j++) {
            sum_g += g[j];
            sum_gx += (double)g[j] * (xr[j] - mean[r]) * rstd[r];
        }
        if (dscale) dscale[r % v.groups] += (float)sum_gx;
        if (dbias) dbias[r % v.groups] += (float)sum_g;
        if (!dx) continue;
        float mean_g = (float)(sum_g / (double)v.d), mean_gx = (float)(sum_gx / (double)v.d);
        float k = scale[r % v.groups] * rstd[r];
        for (int64_t j = 0; j < v.d; j++)
            dx[r * v.d + j] += k * (g[j] - mean_g - (xr[j] - mean[r]) * rstd[r] * mean_gx);
    }
    return OT_OK;
}

/* LRN ---------------------------------------------------------------------------------------- */

/* ONNX: square_sum[n, c, ...] = sum of x[n, i, ...]^2 over channels
 * i in [c - floor((size - 1) / 2), c + ceil((size - 1) / 2)] (clipped to [0, C)),
 * y = x / (bias + alpha / size * square_sum)^beta. */
typedef struct lrn_params {
    int64_t size;
    float alpha, beta, bias;
} lrn_params;

/* X viewed as (N, C, S). */
typedef struct lrn_view {
    int64_t n, channels, spatial, before, after; /* window: c - before .. c + after */
} lrn_view;

static ot_status lrn_parse(const ot_layer *l, void *params) {
    lrn_params *p = params;
    if (!ot_layer_find_attr(l, "size")) return oti_node_fail(l, OT_ERR_INVALID, "attribute size is required");
    OT_TRY(oti_attr_get_int(l, "size", 1, &p->size));
    OT_TRY(oti_attr_get_float(l, "alpha", 1e-4f, &p->alpha));
    OT_TRY(oti_attr_get_float(l, "beta", 0.75f, &p->beta));
    OT_TRY(oti_attr_get_float(l, "bias", 1.0f, &p->bias));
    if (p->size <= 0) return oti_node_fail(l, OT_ERR_INVALID, "size is %lld; it must be positive", (long long)p->size);
    return OT_OK;
}

static lrn_view lrn_view_of(const ot_node_ctx *c) {
    const lrn_params *p = c->params;
    const ot_tensor *x = c->in[0];
    lrn_view v = {x->dims[0], x->dims[1], ot_dims_numel(x->ndim - 2, x->dims + 2), (p->size - 1) / 2,
                  p->size / 2};
    return v;
}

static ot_status lrn_infer(ot_node_ctx *c) {
    OT_NODE_CHECK(c, c->n_in >= 1 && c->in[0], "needs an input X");
    const ot_tensor *x = c->in[0];
    OT_NODE_CHECK(c, x->dtype == OT_FLOAT, "X must be float32, not %s", ot_dtype_name(x->dtype));
    OT_NODE_CHECK(c, x->ndim >= 2, "X must be (N, C, ...), rank >= 2, not rank %d", x->ndim);
    ot_tensor_set_shape(c->out[0], OT_FLOAT, x->ndim, x->dims);
    c->saved_bytes = sizeof(float) * (size_t)ot_tensor_numel(x); /* the denominators' bases */
    return OT_OK;
}

static ot_status lrn_forward(ot_node_ctx *c) {
    const lrn_params *p = c->params;
    lrn_view v = lrn_view_of(c);
    const float *x = c->in[0]->data;
    float *y = c->out[0]->data, *base = c->saved; /* base (N, C, S) = bias + alpha/size * sum */
    float k = p->alpha / (float)p->size;
    for (int64_t i = 0; i < v.n; i++)
        for (int64_t ch = 0; ch < v.channels; ch++) {
            int64_t lo = OT_MAX(0, ch - v.before), hi = OT_MIN(v.channels - 1, ch + v.after);
            int64_t at = (i * v.channels + ch) * v.spatial;
            for (int64_t s = 0; s < v.spatial; s++) {
                float sum = 0.0f;
                for (int64_t j = lo; j <= hi; j++) {
                    float xv = x[(i * v.channels + j) * v.spatial + s];
                    sum += xv * xv;
                }
                base[at + s] = p->bias + k * sum;
                y[at + s] = x[at + s] * powf(base[at + s], -p->beta);
            }
        }
    return OT_OK;
}

/* dx[j] = dy[j] * base[j]^-beta
 *         - 2 * alpha * beta / size * x[j] * sum over channels c whose window holds j of
 *           dy[c] * y[c] / base[c]. */
static ot_status lrn_backward(ot_node_ctx *c) {
    const lrn_params *p = c->params;
    if (!c->din[0] || !c->dout[0]) return OT_OK;
    lrn_view v = lrn_view_of(c);
    const float *x = c->in[0]->data, *y = c->out[0]->data, *dy = c->dout[0]->data, *base = c->saved;
    float *dx = c->din[0]->data;
    float k = 2.0f * p->alpha * p->beta / (float)p->size;
    for (int64_t i = 0; i < v.n; i++)
        for (int64_t ch = 0; ch < v.channels; ch++) {
            /* Channels c with ch in [c - before, c + after]: c in [ch - after, ch + before]. */
            int64_t lo = OT_MAX(0, ch - v.after), hi = OT_MIN(v.channels - 1, ch + v.before);
            int64_t at = (i * v.channels + ch) * v.spatial;
            for (int64_t s = 0; s < v.spatial; s++) {
                float sum = 0.0f;
                for (int64_t j = lo; j <= hi; j++) {
                    int64_t o = (i * v.channels + j) * v.spatial + s;
                    sum += dy[o] * y[o] / base[o];
                }
                dx[at + s] += dy[at + s] * powf(base[at + s], -p->beta) - k * x[at + s] * sum;
            }
        }
    return OT_OK;
}

const ot_op oti_ops_normalization[] = {
    /* Inputs 3 and 4 (running mean, running var) are statistics, updated in place in
     * training plans. */
    {.name = "BatchNormalization", .since_version = 1, .params_size = sizeof(batchnorm_params),
     .parse = batchnorm_parse, .infer = batchnorm_infer, .forward = batchnorm_forward,
     .backward = batchnorm_backward, .flags = OT_OP_WRITES_INPUTS,
     .inputs = {[1] = OT_ROLE_SCALE, [2] = OT_ROLE_SHIFT, [3] = OT_ROLE_RUNNING_MEAN,
                [4] = OT_ROLE_RUNNING_VAR}},
    {.name = "LayerNormalization", .since_version = 17, .params_size = sizeof(layernorm_params),
     .parse = layernorm_parse, .infer = layernorm_infer, .forward = layernorm_forward,
     .backward = layernorm_backward, .inputs = {[1] = OT_ROLE_SCALE, [2] = OT_ROLE_SHIFT}},
    {.name = "InstanceNormalization", .since_version = 1, .params_size = sizeof(groupnorm_params),
     .parse = groupnorm_parse, .infer = groupnorm_infer, .forward = groupnorm_forward,
     .backward = groupnorm_backward, .inputs = {[1] = OT_ROLE_SCALE, [2] = OT_ROLE_SHIFT}},
    {.name = "GroupNormalization", .since_version = 18, .params_size = sizeof(groupnorm_params),
     .parse = groupnorm_parse, .infer = groupnorm_infer, .forward = groupnorm_forward,
     .backward = groupnorm_backward, .inputs = {[1] = OT_ROLE_SCALE, [2] = OT_ROLE_SHIFT}},
    {.name = "LRN", .since_version = 1, .params_size = sizeof(lrn_params), .parse = lrn_parse,
     .infer = lrn_infer, .forward = lrn_forward, .backward = lrn_backward},
    {.name = "MeanVarianceNormalization", .since_version = 9, .params_size = sizeof(ot_mvn_params),
     .parse = oti_mvn_parse, .infer = oti_mvn_infer, .forward = oti_mvn_forward, .backward = oti_mvn_backward},
};
const ot_op_family oti_family_normalization = {oti_ops_normalization, OT_COUNT(oti_ops_normalization)};
