/* oti_sgemm against a double-precision reference over the shapes that take each path: small
 * (one call on the caller), split by columns, split by rows, deep-and-narrow (cut into K
 * slices), wide; every transpose, beta 0 (overwriting NaN), 1 and 0.5, strided C; batched
 * products against one product per entry. And the
 * pool's loop (three threads, whatever the machine): every item once, nested loops inline, a
 * pool freed and made again. And oti_panel_gemm (Winograd's
 * products): partial panels, K = 0, overwrite and accumulate, rows left alone; widths of 32,
 * 48 and 80 take the AVX-512 build's 32-column kernel with a 16-column rest. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/gemm.h"
#include "ops/panel_gemm.h"
#include "test_support.h"

/* The compute threads every test here runs on (the group's setup makes them). */
static ot_pool *pool;

static int make_pool(void **state) {
    (void)state;
    return oti_pool_create(3, &pool) == OT_OK && pool ? 0 : -1;
}

static int free_pool(void **state) {
    (void)state;
    oti_pool_free(pool);
    pool = NULL;
    return 0;
}

/* Deterministic values in [-1, 1). */
static void fill(float *x, int64_t n, uint32_t seed) {
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)((seed >> 8) / 8388608.0 - 1.0);
    }
}

static void check_product(int ta, int tb, int64_t m, int64_t n, int64_t k, float beta) {
    int64_t lda = ta ? m : k, ldb = tb ? k : n, ldc = n + 3; /* C strided: 3 spare columns */
    float *a = malloc(sizeof(float) * (size_t)(m * k)),
          *b = malloc(sizeof(float) * (size_t)(k * n));
    float *c = malloc(sizeof(float) * (size_t)(m * ldc)),
          *c0 = malloc(sizeof(float) * (size_t)(m * ldc));
    fill(a, m * k, 1);
    fill(b, k * n, 2);
    fill(c0, m * ldc, 3);
    if (beta == 0.0f)
        for (int64_t i = 0; i < m * ldc; i++) c0[i] = NAN; /* beta 0 must overwrite even NaN */
    memcpy(c, c0, sizeof(float) * (size_t)(m * ldc));
    oti_sgemm(pool, ta, tb, m, n, k, 0.75f, a, lda, b, ldb, beta, c, ldc);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < ldc; j++) {
            float got = c[i * ldc + j];
            if (j >= n) { /* outside the product: untouched */
                if (memcmp(&got, &c0[i * ldc + j], sizeof got))
                    fail_msg("%c%c %lldx%lldx%lld: C[%lld][%lld] outside the product changed",
                             ta ? 'T' : 'N', tb ? 'T' : 'N', (long long)m, (long long)n,
                             (long long)k, (long long)i, (long long)j);
                continue;
            }
            double sum = 0, magnitude = 0;
            for (int64_t p = 0; p < k; p++) {
                double x = ta ? a[p * lda + i] : a[i * lda + p],
                       y = tb ? b[j * ldb + p] : b[p * ldb + j];
                sum += x * y;
                magnitude += fabs(x * y);
            }
            double want = 0.75 * sum + (beta != 0.0f ? beta * (double)c0[i * ldc + j] : 0.0);
            double tolerance = 1e-6 * (0.75 * magnitude + 1.0);
            if (!(fabs(got - want) <= tolerance))
                fail_msg("%c%c %lldx%lldx%lld beta %g: C[%lld][%lld] = %.9g, want %.9g",
                         ta ? 'T' : 'N', tb ? 'T' : 'N', (long long)m, (long long)n, (long long)k,
                         beta, (long long)i, (long long)j, got, want);
        }
    free(a);
    free(b);
    free(c);
    free(c0);
}

static void products_match_reference(void **state) {
    (void)state;
    const int64_t shapes[][3] = {
        {3, 5, 7},      /* below the split threshold: one call */
        {64, 300, 784}, /* split by columns; deep and narrow: K slices */
        {300, 20, 700}, /* too few columns: split by rows; K slices */
        {32, 64, 1568}, /* the fine-tune head's forward */
        {64, 1568, 32}, /* and its weight gradient */
        {64, 400, 800}, /* wide: whole K */
        {37, 129, 389}, /* odd sizes: partial column blocks and K slices */
        {1, 1000, 300}, /* one row */
    };
    const float betas[] = {0.0f, 1.0f, 0.5f};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int t = 0; t < 4; t++)
            for (size_t bi = 0; bi < 3; bi++)
                check_product(t & 1, t >> 1, shapes[s][0], shapes[s][1], shapes[s][2], betas[bi]);
}

