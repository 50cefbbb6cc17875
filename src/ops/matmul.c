/* Matrix products: Gemm (Y = alpha * op(A) op(B) + beta * C, C broadcast to (M, N)) and
 * MatMul (numpy matmul: 1-D operands promoted and the added dim dropped again, leading batch
 * dims broadcast). Both run on oti_sgemm; backward adds alpha/beta-scaled products into the
 * input gradients and sums broadcast dims (C's, or MatMul's batch dims) back down. Einsum,
 * also on oti_sgemm, lives in einsum.c. */
#include <string.h>

#include "broadcast.h"
#include "det.h"
#include "einsum.h"
#include "gemm.h"
#include "core/util.h"

/* Gemm ------------------------------------------------------------------------------------ */

typedef struct gemm_params {
    float alpha, beta;
    int trans_a, trans_b;
    int c_must_match; /* opset < 7 without broadcast = 1: C has Y's shape exactly */
} gemm_params;

static ot_status parse_gemm(const ot_layer *l, void *params) {
    gemm_params *p = params;
    int64_t trans_a, trans_b, broadcast;
    OT_TRY(oti_attr_get_float(l, "alpha", 1.0f, &p->alpha));
    OT_TRY(oti_attr_get_float(l, "beta", 1.0f, &p->beta));
    OT_TRY(oti_attr_get_int(l, "transA", 0, &trans_a));
    OT_TRY(oti_attr_get_int(l, "transB", 0, &trans_b));
    OT_TRY(oti_attr_get_int(l, "broadcast", 0, &broadcast));
    if ((trans_a != 0 && trans_a != 1) || (trans_b != 0 && trans_b != 1))
        return oti_node_fail(l, OT_ERR_INVALID, "transA and transB must be 0 or 1");
    p->trans_a = (int)trans_a;
    p->trans_b = (int)trans_b;
    p->c_must_match = l->opset < 7 && !broadcast;
    return OT_OK;
}

/* Sizes of op(A) (M, K) and op(B) (K, N). */
static void gemm_sizes(const ot_node_ctx *c, int64_t *m, int64_t *n, int64_t *k) {
    const gemm_params *p = c->params;
    const ot_tensor *a = c->in[0], *b = c->in[1];
    *m = p->trans_a ? a->dims[1] : a->dims[0];
    *k = p->trans_a ? a->dims[0] : a->dims[1];
    *n = p->trans_b ? b->dims[0] : b->dims[1];
}

static const ot_tensor *gemm_bias(const ot_node_ctx *c) { return c->n_in > 2 ? c->in[2] : NULL; }

static ot_status check_gemm_bias(ot_node_ctx *c, int64_t m, int64_t n) {
    const gemm_params *p = c->params;
    const ot_tensor *bias = gemm_bias(c);
    char s[128];
    if (!bias) {
        OT_NODE_CHECK(c, c->layer->opset >= 11, "input C is required before opset 11");
        return OT_OK;
    }
    OT_NODE_CHECK(c, bias->dtype == OT_FLOAT, "C must be float32, not %s", ot_dtype_name(bias->dtype));
    OT_NODE_CHECK(c, bias->ndim <= 2, "C must have rank <= 2, not shape %s",
                  ot_shape_string(bias->ndim, bias->dims, s, sizeof s));
    int64_t target[2] = {m, n};
    if (p->c_must_match)
        OT_NODE_CHECK(c, bias->ndim == 2 && bias->dims[0] == m && bias->dims[1] == n,
                      "C has shape %s but must be [%lld,%lld] (broadcast is 0)",
                      ot_shape_string(bias->ndim, bias->dims, s, sizeof s), (long long)m, (long long)n);
    /* Unidirectional: each of C's trailing dims is 1 or equals Y's. */
    for (int d = 0; d < bias->ndim; d++) {
        int64_t want = target[2 - bias->ndim + d];
        OT_NODE_CHECK(c, bias->dims[d] == 1 || bias->dims[d] == want,
                      "C of shape %s does not broadcast to [%lld,%lld]",
                      ot_shape_string(bias->ndim, bias->dims, s, sizeof s), (long long)m, (long long)n);
    }
    return OT_OK;
}

