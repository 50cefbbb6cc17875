/* Plans: memory reuse in inference, all activations kept for training, unbound inputs,
 * gradients flowing only where parameters are trained. */
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/util.h"
#include "test_support.h"
#include "onnxtrain/graph.h"

/* x -> Relu -> Relu -> Relu -> Relu -> y, each (64, 256). */
static ot_model *relu_chain(void) {
    ot_model *m = ot_model_new();
    ot_model_set_opset(m, "", 13);
    int x;
    assert_int_equal(ot_model_add_value(m, "x", OT_VALUE_INPUT, &x), OT_OK);
    m->inputs = ts_calloc(2, sizeof(int));
    m->inputs[m->n_inputs++] = x;
    const char *names[] = {"x", "a", "b", "c", "y"};
    for (int i = 0; i < 4; i++) {
        const char *in[1] = {names[i]}, *out[1] = {names[i + 1]};
        char layer[16];
        snprintf(layer, sizeof layer, "relu%d", i);
        assert_int_equal(ot_model_add_layer(m, layer, "Relu", "", 1, in, 1, out, NULL), OT_OK);
    }
    m->outputs = ts_calloc(2, sizeof(int));
    m->outputs[m->n_outputs++] = ot_model_find_value(m, "y");
    assert_int_equal(ot_graph_check(m), OT_OK);
    assert_int_equal(ot_graph_resolve(m), OT_OK);
    return m;
}

static void inference_reuses_memory(void **state) {
    (void)state;
    ot_model *m = relu_chain();
    ot_tensor shape = {.dtype = OT_FLOAT, .ndim = 2, .dims = {64, 256}};
    ot_plan *p;
    assert_int_equal(ot_plan_create(m, NULL, 1, m->inputs, &shape, &p), OT_OK);
    size_t one = 64 * 256 * sizeof(float);
    /* a, b, c, y: at most two intermediate buffers alive at once, plus the output. */
    assert_true(ot_plan_bytes(p) < 3 * one + 4096);
    float *x = ts_malloc(one);
    for (int i = 0; i < 64 * 256; i++) x[i] = (float)(i % 7) - 3.0f;
    ot_plan_value(p, m->inputs[0])->data = x;
    assert_int_equal(ot_plan_forward(p), OT_OK);
    const float *y = ot_plan_value(p, m->outputs[0])->data;
    for (int i = 0; i < 64 * 256; i++) assert_float_equal(y[i], x[i] > 0 ? x[i] : 0, 0);
    ot_plan_free(p);
    free(x);
    ot_model_free(m);
}

static void training_keeps_activations(void **state) {
    (void)state;
    ot_model *m = relu_chain();
    ot_tensor shape = {.dtype = OT_FLOAT, .ndim = 2, .dims = {64, 256}};
    ot_plan_options options = {.training = 1};
    ot_plan *p;
    assert_int_equal(ot_plan_create(m, &options, 1, m->inputs, &shape, &p), OT_OK);
    assert_true(ot_plan_bytes(p) >= 4 * 64 * 256 * sizeof(float));
    /* Nothing is trained, so no gradient flows anywhere. */
    assert_null(ot_plan_grad(p, m->outputs[0]));
    ot_plan_free(p);
    ot_model_free(m);
}

static void unbound_input_is_an_error(void **state) {
    (void)state;
    ot_model *m = relu_chain();
    ot_tensor shape = {.dtype = OT_FLOAT, .ndim = 2, .dims = {2, 2}};
    ot_plan *p;
    assert_int_equal(ot_plan_create(m, NULL, 1, m->inputs, &shape, &p), OT_OK);
    assert_int_equal(ot_plan_forward(p), OT_ERR_INVALID);
    assert_non_null(strstr(ot_last_error(), "'x'"));
    ot_plan_free(p);
    /* Planning without the input at all names it too. */
    assert_int_equal(ot_plan_create(m, NULL, 0, NULL, NULL, &p), OT_ERR_INVALID);
    assert_non_null(strstr(ot_last_error(), "graph input 'x'"));
    ot_model_free(m);
}

static void wrong_input_dtype_names_the_node(void **state) {
    (void)state;
    ot_model *m = relu_chain();
    ot_tensor shape = {.dtype = OT_INT64, .ndim = 1, .dims = {3}};
    ot_plan *p;
    assert_int_equal(ot_plan_create(m, NULL, 1, m->inputs, &shape, &p), OT_ERR_INVALID);
    assert_non_null(strstr(ot_last_error(), "Relu node 'relu0'"));
    ot_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(inference_reuses_memory),
        cmocka_unit_test(training_keeps_activations),
        cmocka_unit_test(unbound_input_is_an_error),
        cmocka_unit_test(wrong_input_dtype_names_the_node),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
