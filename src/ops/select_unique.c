/* Unique (opset 11): the distinct elements of X (flattened), or with `axis` its distinct slices
 * along that axis, in ascending order (sorted = 1, slices compared lexicographically as numpy
 * does) or in order of first occurrence (sorted = 0). Outputs Y, and optionally indices (first
 * occurrence of each), inverse_indices (for every element or slice of X, its place in Y) and
 * counts, all int64. float32 or int64 input; NaNs compare equal to each other and above every
 * number. The work runs in infer (it decides Y's size) and again in forward, both while the
 * plan is built, so the scratch here is allocated. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "select_internal.h"

/* X as (outer, along, inner): slice a is x[o, a, j] for every o, j. */
typedef struct unique_view {
    const ot_tensor *x;
    int axis; /* -1: flattened */
    int64_t outer, along, inner;
} unique_view;

static ot_status unique_view_of(const ot_node_ctx *c, unique_view *v) {
    const ot_select_axis_params *p = c->params;
    const ot_tensor *x = c->in[0];
    *v = (unique_view){.x = x, .axis = -1, .outer = 1, .along = ot_tensor_numel(x), .inner = 1};
    if (!p->has_axis) return OT_OK;
    v->axis = oti_normalize_axis(p->axis, x->ndim);
    OT_NODE_CHECK(c, v->axis >= 0, "axis %lld is out of range for an input of rank %d", (long long)p->axis, x->ndim);
    v->outer = ot_dims_numel(v->axis, x->dims);
    v->along = x->dims[v->axis];
    v->inner = ot_dims_numel(x->ndim - v->axis - 1, x->dims + v->axis + 1);
    return OT_OK;
}

static int compare_values(const ot_tensor *x, int64_t i, int64_t j) {
    if (x->dtype == OT_INT64) {
        int64_t a = ((const int64_t *)x->data)[i], b = ((const int64_t *)x->data)[j];
        return (a > b) - (a < b);
    }
    float a = ((const float *)x->data)[i], b = ((const float *)x->data)[j];
    int a_nan = a != a, b_nan = b != b;
    if (a_nan || b_nan) return a_nan - b_nan;
    return (a > b) - (a < b);
}

/* Lexicographic order of slices a and b. */
static int compare_slices(const unique_view *v, int64_t a, int64_t b) {
    for (int64_t o = 0; o < v->outer; o++)
        for (int64_t j = 0; j < v->inner; j++) {
            int r = compare_values(v->x, (o * v->along + a) * v->inner + j, (o * v->along + b) * v->inner + j);
            if (r) return r;
        }
    return 0;
}

/* Stable merge sort of slice numbers by slice value (ties keep the earlier slice first). */
static void sort_slices(const unique_view *v, int64_t *idx, int64_t *tmp, int64_t n) {
    if (n < 2) return;
    int64_t half = n / 2;
    sort_slices(v, idx, tmp, half);
    sort_slices(v, idx + half, tmp, n - half);
    int64_t i = 0, j = half, k = 0;
    while (i < half && j < n) tmp[k++] = compare_slices(v, idx[j], idx[i]) < 0 ? idx[j++] : idx[i++];
    while (i < half) tmp[k++] = idx[i++];
    while (j < n) tmp[k++] = idx[j++];
    memcpy(idx, tmp, sizeof(int64_t) * (size_t)n);
}

/* The result: first[u] is unique slice u's first occurrence, in output order; inverse[a] the
 * output place of slice a; count[u] how often it occurs. */
typedef struct unique_result {
    int64_t n_unique;
    int64_t *first, *inverse, *count, *scratch;
} unique_result;

static void unique_free(unique_result *r) {
    free(r->first);
    free(r->inverse);
    free(r->count);
    free(r->scratch);
}

