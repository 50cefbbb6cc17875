/* If, Loop and Scan: PyTorch exports with data-dependent control flow run as ONNX Runtime
 * does (within 1e-4), an If and a Loop known at plan time train like PyTorch (3 SGD steps,
 * weights within 1e-4 relative), models survive export, and the limits are clear errors.
 * Fixtures: tools/fixtures/gen_control_flow_fixtures.py (ONNX Runtime and PyTorch outputs). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnxtrain/onnx_io.h"
#include "onnxtrain/plan.h"
#include "onnxtrain/train.h"
#include "onnxtrain/weights.h"
#include "test_support.h"

static const ot_tensor *fixture_tensor(const ot_weights *w, const char *name) {
    int i = ot_weights_find(w, name);
    if (i < 0) fail_msg("the fixture has no tensor '%s'", name);
    return &w->items[i].tensor;
}

/* Largest |got - want|; fails past tolerance. */
static double expect_close(const ot_tensor *got, const ot_tensor *want, double tolerance, const char *what) {
    assert_int_equal(got->ndim, want->ndim);
    assert_true(ot_tensor_same_shape(got, want));
    double worst = 0;
    for (int64_t i = 0; i < ot_tensor_numel(want); i++) {
        double err = fabs((double)((const float *)got->data)[i] - ((const float *)want->data)[i]);
        worst = err > worst ? err : worst;
        if (err > tolerance) fail_msg("%s[%lld] = %.7g, ONNX Runtime %.7g", what, (long long)i,
                                      ((const float *)got->data)[i], ((const float *)want->data)[i]);
    }
    return worst;
}

/* Runs m on the named inputs and compares each named output with the fixture's. */
static double run_and_compare(ot_model *m, const ot_weights *fixture, int n_in, const char *const *inputs,
                              int n_out, const char *const *outputs) {
    ot_tensor feeds[4];
    for (int k = 0; k < n_in; k++) feeds[k] = *fixture_tensor(fixture, inputs[k]);
    double worst = 0;
    for (int k = 0; k < n_out; k++) {
        ot_tensor got = ts_run(m, n_in, feeds, k);
        double err = expect_close(&got, fixture_tensor(fixture, outputs[k]), 1e-4, outputs[k]);
        worst = err > worst ? err : worst;
        ot_tensor_free(&got);
    }
    return worst;
}

/* An if on x.sum() > 0 (both branches) and a loop over x.size(0), from torch.jit.script. */
static void pytorch_data_flow_matches_onnx_runtime(void **state) {
    (void)state;
    ot_weights fixture;
    ot_model *m = ts_load_case("control_flow", "data_flow", &fixture);
    double worst = 0;
    for (int b = 0; b < 2; b++) {
        const char *in[] = {b ? "x_pos" : "x_neg"};
        const char *out[] = {b ? "y_pos" : "y_neg", b ? "acc_pos" : "acc_neg"};
        double err = run_and_compare(m, &fixture, 1, in, 2, out);
        worst = err > worst ? err : worst;
    }
    print_message("data_flow: largest difference from ONNX Runtime %.2e\n", worst);
    ot_weights_free(&fixture);
    ot_model_free(m);
}

/* The same model after our export and import (the subgraphs and outer reads kept). */
static void export_keeps_subgraphs(void **state) {
    (void)state;
    ot_weights fixture;
    ot_model *m = ts_load_case("control_flow", "data_flow", &fixture);
    unsigned char *bytes;
    size_t size;
    assert_int_equal(ot_onnx_serialize(m, &bytes, &size), OT_OK);
    ot_model *again;
    if (ot_onnx_load_buffer(NULL, bytes, size, NULL, "exported", OT_LOAD_FULL, &again) != OT_OK)
        fail_msg("%s", ot_last_error());
    const char *in[] = {"x_pos"}, *out[] = {"y_pos", "acc_pos"};
    run_and_compare(again, &fixture, 1, in, 2, out);
    free(bytes);
    ot_model_free(again);
    ot_weights_free(&fixture);
    ot_model_free(m);
}

static ot_model *load(const char *name, const ot_context *ctx) {
    char path[256];
    snprintf(path, sizeof path, "control_flow/%s", name);
    ot_model *m;
    if (ot_onnx_load(ctx, ts_fixture(path), &m) != OT_OK) fail_msg("%s", ot_last_error());
    return m;
}

/* An If on the iteration number inside a Loop (reading x two graphs up), and a Scan over
 * axis 1 backwards with a weight from the main graph. */
