/* SoftmaxCrossEntropyLoss and NegativeLogLikelihoodLoss (opsets 12, 13), forward and backward
 * w.r.t. the scores.
 *
 * Shapes: scores x (N, C, d1..dk) viewed as (N, C, D), labels t (N, d1..dk) int64 viewed as
 * (N, D), optional class weights w (C). Per element l[n, d] = -w[t] * lp[n, t, d], where lp
 * is log_softmax(x) along C (SoftmaxCrossEntropyLoss) or x itself (NLL); elements whose label
 * is ignore_index give 0 and weigh 0. reduction none keeps (N, d1..dk), sum adds them, mean
 * divides the sum by the sum of the weights of the elements not ignored (the element count
 * without weights), as the spec says. When every element is ignored that sum is 0 and mean
 * gives 0 (the spec's reference divides 0 by 0: NaN). A label outside [0, C) that is not
 * ignore_index is an error naming the node. SoftmaxCrossEntropyLoss's optional output 1 is
 * lp (N, C, d1..dk).
 *
 * Nothing is saved: backward recomputes the softmax of each (n, d) slice from x, and
 * gradients reach x from the loss and from log_prob's consumers. docs/OPS.md. */
#include <math.h>
#include <string.h>

#include "core/util.h"
#include "softmax_internal.h"

/* (N, C, D) view of the scores. */
typedef struct loss_view {
    int64_t n, c, d;
} loss_view;

ot_status oti_softmax_parse_loss(const ot_layer *l, void *params) {
    ot_loss_params *p = params;
    p->from_logits = !strcmp(l->op_type, "SoftmaxCrossEntropyLoss");
    const char *red;
    OT_TRY(oti_attr_get_string(l, "reduction", "mean", &red));
    if (!strcmp(red, "none")) p->reduction = OT_LOSS_NONE;
    else if (!strcmp(red, "sum")) p->reduction = OT_LOSS_SUM;
    else if (!strcmp(red, "mean")) p->reduction = OT_LOSS_MEAN;
    else return oti_node_fail(l, OT_ERR_INVALID, "reduction '%s' is not none, sum or mean", red);
    const int64_t unset = INT64_MIN;
    OT_TRY(oti_attr_get_int(l, "ignore_index", unset, &p->ignore_index));
    p->has_ignore = p->ignore_index != unset;
    return OT_OK;
}

static loss_view loss_view_of(const ot_node_ctx *c) {
    const ot_tensor *x = c->in[0];
    loss_view v = {x->dims[0], x->dims[1], ot_dims_numel(x->ndim - 2, x->dims + 2)};
    return v;
}

static const float *loss_weights(const ot_node_ctx *c) {
    return c->n_in >= 3 && c->in[2] ? c->in[2]->data : NULL;
}

ot_status oti_softmax_infer_loss(ot_node_ctx *c) {
    const ot_loss_params *p = c->params;
    OT_NODE_CHECK(c, c->n_in >= 2 && c->in[0] && c->in[1], "needs inputs scores and labels");
    const ot_tensor *x = c->in[0], *t = c->in[1], *w = c->n_in >= 3 ? c->in[2] : NULL;
    OT_NODE_CHECK(c, x->dtype == OT_FLOAT, "scores must be float32, not %s", ot_dtype_name(x->dtype));
    OT_NODE_CHECK(c, x->ndim >= 2, "scores must be (N, C, d1..dk), not rank %d", x->ndim);
    OT_NODE_CHECK(c, t->dtype == OT_INT64 || t->dtype == OT_INT32, "labels must be int64, not %s",
                  ot_dtype_name(t->dtype));
    int same = t->ndim == x->ndim - 1 && t->dims[0] == x->dims[0];
    for (int k = 1; same && k < t->ndim; k++) same = t->dims[k] == x->dims[k + 1];
    OT_NODE_CHECK(c, same, "labels must be (N, d1..dk) of scores (N, C, d1..dk)");
    if (w)
        OT_NODE_CHECK(c, w->dtype == OT_FLOAT && w->ndim == 1 && w->dims[0] == x->dims[1],
                      "weights must be float32 (C) with C = %lld", (long long)x->dims[1]);
    if (p->reduction == OT_LOSS_NONE) ot_tensor_set_shape(c->out[0], OT_FLOAT, t->ndim, t->dims);
    else ot_tensor_set_shape(c->out[0], OT_FLOAT, 0, NULL);
    if (c->n_out >= 2 && c->out[1]) {
        OT_NODE_CHECK(c, p->from_logits, "has one output");
        ot_tensor_set_shape(c->out[1], OT_FLOAT, x->ndim, x->dims);
    }
    return OT_OK;
}

/* Label of element j as a class, or -1 when ignored; an error when out of range. */
static ot_status loss_label(const ot_node_ctx *c, int64_t j, int64_t classes, int64_t *cls) {
    const ot_loss_params *p = c->params;
    const ot_tensor *t = c->in[1];
    int64_t k = t->dtype == OT_INT64 ? ((const int64_t *)t->data)[j] : ((const int32_t *)t->data)[j];
    if (p->has_ignore && k == p->ignore_index) {
        *cls = -1;
        return OT_OK;
    }
    OT_NODE_CHECK(c, k >= 0 && k < classes, "label %lld (at %lld) is outside [0, %lld)", (long long)k,
                  (long long)j, (long long)classes);
    *cls = k;
    return OT_OK;
}

