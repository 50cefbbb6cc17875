/* The one pool of compute threads, sized like OpenBLAS's own (its thread count), which also
 * splits every sizeable GEMM (ops/gemm.c), OpenBLAS itself running single-threaded. One pool
 * means no two sets of threads competing for the cores, and its workers poll briefly before
 * sleeping, so the dozens of parallel steps in a training step do not each wait for a thread
 * to wake (MLP epoch 2.1 -> 1.95 s, the cached fine-tune 0.20 -> 0.19 s). */
#include "thread_pool.h"

#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* The pool -------------------------------------------------------------------------------- */

#define MAX_THREADS 16
/* An idle worker polls for the next job this long before it sleeps: a training step runs
 * dozens of parallel loops microseconds apart, and waking a sleeping thread takes 10-50 us. */
#define SPIN_NS 200000

static struct {
    pthread_once_t once;
    pthread_mutex_t lock; /* guards the job fields below */
    pthread_cond_t start, done;
    pthread_mutex_t busy;        /* held by the thread running a parallel loop */
    int threads;                 /* including the caller */
    _Atomic unsigned generation; /* bumped per job; workers wait for a new one */
    ot_range_fn fn;
    void *arg;
    int64_t count;
    int parts;
    _Atomic int pending; /* worker parts not finished */
} pool = {.once = PTHREAD_ONCE_INIT, .lock = PTHREAD_MUTEX_INITIALIZER,
          .start = PTHREAD_COND_INITIALIZER, .done = PTHREAD_COND_INITIALIZER,
          .busy = PTHREAD_MUTEX_INITIALIZER, .threads = 1};

static _Thread_local int inside_loop;

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Polls until done() holds or SPIN_NS pass; returns whether it holds. */
static int spin_until(int (*done)(const void *), const void *arg) {
    int64_t deadline = 0;
    for (unsigned i = 1;; i++) {
        if (done(arg)) return 1;
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

static int new_job(const void *seen) {
    return atomic_load(&pool.generation) != *(const unsigned *)seen;
}
static int parts_done(const void *unused) {
    (void)unused;
    return atomic_load(&pool.pending) == 0;
}

static void run_part(ot_range_fn fn, void *arg, int64_t count, int parts, int part) {
    fn(count * part / parts, count * (part + 1) / parts, part, arg);
}

static void *worker_main(void *p) {
    int id = (int)(intptr_t)p;
    inside_loop = 1;
    /* Jobs are numbered from 1 and none is posted before the pool exists, so a worker that
     * starts late still sees the first one. */
    unsigned seen = 0;
    for (;;) {
        spin_until(new_job, &seen);
        pthread_mutex_lock(&pool.lock);
        while (atomic_load(&pool.generation) == seen) pthread_cond_wait(&pool.start, &pool.lock);
        seen = atomic_load(&pool.generation);
        if (id >= pool.parts) {
            pthread_mutex_unlock(&pool.lock);
            continue;
        }
        ot_range_fn fn = pool.fn;
        void *arg = pool.arg;
        int64_t count = pool.count;
        int parts = pool.parts;
        pthread_mutex_unlock(&pool.lock);
        run_part(fn, arg, count, parts, id);
        pthread_mutex_lock(&pool.lock);
        if (atomic_fetch_sub(&pool.pending, 1) == 1) pthread_cond_signal(&pool.done);
        pthread_mutex_unlock(&pool.lock);
    }
    return NULL;
}

/* One pool for everything: as many threads as OpenBLAS would use (OPENBLAS_NUM_THREADS or the
 * cores), and OpenBLAS itself single-threaded from then on, so the two never compete for
 * cores and no GEMM waits for OpenBLAS's threads to wake. */
static void start_pool(void) {
    int threads = openblas_get_num_threads();
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    openblas_set_num_threads(1);
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

void ot_parallel_ranges(int64_t count, int64_t grain, ot_range_fn fn, void *arg) {
    pthread_once(&pool.once, start_pool);
    int64_t most = grain > 0 ? count / grain : count;
    int parts = most < pool.threads ? (int)most : pool.threads;
    if (parts < 2 || inside_loop || pthread_mutex_trylock(&pool.busy) != 0) {
        if (count > 0) fn(0, count, 0, arg);
        return;
    }
    inside_loop = 1;
    pthread_mutex_lock(&pool.lock);
    pool.fn = fn;
    pool.arg = arg;
    pool.count = count;
    pool.parts = parts;
    atomic_store(&pool.pending, parts - 1);
    atomic_fetch_add(&pool.generation, 1);
    pthread_cond_broadcast(&pool.start);
    pthread_mutex_unlock(&pool.lock);
    run_part(fn, arg, count, parts, 0);
    if (!spin_until(parts_done, NULL)) {
        pthread_mutex_lock(&pool.lock);
        while (atomic_load(&pool.pending) > 0) pthread_cond_wait(&pool.done, &pool.lock);
        pthread_mutex_unlock(&pool.lock);
    }
    inside_loop = 0;
    pthread_mutex_unlock(&pool.busy);
}

static void zero_range(int64_t begin, int64_t end, int part, void *arg) {
    (void)part;
    memset((char *)arg + begin, 0, (size_t)(end - begin));
}

void ot_parallel_zero(void *data, size_t bytes) {
    ot_parallel_ranges((int64_t)bytes, (int64_t)1 << 17, zero_range, data);
}
