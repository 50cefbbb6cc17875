/* MeanVarianceNormalization (opsets 9, 13): Y = (X - mean) / (std + 1e-9) over `axes`
 * (default [0, 2, 3]), std = sqrt(E[X^2] - mean^2), as the spec's function body computes it
 * (the epsilon added to the standard deviation, not to the variance). Statistics in double.
 * Backward, with c = x - mean, d = std + eps, per group of M elements:
 *   dx = (g - mean(g)) / d - c * sum(g c) / (M d^2 std)   (0 where std = 0: then c = 0 too). */
#include <math.h>
#include <string.h>

#include "normalization_internal.h"

#define MVN_EPSILON 1e-9

ot_status oti_mvn_parse(const ot_layer *l, void *params) {
    ot_mvn_params *p = params;
    OT_TRY(oti_attr_get_ints(l, "axes", p->axes, OT_MAX_DIMS, &p->n_axes));
    if (p->n_axes < 0) {
        p->n_axes = 3;
        p->axes[0] = 0, p->axes[1] = 2, p->axes[2] = 3;
    }
    return OT_OK;
}

/* Element i's group: its index over the dims that are not reduced. */
typedef struct mvn_groups {
    int ndim, reduced[OT_MAX_DIMS];
    int64_t dims[OT_MAX_DIMS], n_groups, group_size;
} mvn_groups;

static ot_status groups_of(const ot_node_ctx *c, mvn_groups *g) {
    const ot_mvn_params *p = c->params;
    const ot_tensor *x = c->in[0];
    memset(g, 0, sizeof *g);
    g->ndim = x->ndim;
    memcpy(g->dims, x->dims, sizeof(int64_t) * (size_t)x->ndim);
    for (int k = 0; k < p->n_axes; k++) {
        int a = oti_normalize_axis(p->axes[k], x->ndim);
        OT_NODE_CHECK(c, a >= 0, "axis %lld is out of range for an input of rank %d", (long long)p->axes[k], x->ndim);
        g->reduced[a] = 1;
    }
    g->n_groups = g->group_size = 1;
    for (int d = 0; d < x->ndim; d++) {
        if (g->reduced[d]) g->group_size *= x->dims[d];
        else g->n_groups *= x->dims[d];
    }
    return OT_OK;
}

static int64_t group_of(const mvn_groups *g, int64_t i) {
    int64_t group = 0, scale = 1;
    for (int d = g->ndim - 1; d >= 0; d--) {
        int64_t at = i % g->dims[d];
        i /= g->dims[d];
        if (!g->reduced[d]) group += at * scale, scale *= g->dims[d];
    }
    return group;
}

ot_status oti_mvn_infer(ot_node_ctx *c) {
    OT_NODE_CHECK(c, c->n_in == 1 && c->in[0] && c->in[0]->dtype == OT_FLOAT, "needs one float32 input");
    mvn_groups g;
    OT_TRY(groups_of(c, &g));
    ot_tensor_set_shape(c->out[0], OT_FLOAT, c->in[0]->ndim, c->in[0]->dims);
    /* mean and std per group, then two more sums for backward. */
    c->workspace_bytes = sizeof(double) * (size_t)(4 * g.n_groups);
    return OT_OK;
}

/* Fills mean[group] and std[group]. */
static void statistics(const mvn_groups *g, const float *x, int64_t n, double *mean, double *std) {
    memset(mean, 0, sizeof(double) * (size_t)g->n_groups);
    memset(std, 0, sizeof(double) * (size_t)g->n_groups);
    for (int64_t i = 0; i < n; i++) {
        int64_t k = group_of(g, i);
        mean[k] += x[i];
        std[k] += (double)x[i] * x[i];
    }
    for (int64_t k = 0; k < g->n_groups; k++) {
        mean[k] /= (double)g->group_size;
        double var = std[k] / (double)g->group_size - mean[k] * mean[k];
        std[k] = sqrt(var > 0 ? var : 0);
    }
}

ot_status oti_mvn_forward(ot_node_ctx *c) {
    mvn_groups g;
    OT_TRY(groups_of(c, &g));
    double *mean = c->workspace, *std = mean + g.n_groups;
    const float *x = c->in[0]->data;
    float *y = c->out[0]->data;
    int64_t n = ot_tensor_numel(c->in[0]);
    statistics(&g, x, n, mean, std);
    for (int64_t i = 0; i < n; i++) {
        int64_t k = group_of(&g, i);
        y[i] = (float)((x[i] - mean[k]) / (std[k] + MVN_EPSILON));
    }
    return OT_OK;
}

ot_status oti_mvn_backward(ot_node_ctx *c) {
    if (!c->din[0] || !c->dout[0]) return OT_OK;
    mvn_groups g;
    OT_TRY(groups_of(c, &g));
    double *mean = c->workspace, *std = mean + g.n_groups, *sum_g = std + g.n_groups, *sum_gc = sum_g + g.n_groups;
    const float *x = c->in[0]->data, *dy = c->dout[0]->data;
    float *dx = c->din[0]->data;
    int64_t n = ot_tensor_numel(c->in[0]);
    double m = (double)g.group_size;
    statistics(&g, x, n, mean, std);
    memset(sum_g, 0, sizeof(double) * (size_t)(2 * g.n_groups));
    for (int64_t i = 0; i < n; i++) {
        int64_t k = group_of(&g, i);
        sum_g[k] += dy[i];
        sum_gc[k] += dy[i] * (x[i] - mean[k]);
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t k = group_of(&g, i);
        double d = std[k] + MVN_EPSILON, centred = x[i] - mean[k];
        double v = (dy[i] - sum_g[k] / m) / d;
        if (std[k] > 0) v -= centred * sum_gc[k] / (m * d * d * std[k]);
        dx[i] += (float)v;
    }
    return OT_OK;
}
