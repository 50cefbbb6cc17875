/* Synchronised BatchNorm without MPI: two training plans, each on half of a batch, run in two
 * threads whose ot_cross_sum adds the two halves' sums (as the MPI allreduce does across
 * ranks). Against one plan on the whole batch: the same outputs and input gradients (each on
 * its rows), scale and bias gradients that add up to the whole batch's, and the same running
 * statistics in both halves. One test also gives one half no rows of its own (the trainer's
 * pass for a rank with none in a short last batch: it adds zeros) and checks the other half
 * then normalises with its own statistics alone. */
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <stdlib.h>

#include "test_support.h"

#define N 4 /* samples in the whole batch, N / 2 per half */
#define C 3
#define S 4 /* spatial values per channel (2 x 2) */

/* What two "ranks" share: a barrier and each one's values during a sum. */
typedef struct two_ranks {
    pthread_barrier_t barrier;
    double *values[2];
    int silent[2]; /* this rank adds zeros (no rows of its own) */
} two_ranks;

typedef struct rank_of_two {
    two_ranks *both;
    int rank;
    ot_cross_sum sum;
    ot_model *m;
    ot_plan *plan;
    const float *dy; /* (N / 2, C, S) */
    ot_status status;
} rank_of_two;

static ot_status sum_of_two(void *user, double *values, int64_t n) {
    rank_of_two *r = user;
    two_ranks *both = r->both;
    assert_true(n <= 2 * C + 1);
    if (both->silent[r->rank]) memset(values, 0, sizeof(double) * (size_t)n);
    both->values[r->rank] = values;
    pthread_barrier_wait(&both->barrier);
    double other[2 * C + 1];
    memcpy(other, both->values[1 - r->rank], sizeof(double) * (size_t)n);
    pthread_barrier_wait(&both->barrier); /* both have read before either writes */
    for (int64_t i = 0; i < n; i++) values[i] += other[i];
    return OT_OK;
}

static int value_named(const ot_model *m, const char *name) { return ot_model_find_value(m, name); }

/* A BatchNormalization model on x (batch, C, 2, 2) with scale, bias and x trained. */
static ot_model *bn_model(const float *x, int64_t batch) {
    static const float scale[C] = {1.5f, -0.5f, 2.0f}, bias[C] = {0.1f, 0.2f, -0.3f};
    static const float mean[C] = {0.2f, -0.1f, 0.4f}, var[C] = {1.2f, 0.6f, 2.5f};
    int64_t xd[4] = {batch, C, 2, 2}, cd[1] = {C};
    ot_tensor t[5] = {ts_float(4, xd, x), ts_float(1, cd, scale), ts_float(1, cd, bias), ts_float(1, cd, mean),
                      ts_float(1, cd, var)};
    const ot_tensor *list[5] = {&t[0], &t[1], &t[2], &t[3], &t[4]};
    ot_attr attrs[1] = {ts_attr_float("epsilon", 1e-3f)};
    ot_model *m = ts_single_node("", "BatchNormalization", 15, 5, list, NULL, 1, 1, attrs);
    ot_attr_free(&attrs[0]);
    ts_free_tensors(t, 5);
    return m;
}

/* A training plan of m (sum: its cross sum, or NULL); x0 (x), x1 (scale), x2 (bias) trained. */
static ot_plan *bn_plan(ot_model *m, const ot_cross_sum *sum) {
    unsigned char *trainable = ts_calloc((size_t)m->n_values + 1, 1);
    trainable[value_named(m, "x0")] = trainable[value_named(m, "x1")] = trainable[value_named(m, "x2")] = 1;
    ot_plan_options options = {.training = 1, .trainable = trainable, .cross_sum = sum};
    ot_plan *plan;
    if (ot_plan_create(m, &options, 0, NULL, NULL, &plan) != OT_OK) fail_msg("plan: %s", ot_last_error());
    free(trainable);
    return plan;
}

/* Forward, then backward from the output gradient dy. */
static ot_status step(ot_model *m, ot_plan *plan, const float *dy) {
    OT_TRY(ot_plan_forward(plan));
    ot_plan_zero_grads(plan);
    ot_tensor *g = ot_plan_grad(plan, m->outputs[0]);
    memcpy(g->data, dy, sizeof(float) * (size_t)ot_tensor_numel(g));
    return ot_plan_backward(plan);
}

static void *run_rank(void *arg) {
    rank_of_two *r = arg;
    r->status = step(r->m, r->plan, r->dy);
    return NULL;
}

static const float *data_of(ot_model *m, ot_plan *plan, const char *name, int grad) {
    int v = value_named(m, name);
    return grad ? ot_plan_grad(plan, v)->data : m->values[v].tensor.data;
}

static void expect_close(const float *got, const float *want, int64_t n, double tolerance) {
    for (int64_t i = 0; i < n; i++)
        if (!(fabs((double)got[i] - want[i]) <= tolerance * (1.0 + fabs(want[i]))))
            fail_msg("element %lld: %.9g, expected %.9g", (long long)i, got[i], want[i]);
}