/* log-sum-exp of one slice of n values at stride `step` (its maximum subtracted first). */
static float slice_logsumexp(const float *x, int64_t n, int64_t step) {
    float max = -INFINITY;
    for (int64_t i = 0; i < n; i++) max = fmaxf(max, x[i * step]);
    if (max == -INFINITY) return max;
    double sum = 0;
    for (int64_t i = 0; i < n; i++) sum += exp((double)(x[i * step] - max));
    return max + (float)log(sum);
}

/* Sum of the weights of the elements not ignored: mean's denominator. */
static ot_status loss_weight_sum(const ot_node_ctx *c, const loss_view *v, double *sum) {
    const float *w = loss_weights(c);
    *sum = 0;
    for (int64_t j = 0; j < v->n * v->d; j++) {
        int64_t k = -1;
        OT_TRY(loss_label(c, j, v->c, &k));
        if (k >= 0) *sum += w ? w[k] : 1.0;
    }
    return OT_OK;
}

/* The factor that turns an element's weighted loss into its share of the output. */
static ot_status loss_scale(const ot_node_ctx *c, const loss_view *v, double *scale) {
    const ot_loss_params *p = c->params;
    *scale = 1.0;
    if (p->reduction != OT_LOSS_MEAN) return OT_OK;
    double sum;
    OT_TRY(loss_weight_sum(c, v, &sum));
    *scale = sum > 0 ? 1.0 / sum : 0.0;
    return OT_OK;
}

ot_status oti_softmax_forward_loss(ot_node_ctx *c) {
    const ot_loss_params *p = c->params;
    loss_view v = loss_view_of(c);
    const float *x = c->in[0]->data, *w = loss_weights(c);
    float *y = c->out[0]->data, *lp = c->n_out >= 2 && c->out[1] ? c->out[1]->data : NULL;
    double total = 0, scale;
    OT_TRY(loss_scale(c, &v, &scale));
    for (int64_t n = 0; n < v.n; n++)
        for (int64_t d = 0; d < v.d; d++) {
            const float *xs = x + n * v.c * v.d + d; /* (C) at stride D */
            float lse = p->from_logits ? slice_logsumexp(xs, v.c, v.d) : 0.0f;
            if (lp)
                for (int64_t k = 0; k < v.c; k++) lp[n * v.c * v.d + k * v.d + d] = xs[k * v.d] - lse;
            int64_t k = -1, j = n * v.d + d;
            OT_TRY(loss_label(c, j, v.c, &k));
            float l = k < 0 ? 0.0f : -(w ? w[k] : 1.0f) * (xs[k * v.d] - lse);
            if (p->reduction == OT_LOSS_NONE) y[j] = l;
            else total += l;
        }
    if (p->reduction != OT_LOSS_NONE) y[0] = (float)(total * scale);
    return OT_OK;
}

/* dx for one (n, d) slice (C values at stride D) from the loss gradient g of the element
 * (already weighted and scaled): SCE adds g * (softmax - onehot(k)), NLL -g at k. */
static void loss_slice_backward(float *dx, const float *x, int64_t classes, int64_t step, int64_t k,
                                float g, int from_logits) {
    if (k < 0 || g == 0.0f) return;
    dx[k * step] -= g;
    if (!from_logits) return;
    float lse = slice_logsumexp(x, classes, step);
    if (lse == -INFINITY) return; /* fully masked: no defined softmax, no gradient */
    for (int64_t i = 0; i < classes; i++) dx[i * step] += g * expf(x[i * step] - lse);
}

/* dx += dlp - softmax(x) * sum(dlp) for one slice: log_prob's consumers. */
static void log_prob_slice_backward(float *dx, const float *dlp, const float *x, int64_t classes,
                                    int64_t step) {
    float lse = slice_logsumexp(x, classes, step);
    if (lse == -INFINITY) return;
    double sum = 0;
    for (int64_t i = 0; i < classes; i++) sum += dlp[i * step];
    for (int64_t i = 0; i < classes; i++)
        dx[i * step] += dlp[i * step] - expf(x[i * step] - lse) * (float)sum;
}

ot_status oti_softmax_backward_loss(ot_node_ctx *c) {
    const ot_loss_params *p = c->params;
    if (!c->din[0]) return OT_OK;
    loss_view v = loss_view_of(c);
    const float *x = c->in[0]->data, *w = loss_weights(c);
    const float *dy = c->dout[0] ? c->dout[0]->data : NULL;
    const float *dlp = c->n_out >= 2 && c->dout[1] ? c->dout[1]->data : NULL;
    float *dx = c->din[0]->data;
    double scale;
    OT_TRY(loss_scale(c, &v, &scale));
    for (int64_t n = 0; n < v.n; n++)
        for (int64_t d = 0; d < v.d; d++) {
            int64_t base = n * v.c * v.d + d, j = n * v.d + d, k = -1;
            if (dlp && p->from_logits) log_prob_slice_backward(dx + base, dlp + base, x + base, v.c, v.d);
            if (!dy) continue;
            OT_TRY(loss_label(c, j, v.c, &k));
            if (k < 0) continue;
            float g = (p->reduction == OT_LOSS_NONE ? dy[j] : dy[0]) * (float)scale * (w ? w[k] : 1.0f);
            loss_slice_backward(dx + base, x + base, v.c, v.d, k, g, p->from_logits);
        }
    return OT_OK;
}
