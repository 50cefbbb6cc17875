/* Softmax and LogSoftmax along one axis, forward and backward, and Hardmax (forward: 1 at
 * the first largest value of the slice, a NaN before any number as ArgMax, 0 elsewhere; no
 * backward, its gradient is 0 wherever it has one).
 *
 * Before opset 13 the input is coerced to 2-D at `axis` (default 1): rows are the product of
 * the dims before it, a row is everything from `axis` on. From opset 13 the op runs along the
 * single dim `axis` (default -1). Both are the view x (outer, n, inner) normalised along n:
 * the old form is inner = 1 with n the product of the trailing dims. Backward reads the
 * output (kept by training plans), so nothing is saved.
 *
 * Fully masked slices (every value -inf, as attention masks added as -inf make them) have no
 * defined softmax (0/0); here Softmax gives 0 and LogSoftmax -inf for each element (log of
 * Softmax's 0, so exp(LogSoftmax) == Softmax still holds), and backward gives them a zero
 * gradient: no NaN forward or backward. PyTorch gives NaN. A slice with at least one finite
 * value is an ordinary softmax (its -inf entries get probability 0). docs/OPS.md. */
#include <math.h>
#include <string.h>

#include "core/util.h"
#include "fast_math.h"
#include "softmax_internal.h"
#include "vec.h"

typedef struct softmax_params {
    int log;        /* LogSoftmax */
    int coerce_2d;  /* opset < 13 semantics */
    int64_t axis;
} softmax_params;

/* The (outer, n, inner) view of the input for this node. */
typedef struct softmax_view {
    int64_t outer, n, inner;
} softmax_view;

static ot_status parse_softmax(const ot_layer *l, void *params) {
    softmax_params *p = params;
    p->log = !strcmp(l->op_type, "LogSoftmax");
    p->coerce_2d = l->opset < 13;
    return oti_attr_get_int(l, "axis", p->coerce_2d ? 1 : -1, &p->axis);
}

static ot_status softmax_view_of(const ot_node_ctx *c, softmax_view *v) {
    const softmax_params *p = c->params;
    const ot_tensor *x = c->in[0];
    int rank = x->ndim;
    int axis = oti_normalize_axis(p->axis, rank);
    OT_NODE_CHECK(c, axis >= 0, "axis %lld is out of range for an input of rank %d",
                  (long long)p->axis, rank);
    v->outer = ot_dims_numel(axis, x->dims);
    if (p->coerce_2d) {
        v->n = ot_dims_numel(rank - axis, x->dims + axis);
        v->inner = 1;
    } else {
        v->n = x->dims[axis];
        v->inner = ot_dims_numel(rank - axis - 1, x->dims + axis + 1);
    }
    return OT_OK;
}

static ot_status infer_softmax(ot_node_ctx *c) {
    OT_NODE_CHECK(c, c->n_in >= 1 && c->in[0], "needs an input");
    OT_NODE_CHECK(c, c->in[0]->dtype == OT_FLOAT, "input must be float32, not %s",
                  ot_dtype_name(c->in[0]->dtype));
    softmax_view v;
    OT_TRY(softmax_view_of(c, &v));
    ot_tensor_set_shape(c->out[0], OT_FLOAT, c->in[0]->ndim, c->in[0]->dims);
    return OT_OK;
}

/* Kernels ---------------------------------------------------------------------------------- */

/* Slices are computed whole by one thread each (in parallel over the slices), so the split
 * never changes a bit. Inside a slice the loops are written for the contiguous case (step 1:
 * the last axis, attention's rows) to vectorise: lane-wise max, the vectorisable exp of
 * fast_math.h, sums in double over lanes (vec.h). Attention rows of 128 went 8 -> 1 ns an
 * element. */
#define SOFTMAX_LANES 8
#define SOFTMAX_CHUNK 256
/* Elements a parallel range holds at least. */
#define SOFTMAX_GRAIN 16384

/* exp(d) for d = x - max <= 0: 0 below -87 (the fast exp's range; exp is under 2e-38 there,
 * nothing beside the slice's largest term, 1), NaN kept as expf keeps it. */
static inline float softmax_exp(float d) {
    float e = ot_exp_nonpositive(d);
    e = d < -87.0f ? 0.0f : e;
    return d == d ? e : d;
}

