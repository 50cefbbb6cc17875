/* Det (opset 11): determinants of square matrices X (..., M, M) -> Y (...), by LU
 * decomposition with partial pivoting in double precision (workspace: the LU factors, the
 * inverse and the pivots). Backward: dX = dY * det(X) * inverse(X)^T. A singular matrix (a
 * zero pivot) has det 0 and here gets a zero gradient (its true gradient is the adjugate,
 * nonzero at rank M - 1). docs/OPS.md. */
#include <math.h>
#include <string.h>

#include "core/util.h"
#include "det.h"

/* Matrices in the batch and their size M. */
typedef struct det_view {
    int64_t batch, m;
} det_view;

static det_view det_view_of(const ot_node_ctx *c) {
    const ot_tensor *x = c->in[0];
    det_view v = {ot_dims_numel(x->ndim - 2, x->dims), x->dims[x->ndim - 1]};
    return v;
}

ot_status oti_det_infer(ot_node_ctx *c) {
    OT_NODE_CHECK(c, c->n_in >= 1 && c->in[0], "needs an input");
    const ot_tensor *x = c->in[0];
    OT_NODE_CHECK(c, x->dtype == OT_FLOAT, "input must be float32, not %s", ot_dtype_name(x->dtype));
    OT_NODE_CHECK(c, x->ndim >= 2 && x->dims[x->ndim - 1] == x->dims[x->ndim - 2],
                  "input must be square matrices (..., M, M)");
    ot_tensor_set_shape(c->out[0], OT_FLOAT, x->ndim - 2, x->dims);
    int64_t m = x->dims[x->ndim - 1];
    c->workspace_bytes = (size_t)(2 * m * m) * sizeof(double) + (size_t)m * sizeof(int64_t);
    return OT_OK;
}

/* lu (M, M) = the LU factors of a (M, M) in place with row swaps in piv; returns det(a),
 * 0 when a pivot is exactly zero (lu is then incomplete). */
static double lu_decompose(double *lu, int64_t *piv, const float *a, int64_t m) {
    for (int64_t i = 0; i < m * m; i++) lu[i] = a[i];
    double det = 1;
    for (int64_t k = 0; k < m; k++) {
        int64_t p = k;
        for (int64_t i = k + 1; i < m; i++)
            if (fabs(lu[i * m + k]) > fabs(lu[p * m + k])) p = i;
        piv[k] = p;
        if (lu[p * m + k] == 0) return 0;
        if (p != k) {
            det = -det;
            for (int64_t j = 0; j < m; j++) {
                double t = lu[k * m + j];
                lu[k * m + j] = lu[p * m + j];
                lu[p * m + j] = t;
            }
        }
        det *= lu[k * m + k];
        for (int64_t i = k + 1; i < m; i++) {
            double f = lu[i * m + k] /= lu[k * m + k];
            for (int64_t j = k + 1; j < m; j++) lu[i * m + j] -= f * lu[k * m + j];
        }
    }
    return det;
}

/* inv (M, M) = inverse of the matrix whose complete LU factors are lu, piv: column j solves
 * L U x = P e_j. */
static void lu_inverse(double *inv, const double *lu, const int64_t *piv, int64_t m) {
    for (int64_t j = 0; j < m; j++) {
        double *x = inv + j * m; /* column j, stored as row j (transposed) */
        for (int64_t i = 0; i < m; i++) x[i] = i == j;
        for (int64_t k = 0; k < m; k++) {
            double t = x[k];
            x[k] = x[piv[k]];
            x[piv[k]] = t;
        }
        for (int64_t i = 0; i < m; i++)
            for (int64_t k = 0; k < i; k++) x[i] -= lu[i * m + k] * x[k];
        for (int64_t i = m - 1; i >= 0; i--) {
            for (int64_t k = i + 1; k < m; k++) x[i] -= lu[i * m + k] * x[k];
            x[i] /= lu[i * m + i];
        }
    }
}

ot_status oti_det_forward(ot_node_ctx *c) {
    det_view v = det_view_of(c);
    double *lu = c->workspace;
    int64_t *piv = (int64_t *)(lu + 2 * v.m * v.m);
    const float *x = c->in[0]->data;
    float *y = c->out[0]->data;
    for (int64_t b = 0; b < v.batch; b++) y[b] = (float)lu_decompose(lu, piv, x + b * v.m * v.m, v.m);
    return OT_OK;
}

ot_status oti_det_backward(ot_node_ctx *c) {
    if (!c->din[0] || !c->dout[0]) return OT_OK;
    det_view v = det_view_of(c);
    double *lu = c->workspace, *inv = lu + v.m * v.m;
    int64_t *piv = (int64_t *)(lu + 2 * v.m * v.m);
    const float *x = c->in[0]->data, *dy = c->dout[0]->data;
    float *dx = c->din[0]->data;
    for (int64_t b = 0; b < v.batch; b++) {
        double det = lu_decompose(lu, piv, x + b * v.m * v.m, v.m);
        if (det == 0) continue;
        lu_inverse(inv, lu, piv, v.m); /* inv holds inverse^T row-major */
        double g = dy[b] * det;
        for (int64_t i = 0; i < v.m * v.m; i++) dx[b * v.m * v.m + i] += (float)(g * inv[i]);
    }
    return OT_OK;
}
