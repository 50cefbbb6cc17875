/* Optimizers against reference trajectories: torch.optim (and a numpy transcription of
 * TensorFlow's FTRL kernel) run by tools/fixtures/gen_optimizer_fixtures.py on 37
 * parameters for 5 steps; every step must agree within 1e-6 relative. Also kind names,
 * defaults, state allocation and refused configurations. */
#include <math.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/util.h"
#include "formats/npy.h"
#include "onnxtrain/optimizer.h"
#include "test_support.h"

#define KEEP (-1.0f) /* leave the kind's default */

/* The script's cases, with the same hyperparameters (everything else is the default). */
typedef struct optim_case {
    const char *name;
    ot_optimizer_kind kind;
    float lr, momentum, weight_decay, eps, l1, l2;
} optim_case;

static const optim_case cases[] = {
    {"sgd", OT_OPTIMIZER_SGD, 0.1f, KEEP, KEEP, KEEP, KEEP, KEEP},
    {"sgd_wd", OT_OPTIMIZER_SGD, 0.1f, KEEP, 0.05f, KEEP, KEEP, KEEP},
    {"momentum", OT_OPTIMIZER_MOMENTUM, 0.05f, 0.9f, KEEP, KEEP, KEEP, KEEP},
    {"momentum_wd", OT_OPTIMIZER_MOMENTUM, 0.05f, 0.9f, 0.05f, KEEP, KEEP, KEEP},
    {"nesterov", OT_OPTIMIZER_NESTEROV, 0.05f, 0.9f, KEEP, KEEP, KEEP, KEEP},
    {"nesterov_wd", OT_OPTIMIZER_NESTEROV, 0.05f, 0.9f, 0.05f, KEEP, KEEP, KEEP},
    {"adagrad", OT_OPTIMIZER_ADAGRAD, 0.1f, KEEP, KEEP, KEEP, KEEP, KEEP},
    {"adagrad_wd", OT_OPTIMIZER_ADAGRAD, 0.1f, KEEP, 0.05f, KEEP, KEEP, KEEP},
    {"adagrad_eps", OT_OPTIMIZER_ADAGRAD, 0.1f, KEEP, KEEP, 0.1f, KEEP, KEEP},
    {"rmsprop", OT_OPTIMIZER_RMSPROP, 0.01f, KEEP, KEEP, KEEP, KEEP, KEEP},
    {"rmsprop_wd", OT_OPTIMIZER_RMSPROP, 0.01f, KEEP, 0.05f, KEEP, KEEP, KEEP},
    {"rmsprop_momentum", OT_OPTIMIZER_RMSPROP, 0.01f, 0.9f, KEEP, KEEP, KEEP, KEEP},
    {"rmsprop_eps", OT_OPTIMIZER_RMSPROP, 0.01f, KEEP, KEEP, 0.1f, KEEP, KEEP},
    {"adam", OT_OPTIMIZER_ADAM, 0.01f, KEEP, KEEP, KEEP, KEEP, KEEP},
    {"adam_wd", OT_OPTIMIZER_ADAM, 0.01f, KEEP, 0.05f, KEEP, KEEP, KEEP},
    {"adam_eps", OT_OPTIMIZER_ADAM, 0.01f, KEEP, KEEP, 0.1f, KEEP, KEEP},
    {"adamw", OT_OPTIMIZER_ADAMW, 0.01f, KEEP, KEEP, KEEP, KEEP, KEEP},
    {"adamw_wd", OT_OPTIMIZER_ADAMW, 0.01f, KEEP, 0.1f, KEEP, KEEP, KEEP},
    {"ftrl", OT_OPTIMIZER_FTRL, 0.1f, KEEP, KEEP, KEEP, KEEP, KEEP},
    {"ftrl_l1_l2", OT_OPTIMIZER_FTRL, 0.1f, KEEP, KEEP, KEEP, 0.7f, 0.1f},
};

static ot_tensor load_fixture(const char *name) {
    char file[128];
    snprintf(file, sizeof file, "optim/%s.npy", name);
    ot_tensor t;
    if (oti_npy_load(NULL, ts_fixture(file), &t) != OT_OK) fail_msg("%s", ot_last_error());
    assert_int_equal(t.dtype, OT_FLOAT);
    return t;
}