/* Largest value of the slice, NaNs skipped (as fmaxf does); -inf when all are -inf. */
static inline float slice_max(const float *x, int64_t n, int64_t step) {
    float lanes[SOFTMAX_LANES];
    for (int k = 0; k < SOFTMAX_LANES; k++) lanes[k] = -INFINITY;
    int64_t i = 0;
    for (; i + SOFTMAX_LANES <= n; i += SOFTMAX_LANES)
        for (int k = 0; k < SOFTMAX_LANES; k++) {
            float v = x[(i + k) * step];
            lanes[k] = v > lanes[k] ? v : lanes[k];
        }
    float max = -INFINITY;
    for (int k = 0; k < SOFTMAX_LANES; k++) max = lanes[k] > max ? lanes[k] : max;
    for (; i < n; i++) max = x[i * step] > max ? x[i * step] : max;
    return max;
}

/* Sum in double of the slice's exp(x - max): the terms go through a small buffer so both
 * loops vectorise. */
static inline double slice_exp_sum(const float *x, int64_t n, int64_t step, float max) {
    float terms[SOFTMAX_CHUNK];
    double sum = 0;
    for (int64_t c0 = 0; c0 < n; c0 += SOFTMAX_CHUNK) {
        int64_t len = n - c0 < SOFTMAX_CHUNK ? n - c0 : SOFTMAX_CHUNK;
        for (int64_t i = 0; i < len; i++) terms[i] = softmax_exp(x[(c0 + i) * step] - max);
        sum += ot_sum_floats(terms, len, 0);
    }
    return sum;
}

/* Sums in double of the slice's values, and of a * b (4 lanes each). */
static inline double slice_sum(const float *x, int64_t n, int64_t step) {
    if (step == 1) return ot_sum_floats(x, n, 0);
    double sum = 0;
    for (int64_t i = 0; i < n; i++) sum += x[i * step];
    return sum;
}

static inline double slice_dot(const float *a, const float *b, int64_t n, int64_t step) {
    double lanes[4] = {0.0, 0.0, 0.0, 0.0};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int k = 0; k < 4; k++) lanes[k] += (double)a[(i + k) * step] * b[(i + k) * step];
    double total = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
    for (; i < n; i++) total += (double)a[i * step] * b[i * step];
    return total;
}

/* One slice of n values at stride `step`: y = softmax(x) or log softmax(x), with the slice
 * maximum subtracted before exp. y may alias x. */
static inline void softmax_slice(float *y, const float *x, int64_t n, int64_t step, int take_log) {
    float max = slice_max(x, n, step);
    if (max == -INFINITY) { /* fully masked: 0 (log: -inf) instead of 0/0 */
        for (int64_t i = 0; i < n; i++) y[i * step] = take_log ? -INFINITY : 0.0f;
        return;
    }
    double sum = slice_exp_sum(x, n, step, max);
    if (take_log) {
        float log_sum = (float)log(sum);
        for (int64_t i = 0; i < n; i++) y[i * step] = x[i * step] - max - log_sum;
    } else {
        float inv = (float)(1.0 / sum);
        for (int64_t i = 0; i < n; i++) y[i * step] = softmax_exp(x[i * step] - max) * inv;
    }
}

/* dx += y * (dy - sum(dy * y)) for softmax; dx += dy - exp(y) * sum(dy) for log softmax
 * (y is the forward output). One slice of n values at stride `step`. A fully masked slice
 * (softmax: y all 0, which the formula gives 0 for; log softmax: y all -inf) gets nothing. */
static inline void softmax_slice_backward(float *dx, const float *dy, const float *y, int64_t n,
                                          int64_t step, int take_log) {
    if (take_log) {
        if (slice_max(y, n, step) == -INFINITY) return;
        float sum = (float)slice_sum(dy, n, step);
        for (int64_t i = 0; i < n; i++) dx[i * step] += dy[i * step] - softmax_exp(y[i * step]) * sum;
    } else {
        float dot = (float)slice_dot(dy, y, n, step);
        for (int64_t i = 0; i < n; i++) dx[i * step] += y[i * step] * (dy[i * step] - dot);
    }
}

/* Slices [begin, end) of x (outer, n, inner), numbered o * inner + j; dy NULL: forward. */
typedef struct softmax_job {
    float *out;                  /* y (forward) or dx (backward) */
    const float *x, *dy;         /* x (forward) or y (backward) */
    softmax_view v;
    int take_log;
} softmax_job;