static void nested_and_scan_match_onnx_runtime(void **state) {
    (void)state;
    ot_weights fixture;
    if (ot_weights_load(NULL, ts_fixture("control_flow/hand_built.npz"), &fixture) != OT_OK) fail_msg("%s", ot_last_error());
    ot_model *nested = load("nested.onnx", NULL), *scan = load("scan_axes.onnx", NULL);
    const char *nested_in[] = {"nested_x"}, *nested_out[] = {"nested_final", "nested_steps"};
    const char *scan_in[] = {"scan_s0", "scan_x"}, *scan_out[] = {"scan_s", "scan_y"};
    double a = run_and_compare(nested, &fixture, 1, nested_in, 2, nested_out);
    double b = run_and_compare(scan, &fixture, 2, scan_in, 2, scan_out);
    print_message("nested %.2e, scan %.2e from ONNX Runtime\n", a, b);
    ot_model_free(nested);
    ot_model_free(scan);
    ot_weights_free(&fixture);
}

/* Trains model/data with 3 SGD steps (lr 0.1, batch 4) and compares every weight with
 * PyTorch's, within 1e-4 relative. */
static void trains_like_pytorch(const char *model, const char *data, const char *expected_file) {
    ot_model *m = load(model, NULL);
    ot_dataset *data_set;
    char path[256], spec[4096];
    snprintf(path, sizeof path, "control_flow/%s", data);
    snprintf(spec, sizeof spec, "npz:%s", ts_fixture(path));
    if (ot_dataset_load(spec, NULL, &data_set) != OT_OK) fail_msg("%s", ot_last_error());
    ot_train_config config;
    ot_train_config_defaults(&config);
    ot_optimizer_defaults(OT_OPTIMIZER_SGD, &config.optimizer);
    config.optimizer.lr = 0.1f;
    config.epochs = 1;
    config.batch = 4; /* 12 samples: 3 steps */
    config.shuffle = 0;
    config.context = ts_context();
    ot_train_result result;
    if (ot_train(m, &config, data_set, NULL, &result) != OT_OK) fail_msg("%s", ot_last_error());
    ot_weights expected;
    snprintf(path, sizeof path, "control_flow/%s", expected_file);
    if (ot_weights_load(NULL, ts_fixture(path), &expected) != OT_OK) fail_msg("%s", ot_last_error());
    double worst = 0;
    for (int i = 0; i < expected.count; i++) {
        const ot_tensor *want = &expected.items[i].tensor;
        int v = ot_model_find_value(m, expected.items[i].name);
        if (v < 0) fail_msg("the model has no tensor '%s'", expected.items[i].name);
        for (int64_t k = 0; k < ot_tensor_numel(want); k++) {
            double w = ((const float *)want->data)[k], g = ((const float *)m->values[v].tensor.data)[k];
            double rel = fabs(g - w) / fmax(fabs(w), 1e-3);
            worst = rel > worst ? rel : worst;
            if (rel > 1e-4) fail_msg("%s[%lld] = %.7g, PyTorch %.7g", expected.items[i].name, (long long)k, g, w);
        }
    }
    print_message("%s: largest relative difference from PyTorch %.2e\n", model, worst);
    ot_weights_free(&expected);
    ot_dataset_free(data_set);
    ot_model_free(m);
}

/* if x.size(1) == 4 folds when the plan is made: the branch is inlined and trains. */
static void constant_if_trains_like_pytorch(void **state) {
    (void)state;
    trains_like_pytorch("const_if.onnx", "data.npz", "const_if_expected.npz");
}

/* for i in range(x.size(1)): the trip count folds, the Loop is unrolled and trains. */
static void known_loop_trains_like_pytorch(void **state) {
    (void)state;
    trains_like_pytorch("loop_rnn.onnx", "loop_data.npz", "loop_rnn_expected.npz");
}

/* The graph inputs become initializers holding the fixture's arrays (named prefix + input). */
static void inputs_to_initializers(ot_model *m, const ot_weights *fixture, const char *prefix) {
    for (int k = 0; k < m->n_inputs; k++) {
        ot_value *v = &m->values[m->inputs[k]];
        char name[128];
        snprintf(name, sizeof name, "%s%s", prefix, v->name);
        ot_tensor_free(&v->tensor);
        assert_int_equal(ot_tensor_copy(&v->tensor, fixture_tensor(fixture, name), v->name), OT_OK);
        v->kind = OT_VALUE_INITIALIZER;
    }
    m->n_inputs = 0;
}

/* Backward through unrolled copies (central differences): a Scan backwards over axis 1 with
 * a weight from the main graph, and a Loop with a scan output whose body holds an If on the
 * iteration number (inlined in each copy). */