static ot_optimizer_config case_config(const optim_case *c) {
    ot_optimizer_config config;
    ot_optimizer_defaults(c->kind, &config);
    config.lr = c->lr;
    if (c->momentum != KEEP) config.momentum = c->momentum;
    if (c->weight_decay != KEEP) config.weight_decay = c->weight_decay;
    if (c->eps != KEEP) config.eps = c->eps;
    if (c->l1 != KEEP) config.l1 = c->l1;
    if (c->l2 != KEEP) config.l2 = c->l2;
    return config;
}

/* Runs one case; returns the worst relative error over all steps and elements. */
static double run_case(const optim_case *c, const ot_tensor *params0, const ot_tensor *grads) {
    ot_tensor expected = load_fixture(c->name);
    int64_t n = ot_tensor_numel(params0);
    int steps = (int)grads->dims[0];
    assert_int_equal(grads->ndim, 2);
    assert_int_equal(grads->dims[1], n);
    assert_int_equal(expected.ndim, 2);
    assert_int_equal(expected.dims[0], steps);
    assert_int_equal(expected.dims[1], n);

    ot_optimizer_config config = case_config(c);
    ot_optimizer *opt;
    if (ot_optimizer_create(NULL, &config, n, &opt) != OT_OK) fail_msg("%s: %s", c->name, ot_last_error());
    float params[64];
    assert_true(n <= 64);
    memcpy(params, params0->data, sizeof(float) * (size_t)n);
    double worst = 0.0;
    for (int k = 0; k < steps; k++) {
        ot_optimizer_step(opt, params, (const float *)grads->data + k * n, config.lr);
        const float *want = (const float *)expected.data + k * n;
        for (int64_t i = 0; i < n; i++) {
            /* Exact zeros (FTRL's l1 shrinkage) must stay exact: the relative bound is 0. */
            double err = fabs((double)params[i] - want[i]);
            double rel = want[i] != 0.0f ? err / fabs(want[i]) : err > 0 ? INFINITY : 0.0;
            if (rel > 1e-6)
                fail_msg("%s step %d element %lld: %.9g, expected %.9g (relative error %.3g)",
                         c->name, k + 1, (long long)i, params[i], want[i], rel);
            if (rel > worst) worst = rel;
        }
    }
    assert_int_equal(opt->step, steps);
    ot_optimizer_free(opt);
    ot_tensor_free(&expected);
    return worst;
}

static void trajectories_match_references(void **state) {
    (void)state;
    ot_tensor params0 = load_fixture("params0"), grads = load_fixture("grads");
    assert_int_equal(ot_tensor_numel(&params0), 37);
    for (int i = 0; i < OT_COUNT(cases); i++) {
        double worst = run_case(&cases[i], &params0, &grads);
        print_message("%-18s worst relative error %.3g\n", cases[i].name, worst);
    }
    ot_tensor_free(&params0);
    ot_tensor_free(&grads);
}

static void kind_names_round_trip(void **state) {
    (void)state;
    static const char *const names[] = {"sgd",     "momentum", "nesterov", "adagrad",
                                        "rmsprop", "adam",     "adamw",    "ftrl"};
    static const ot_optimizer_kind kinds[] = {
        OT_OPTIMIZER_SGD,     OT_OPTIMIZER_MOMENTUM, OT_OPTIMIZER_NESTEROV, OT_OPTIMIZER_ADAGRAD,
        OT_OPTIMIZER_RMSPROP, OT_OPTIMIZER_ADAM,     OT_OPTIMIZER_ADAMW,    OT_OPTIMIZER_FTRL};
    for (int i = 0; i < OT_COUNT(names); i++) {
        ot_optimizer_kind kind = (ot_optimizer_kind)-1;
        assert_int_equal(ot_optimizer_kind_from_name(names[i], &kind), 1);
        assert_int_equal(kind, kinds[i]);
        assert_string_equal(ot_optimizer_name(kinds[i]), names[i]);
    }
    ot_optimizer_kind kind = OT_OPTIMIZER_ADAM;
    assert_int_equal(ot_optimizer_kind_from_name("Adam", &kind), 0);
    assert_int_equal(ot_optimizer_kind_from_name("lbfgs", &kind), 0);
    assert_int_equal(ot_optimizer_kind_from_name("", &kind), 0);
    assert_int_equal(ot_optimizer_kind_from_name(NULL, &kind), 0);
    assert_int_equal(kind, OT_OPTIMIZER_ADAM); /* untouched on failure */
}

