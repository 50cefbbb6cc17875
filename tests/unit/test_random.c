/* The 'random' family: samples follow their distributions (moments and frequencies within
 * a few standard errors of the definitions), a seed attribute repeats its numbers, and the
 * ops are never folded: every forward of a plan draws anew. */
#include <math.h>
#include <stdlib.h>

#include "onnxtrain/plan.h"
#include "test_support.h"

/* Runs a one-node model (inputs as initializers) with the plan's generator seeded by seed;
 * `runs` forwards of the same plan, returning the last output. */
static ot_tensor sample(const char *op, int opset, int n_inputs, const ot_tensor *const *inputs, int n_attrs,
                        const ot_attr *attrs, uint64_t seed, int runs) {
    ot_model *m = ts_single_node("", op, opset, n_inputs, inputs, NULL, 1, n_attrs, attrs);
    ot_rng rng;
    ot_rng_seed(&rng, seed);
    ot_plan_options options = ts_plan_options();
    options.rng = &rng;
    ot_plan *plan;
    if (ot_plan_create(m, &options, 0, NULL, NULL, &plan) != OT_OK) fail_msg("%s", ot_last_error());
    for (int r = 0; r < runs; r++)
        if (ot_plan_forward(plan) != OT_OK) fail_msg("%s", ot_last_error());
    ot_tensor copy;
    assert_int_equal(ot_tensor_copy(&copy, ot_plan_value(plan, m->outputs[0]), "y"), OT_OK);
    ot_plan_free(plan);
    ot_model_free(m);
    return copy;
}

static void moments(const ot_tensor *t, double *mean, double *var) {
    const float *v = t->data;
    int64_t n = ot_tensor_numel(t);
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < n; i++) s += v[i], s2 += (double)v[i] * v[i];
    *mean = s / (double)n;
    *var = s2 / (double)n - *mean * *mean;
}

enum { N = 40000 };

static void uniform_and_normal_follow_their_definitions(void **state) {
    (void)state;
    ot_attr uni[3] = {ts_attr_ints("shape", 1, I64(N)), ts_attr_float("low", -2), ts_attr_float("high", 3)};
    ot_tensor u = sample("RandomUniform", 1, 0, NULL, 3, uni, 1, 1);
    double mean, var;
    moments(&u, &mean, &var);
    for (int64_t i = 0; i < N; i++) assert_true(((float *)u.data)[i] >= -2 && ((float *)u.data)[i] < 3);
    /* Uniform(-2, 3): mean 0.5, variance 25/12; the mean's standard error is 0.0072. */
    assert_true(fabs(mean - 0.5) < 0.04 && fabs(var - 25.0 / 12.0) < 0.1);
    ot_attr nor[3] = {ts_attr_ints("shape", 2, I64(N / 4, 4)), ts_attr_float("mean", 1), ts_attr_float("scale", 2)};
    ot_tensor g = sample("RandomNormal", 1, 0, NULL, 3, nor, 1, 1);
    moments(&g, &mean, &var);
    assert_true(fabs(mean - 1.0) < 0.05 && fabs(sqrt(var) - 2.0) < 0.05);
    for (int k = 0; k < 3; k++) ot_attr_free(&uni[k]), ot_attr_free(&nor[k]);
    ts_free_tensors((ot_tensor[]){u, g}, 2);
}