typedef struct coverage {
    int *hits;
    int nested_parts;
} coverage;

/* C (m, n) = or += A (m, k) @ B (k, n) with A packed into panels by ot_panel_index; each
 * element summed over k in order with one rounding per step (fmaf), so the check is exact.
 * C has a spare row and spare columns that must stay untouched. */
/* oti_sgemm_batched against one oti_sgemm per entry: bit-identical to the calling thread's
 * product when the entries run in parallel (many entries, or small ones), to the pool's
 * product otherwise; a shared A (stride 0) and a shared C (stride 0: the entries add into it
 * in order), every transpose. */
static void check_batched(int ta, int tb, int64_t batch, int64_t m, int64_t n, int64_t k, int shared_a,
                          int shared_c) {
    int64_t lda = ta ? m : k, ldb = tb ? k : n, ldc = n;
    int64_t sa = shared_a ? 0 : m * k, sb = k * n, sc = shared_c ? 0 : m * n;
    int64_t a_n = shared_a ? m * k : batch * m * k, c_n = shared_c ? m * n : batch * m * n;
    float *a = malloc(sizeof(float) * (size_t)a_n), *b = malloc(sizeof(float) * (size_t)(batch * k * n));
    float *c = malloc(sizeof(float) * (size_t)c_n), *want = malloc(sizeof(float) * (size_t)c_n);
    fill(a, a_n, 4);
    fill(b, batch * k * n, 5);
    fill(c, c_n, 6);
    memcpy(want, c, sizeof(float) * (size_t)c_n);
    float beta = shared_c ? 1.0f : 0.5f;
    oti_sgemm_batched(pool, ta, tb, batch, m, n, k, 0.75f, a, sa, lda, b, sb, ldb, beta, c, sc, ldc);
    int whole = !shared_c && (batch >= 2 * oti_pool_threads(pool) || (double)m * n * k < (1 << 18));
    for (int64_t i = 0; i < batch; i++)
        oti_sgemm(whole ? NULL : pool, ta, tb, m, n, k, 0.75f, a + i * sa, lda, b + i * sb, ldb, beta,
                  want + i * sc, ldc);
    if (memcmp(c, want, sizeof(float) * (size_t)c_n))
        fail_msg("%c%c batch %lld of %lldx%lldx%lld (A %s, C %s) differs from one product per entry",
                 ta ? 'T' : 'N', tb ? 'T' : 'N', (long long)batch, (long long)m, (long long)n, (long long)k,
                 shared_a ? "shared" : "batched", shared_c ? "shared" : "batched");
    free(a);
    free(b);
    free(c);
    free(want);
}

static void batched_products_match_entries(void **state) {
    (void)state;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            check_batched(ta, tb, 16, 64, 64, 32, 0, 0);  /* many entries: in parallel */
            check_batched(ta, tb, 3, 96, 128, 64, 0, 0);  /* few large ones: each split */
            check_batched(ta, tb, 5, 7, 9, 11, 0, 0);     /* small ones: in parallel */
            check_batched(ta, tb, 12, 64, 64, 32, 1, 0);  /* a shared A */
            check_batched(ta, tb, 12, 64, 64, 32, 0, 1);  /* a shared C, added in order */
        }
}

static void check_panel_product(int64_t m, int64_t n, int64_t k, int accumulate) {
    int64_t ldb = n + 5, ldc = n + 7, panel = ot_panel_floats(m, k);
    float *a = malloc(sizeof(float) * (size_t)(m * k + 1)), *packed = calloc((size_t)panel + 1, sizeof(float));
    float *b = malloc(sizeof(float) * (size_t)(k * ldb + 1));
    float *c = malloc(sizeof(float) * (size_t)((m + 1) * ldc)), *c0 = malloc(sizeof(float) * (size_t)((m + 1) * ldc));
    fill(a, m * k, 4);
    fill(b, k * ldb, 5);
    fill(c0, (m + 1) * ldc, 6);
    for (int64_t i = 0; i < m; i++)
        for (int64_t p = 0; p < k; p++) packed[ot_panel_index(i, p, k)] = a[i * k + p];
    memcpy(c, c0, sizeof(float) * (size_t)((m + 1) * ldc));
    oti_panel_gemm(m, n, k, packed, b, ldb, c, ldc, accumulate);
    for (int64_t i = 0; i <= m; i++)
        for (int64_t j = 0; j < ldc; j++) {
            float want = c0[i * ldc + j];
            if (i < m && j < n) {
                float sum = 0.0f;
                for (int64_t p = 0; p < k; p++) sum = fmaf(a[i * k + p], b[p * ldb + j], sum);
                want = accumulate ? want + sum : sum;
            }
            if (memcmp(&want, &c[i * ldc + j], sizeof want))
                fail_msg("panel %lldx%lldx%lld%s: C[%lld][%lld] = %.9g, want %.9g", (long long)m,
                         (long long)n, (long long)k, accumulate ? " +=" : "", (long long)i,
                         (long long)j, c[i * ldc + j], want);
        }
    free(a);
    free(packed);
    free(b);
    free(c);
    free(c0);
}