static void unrolled_scan_and_loop_pass_gradient_checks(void **state) {
    (void)state;
    ot_weights fixture;
    if (ot_weights_load(NULL, ts_fixture("control_flow/hand_built.npz"), &fixture) != OT_OK) fail_msg("%s", ot_last_error());
    const char *models[] = {"scan_axes.onnx", "nested.onnx"}, *prefixes[] = {"scan_", "nested_"};
    for (int i = 0; i < 2; i++) {
        ot_model *m = load(models[i], NULL);
        inputs_to_initializers(m, &fixture, prefixes[i]);
        unsigned char checked[64] = {0};
        assert_true(m->n_values <= 64);
        for (int v = 0; v < m->n_values; v++)
            checked[v] = m->values[v].kind == OT_VALUE_INITIALIZER && m->values[v].tensor.dtype == OT_FLOAT &&
                         m->values[v].tensor.ndim >= 1;
        ot_plan_options options = ts_plan_options();
        ts_gradcheck_model(&options, m, models[i], checked, 0, 1e-3, 1e-2);
        ot_model_free(m);
    }
    ot_weights_free(&fixture);
}

/* Training through an If whose condition depends on input values is a clear error. */
static void data_dependent_if_does_not_train(void **state) {
    (void)state;
    ot_model *m = load("data_flow.onnx", NULL);
    unsigned char trainable[64] = {0};
    assert_true(m->n_values <= 64);
    trainable[ot_model_find_value(m, "pos.weight")] = 1;
    ot_plan_options options = ts_plan_options();
    options.training = 1;
    options.trainable = trainable;
    ot_tensor shape = {.dtype = OT_FLOAT, .ndim = 2, .dims = {5, 4}};
    ot_plan *plan;
    assert_int_equal(ot_plan_create(m, &options, 1, &m->inputs[0], &shape, &plan), OT_ERR_UNSUPPORTED);
    assert_non_null(strstr(ot_last_error(), "If node '/If': its condition depends on input values"));
    ot_model_free(m);
}

static ot_status plan_and_run(ot_model *m, const ot_context *ctx) {
    ot_plan_options options = {.context = (ot_context *)ctx};
    ot_tensor shape = {.dtype = OT_FLOAT, .ndim = 1, .dims = {1}};
    float one = 1;
    ot_plan *plan;
    OT_TRY(ot_plan_create(m, &options, 1, &m->inputs[0], &shape, &plan));
    ot_plan_value(plan, m->inputs[0])->data = &one;
    ot_status status = ot_plan_forward(plan);
    ot_plan_free(plan);
    return status;
}

/* A known trip count over the limit fails when planned, an endless loop when it reaches the
 * limit; both say how to raise it. */
static void loops_are_limited(void **state) {
    (void)state;
    ot_context_options small = {.threads = 1, .max_loop_iterations = 1000};
    ot_context *ctx;
    assert_int_equal(ot_context_create(&small, &ctx), OT_OK);
    ot_model *huge = load("huge_loop.onnx", ctx), *endless = load("endless_loop.onnx", ctx);
    assert_int_equal(plan_and_run(huge, ctx), OT_ERR_UNSUPPORTED);
    assert_non_null(strstr(ot_last_error(), "Loop node 'Loop_0' runs 4611686018427387904 iterations, over the limit "
                                            "of 1000 (ot_context_options.max_loop_iterations raises it)"));
    assert_int_equal(plan_and_run(endless, ctx), OT_ERR_UNSUPPORTED);
    assert_non_null(strstr(ot_last_error(), "Loop node 'Loop_0' is still running after 1000 iterations"));
    ot_model_free(huge);
    ot_model_free(endless);
    ot_context_free(ctx);
}

/* Subgraphs nested deeper than the context allows, and outer reads of undefined values. */
static void subgraphs_are_checked_on_load(void **state) {
    (void)state;
    ot_context_options shallow = {.threads = 1, .max_subgraph_depth = 1};
    ot_context *ctx;
    assert_int_equal(ot_context_create(&shallow, &ctx), OT_OK);
    ot_model *m = NULL;
    assert_int_equal(ot_onnx_load(ctx, ts_fixture("control_flow/nested.onnx"), &m), OT_ERR_UNSUPPORTED);
    assert_non_null(strstr(ot_last_error(), "node 'If_2': subgraphs nested more than 1 deep, over the limit "
                                            "(ot_context_options.max_subgraph_depth raises it)"));
    assert_int_equal(ot_onnx_load(NULL, ts_fixture("control_flow/undefined_outer.onnx"), &m), OT_ERR_INVALID);
    assert_non_null(strstr(ot_last_error(), "node 'If_0' reads tensor 'nowhere' (in a subgraph)"));
    assert_null(m);
    ot_context_free(ctx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pytorch_data_flow_matches_onnx_runtime),
        cmocka_unit_test(export_keeps_subgraphs),
        cmocka_unit_test(nested_and_scan_match_onnx_runtime),
        cmocka_unit_test(constant_if_trains_like_pytorch),
        cmocka_unit_test(known_loop_trains_like_pytorch),
        cmocka_unit_test(unrolled_scan_and_loop_pass_gradient_checks),
        cmocka_unit_test(data_dependent_if_does_not_train),
        cmocka_unit_test(loops_are_limited),
        cmocka_unit_test(subgraphs_are_checked_on_load),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
