/* Losses and gradients against PyTorch (values printed by torch.nn.functional.cross_entropy,
 * mse_loss and binary_cross_entropy_with_logits on the same inputs, torch 1.13). */
#include "onnxtrain/train.h"
#include "test_support.h"

static const float logits[6] = {1.0f, -2.0f, 0.5f, 0.1f, 0.2f, 3.0f};

static void cross_entropy_matches_torch(void **state) {
    (void)state;
    const int64_t labels[2] = {2, 0};
    const double want_grad[6] = {0.30187445878982544, 0.015029443427920341, -0.31690388917922974,
                                 -0.47534433007240295, 0.027248721569776535, 0.4480956196784973};
    float grad[6];
    int64_t correct = 0;
    double loss = ot_loss_compute(OT_LOSS_SOFTMAX_CE, grad, logits, 2, 3, labels, NULL, &correct);
    assert_float_equal(loss, 2.007099151611328, 1e-6);
    for (int i = 0; i < 6; i++) assert_float_equal(grad[i], want_grad[i], 1e-6);
    assert_int_equal(correct, 0); /* argmax 0 vs label 2; argmax 2 vs label 0 */
    const float big[3] = {100.0f, -100.0f, 0.0f};
    const int64_t one[1] = {1};
    assert_float_equal(ot_loss_compute(OT_LOSS_SOFTMAX_CE, NULL, big, 1, 3, one, NULL, &correct), 200.0, 1e-4);
}

static void mse_matches_torch(void **state) {
    (void)state;
    const float targets[6] = {0.5f, 1.0f, 0.0f, 1.0f, 0.0f, 1.0f};
    const double want_grad[6] = {0.1666666716337204, -1.0, 0.1666666716337204, -0.30000001192092896,
                                 0.06666667014360428, 0.6666666865348816};
    float grad[6];
    int64_t correct = 0;
    double loss = ot_loss_compute(OT_LOSS_MSE, grad, logits, 2, 3, NULL, targets, &correct);
    assert_float_equal(loss, 2.3916666507720947, 1e-6);
    for (int i = 0; i < 6; i++) assert_float_equal(grad[i], want_grad[i], 1e-6);
}

static void bce_matches_torch(void **state) {
    (void)state;
    const float targets[6] = {0.5f, 1.0f, 0.0f, 1.0f, 0.0f, 1.0f};
    const double want_grad[6] = {0.03850976750254631, -0.14679951965808868, 0.10374322533607483,
                                 -0.07917013764381409, 0.09163898974657059, -0.007904310710728168};
    float grad[6];
    int64_t correct = 0;
    double loss = ot_loss_compute(OT_LOSS_BCE, grad, logits, 2, 3, NULL, targets, &correct);
    assert_float_equal(loss, 0.900898277759552, 1e-6);
    for (int i = 0; i < 6; i++) assert_float_equal(grad[i], want_grad[i], 1e-6);
}

static void names(void **state) {
    (void)state;
    ot_loss_kind kind;
    assert_true(ot_loss_kind_from_name("bce", &kind));
    assert_int_equal(kind, OT_LOSS_BCE);
    assert_false(ot_loss_kind_from_name("hinge", &kind));
    assert_string_equal(ot_loss_name(OT_LOSS_SOFTMAX_CE), "softmax-ce");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cross_entropy_matches_torch),
        cmocka_unit_test(mse_matches_torch),
        cmocka_unit_test(bce_matches_torch),
        cmocka_unit_test(names),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
