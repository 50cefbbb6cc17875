/* Two-layer nn.LSTM / nn.GRU models (batch_first, bidirectional and not) as PyTorch exports
 * them to ONNX (opset 14: Transpose, Expand for the zero initial states, Reshape between the
 * layers): the output must match ONNX Runtime's within 1e-4 and the gradients of
 * sum(output^2) w.r.t. every W, R and B PyTorch's within 1e-4 (relative to the largest
 * gradient of the tensor). Single LSTM, GRU and RNN nodes with what PyTorch never exports
 * (layout 1, reverse, sequence_lens with a 0 length, clip that bounds, input_forget,
 * activation lists with alpha and beta) against ONNX Runtime, every output. Fixtures:
 * tools/fixtures/make_recurrent.py. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnxtrain/onnx_io.h"
#include "onnxtrain/weights.h"
#include "test_support.h"

static const ot_tensor *expected(const ot_weights *w, const char *name) {
    int i = ot_weights_find(w, name);
    if (i < 0) fail_msg("the fixture has no '%s'", name);
    return &w->items[i].tensor;
}

/* |got - want| <= tolerance * max(1e-2, the largest |want|), value by value. */
static void expect_close(const char *what, const float *got, const ot_tensor *want, double tolerance) {
    const float *w = want->data;
    int64_t n = ot_tensor_numel(want);
    double scale = 1e-2;
    for (int64_t k = 0; k < n; k++) scale = fmax(scale, fabs(w[k]));
    for (int64_t k = 0; k < n; k++)
        if (fabs((double)got[k] - w[k]) > tolerance * scale)
            fail_msg("%s[%lld] = %.7g, expected %.7g", what, (long long)k, got[k], w[k]);
}

static void run_case(const char *name) {
    ot_weights fixture;
    ot_model *m = ts_load_case("recurrent", name, &fixture);

    /* Every W, R and B is trained. */
    unsigned char *trainable = ts_calloc((size_t)m->n_values + 1, 1);
    for (int i = 0; i < fixture.count; i++)
        if (!strncmp(fixture.items[i].name, "grad_", 5)) {
            int v = ot_model_find_value(m, fixture.items[i].name + 5);
            if (v < 0) fail_msg("%s: the model has no '%s'", name, fixture.items[i].name + 5);
            trainable[v] = 1;
        }
    ot_plan_options options = ts_plan_options();
    options.training = 1;
    options.trainable = trainable;
    const ot_tensor *x = expected(&fixture, "x");
    ot_plan *plan;
    if (ot_plan_create(m, &options, 1, m->inputs, x, &plan) != OT_OK) fail_msg("plan: %s", ot_last_error());
    ot_plan_value(plan, m->inputs[0])->data = x->data;
    if (ot_plan_forward(plan) != OT_OK) fail_msg("forward: %s", ot_last_error());

    const ot_tensor *y = ot_plan_value(plan, m->outputs[0]), *want_y = expected(&fixture, "y");
    assert_true(ot_tensor_same_shape(y, want_y));
    expect_close("y", y->data, want_y, 1e-4);

    /* d sum(y^2) / dy = 2 y */
    ot_plan_zero_grads(plan);
    float *dy = ot_plan_grad(plan, m->outputs[0])->data;
    for (int64_t k = 0; k < ot_tensor_numel(y); k++) dy[k] = 2.0f * ((const float *)y->data)[k];
    if (ot_plan_backward(plan) != OT_OK) fail_msg("backward: %s", ot_last_error());
    int compared = 0;
    for (int i = 0; i < fixture.count; i++) {
        const char *grad_name = fixture.items[i].name;
        if (strncmp(grad_name, "grad_", 5) != 0) continue;
        const ot_tensor *g = ot_plan_grad(plan, ot_model_find_value(m, grad_name + 5));
        assert_int_equal(ot_tensor_numel(g), ot_tensor_numel(&fixture.items[i].tensor));
        expect_close(grad_name, g->data, &fixture.items[i].tensor, 1e-4);
        compared++;
    }
    assert_int_equal(compared, 6); /* W, R, B of both layers */
    ot_plan_free(plan);
    free(trainable);
    ot_weights_free(&fixture);
    ot_model_free(m);
}

/* A single node (node_*.onnx) with the attributes PyTorch never exports: every output
 * against ONNX Runtime's for the inputs stored by name. */
static void run_node_case(const char *name) {
    ot_weights fixture;
    ot_model *m = ts_load_case("recurrent", name, &fixture);
    ot_tensor feeds[8];
    assert_true(m->n_inputs <= 8);
    /* The engine computes in float32/int64/bool: sequence_lens (int32) is widened. */
    for (int k = 0; k < m->n_inputs; k++)
        assert_int_equal(ot_tensor_widen(NULL, expected(&fixture, m->values[m->inputs[k]].name), &feeds[k], "feed"), OT_OK);
    ot_plan_options options = ts_plan_options();
    ot_plan *plan;
    if (ot_plan_create(m, &options, m->n_inputs, m->inputs, feeds, &plan) != OT_OK)
        fail_msg("plan: %s", ot_last_error());
    for (int k = 0; k < m->n_inputs; k++) ot_plan_value(plan, m->inputs[k])->data = feeds[k].data;
    if (ot_plan_forward(plan) != OT_OK) fail_msg("forward: %s", ot_last_error());
    for (int k = 0; k < m->n_outputs; k++) {
        char key[64];
        snprintf(key, sizeof key, "expected_%s", m->values[m->outputs[k]].name);
        const ot_tensor *got = ot_plan_value(plan, m->outputs[k]), *want = expected(&fixture, key);
        assert_true(ot_tensor_same_shape(got, want));
        expect_close(key, got->data, want, 1e-4);
    }
    ot_plan_free(plan);
    for (int k = 0; k < m->n_inputs; k++) ot_tensor_free(&feeds[k]);
    ot_weights_free(&fixture);
    ot_model_free(m);
}

/* Each case's name is its fixture's. */
static void torch_case(void **state) { run_case(*state); }
static void node_case(void **state) { run_node_case(*state); }

#define TORCH_CASE(name) {name, torch_case, NULL, NULL, name}
#define NODE_CASE(name) {name, node_case, NULL, NULL, name}

int main(void) {
    const struct CMUnitTest tests[] = {
        TORCH_CASE("lstm"),
        TORCH_CASE("lstm_bidirectional"),
        TORCH_CASE("gru"),
        TORCH_CASE("gru_bidirectional"),
        NODE_CASE("node_lstm_layout1"),
        NODE_CASE("node_lstm_reverse_activations"),
        NODE_CASE("node_gru"),
        NODE_CASE("node_gru_linear_before_reset"),
        NODE_CASE("node_rnn"),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