static ot_status infer_gemm(ot_node_ctx *c) {
    const gemm_params *p = c->params;
    OT_NODE_CHECK(c, c->n_in >= 2 && c->in[0] && c->in[1], "needs inputs A and B");
    const ot_tensor *a = c->in[0], *b = c->in[1];
    OT_NODE_CHECK(c, a->dtype == OT_FLOAT && b->dtype == OT_FLOAT,
                  "only float32 is supported, not A %s and B %s", ot_dtype_name(a->dtype),
                  ot_dtype_name(b->dtype));
    char sa[128], sb[128];
    OT_NODE_CHECK(c, a->ndim == 2 && b->ndim == 2, "A and B must be matrices, not %s and %s",
                  ot_shape_string(a->ndim, a->dims, sa, sizeof sa),
                  ot_shape_string(b->ndim, b->dims, sb, sizeof sb));
    int64_t m, n, k;
    gemm_sizes(c, &m, &n, &k);
    int64_t kb = p->trans_b ? b->dims[1] : b->dims[0];
    OT_NODE_CHECK(c, k == kb, "inner dims differ: A %s%s and B %s%s",
                  ot_shape_string(a->ndim, a->dims, sa, sizeof sa), p->trans_a ? " (transposed)" : "",
                  ot_shape_string(b->ndim, b->dims, sb, sizeof sb), p->trans_b ? " (transposed)" : "");
    OT_TRY(check_gemm_bias(c, m, n));
    int64_t dims[2] = {m, n};
    ot_tensor_set_shape(c->out[0], OT_FLOAT, 2, dims);
    return OT_OK;
}

/* y (M, N) = beta * bias broadcast; bias has rank <= 2 with dims 1 or equal to Y's. */
static void fill_broadcast_bias(float *y, const ot_tensor *bias, float beta, int64_t m, int64_t n) {
    int64_t rows = bias->ndim == 2 ? bias->dims[0] : 1;
    int64_t cols = bias->ndim >= 1 ? bias->dims[bias->ndim - 1] : 1;
    const float *cb = bias->data;
    for (int64_t i = 0; i < m; i++) {
        const float *row = cb + (rows == 1 ? 0 : i) * cols;
        float *yr = y + i * n;
        if (cols == 1)
            for (int64_t j = 0; j < n; j++) yr[j] = beta * row[0];
        else
            for (int64_t j = 0; j < n; j++) yr[j] = beta * row[j];
    }
}

static ot_status forward_gemm(ot_node_ctx *c) {
    const gemm_params *p = c->params;
    const ot_tensor *a = c->in[0], *b = c->in[1], *bias = gemm_bias(c);
    int64_t m, n, k;
    gemm_sizes(c, &m, &n, &k);
    float *y = c->out[0]->data;
    int use_bias = bias && p->beta != 0.0f;
    if (use_bias) fill_broadcast_bias(y, bias, p->beta, m, n);
    oti_sgemm(c->pool, p->trans_a, p->trans_b, m, n, k, p->alpha, a->data, a->dims[1], b->data, b->dims[1],
             use_bias ? 1.0f : 0.0f, y, n);
    return OT_OK;
}

/* dbias += beta * dy (M, N) summed over the dims where bias has size 1. */
static void reduce_to_bias(float *dbias, const ot_tensor *bias, const float *dy, float beta,
                           int64_t m, int64_t n) {
    int64_t rows = bias->ndim == 2 ? bias->dims[0] : 1;
    int64_t cols = bias->ndim >= 1 ? bias->dims[bias->ndim - 1] : 1;
    for (int64_t i = 0; i < m; i++) {
        float *row = dbias + (rows == 1 ? 0 : i) * cols;
        const float *g = dy + i * n;
        if (cols == 1) {
            float s = 0.0f;
            for (int64_t j = 0; j < n; j++) s += g[j];
            row[0] += beta * s;
        } else {
            for (int64_t j = 0; j < n; j++) row[j] += beta * g[j];
        }
    }
}