static void panel_products_match_reference(void **state) {
    (void)state;
    const int64_t shapes[][3] = {{6, 16, 5}, {1, 16, 3}, {13, 32, 40}, {64, 48, 32}, {5, 16, 0}, {20, 80, 129}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int accumulate = 0; accumulate < 2; accumulate++)
            check_panel_product(shapes[s][0], shapes[s][1], shapes[s][2], accumulate);
}

static void count_items(int64_t begin, int64_t end, int part, void *arg) {
    coverage *c = arg;
    assert_true(part >= 0 && part < oti_pool_threads(pool));
    for (int64_t i = begin; i < end; i++) __atomic_fetch_add(&c->hits[i], 1, __ATOMIC_RELAXED);
}

static void nested(int64_t begin, int64_t end, int part, void *arg) {
    (void)part;
    coverage *c = arg;
    /* Inside a parallel loop another one runs inline, as part 0 over everything. */
    int hits[10] = {0};
    coverage inner = {hits, 0};
    oti_parallel_ranges(pool, 10, 1, count_items, &inner);
    for (int i = 0; i < 10; i++) assert_int_equal(hits[i], 1);
    __atomic_fetch_add(&c->nested_parts, 1, __ATOMIC_RELAXED);
    (void)begin, (void)end;
}

static void parallel_ranges_cover_everything_once(void **state) {
    (void)state;
    const int64_t counts[] = {0, 1, 2, 3, 1000, 100003};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        int *hits = calloc((size_t)counts[i] + 1, sizeof(int));
        coverage c = {hits, 0};
        oti_parallel_ranges(pool, counts[i], 7, count_items, &c);
        for (int64_t j = 0; j < counts[i]; j++)
            if (hits[j] != 1)
                fail_msg("count %lld: item %lld ran %d times", (long long)counts[i], (long long)j,
                         hits[j]);
        free(hits);
    }
    coverage outer = {NULL, 0};
    assert_int_equal(oti_pool_threads(pool), 3);
    oti_parallel_ranges(pool, oti_pool_threads(pool), 1, nested, &outer);
    assert_int_equal(outer.nested_parts, oti_pool_threads(pool));
}

/* Without a pool everything runs on the caller, as one part; a pool's workers stop when it
 * is freed, and a new pool works the same. */
static void pools_come_and_go(void **state) {
    (void)state;
    ot_pool *none;
    assert_int_equal(oti_pool_create(1, &none), OT_OK);
    assert_null(none);
    assert_int_equal(oti_pool_threads(NULL), 1);
    int hits[100] = {0};
    coverage c = {hits, 0};
    ot_pool *saved = pool;
    pool = NULL;
    oti_parallel_ranges(NULL, 100, 1, count_items, &c);
    pool = saved;
    for (int round = 0; round < 5; round++) {
        ot_pool *extra;
        assert_int_equal(oti_pool_create(2, &extra), OT_OK);
        assert_int_equal(oti_pool_threads(extra), 2);
        ot_pool *previous = pool;
        pool = extra;
        oti_parallel_ranges(extra, 100, 1, count_items, &c);
        pool = previous;
        oti_pool_free(extra);
    }
    for (int i = 0; i < 100; i++) assert_int_equal(hits[i], 6);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(products_match_reference),
        cmocka_unit_test(batched_products_match_entries),
        cmocka_unit_test(panel_products_match_reference),
        cmocka_unit_test(parallel_ranges_cover_everything_once),
        cmocka_unit_test(pools_come_and_go),
    };
    return ts_run_group_tests(tests, make_pool, free_pool);
}
