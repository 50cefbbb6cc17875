/* ot_sgemm: the single entry point to cblas_sgemm, with the edge cases BLAS leaves open. */
#include "gemm.h"

#include <cblas.h>
#include <string.h>

#include "onnxtrain/status.h"

/* C = beta * C over an (m, n) block with row stride ldc. */
static void scale_block(float *c, int64_t m, int64_t n, int64_t ldc, float beta) {
    for (int64_t i = 0; i < m; i++) {
        float *row = c + i * ldc;
        if (beta == 0.0f) memset(row, 0, sizeof(float) * (size_t)n);
        else if (beta != 1.0f)
            for (int64_t j = 0; j < n; j++) row[j] *= beta;
    }
}

void ot_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
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
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, alpha, a, (int)lda,
                b, (int)ldb, beta, c, (int)ldc);
}