/* Runs the two halves (rows [0, N/2) and [N/2, N) of x and dy) in two threads; the first
 * half adds zeros when `first_silent`. */
static void run_halves(rank_of_two ranks[2], two_ranks *both, const float *x, const float *dy, int first_silent) {
    int64_t half = N / 2 * C * S;
    memset(both, 0, sizeof *both);
    pthread_barrier_init(&both->barrier, NULL, 2);
    both->silent[0] = first_silent;
    pthread_t threads[2];
    for (int r = 0; r < 2; r++) {
        ranks[r] = (rank_of_two){.both = both, .rank = r, .dy = dy + r * half};
        ranks[r].sum = (ot_cross_sum){.sum = sum_of_two, .user = &ranks[r]};
        ranks[r].m = bn_model(x + r * half, N / 2);
        ranks[r].plan = bn_plan(ranks[r].m, &ranks[r].sum);
    }
    for (int r = 0; r < 2; r++) assert_int_equal(pthread_create(&threads[r], NULL, run_rank, &ranks[r]), 0);
    for (int r = 0; r < 2; r++) pthread_join(threads[r], NULL);
    pthread_barrier_destroy(&both->barrier);
    for (int r = 0; r < 2; r++) assert_int_equal(ranks[r].status, OT_OK);
}

static void free_halves(rank_of_two ranks[2]) {
    for (int r = 0; r < 2; r++) {
        ot_plan_free(ranks[r].plan);
        ot_model_free(ranks[r].m);
    }
}

static void inputs(float *x, float *dy) {
    for (int i = 0; i < N * C * S; i++) {
        x[i] = (float)(sin(i * 0.9) * 2.0 + 0.5);
        dy[i] = (float)cos(i * 0.7);
    }
}

static void halves_match_whole_batch(void **state) {
    (void)state;
    float x[N * C * S], dy[N * C * S];
    inputs(x, dy);
    ot_model *whole = bn_model(x, N);
    ot_plan *plan = bn_plan(whole, NULL);
    assert_int_equal(step(whole, plan, dy), OT_OK);
    rank_of_two ranks[2];
    two_ranks both;
    run_halves(ranks, &both, x, dy, 0);
    int64_t half = N / 2 * C * S;
    float summed[C];
    for (int r = 0; r < 2; r++) {
        ot_model *m = ranks[r].m;
        expect_close(ot_plan_value(ranks[r].plan, m->outputs[0])->data,
                     (const float *)ot_plan_value(plan, whole->outputs[0])->data + r * half, half, 1e-6);
        expect_close(data_of(m, ranks[r].plan, "x0", 1), data_of(whole, plan, "x0", 1) + r * half, half, 1e-6);
        expect_close(data_of(m, ranks[r].plan, "x3", 0), data_of(whole, plan, "x3", 0), C, 1e-6);
        expect_close(data_of(m, ranks[r].plan, "x4", 0), data_of(whole, plan, "x4", 0), C, 1e-6);
    }
    for (int k = 1; k <= 2; k++) {
        const char *name = k == 1 ? "x1" : "x2";
        for (int c = 0; c < C; c++)
            summed[c] = data_of(ranks[0].m, ranks[0].plan, name, 1)[c] + data_of(ranks[1].m, ranks[1].plan, name, 1)[c];
        expect_close(summed, data_of(whole, plan, name, 1), C, 1e-5);
    }
    free_halves(ranks);
    ot_plan_free(plan);
    ot_model_free(whole);
}

static void silent_half_adds_nothing(void **state) {
    (void)state;
    float x[N * C * S], dy[N * C * S];
    inputs(x, dy);
    int64_t half = N / 2 * C * S;
    /* The reference: the second half alone, without a cross sum. */
    ot_model *alone = bn_model(x + half, N / 2);
    ot_plan *plan = bn_plan(alone, NULL);
    assert_int_equal(step(alone, plan, dy + half), OT_OK);
    rank_of_two ranks[2];
    two_ranks both;
    run_halves(ranks, &both, x, dy, 1);
    ot_model *m = ranks[1].m;
    expect_close(ot_plan_value(ranks[1].plan, m->outputs[0])->data, ot_plan_value(plan, alone->outputs[0])->data,
                 half, 1e-6);
    expect_close(data_of(m, ranks[1].plan, "x0", 1), data_of(alone, plan, "x0", 1), half, 1e-6);
    /* Both halves' running statistics are the second half's batch statistics. */
    for (int r = 0; r < 2; r++) {
        expect_close(data_of(ranks[r].m, ranks[r].plan, "x3", 0), data_of(alone, plan, "x3", 0), C, 1e-6);
        expect_close(data_of(ranks[r].m, ranks[r].plan, "x4", 0), data_of(alone, plan, "x4", 0), C, 1e-6);
    }
    free_halves(ranks);
    ot_plan_free(plan);
    ot_model_free(alone);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(halves_match_whole_batch),
        cmocka_unit_test(silent_half_adds_nothing),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