static void defaults_are_pytorch_and_tensorflow(void **state) {
    (void)state;
    ot_optimizer_config c;
    ot_optimizer_defaults(OT_OPTIMIZER_SGD, &c);
    assert_int_equal(c.kind, OT_OPTIMIZER_SGD);
    assert_true(c.lr == 0.01f && c.momentum == 0.0f && c.weight_decay == 0.0f);
    ot_optimizer_defaults(OT_OPTIMIZER_MOMENTUM, &c);
    assert_true(c.lr == 0.01f && c.momentum == 0.9f && c.weight_decay == 0.0f);
    ot_optimizer_defaults(OT_OPTIMIZER_NESTEROV, &c);
    assert_true(c.kind == OT_OPTIMIZER_NESTEROV && c.momentum == 0.9f);
    ot_optimizer_defaults(OT_OPTIMIZER_ADAGRAD, &c);
    assert_true(c.lr == 0.01f && c.eps == 1e-10f && c.initial_accumulator == 0.0f);
    ot_optimizer_defaults(OT_OPTIMIZER_RMSPROP, &c);
    assert_true(c.lr == 0.01f && c.decay == 0.99f && c.eps == 1e-8f && c.momentum == 0.0f);
    ot_optimizer_defaults(OT_OPTIMIZER_ADAM, &c);
    assert_true(c.lr == 0.001f && c.beta1 == 0.9f && c.beta2 == 0.999f && c.eps == 1e-8f);
    assert_true(c.weight_decay == 0.0f);
    ot_optimizer_defaults(OT_OPTIMIZER_ADAMW, &c);
    assert_true(c.lr == 0.001f && c.beta1 == 0.9f && c.beta2 == 0.999f && c.eps == 1e-8f);
    assert_true(c.weight_decay == 0.01f);
    ot_optimizer_defaults(OT_OPTIMIZER_FTRL, &c);
    assert_true(c.lr == 0.01f && c.lr_power == -0.5f && c.initial_accumulator == 0.1f);
    assert_true(c.l1 == 0.0f && c.l2 == 0.0f && c.weight_decay == 0.0f);
}

static ot_optimizer *create_default(ot_optimizer_kind kind, float momentum, int64_t n) {
    ot_optimizer_config c;
    ot_optimizer_defaults(kind, &c);
    if (momentum >= 0.0f) c.momentum = momentum;
    ot_optimizer *opt;
    if (ot_optimizer_create(NULL, &c, n, &opt) != OT_OK) fail_msg("%s", ot_last_error());
    return opt;
}

static void state_buffers_per_kind(void **state) {
    (void)state;
    /* Plain SGD keeps nothing: no buffer is allocated. */
    ot_optimizer *opt = create_default(OT_OPTIMIZER_SGD, KEEP, 100);
    assert_int_equal(opt->n_state, 0);
    assert_null(opt->state[0]);
    assert_null(opt->state[1]);
    ot_optimizer_free(opt);

    const struct { ot_optimizer_kind kind; float momentum; int n_state; } expect[] = {
        {OT_OPTIMIZER_MOMENTUM, KEEP, 1}, {OT_OPTIMIZER_NESTEROV, KEEP, 1},
        {OT_OPTIMIZER_ADAGRAD, KEEP, 1},  {OT_OPTIMIZER_RMSPROP, KEEP, 1},
        {OT_OPTIMIZER_RMSPROP, 0.9f, 2},  {OT_OPTIMIZER_ADAM, KEEP, 2},
        {OT_OPTIMIZER_ADAMW, KEEP, 2},    {OT_OPTIMIZER_FTRL, KEEP, 2},
    };
    for (int i = 0; i < OT_COUNT(expect); i++) {
        opt = create_default(expect[i].kind, expect[i].momentum, 5);
        assert_int_equal(opt->n_state, expect[i].n_state);
        for (int k = 0; k < 2; k++) {
            if (k < expect[i].n_state) assert_non_null(opt->state[k]);
            else assert_null(opt->state[k]);
        }
        /* FTRL's accumulator starts at initial_accumulator, everything else at 0. */
        float first = expect[i].kind == OT_OPTIMIZER_FTRL ? 0.1f : 0.0f;
        for (int j = 0; j < 5; j++) {
            assert_true(opt->state[0][j] == first);
            if (expect[i].n_state == 2) assert_true(opt->state[1][j] == 0.0f);
        }
        ot_optimizer_free(opt);
    }
}

static void zero_parameters_step_is_harmless(void **state) {
    (void)state;
    ot_optimizer *opt = create_default(OT_OPTIMIZER_ADAM, KEEP, 0);
    ot_optimizer_step(opt, NULL, NULL, 0.001f);
    assert_int_equal(opt->step, 1);
    ot_optimizer_free(opt);
    ot_optimizer_free(NULL);
}