static ot_status unique_compute(const unique_view *v, int sorted, unique_result *r) {
    int64_t n = v->along;
    size_t bytes = sizeof(int64_t) * (size_t)(n + 1);
    *r = (unique_result){.first = oti_malloc(bytes), .inverse = oti_malloc(bytes), .count = oti_calloc((size_t)n + 1, sizeof(int64_t)),
                         .scratch = oti_malloc(2 * bytes)};
    if (!r->first || !r->inverse || !r->count || !r->scratch) {
        unique_free(r);
        return OT_ERR_MEMORY;
    }
    int64_t *order = r->scratch, *group = r->scratch + n + 1; /* group[a]: a's run, in sorted order */
    for (int64_t a = 0; a < n; a++) order[a] = a;
    sort_slices(v, order, r->inverse, n);
    for (int64_t k = 0; k < n; k++) {
        if (k == 0 || compare_slices(v, order[k - 1], order[k]) != 0) r->first[r->n_unique++] = order[k];
        group[order[k]] = r->n_unique - 1;
    }
    /* Sorted: runs in value order. Otherwise in order of first occurrence: renumber runs as
     * the slices first show them. */
    int64_t *place = order; /* reused: run -> output place */
    if (sorted) {
        for (int64_t u = 0; u < r->n_unique; u++) place[u] = u;
    } else {
        for (int64_t u = 0; u < r->n_unique; u++) place[u] = -1;
        for (int64_t a = 0, next = 0; a < n; a++)
            if (place[group[a]] < 0) {
                place[group[a]] = next;
                r->first[next++] = a;
            }
    }
    for (int64_t a = 0; a < n; a++) {
        r->inverse[a] = place[group[a]];
        r->count[r->inverse[a]]++;
    }
    return OT_OK;
}

ot_status oti_select_infer_unique(ot_node_ctx *c) {
    const ot_select_axis_params *p = c->params;
    OT_NODE_CHECK(c, c->n_in == 1 && c->in[0], "needs one input");
    OT_NODE_CHECK(c, c->in[0]->dtype == OT_FLOAT || c->in[0]->dtype == OT_INT64, "input must be float32 or int64, not %s",
                  ot_dtype_name(c->in[0]->dtype));
    OT_TRY(oti_select_need_values(c, 0, "input"));
    unique_view v;
    OT_TRY(unique_view_of(c, &v));
    unique_result r;
    OT_TRY(unique_compute(&v, (int)p->sorted, &r));
    int64_t dims[OT_MAX_DIMS];
    if (v.axis < 0) {
        ot_tensor_set_shape(c->out[0], c->in[0]->dtype, 1, &r.n_unique);
    } else {
        memcpy(dims, c->in[0]->dims, sizeof(int64_t) * (size_t)c->in[0]->ndim);
        dims[v.axis] = r.n_unique;
        ot_tensor_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->ndim, dims);
    }
    if (c->n_out > 1 && c->out[1]) ot_tensor_set_shape(c->out[1], OT_INT64, 1, &r.n_unique);
    if (c->n_out > 2 && c->out[2]) ot_tensor_set_shape(c->out[2], OT_INT64, 1, &v.along);
    if (c->n_out > 3 && c->out[3]) ot_tensor_set_shape(c->out[3], OT_INT64, 1, &r.n_unique);
    unique_free(&r);
    return OT_OK;
}

ot_status oti_select_forward_unique(ot_node_ctx *c) {
    const ot_select_axis_params *p = c->params;
    unique_view v;
    OT_TRY(unique_view_of(c, &v));
    unique_result r;
    OT_TRY(unique_compute(&v, (int)p->sorted, &r));
    size_t elem = ot_dtype_size(c->in[0]->dtype), slice = elem * (size_t)v.inner;
    const unsigned char *x = c->in[0]->data; // (outer, along, inner)
    unsigned char *y = c->out[0]->data;      // (outer, n_unique, inner)
    for (int64_t o = 0; o < v.outer; o++)
        for (int64_t u = 0; u < r.n_unique; u++)
            memcpy(y + (size_t)(o * r.n_unique + u) * slice, x + (size_t)(o * v.along + r.first[u]) * slice, slice);
    size_t unique_bytes = sizeof(int64_t) * (size_t)r.n_unique;
    if (c->n_out > 1 && c->out[1]) memcpy(c->out[1]->data, r.first, unique_bytes);
    if (c->n_out > 2 && c->out[2]) memcpy(c->out[2]->data, r.inverse, sizeof(int64_t) * (size_t)v.along);
    if (c->n_out > 3 && c->out[3]) memcpy(c->out[3]->data, r.count, unique_bytes);
    unique_free(&r);
    return OT_OK;
}
