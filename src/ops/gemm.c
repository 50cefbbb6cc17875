/* oti_sgemm: the single entry point to cblas_sgemm, with the edge cases BLAS leaves open,
 * splitting every sizeable GEMM over the compute threads (core/thread_pool.h) while OpenBLAS
 * itself runs single-threaded. */
#include "gemm.h"

#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "core/thread_pool.h"
#include "onnxtrain/status.h"
#include "core/error.h"

/* C = beta * C over an (m, n) block with row stride ldc. */
static void scale_block(float *c, int64_t m, int64_t n, int64_t ldc, float beta) {
    for (int64_t i = 0; i < m; i++) {
        float *row = c + i * ldc;
        if (beta == 0.0f)
            memset(row, 0, sizeof(float) * (size_t)n);
        else if (beta != 1.0f)
            for (int64_t j = 0; j < n; j++) row[j] *= beta;
    }
}

static void blas(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                 const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                 int64_t ldc) {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, alpha, a, (int)lda, b,
                (int)ldb, beta, c, (int)ldc);
}

/* OpenBLAS 0.3.21's single-threaded driver (every call here is single-threaded: the pool
 * below does the threading) runs far below its kernels' speed when K is deep and N narrow:
 * 64x300x784 at 12 GFLOP/s on this machine's cores, 35 when cut into K slices of at most 128
 * summed into C one after another; the fine-tune head's 32x64x1568 at 15 vs 29. Shallow or
 * wide products (K <= 384 or N >= 384: 64x100x300 at 38, 64x1176x800 at 31) run whole, as
 * slicing them only adds passes over C. */
#define K_SLICE 128

/* K slices for a product of n columns, decided on the whole product rather than a thread's
 * part of it, so every part sums in the same slices. */
static int64_t k_slices(int64_t n, int64_t k) {
    return k <= 384 || n >= 384 ? 1 : (k + K_SLICE - 1) / K_SLICE;
}

static void blas_sliced(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, int64_t slices,
                        float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                        float beta, float *c, int64_t ldc) {
    int64_t step = (k + slices - 1) / slices;
    for (int64_t k0 = 0; k0 < k; k0 += step) {
        int64_t depth = k - k0 < step ? k - k0 : step;
        blas(trans_a, trans_b, m, n, depth, alpha, trans_a ? a + k0 * lda : a + k0, lda,
             trans_b ? b + k0 : b + k0 * ldb, ldb, k0 ? 1.0f : beta, c, ldc);
    }
}

/* One product split by columns (or rows) of C over the compute threads: each element of C is
 * summed by one thread, in an order fixed by the shapes and the thread count, so runs with
 * the same thread count give the same bits. (Results with another thread count may differ
 * in the last bits, as with OpenBLAS's own threads.) */
typedef struct split_gemm {
    int trans_a, trans_b, by_columns;
    int64_t m, n, k, slices, unit;
    float alpha, beta;
    const float *a, *b;
    int64_t lda, ldb, ldc;
    float *c;
} split_gemm;

static void split_gemm_part(int64_t begin, int64_t end, int part, void *arg) {
    (void)part;
    const split_gemm *g = arg;
    int64_t extent = g->by_columns ? g->n : g->m;
    int64_t from = begin * g->unit, to = end * g->unit < extent ? end * g->unit : extent;
    if (from >= to) return;
    if (g->by_columns)
        blas_sliced(g->trans_a, g->trans_b, g->m, to - from, g->k, g->slices, g->alpha, g->a,
                    g->lda, g->trans_b ? g->b + from * g->ldb : g->b + from, g->ldb, g->beta,
                    g->c + from, g->ldc);
    else
        blas_sliced(g->trans_a, g->trans_b, to - from, g->n, g->k, g->slices, g->alpha,
                    g->trans_a ? g->a + from : g->a + from * g->lda, g->lda, g->b, g->ldb, g->beta,
                    g->c + from * g->ldc, g->ldc);
}