static void softmax_slices(int64_t begin, int64_t end, int part, void *arg) {
    (void)part;
    const softmax_job *j = arg;
    int64_t n = j->v.n, inner = j->v.inner;
    for (int64_t s = begin; s < end; s++) {
        int64_t base = (s / inner) * n * inner + s % inner;
        if (j->dy && inner == 1)
            softmax_slice_backward(j->out + base, j->dy + base, j->x + base, n, 1, j->take_log);
        else if (j->dy)
            softmax_slice_backward(j->out + base, j->dy + base, j->x + base, n, inner, j->take_log);
        else if (inner == 1) /* the same code with a constant step, which vectorises */
            softmax_slice(j->out + base, j->x + base, n, 1, j->take_log);
        else
            softmax_slice(j->out + base, j->x + base, n, inner, j->take_log);
    }
}

static void run_softmax_slices(ot_pool *pool, const softmax_job *job) {
    int64_t slices = job->v.outer * job->v.inner;
    oti_parallel_ranges(pool, slices, SOFTMAX_GRAIN / (job->v.n + 1) + 1, softmax_slices, (void *)job);
}

static ot_status forward_softmax(ot_node_ctx *c) {
    const softmax_params *p = c->params;
    softmax_job job = {.out = c->out[0]->data, .x = c->in[0]->data, .take_log = p->log};
    OT_TRY(softmax_view_of(c, &job.v));
    run_softmax_slices(c->pool, &job);
    return OT_OK;
}

static ot_status backward_softmax(ot_node_ctx *c) {
    const softmax_params *p = c->params;
    if (!c->din[0] || !c->dout[0]) return OT_OK;
    softmax_job job = {.out = c->din[0]->data, .x = c->out[0]->data, .dy = c->dout[0]->data,
                       .take_log = p->log};
    OT_TRY(softmax_view_of(c, &job.v));
    run_softmax_slices(c->pool, &job);
    return OT_OK;
}

/* Hardmax --------------------------------------------------------------------------------- */

/* One slice of n values at stride `step`: y = one-hot of the first maximum. */
static void hardmax_slice(float *y, const float *x, int64_t n, int64_t step) {
    int64_t at = 0;
    for (int64_t i = 1; i < n && x[at * step] == x[at * step]; i++)
        if (x[i * step] != x[i * step] || x[i * step] > x[at * step]) at = i;
    for (int64_t i = 0; i < n; i++) y[i * step] = i == at ? 1.0f : 0.0f;
}

static ot_status forward_hardmax(ot_node_ctx *c) {
    softmax_view v;
    OT_TRY(softmax_view_of(c, &v));
    const float *x = c->in[0]->data;
    float *y = c->out[0]->data;
    for (int64_t o = 0; o < v.outer; o++)
        for (int64_t j = 0; j < v.inner; j++) {
            int64_t base = o * v.n * v.inner + j;
            hardmax_slice(y + base, x + base, v.n, v.inner);
        }
    return OT_OK;
}

#define LOSS_ROW(op_name)                                                                      \
    {.name = op_name, .since_version = 12, .params_size = sizeof(ot_loss_params),                \
     .parse = oti_softmax_parse_loss, .infer = oti_softmax_infer_loss,                           \
     .forward = oti_softmax_forward_loss, .backward = oti_softmax_backward_loss,                 \
     .flags = OT_OP_LOSS, .inputs = {[1] = OT_ROLE_CONSTANT, OT_ROLE_CONSTANT}}

const ot_op oti_ops_softmax[] = {
    {.name = "Softmax", .since_version = 1, .params_size = sizeof(softmax_params),
     .parse = parse_softmax, .infer = infer_softmax, .forward = forward_softmax,
     .backward = backward_softmax, .flags = OT_OP_SOFTMAX},
    {.name = "LogSoftmax", .since_version = 1, .params_size = sizeof(softmax_params),
     .parse = parse_softmax, .infer = infer_softmax, .forward = forward_softmax,
     .backward = backward_softmax, .flags = OT_OP_SOFTMAX},
    /* Opsets 1-11 coerce to 2-D at axis (default 1), 13 runs along axis (default -1). */
    {.name = "Hardmax", .since_version = 1, .params_size = sizeof(softmax_params),
     .parse = parse_softmax, .infer = infer_softmax, .forward = forward_hardmax},
    {.name = "Hardmax", .since_version = 13, .params_size = sizeof(softmax_params),
     .parse = parse_softmax, .infer = infer_softmax, .forward = forward_hardmax},
    /* softmax_loss.c: labels and class weights are constants, never trained. */
    LOSS_ROW("SoftmaxCrossEntropyLoss"),
    LOSS_ROW("NegativeLogLikelihoodLoss"),
};
const ot_op_family oti_family_softmax = {oti_ops_softmax, OT_COUNT(oti_ops_softmax)};
