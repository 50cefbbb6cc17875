/* The seed's SELU demonstration: 100 dense SELU layers with LeCun-normal weights keep
 * activations near mean 0 and standard deviation 1 all the way up, while 100 logistic layers
 * with N(0,1) weights saturate (activations pile up near 0 and 1, where gradients vanish). */
#include <math.h>
#include <string.h>
#include <stdlib.h>

#include "core/util.h"
#include "onnxtrain/builder.h"
#include "test_support.h"

#define WIDTH 100
#define DEPTH 100
#define SAMPLES 1000

static void stats(const float *x, int64_t n, double *mean, double *std) {
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < n; i++) s += x[i];
    *mean = s / n;
    for (int64_t i = 0; i < n; i++) s2 += (x[i] - *mean) * (x[i] - *mean);
    *std = sqrt(s2 / n);
}

/* Builds DEPTH dense layers of `act`, returns the activations of every layer on N(0,1) inputs:
 * out[k] is layer k's output (SAMPLES x WIDTH). */
static float **run_deep(const char *act, const char *init_text, int normal_weights) {
    ot_model *m;
    assert_int_equal(ot_builder_create("x", 1, (int64_t[]){WIDTH}, &m), OT_OK);
    char spec[DEPTH * 24] = "";
    for (int k = 0; k < DEPTH; k++) {
        strcat(spec, k ? "," : "");
        strcat(spec, "dense:100:");
        strcat(spec, act);
    }
    ot_init_spec init;
    assert_int_equal(ot_builder_parse_init(init_text, &init), OT_OK);
    ot_rng rng;
    ot_rng_seed(&rng, 42);
    if (ot_builder_append(NULL, m, spec, "x", &init, &rng, "") != OT_OK) fail_msg("%s", ot_last_error());
    if (normal_weights) /* plain N(0,1) weights, not one of the scaled initializers */
        for (int v = 0; v < m->n_values; v++) {
            ot_value *value = &m->values[v];
            if (value->kind != OT_VALUE_INITIALIZER || value->tensor.ndim != 2) continue;
            for (int64_t i = 0; i < ot_tensor_numel(&value->tensor); i++)
                ((float *)value->tensor.data)[i] = (float)ot_rng_normal(&rng);
        }
    /* Targets: every activation layer's output. */
    int targets[DEPTH], n_targets = 0;
    for (int i = 0; i < m->n_layers; i++)
        if (strcmp(m->layers[i].op_type, "Gemm")) targets[n_targets++] = m->layers[i].outputs[0];
    assert_int_equal(n_targets, DEPTH);
    ot_plan_options options = {.targets = targets, .n_targets = n_targets};
    ot_tensor shape = {.dtype = OT_FLOAT, .ndim = 2, .dims = {SAMPLES, WIDTH}};
    ot_plan *plan;
    if (ot_plan_create(m, &options, 1, m->inputs, &shape, &plan) != OT_OK) fail_msg("%s", ot_last_error());
    float *x = ts_malloc(sizeof(float) * SAMPLES * WIDTH);
    ot_rng data;
    ot_rng_seed(&data, 7);
    for (int i = 0; i < SAMPLES * WIDTH; i++) x[i] = (float)ot_rng_normal(&data);
    ot_plan_value(plan, m->inputs[0])->data = x;
    assert_int_equal(ot_plan_forward(plan), OT_OK);
    float **out = ts_malloc(sizeof(float *) * DEPTH);
    for (int k = 0; k < DEPTH; k++) {
        out[k] = ts_malloc(sizeof(float) * SAMPLES * WIDTH);
        memcpy(out[k], ot_plan_value(plan, targets[k])->data, sizeof(float) * SAMPLES * WIDTH);
    }
    ot_plan_free(plan);
    ot_model_free(m);
    free(x);
    return out;
}

static void selu_self_normalises(void **state) {
    (void)state;
    float **out = run_deep("selu", "lecun_normal", 0);
    for (int k = 0; k < DEPTH; k++) {
        double mean, std;
        stats(out[k], SAMPLES * WIDTH, &mean, &std);
        if (k % 25 == 24) print_message("SELU layer %3d: mean %+.3f std %.3f\n", k + 1, mean, std);
        if (fabs(mean) > 0.2 || std < 0.8 || std > 1.2)
            fail_msg("SELU layer %d drifted: mean %.3f std %.3f", k + 1, mean, std);
        free(out[k]);
    }
    free(out);
}

static void logistic_with_normal_init_saturates(void **state) {
    (void)state;
    float **out = run_deep("sigmoid", "glorot_uniform", 1);
    /* The logistic's derivative a (1 - a) is at most 0.25 (at a = 0.5); saturated units pass
     * almost no gradient back. */
    int64_t saturated = 0;
    double derivative = 0;
    for (int64_t i = 0; i < SAMPLES * WIDTH; i++) {
        float a = out[DEPTH - 1][i];
        saturated += a < 0.01f || a > 0.99f;
        derivative += a * (1.0 - a);
    }
    double fraction = (double)saturated / (SAMPLES * WIDTH);
    derivative /= SAMPLES * WIDTH;
    print_message("logistic layer %d: %.1f%% of activations below 0.01 or above 0.99, mean derivative %.3f "
                  "(at most 0.25)\n", DEPTH, 100 * fraction, derivative);
    assert_true(fraction > 0.3);
    assert_true(derivative < 0.1);
    for (int k = 0; k < DEPTH; k++) free(out[k]);
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(selu_self_normalises),
        cmocka_unit_test(logistic_with_normal_init_saturates),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