static void like_forms_take_the_input_shape(void **state) {
    (void)state;
    ot_tensor x = ts_float(2, I64(3, 4), F32(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
    ot_tensor y = sample("RandomNormalLike", 1, 1, (const ot_tensor *[]){&x}, 0, NULL, 1, 1);
    assert_int_equal(y.ndim, 2);
    assert_int_equal(y.dims[0], 3);
    assert_int_equal(y.dims[1], 4);
    ts_free_tensors((ot_tensor[]){x, y}, 2);
}

static void a_seed_attribute_repeats_and_the_plan_generator_does_not(void **state) {
    (void)state;
    ot_attr attrs[2] = {ts_attr_ints("shape", 1, I64(8)), ts_attr_float("seed", 5)};
    /* With the attribute: the same numbers whatever the plan's seed and however many runs. */
    ot_tensor a = sample("RandomUniform", 1, 0, NULL, 2, attrs, 1, 1);
    ot_tensor b = sample("RandomUniform", 1, 0, NULL, 2, attrs, 2, 3);
    assert_memory_equal(a.data, b.data, 8 * sizeof(float));
    /* Without: each forward draws new numbers (never folded), and the plan's seed decides. */
    ot_tensor first = sample("RandomUniform", 1, 0, NULL, 1, attrs, 1, 1);
    ot_tensor second = sample("RandomUniform", 1, 0, NULL, 1, attrs, 1, 2);
    ot_tensor again = sample("RandomUniform", 1, 0, NULL, 1, attrs, 1, 1);
    assert_memory_not_equal(first.data, second.data, 8 * sizeof(float));
    assert_memory_equal(first.data, again.data, 8 * sizeof(float));
    ot_attr_free(&attrs[0]);
    ot_attr_free(&attrs[1]);
    ts_free_tensors((ot_tensor[]){a, b, first, second, again}, 5);
}

static void bernoulli_and_multinomial_frequencies(void **state) {
    (void)state;
    float *p = ts_calloc(N + 2, sizeof(float));
    p[0] = 0, p[1] = 1;
    for (int i = 2; i < N + 2; i++) p[i] = 0.3f;
    ot_tensor probs = ts_float(1, I64(N + 2), p);
    ot_attr as_int = ts_attr_int("dtype", 7);
    ot_tensor ones = sample("Bernoulli", 15, 1, (const ot_tensor *[]){&probs}, 1, &as_int, 3, 1);
    const int64_t *o = ones.data;
    assert_int_equal(o[0], 0);
    assert_int_equal(o[1], 1);
    double hits = 0;
    for (int i = 2; i < N + 2; i++) hits += (double)o[i];
    assert_true(fabs(hits / N - 0.3) < 0.015); /* standard error 0.0023 */
    /* Multinomial over log([0.2, 0.5, 0.3]) (unnormalized: +1 everywhere changes nothing). */
    ot_tensor logits = ts_float(2, I64(1, 3), F32(logf(0.2f) + 1, logf(0.5f) + 1, logf(0.3f) + 1));
    ot_attr attrs[2] = {ts_attr_int("sample_size", N), ts_attr_int("dtype", 7)};
    ot_tensor draws = sample("Multinomial", 7, 1, (const ot_tensor *[]){&logits}, 2, attrs, 4, 1);
    double count[3] = {0, 0, 0};
    for (int i = 0; i < N; i++) count[((int64_t *)draws.data)[i]]++;
    assert_true(fabs(count[0] / N - 0.2) < 0.015 && fabs(count[1] / N - 0.5) < 0.015 && fabs(count[2] / N - 0.3) < 0.015);
    /* The default dtype, int32, is held as int64 and declared int32 (written back as int32). */
    ot_attr small = ts_attr_int("sample_size", 4);
    ot_tensor draws32 = sample("Multinomial", 7, 1, (const ot_tensor *[]){&logits}, 1, &small, 4, 1);
    assert_int_equal(draws32.dtype, OT_INT64);
    assert_int_equal(ot_tensor_declared(&draws32), OT_INT32);
    for (int i = 0; i < 4; i++) assert_true(((int64_t *)draws32.data)[i] >= 0 && ((int64_t *)draws32.data)[i] < 3);
    ot_attr_free(&small);
    ot_tensor_free(&draws32);
    ot_attr_free(&as_int);
    ot_attr_free(&attrs[0]);
    ot_attr_free(&attrs[1]);
    free(p);
    ts_free_tensors((ot_tensor[]){probs, ones, logits, draws}, 4);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(uniform_and_normal_follow_their_definitions),
        cmocka_unit_test(like_forms_take_the_input_shape),
        cmocka_unit_test(a_seed_attribute_repeats_and_the_plan_generator_does_not),
        cmocka_unit_test(bernoulli_and_multinomial_frequencies),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