/* Products below this many multiply-adds run on the calling thread: waking another costs
 * about as much. */
#define SPLIT_MIN_MACS (1 << 18)

void oti_sgemm(ot_pool *pool, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
              const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
              int64_t ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0 || alpha == 0.0f) {
        scale_block(c, m, n, ldc, beta);
        return;
    }
    /* cblas takes int sizes; tensors past 2^31 elements per matrix dim are not planned. */
    OT_ASSERT(m < INT32_MAX && n < INT32_MAX && k < INT32_MAX && lda < INT32_MAX &&
              ldb < INT32_MAX && ldc < INT32_MAX);
    int threads = oti_pool_threads(pool);
    if (threads > 1 && (double)m * (double)n * (double)k >= SPLIT_MIN_MACS) {
        /* Columns in blocks of 16 (OpenBLAS's kernel width) when there are enough of them,
         * else rows in blocks of 8. Inside a parallel loop this runs as one part. */
        split_gemm g = {.trans_a = trans_a,
                        .trans_b = trans_b,
                        .m = m,
                        .n = n,
                        .k = k,
                        .alpha = alpha,
                        .beta = beta,
                        .a = a,
                        .b = b,
                        .lda = lda,
                        .ldb = ldb,
                        .ldc = ldc,
                        .c = c};
        g.by_columns = n >= 32 * threads;
        g.slices = k_slices(n, k);
        g.unit = g.by_columns ? 16 : 8;
        int64_t extent = g.by_columns ? n : m;
        oti_parallel_ranges(pool, (extent + g.unit - 1) / g.unit, 1, split_gemm_part, &g);
        return;
    }
    blas_sliced(trans_a, trans_b, m, n, k, k_slices(n, k), alpha, a, lda, b, ldb, beta, c, ldc);
}

typedef struct batched_gemm {
    int trans_a, trans_b;
    int64_t m, n, k;
    float alpha, beta;
    const float *a, *b;
    float *c;
    int64_t stride_a, stride_b, stride_c, lda, ldb, ldc;
} batched_gemm;

static void batched_gemm_entries(int64_t begin, int64_t end, int part, void *arg) {
    (void)part;
    const batched_gemm *g = arg;
    for (int64_t i = begin; i < end; i++)
        oti_sgemm(NULL, g->trans_a, g->trans_b, g->m, g->n, g->k, g->alpha, g->a + i * g->stride_a, g->lda,
                  g->b + i * g->stride_b, g->ldb, g->beta, g->c + i * g->stride_c, g->ldc);
}

void oti_sgemm_batched(ot_pool *pool, int trans_a, int trans_b, int64_t batch, int64_t m, int64_t n,
                       int64_t k, float alpha, const float *a, int64_t stride_a, int64_t lda,
                       const float *b, int64_t stride_b, int64_t ldb, float beta, float *c,
                       int64_t stride_c, int64_t ldc) {
    batched_gemm g = {trans_a, trans_b, m, n, k, alpha, beta, a, b, c, stride_a, stride_b, stride_c, lda, ldb, ldc};
    double macs = (double)m * (double)n * (double)k;
    /* Entries in parallel when each thread gets at least two (an odd split of a few large
     * entries would leave a thread idle) or when they are too small to be split anyway. */
    int threads = oti_pool_threads(pool);
    if (stride_c != 0 && (batch >= 2 * threads || macs < SPLIT_MIN_MACS)) {
        int64_t grain = macs >= SPLIT_MIN_MACS ? 1 : (int64_t)(SPLIT_MIN_MACS / (macs + 1.0)) + 1;
        oti_parallel_ranges(pool, batch, grain, batched_gemm_entries, &g);
        return;
    }
    for (int64_t i = 0; i < batch; i++)
        oti_sgemm(pool, trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb, beta,
                  c + i * stride_c, ldc);
}
