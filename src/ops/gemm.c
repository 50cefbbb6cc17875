/* ot_sgemm: the single entry point to cblas_sgemm, with the edge cases BLAS leaves open; and
 * ot_parallel_ranges: a small pool of worker threads (sleeping on a condition variable when
 * idle) for the loops around the GEMMs, sized like OpenBLAS's own pool so the two never ask
 * for more cores than the machine gives. */
#include "gemm.h"

#include <cblas.h>
#include <pthread.h>
#include <stdint.h>
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

/* The pool -------------------------------------------------------------------------------- */

#define MAX_THREADS 16

static struct {
    pthread_once_t once;
    pthread_mutex_t lock;    /* guards the job fields below */
    pthread_cond_t start, done;
    pthread_mutex_t busy;    /* held by the thread running a parallel loop */
    int threads;             /* including the caller */
    unsigned generation;     /* bumped per job; workers wait for a new one */
    ot_range_fn fn;
    void *arg;
    int64_t count;
    int parts;
    int pending; /* worker parts not finished */
} pool = {PTHREAD_ONCE_INIT, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
          PTHREAD_COND_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, 1, 0, NULL, NULL, 0, 0, 0};

static _Thread_local int inside_loop;

static void run_part(ot_range_fn fn, void *arg, int64_t count, int parts, int part) {
    fn(count * part / parts, count * (part + 1) / parts, part, arg);
}

static void *worker_main(void *p) {
    int id = (int)(intptr_t)p;
    inside_loop = 1;
    /* Jobs are numbered from 1 and none is posted before the pool exists, so a worker that
     * starts late still sees the first one. */
    unsigned seen = 0;
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        while (pool.generation == seen) pthread_cond_wait(&pool.start, &pool.lock);
        seen = pool.generation;
        if (id >= pool.parts) continue;
        ot_range_fn fn = pool.fn;
        void *arg = pool.arg;
        int64_t count = pool.count;
        int parts = pool.parts;
        pthread_mutex_unlock(&pool.lock);
        run_part(fn, arg, count, parts, id);
        pthread_mutex_lock(&pool.lock);
        if (--pool.pending == 0) pthread_cond_signal(&pool.done);
    }
    return NULL;
}

static void start_pool(void) {
    int threads = openblas_get_num_threads();
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    pool.threads = 1;
    for (int id = 1; id < threads; id++) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int failed = pthread_create(&t, &attr, worker_main, (void *)(intptr_t)id);
        pthread_attr_destroy(&attr);
        if (failed) break; /* fewer threads: still correct */
        pool.threads++;
    }
}

int ot_compute_threads(void) {
    pthread_once(&pool.once, start_pool);
    return pool.threads;
}

/* Runs the parts; with blas_per_part, OpenBLAS is single-threaded meanwhile so each part's
 * GEMMs run on its own core (a GEMM per core rather than one GEMM over all of them). */
static void run_parallel(int64_t count, int64_t grain, ot_range_fn fn, void *arg,
                         int blas_per_part) {
    pthread_once(&pool.once, start_pool);
    int64_t most = grain > 0 ? count / grain : count;
    int parts = most < pool.threads ? (int)most : pool.threads;
    if (parts < 2 || inside_loop || pthread_mutex_trylock(&pool.busy) != 0) {
        if (count > 0) fn(0, count, 0, arg);
        return;
    }
    inside_loop = 1;
    if (blas_per_part) openblas_set_num_threads(1);
    pthread_mutex_lock(&pool.lock);
    pool.fn = fn;
    pool.arg = arg;
    pool.count = count;
    pool.parts = parts;
    pool.pending = parts - 1;
    pool.generation++;
    pthread_cond_broadcast(&pool.start);
    pthread_mutex_unlock(&pool.lock);
    run_part(fn, arg, count, parts, 0);
    pthread_mutex_lock(&pool.lock);
    while (pool.pending > 0) pthread_cond_wait(&pool.done, &pool.lock);
    pthread_mutex_unlock(&pool.lock);
    if (blas_per_part) openblas_set_num_threads(pool.threads);
    inside_loop = 0;
    pthread_mutex_unlock(&pool.busy);
}

void ot_parallel_ranges(int64_t count, int64_t grain, ot_range_fn fn, void *arg) {
    run_parallel(count, grain, fn, arg, 0);
}

void ot_parallel_gemm_ranges(int64_t count, ot_range_fn fn, void *arg) {
    run_parallel(count, 1, fn, arg, 1);
}