static ot_status backward_gemm(ot_node_ctx *c) {
    const gemm_params *p = c->params;
    const ot_tensor *a = c->in[0], *b = c->in[1], *bias = gemm_bias(c);
    int64_t m, n, k;
    gemm_sizes(c, &m, &n, &k);
    const float *dy = c->dout[0]->data; // (M, N)
    int64_t lda = a->dims[1], ldb = b->dims[1];
    if (c->din[0]) {
        /* d op(A) (M, K) = alpha * dy op(B)^T; for transA, dA = (d op(A))^T = alpha op(B) dy^T. */
        if (!p->trans_a)
            oti_sgemm(c->pool, 0, !p->trans_b, m, k, n, p->alpha, dy, n, b->data, ldb, 1.0f, c->din[0]->data, lda);
        else
            oti_sgemm(c->pool, p->trans_b, 1, k, m, n, p->alpha, b->data, ldb, dy, n, 1.0f, c->din[0]->data, lda);
    }
    if (c->din[1]) {
        /* d op(B) (K, N) = alpha * op(A)^T dy; for transB, dB = alpha dy^T op(A). */
        if (!p->trans_b)
            oti_sgemm(c->pool, !p->trans_a, 0, k, n, m, p->alpha, a->data, lda, dy, n, 1.0f, c->din[1]->data, ldb);
        else
            oti_sgemm(c->pool, 1, p->trans_a, n, k, m, p->alpha, dy, n, a->data, lda, 1.0f, c->din[1]->data, ldb);
    }
    if (bias && c->n_in > 2 && c->din[2] && p->beta != 0.0f)
        reduce_to_bias(c->din[2]->data, bias, dy, p->beta, m, n);
    return OT_OK;
}

/* MatMul ---------------------------------------------------------------------------------- */

/* A product (batch..., M, K) @ (batch..., K, N) after promoting 1-D operands. */
typedef struct matmul_shape {
    int64_t m, n, k;
    int batch_ndim;
    int64_t batch[OT_MAX_DIMS];       /* broadcast batch dims of Y */
    int64_t a_stride[OT_MAX_DIMS];    /* A's matrix stride per batch dim (0 where broadcast) */
    int64_t b_stride[OT_MAX_DIMS];
    int64_t batch_count;
    int a_batched, b_batched;         /* operand has a batch dim larger than 1 */
} matmul_shape;

/* Fills s from A's and B's dims; returns 0 when the shapes do not multiply. */
static int matmul_shape_of(const ot_tensor *a, const ot_tensor *b, matmul_shape *s) {
    memset(s, 0, sizeof *s);
    int a_rank = a->ndim, b_rank = b->ndim;
    s->m = a_rank >= 2 ? a->dims[a_rank - 2] : 1;
    s->k = a->dims[a_rank - 1];
    int64_t kb = b_rank >= 2 ? b->dims[b_rank - 2] : b->dims[0];
    s->n = b_rank >= 2 ? b->dims[b_rank - 1] : 1;
    if (s->k != kb) return 0;
    int a_batch = a_rank > 2 ? a_rank - 2 : 0, b_batch = b_rank > 2 ? b_rank - 2 : 0;
    s->batch_ndim = a_batch > b_batch ? a_batch : b_batch;
    int64_t a_step = s->m * s->k, b_step = s->k * s->n;
    s->batch_count = 1;
    for (int d = s->batch_ndim - 1; d >= 0; d--) {
        int da = d - (s->batch_ndim - a_batch), db = d - (s->batch_ndim - b_batch);
        int64_t sa = da >= 0 ? a->dims[da] : 1, sb = db >= 0 ? b->dims[db] : 1;
        if (sa != sb && sa != 1 && sb != 1) return 0;
        s->batch[d] = sa > sb ? sa : sb;
        if (sa == 0 || sb == 0) s->batch[d] = 0;
        s->a_stride[d] = sa == 1 ? 0 : a_step;
        s->b_stride[d] = sb == 1 ? 0 : b_step;
        a_step *= sa;
        b_step *= sb;
        s->a_batched |= sa > 1;
        s->b_batched |= sb > 1;
        s->batch_count *= s->batch[d];
    }
    return 1;
}

