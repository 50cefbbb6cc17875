/* MatMulInteger and QLinearMatMul: A (..., M, K) times B (..., K, N) with numpy's batch
 * broadcasting, in exact integer arithmetic on (A - a_zero_point) and (B - b_zero_point):
 * zero points per tensor, or per row of A (M) and per column of B (N). QLinearMatMul then
 * requantizes each sum: saturate(round(sum * a_scale * b_scale / y_scale) + y_zero_point). */
#include <string.h>

#include "broadcast.h"
#include "quantize_internal.h"

/* The batch dims of A, B and Y, and the matrix sizes. */
typedef struct int_matmul {
    int64_t m, k, n;
    int batch_ndim;
    int64_t batch_dims[OT_MAX_DIMS];
    int64_t batches;
} int_matmul;

static ot_status int_matmul_of(const ot_node_ctx *c, const ot_tensor *a, const ot_tensor *b, int_matmul *g) {
    OT_NODE_CHECK(c, a->dtype == OT_INT64 && b->dtype == OT_INT64, "A and B must be integers, not %s and %s",
                  ot_dtype_name(ot_tensor_declared(a)), ot_dtype_name(ot_tensor_declared(b)));
    OT_NODE_CHECK(c, a->ndim >= 2 && b->ndim >= 2, "A and B must have rank 2 or more, not %d and %d",
                  a->ndim, b->ndim);
    g->m = a->dims[a->ndim - 2];
    g->k = a->dims[a->ndim - 1];
    g->n = b->dims[b->ndim - 1];
    OT_NODE_CHECK(c, b->dims[b->ndim - 2] == g->k, "A has %lld columns but B has %lld rows",
                  (long long)g->k, (long long)b->dims[b->ndim - 2]);
    ot_tensor batch_a = *a, batch_b = *b; /* the batch dims only */
    batch_a.ndim -= 2;
    batch_b.ndim -= 2;
    const ot_tensor *operands[2] = {&batch_a, &batch_b};
    OT_TRY(oti_broadcast_shape(c->layer, 2, operands, &g->batch_ndim, g->batch_dims));
    g->batches = ot_dims_numel(g->batch_ndim, g->batch_dims);
    return OT_OK;
}

/* Which of t's matrices output batch `index` reads (its batch dims broadcast to g's). */
static int64_t batch_of(const ot_tensor *t, const int_matmul *g, int64_t index) {
    int64_t offset = 0, stride = 1;
    int t_batch = t->ndim - 2;
    for (int d = g->batch_ndim - 1; d >= 0; d--) {
        int64_t coordinate = index % g->batch_dims[d];
        index /= g->batch_dims[d];
        int td = d - (g->batch_ndim - t_batch);
        if (td < 0) continue;
        if (t->dims[td] > 1) offset += coordinate * stride;
        stride *= t->dims[td];
    }
    return offset;
}

static void set_output_shape(ot_node_ctx *c, const int_matmul *g, ot_dtype dtype) {
    int64_t dims[OT_MAX_DIMS];
    memcpy(dims, g->batch_dims, sizeof(int64_t) * (size_t)g->batch_ndim);
    dims[g->batch_ndim] = g->m;
    dims[g->batch_ndim + 1] = g->n;
    oti_quant_set_output(c, 0, dtype, g->batch_ndim + 2, dims);
}

// y (batches, M, N) = (a - a_zero) (batches, M, K) @ (b - b_zero) (batches, K, N).
static void int_matmul_run(int64_t *y, const ot_tensor *a, const quant_param *a_zero, const ot_tensor *b,
                           const quant_param *b_zero, const int_matmul *g) {
    for (int64_t batch = 0; batch < g->batches; batch++) {
        const int64_t *ab = (const int64_t *)a->data + batch_of(a, g, batch) * g->m * g->k;
        const int64_t *bb = (const int64_t *)b->data + batch_of(b, g, batch) * g->k * g->n;
        int64_t *yb = y + batch * g->m * g->n;
        memset(yb, 0, sizeof(int64_t) * (size_t)(g->m * g->n));
        for (int64_t i = 0; i < g->m; i++)
            for (int64_t kk = 0; kk < g->k; kk++) {
                int64_t av = ab[i * g->k + kk] - oti_quant_zero(a_zero, i);
                if (!av) continue;
                for (int64_t j = 0; j < g->n; j++)
                    yb[i * g->n + j] += av * (bb[kk * g->n + j] - oti_quant_zero(b_zero, j));
            }
    }
}