/* A block large enough to be split over the compute threads ends bit-identical to the same
 * values stepped in small blocks, which run in one piece (every update is per element). */
static void split_steps_match_small_blocks(void **state) {
    (void)state;
    enum { N = 200003, SMALL = 1000, STEPS = 3 };
    float *big = ts_malloc(sizeof(float) * N), *small = ts_malloc(sizeof(float) * N);
    float *grad = ts_malloc(sizeof(float) * N);
    for (int kind = 0; kind <= OT_OPTIMIZER_FTRL; kind++) {
        for (int64_t i = 0; i < N; i++) big[i] = small[i] = (float)((i * 7919) % 1001) / 1000.0f - 0.5f;
        ot_optimizer *whole = create_default((ot_optimizer_kind)kind, 0.9f, N);
        ot_optimizer *pieces[N / SMALL + 1];
        int n_pieces = 0;
        for (int64_t at = 0; at < N; at += SMALL)
            pieces[n_pieces++] = create_default((ot_optimizer_kind)kind, 0.9f, OT_MIN(SMALL, N - at));
        for (int step = 0; step < STEPS; step++) {
            for (int64_t i = 0; i < N; i++) grad[i] = (float)(((i + step) * 104729) % 2003) / 1000.0f - 1.0f;
            ot_optimizer_step(whole, big, grad, 0.01f);
            for (int k = 0; k < n_pieces; k++)
                ot_optimizer_step(pieces[k], small + (int64_t)k * SMALL, grad + (int64_t)k * SMALL, 0.01f);
        }
        if (memcmp(big, small, sizeof(float) * N) != 0)
            fail_msg("%s: a split step differs from small blocks", ot_optimizer_name((ot_optimizer_kind)kind));
        ot_optimizer_free(whole);
        for (int k = 0; k < n_pieces; k++) ot_optimizer_free(pieces[k]);
    }
    free(big);
    free(small);
    free(grad);
}

static void expect_refused(const ot_optimizer_config *c, const char *needle) {
    ot_optimizer *opt = (ot_optimizer *)1;
    assert_int_equal(ot_optimizer_create(NULL, c, 10, &opt), OT_ERR_INVALID);
    assert_null(opt);
    if (!strstr(ot_last_error(), needle))
        fail_msg("message '%s' does not mention '%s'", ot_last_error(), needle);
}

static void bad_configurations_are_refused(void **state) {
    (void)state;
    ot_optimizer_config c;
    ot_optimizer_defaults(OT_OPTIMIZER_SGD, &c);
    c.lr = -0.1f;
    expect_refused(&c, "learning rate");
    c.lr = NAN;
    expect_refused(&c, "learning rate");
    ot_optimizer_defaults(OT_OPTIMIZER_NESTEROV, &c);
    c.momentum = 0.0f;
    expect_refused(&c, "nesterov: momentum");
    ot_optimizer_defaults(OT_OPTIMIZER_ADAM, &c);
    c.beta2 = 1.0f;
    expect_refused(&c, "adam: beta2");
    ot_optimizer_defaults(OT_OPTIMIZER_ADAMW, &c);
    c.weight_decay = -0.01f;
    expect_refused(&c, "adamw: weight decay");
    ot_optimizer_defaults(OT_OPTIMIZER_FTRL, &c);
    c.lr_power = 0.5f;
    expect_refused(&c, "ftrl: lr_power");
    ot_optimizer_defaults(OT_OPTIMIZER_FTRL, &c);
    c.lr = 0.0f;
    expect_refused(&c, "ftrl: learning rate");
    ot_optimizer_defaults(OT_OPTIMIZER_SGD, &c);
    c.kind = (ot_optimizer_kind)42;
    expect_refused(&c, "unknown optimizer kind 42");
    ot_optimizer *opt = (ot_optimizer *)1;
    ot_optimizer_defaults(OT_OPTIMIZER_SGD, &c);
    assert_int_equal(ot_optimizer_create(NULL, &c, -3, &opt), OT_ERR_INVALID);
    assert_null(opt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(trajectories_match_references),
        cmocka_unit_test(kind_names_round_trip),
        cmocka_unit_test(defaults_are_pytorch_and_tensorflow),
        cmocka_unit_test(state_buffers_per_kind),
        cmocka_unit_test(zero_parameters_step_is_harmless),
        cmocka_unit_test(split_steps_match_small_blocks),
        cmocka_unit_test(bad_configurations_are_refused),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