static ot_status infer_matmul(ot_node_ctx *c) {
    OT_NODE_CHECK(c, c->n_in == 2 && c->in[0] && c->in[1], "needs inputs A and B");
    const ot_tensor *a = c->in[0], *b = c->in[1];
    OT_NODE_CHECK(c, a->dtype == OT_FLOAT && b->dtype == OT_FLOAT,
                  "only float32 is supported, not A %s and B %s", ot_dtype_name(a->dtype),
                  ot_dtype_name(b->dtype));
    OT_NODE_CHECK(c, a->ndim >= 1 && b->ndim >= 1, "A and B must have rank >= 1");
    matmul_shape s;
    char sa[128], sb[128];
    OT_NODE_CHECK(c, matmul_shape_of(a, b, &s), "shapes %s and %s do not multiply",
                  ot_shape_string(a->ndim, a->dims, sa, sizeof sa),
                  ot_shape_string(b->ndim, b->dims, sb, sizeof sb));
    int64_t dims[OT_MAX_DIMS];
    int ndim = 0;
    for (int d = 0; d < s.batch_ndim; d++) dims[ndim++] = s.batch[d];
    if (a->ndim >= 2) dims[ndim++] = s.m;
    if (b->ndim >= 2) dims[ndim++] = s.n;
    ot_tensor_set_shape(c->out[0], OT_FLOAT, ndim, dims);
    return OT_OK;
}

/* Offsets of batch entry `index` into A and B (in elements). */
static void batch_offsets(const matmul_shape *s, int64_t index, int64_t *a_off, int64_t *b_off) {
    *a_off = *b_off = 0;
    for (int d = s->batch_ndim - 1; d >= 0; d--) {
        int64_t i = index % s->batch[d];
        index /= s->batch[d];
        *a_off += i * s->a_stride[d];
        *b_off += i * s->b_stride[d];
    }
}

/* When every batch entry of A sits at i * (M * K) (A batched over all of Y's batch dims) or
 * all share one matrix (stride 0), and likewise B: *sa, *sb are those strides. Returns 0 for
 * a mix (A (2, 1, M, K) against B (1, 3, K, N)). */
static int uniform_strides(const matmul_shape *s, int64_t *sa, int64_t *sb) {
    int a_full = 1, a_shared = 1, b_full = 1, b_shared = 1;
    for (int d = 0; d < s->batch_ndim; d++) {
        if (s->batch[d] == 1) continue;
        a_full &= s->a_stride[d] != 0;
        a_shared &= s->a_stride[d] == 0;
        b_full &= s->b_stride[d] != 0;
        b_shared &= s->b_stride[d] == 0;
    }
    *sa = a_full ? s->m * s->k : 0;
    *sb = b_full ? s->k * s->n : 0;
    return (a_full || a_shared) && (b_full || b_shared);
}

static ot_status forward_matmul(ot_node_ctx *c) {
    matmul_shape s;
    matmul_shape_of(c->in[0], c->in[1], &s);
    const float *a = c->in[0]->data, *b = c->in[1]->data;
    float *y = c->out[0]->data; // (batch, M, N)
    if (s.batch_count == 0) return OT_OK;
    if (!s.b_batched) {
        /* One GEMM over all of A's rows: (batch * M, K) @ (K, N); A is dense over the
         * batch since B's batch dims (if any) are all 1. */
        oti_sgemm(c->pool, 0, 0, s.batch_count * s.m, s.n, s.k, 1.0f, a, s.k, b, s.n, 0.0f, y, s.n);
        return OT_OK;
    }
    int64_t sa, sb;
    if (uniform_strides(&s, &sa, &sb)) {
        oti_sgemm_batched(c->pool, 0, 0, s.batch_count, s.m, s.n, s.k, 1.0f, a, sa, s.k, b, sb, s.n, 0.0f, y,
                          s.m * s.n, s.n);
        return OT_OK;
    }
    for (int64_t i = 0; i < s.batch_count; i++) {
        int64_t ao, bo;
        batch_offsets(&s, i, &ao, &bo);
        oti_sgemm(c->pool, 0, 0, s.m, s.n, s.k, 1.0f, a + ao, s.k, b + bo, s.n, 0.0f, y + i * s.m * s.n, s.n);
    }
    return OT_OK;
}

