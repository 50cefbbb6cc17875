/* A pool of compute threads that also splits every sizeable GEMM (ops/gemm.c), OpenBLAS
 * itself running single-threaded (the context sets that up, onnxtrain/context.h). One pool
 * means no two sets of threads competing for the cores, and its workers poll briefly before
 * sleeping, so the dozens of parallel steps in a training step do not each wait for a thread
 * to wake (MLP epoch 2.1 -> 1.95 s, the cached fine-tune 0.20 -> 0.19 s). */
#include "thread_pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

#define MAX_THREADS 16
/* An idle worker polls for the next job this long before it sleeps: a training step runs
 * dozens of parallel loops microseconds apart, and waking a sleeping thread takes 10-50 us. */
#define SPIN_NS 200000

struct ot_pool {
    pthread_mutex_t lock; /* guards the job fields below */
    pthread_cond_t start, done;
    pthread_mutex_t busy; /* held by the thread running a parallel loop */
    int threads;          /* including the caller */
    pthread_t workers[MAX_THREADS];
    _Atomic unsigned generation; /* bumped per job; workers wait for a new one */
    _Atomic int stopping;        /* set by oti_pool_free with a last job */
    ot_range_fn fn;
    void *arg;
    int64_t count;
    int parts;
    _Atomic int pending; /* worker parts not finished */
};

/* Set on pool workers and while a thread runs a parallel loop: a loop inside a loop runs on
 * its own thread (a property of the thread, not a setting). */
static _Thread_local int inside_loop;

typedef struct worker_start {
    ot_pool *pool;
    int id;
} worker_start;

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Polls until done(arg) holds or SPIN_NS pass; returns whether it holds. */
static int spin_until(int (*done)(const ot_pool *, unsigned), const ot_pool *pool, unsigned seen) {
    int64_t deadline = 0;
    for (unsigned i = 1;; i++) {
        if (done(pool, seen)) return 1;
        if (i % 64 == 0) {
            int64_t t = now_ns();
            if (!deadline)
                deadline = t + SPIN_NS;
            else if (t > deadline)
                return 0;
        }
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
}

static int new_job(const ot_pool *pool, unsigned seen) {
    return atomic_load(&pool->generation) != seen;
}
static int parts_done(const ot_pool *pool, unsigned unused) {
    (void)unused;
    return atomic_load(&pool->pending) == 0;
}

static void run_part(ot_range_fn fn, void *arg, int64_t count, int parts, int part) {
    fn(count * part / parts, count * (part + 1) / parts, part, arg);
}

static void *worker_main(void *p) {
    worker_start start = *(worker_start *)p;
    free(p);
    ot_pool *pool = start.pool;
    inside_loop = 1;
    /* Jobs are numbered from 1 and none is posted before the workers exist, so a worker that
     * starts late still sees the first one. */
    unsigned seen = 0;
    for (;;) {
        spin_until(new_job, pool, seen);
        pthread_mutex_lock(&pool->lock);
        while (atomic_load(&pool->generation) == seen) pthread_cond_wait(&pool->start, &pool->lock);
        seen = atomic_load(&pool->generation);
        if (atomic_load(&pool->stopping)) {
            pthread_mutex_unlock(&pool->lock);
            return NULL;
        }
        if (start.id >= pool->parts) {
            pthread_mutex_unlock(&pool->lock);
            continue;
        }
        ot_range_fn fn = pool->fn;
        void *arg = pool->arg;
        int64_t count = pool->count;
        int parts = pool->parts;
        pthread_mutex_unlock(&pool->lock);
        run_part(fn, arg, count, parts, start.id);
        pthread_mutex_lock(&pool->lock);
        if (atomic_fetch_sub(&pool->pending, 1) == 1) pthread_cond_signal(&pool->done);
        pthread_mutex_unlock(&pool->lock);
    }
}

ot_status oti_pool_create(int threads, ot_pool **out) {
    *out = NULL;
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    if (threads <= 1) return OT_OK;
    ot_pool *pool = oti_calloc(1, sizeof *pool);
    OT_ALLOC_CHECK(pool);
    pthread_mutex_init(&pool->lock, NULL);
    pthread_mutex_init(&pool->busy, NULL);
    pthread_cond_init(&pool->start, NULL);
    pthread_cond_init(&pool->done, NULL);
    pool->threads = 1;
    for (int id = 1; id < threads; id++) {
        worker_start *start = oti_malloc(sizeof *start);
        if (!start) break; /* fewer threads: still correct */
        *start = (worker_start){pool, id};
        if (pthread_create(&pool->workers[id], NULL, worker_main, start) != 0) {
            free(start);
            break;
        }
        pool->threads++;
    }
    *out = pool;
    return OT_OK;
}

void oti_pool_free(ot_pool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->lock);
    atomic_store(&pool->stopping, 1);
    atomic_fetch_add(&pool->generation, 1);
    pthread_cond_broadcast(&pool->start);
    pthread_mutex_unlock(&pool->lock);
    for (int id = 1; id < pool->threads; id++) pthread_join(pool->workers[id], NULL);
    pthread_mutex_destroy(&pool->lock);
    pthread_mutex_destroy(&pool->busy);
    pthread_cond_destroy(&pool->start);
    pthread_cond_destroy(&pool->done);
    free(pool);
}

int oti_pool_threads(const ot_pool *pool) {
    return pool ? pool->threads : 1;
}

void oti_parallel_ranges(ot_pool *pool, int64_t count, int64_t grain, ot_range_fn fn, void *arg) {
    int64_t most = grain > 0 ? count / grain : count;
    int threads = oti_pool_threads(pool);
    int parts = most < threads ? (int)most : threads;
    if (parts < 2 || inside_loop || pthread_mutex_trylock(&pool->busy) != 0) {
        if (count > 0) fn(0, count, 0, arg);
        return;
    }
    inside_loop = 1;
    pthread_mutex_lock(&pool->lock);
    pool->fn = fn;
    pool->arg = arg;
    pool->count = count;
    pool->parts = parts;
    atomic_store(&pool->pending, parts - 1);
    atomic_fetch_add(&pool->generation, 1);
    pthread_cond_broadcast(&pool->start);
    pthread_mutex_unlock(&pool->lock);
    run_part(fn, arg, count, parts, 0);
    if (!spin_until(parts_done, pool, 0)) {
        pthread_mutex_lock(&pool->lock);
        while (atomic_load(&pool->pending) > 0) pthread_cond_wait(&pool->done, &pool->lock);
        pthread_mutex_unlock(&pool->lock);
    }
    inside_loop = 0;
    pthread_mutex_unlock(&pool->busy);
}

static void zero_range(int64_t begin, int64_t end, int part, void *arg) {
    (void)part;
    memset((char *)arg + begin, 0, (size_t)(end - begin));
}

void oti_parallel_zero(ot_pool *pool, void *data, size_t bytes) {
    oti_parallel_ranges(pool, (int64_t)bytes, (int64_t)1 << 17, zero_range, data);
}