/* MatMulInteger(A, B, a_zero_point, b_zero_point) -> int32. */
static ot_status matmul_integer_operands(const ot_node_ctx *c, int_matmul *g, quant_param *a_zero,
                                         quant_param *b_zero) {
    OT_NODE_CHECK(c, c->n_in >= 2 && c->in[0] && c->in[1], "needs inputs A and B");
    OT_TRY(int_matmul_of(c, c->in[0], c->in[1], g));
    OT_TRY(oti_quant_param_of(c, 2, 0, g->m, 1, "a_zero_point", a_zero));
    return oti_quant_param_of(c, 3, 0, g->n, 1, "b_zero_point", b_zero);
}

ot_status oti_matmul_integer_infer(ot_node_ctx *c) {
    int_matmul g;
    quant_param a_zero, b_zero;
    OT_TRY(matmul_integer_operands(c, &g, &a_zero, &b_zero));
    set_output_shape(c, &g, OT_INT32);
    return OT_OK;
}

ot_status oti_matmul_integer_forward(ot_node_ctx *c) {
    int_matmul g;
    quant_param a_zero, b_zero;
    OT_TRY(matmul_integer_operands(c, &g, &a_zero, &b_zero));
    int_matmul_run(c->out[0]->data, c->in[0], &a_zero, c->in[1], &b_zero, &g);
    return OT_OK;
}

/* QLinearMatMul(a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point). */
typedef struct qlinear_matmul_inputs {
    quant_param a_scale, a_zero, b_scale, b_zero, y_scale, y_zero;
} qlinear_matmul_inputs;

static ot_status qlinear_matmul_operands(const ot_node_ctx *c, int_matmul *g, qlinear_matmul_inputs *q) {
    OT_NODE_CHECK(c, c->n_in == 8 && c->in[0] && c->in[3], "needs 8 inputs (a, a_scale, "
                  "a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point)");
    OT_TRY(int_matmul_of(c, c->in[0], c->in[3], g));
    OT_TRY(oti_quant_param_of(c, 1, 1, g->m, 0, "a_scale", &q->a_scale));
    OT_TRY(oti_quant_param_of(c, 2, 0, g->m, 0, "a_zero_point", &q->a_zero));
    OT_TRY(oti_quant_param_of(c, 4, 1, g->n, 0, "b_scale", &q->b_scale));
    OT_TRY(oti_quant_param_of(c, 5, 0, g->n, 0, "b_zero_point", &q->b_zero));
    OT_TRY(oti_quant_param_of(c, 6, 1, 1, 0, "y_scale", &q->y_scale));
    return oti_quant_param_of(c, 7, 0, 1, 0, "y_zero_point", &q->y_zero);
}

ot_status oti_qlinear_matmul_infer(ot_node_ctx *c) {
    int_matmul g;
    qlinear_matmul_inputs q;
    OT_TRY(qlinear_matmul_operands(c, &g, &q));
    set_output_shape(c, &g, oti_quant_dtype(&q.y_zero));
    return OT_OK;
}

ot_status oti_qlinear_matmul_forward(ot_node_ctx *c) {
    int_matmul g;
    qlinear_matmul_inputs q;
    OT_TRY(qlinear_matmul_operands(c, &g, &q));
    int64_t *y = c->out[0]->data;
    int_matmul_run(y, c->in[0], &q.a_zero, c->in[3], &q.b_zero, &g);
    ot_dtype dtype = oti_quant_dtype(&q.y_zero);
    float y_scale = oti_quant_scale(&q.y_scale, 0);
    int64_t y_zero = oti_quant_zero(&q.y_zero, 0);
    for (int64_t r = 0; r < g.batches * g.m; r++)
        for (int64_t j = 0; j < g.n; j++)
            y[r * g.n + j] = oti_quant_requantize(y[r * g.n + j], oti_quant_scale(&q.a_scale, r % g.m),
                                                  oti_quant_scale(&q.b_scale, j), y_scale, y_zero, dtype);
    return OT_OK;
}