static ot_status backward_matmul(ot_node_ctx *c) {
    matmul_shape s;
    matmul_shape_of(c->in[0], c->in[1], &s);
    const float *a = c->in[0]->data, *b = c->in[1]->data;
    const float *dy = c->dout[0]->data; // (batch, M, N)
    float *da = c->din[0] ? c->din[0]->data : NULL, *db = c->din[1] ? c->din[1]->data : NULL;
    if (s.batch_count == 0) return OT_OK;
    if (!s.b_batched) {
        /* B is shared by every entry: dA (batch * M, K) += dy (batch * M, N) B^T and
         * dB (K, N) += A^T (K, batch * M) dy, one GEMM each. */
        int64_t rows = s.batch_count * s.m;
        if (da) oti_sgemm(c->pool, 0, 1, rows, s.k, s.n, 1.0f, dy, s.n, b, s.n, 1.0f, da, s.k);
        if (db) oti_sgemm(c->pool, 1, 0, s.k, s.n, rows, 1.0f, a, s.k, dy, s.n, 1.0f, db, s.n);
        return OT_OK;
    }
    int64_t sa, sb;
    if (uniform_strides(&s, &sa, &sb)) {
        /* Entry i: dA_i += dy_i B_i^T, dB_i += A_i^T dy_i (a shared operand's gradient, stride
         * 0, takes the entries in order). */
        int64_t sy = s.m * s.n;
        if (da) oti_sgemm_batched(c->pool, 0, 1, s.batch_count, s.m, s.k, s.n, 1.0f, dy, sy, s.n, b, sb, s.n, 1.0f,
                                  da, sa, s.k);
        if (db) oti_sgemm_batched(c->pool, 1, 0, s.batch_count, s.k, s.n, s.m, 1.0f, a, sa, s.k, dy, sy, s.n, 1.0f,
                                  db, sb, s.n);
        return OT_OK;
    }
    /* General case: each batch entry adds into the (possibly shared, broadcast) slices. */
    for (int64_t i = 0; i < s.batch_count; i++) {
        int64_t ao, bo;
        batch_offsets(&s, i, &ao, &bo);
        const float *g = dy + i * s.m * s.n;
        if (da) oti_sgemm(c->pool, 0, 1, s.m, s.k, s.n, 1.0f, g, s.n, b + bo, s.n, 1.0f, da + ao, s.k);
        if (db) oti_sgemm(c->pool, 1, 0, s.k, s.n, s.m, 1.0f, a + ao, s.k, g, s.n, 1.0f, db + bo, s.n);
    }
    return OT_OK;
}

const ot_op oti_ops_matmul[] = {
    {.name = "Gemm", .since_version = 6, .params_size = sizeof(gemm_params), .parse = parse_gemm,
     .infer = infer_gemm, .forward = forward_gemm, .backward = backward_gemm,
     .inputs = {[1] = OT_ROLE_KERNEL, [2] = OT_ROLE_BIAS}, .kernel_layout = OT_KERNEL_GEMM_B},
    {.name = "MatMul", .since_version = 1, .infer = infer_matmul, .forward = forward_matmul,
     .backward = backward_matmul, .inputs = {[1] = OT_ROLE_KERNEL}, .kernel_layout = OT_KERNEL_IN_OUT},
    /* Einsum (einsum.c): every input is data (a bilinear weight trains as a plain initializer). */
    {.name = "Einsum", .since_version = 12, .params_size = sizeof(ot_einsum_params),
     .parse = oti_einsum_parse, .infer = oti_einsum_infer, .forward = oti_einsum_forward,
     .backward = oti_einsum_backward},
    /* Det (det.c): determinants of square matrices. */
    {.name = "Det", .since_version = 11, .infer = oti_det_infer, .forward = oti_det_forward,
     .backward = oti_det_backward},
};
const ot_op_family oti_family_matmul = {oti_ops_matmul, OT_COUNT(oti_ops_matmul)};
