/* Losses and gradients against PyTorch (values printed by torch.nn.functional.cross_entropy,
 * mse_loss and binary_cross_entropy_with_logits on the same inputs, torch 1.13). */
#include <math.h>

#include "onnxtrain/train.h"
#include "test_support.h"

/* The mean loss of one batch; correct predictions added to *correct. */
static double loss_of(ot_loss_kind kind, float *grad, const float *output, int64_t batch, int64_t width,
                      const int64_t *labels, const float *targets, int64_t *correct) {
    ot_loss loss = ot_loss_of_kind(kind);
    ot_loss_truth truth = {.labels = labels, .label_size = 1, .targets = targets};
    ot_loss_tally tally = {0};
    double mean = ot_loss_compute(&loss, grad, 0, output, batch, width, &truth, &tally);
    *correct += tally.correct;
    return mean;
}

static const float logits[6] = {1.0f, -2.0f, 0.5f, 0.1f, 0.2f, 3.0f};

static void cross_entropy_matches_torch(void **state) {
    (void)state;
    const int64_t labels[2] = {2, 0};
    const double want_grad[6] = {0.30187445878982544, 0.015029443427920341, -0.31690388917922974,
                                 -0.47534433007240295, 0.027248721569776535, 0.4480956196784973};
    float grad[6];
    int64_t correct = 0;
    double loss = loss_of(OT_LOSS_SOFTMAX_CE, grad, logits, 2, 3, labels, NULL, &correct);
    assert_float_equal(loss, 2.007099151611328, 1e-6);
    for (int i = 0; i < 6; i++) assert_float_equal(grad[i], want_grad[i], 1e-6);
    assert_int_equal(correct, 0); /* argmax 0 vs label 2; argmax 2 vs label 0 */
    const float big[3] = {100.0f, -100.0f, 0.0f};
    const int64_t one[1] = {1};
    assert_float_equal(loss_of(OT_LOSS_SOFTMAX_CE, NULL, big, 1, 3, one, NULL, &correct), 200.0, 1e-4);
}

static void mse_matches_torch(void **state) {
    (void)state;
    const float targets[6] = {0.5f, 1.0f, 0.0f, 1.0f, 0.0f, 1.0f};
    const double want_grad[6] = {0.1666666716337204, -1.0, 0.1666666716337204, -0.30000001192092896,
                                 0.06666667014360428, 0.6666666865348816};
    float grad[6];
    int64_t correct = 0;
    double loss = loss_of(OT_LOSS_MSE, grad, logits, 2, 3, NULL, targets, &correct);
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
    double loss = loss_of(OT_LOSS_BCE, grad, logits, 2, 3, NULL, targets, &correct);
    assert_float_equal(loss, 0.900898277759552, 1e-6);
    for (int i = 0; i < 6; i++) assert_float_equal(grad[i], want_grad[i], 1e-6);
}

/* Per-token logits (2, 3, 4) with labels (2, 3), two of them PyTorch's ignore index: torch's
 * cross_entropy(x.reshape(-1, 4), y.reshape(-1), ignore_index=-100, label_smoothing=s). */
static const float token_logits[24] = {1.0f, -2.0f, 0.5f, 0.1f, 0.2f, 3.0f, -1.0f, 0.0f, 0.3f, 0.3f, -0.7f, 2.0f,
                                       -1.5f, 0.25f, 1.0f, 0.5f, 2.0f, -0.5f, 0.0f, 1.5f, 0.1f, 0.2f, 0.3f, 0.4f};
static const int64_t token_labels[6] = {1, -100, 3, 0, 2, -100};

static void check_tokens(double smoothing, double want_loss, const double *want_grad) {
    ot_loss loss = ot_loss_of_kind(OT_LOSS_SOFTMAX_CE);
    loss.label_smoothing = smoothing;
    ot_loss_truth truth = {.labels = token_labels, .label_size = 3};
    ot_loss_tally tally = {0};
    float grad[24];
    double mean = ot_loss_compute(&loss, grad, 0, token_logits, 2, 12, &truth, &tally);
    assert_float_equal(mean, want_loss, 1e-6);
    for (int i = 0; i < 24; i++) assert_float_equal(grad[i], want_grad[i], 1e-6);
    assert_int_equal(tally.items, 4); /* the ignored labels count for nothing */
    assert_int_equal(tally.scored, 4);
    /* argmax per token: 0 (label 1), 3 (label 3), 2 (label 0), 0 (label 2) */
    assert_int_equal(tally.correct, 1);
    assert_int_equal(ot_loss_items(&loss, 2, 12, &truth), 4);
}

static void per_token_cross_entropy_ignores_labels_as_torch(void **state) {
    (void)state;
    const double want[24] = {0.12118935585021973, -0.24396634101867676, 0.07350505888462067, 0.04927191883325577,
                             0, 0, 0, 0, 0.03188032656908035, 0.03188032656908035, 0.011728116311132908,
                             -0.07548877596855164, -0.24050374329090118, 0.05464720353484154, 0.11568813771009445,
                             0.0701683983206749, 0.1370650827884674, 0.011250986717641354, -0.23145025968551636,
                             0.08313417434692383, 0, 0, 0, 0};
    check_tokens(0, 2.4887866973876953, want);
}

static void label_smoothing_as_torch(void **state) {
    (void)state;
    const double want[24] = {0.11493933945894241, -0.2252163290977478, 0.06725504994392395, 0.04302191361784935,
                             0, 0, 0, 0, 0.025630325078964233, 0.025630325078964233, 0.005478115286678076,
                             -0.056738775223493576, -0.22175373136997223, 0.04839719831943512, 0.10943812131881714,
                             0.06391838937997818, 0.1308150738477707, 0.005000986158847809, -0.2127002477645874,
                             0.07688417285680771, 0, 0, 0, 0};
    check_tokens(0.1, 2.4215991497039795, want);
}

/* A divisor spreads one mean over several batches: two halves with the whole's item count
 * give the whole batch's gradient (accumulation). */
static void divisor_splits_a_mean_over_batches(void **state) {
    (void)state;
    ot_loss loss = ot_loss_of_kind(OT_LOSS_SOFTMAX_CE);
    ot_loss_truth whole = {.labels = token_labels, .label_size = 3};
    ot_loss_truth second = {.labels = token_labels + 3, .label_size = 3};
    float all[24], halves[24];
    ot_loss_compute(&loss, all, 0, token_logits, 2, 12, &whole, NULL);
    ot_loss_compute(&loss, halves, 4, token_logits, 1, 12, &whole, NULL);
    ot_loss_compute(&loss, halves + 12, 4, token_logits + 12, 1, 12, &second, NULL);
    for (int i = 0; i < 24; i++) assert_float_equal(halves[i], all[i], 1e-7);
    /* Every label ignored: loss 0, gradient 0, nothing counted. */
    const int64_t none[3] = {-100, -100, -100};
    ot_loss_truth ignored = {.labels = none, .label_size = 3};
    ot_loss_tally tally = {0};
    assert_float_equal(ot_loss_compute(&loss, all, 0, token_logits, 1, 12, &ignored, &tally), 0, 0);
    for (int i = 0; i < 12; i++) assert_float_equal(all[i], 0, 0);
    assert_int_equal(tally.items, 0);
}

/* Per-pixel logits (2, 3, 2, 2) with labels (2, 2, 2), the class axis first as PyTorch lays
 * out segmentation: torch's cross_entropy(x, y, ignore_index=-100) on the same values. */
static void per_pixel_cross_entropy_as_torch(void **state) {
    (void)state;
    const float x[24] = {0.0f, 0.7232308983802795f, 1.3485758304595947f, 1.7913973331451416f, 1.9917616844177246f,
                         1.9225504398345947f, 1.5931309461593628f, 1.0480884313583374f, 0.3611924648284912f,
                         -0.3745891749858856f, -1.0596723556518555f, -1.601333737373352f, -1.9262619018554688f,
                         -1.990479588508606f, -1.7852951288223267f, -1.3384793996810913f, -0.7105069756507874f,
                         0.013629203662276268f, 0.7359207272529602f, 1.3586095571517944f, 1.79741632938385f,
                         1.9929512739181519f, 1.918749451637268f, 1.584854006767273f};
    const int64_t labels[8] = {0, 2, 1, -100, 2, 2, 0, 1};
    const double want[24] = {-0.12822535634040833, 0.030712351202964783, 0.06035301834344864, 0.0,
                             0.10722814500331879, 0.10189923644065857, -0.06578314304351807, 0.0,
                             0.02099720761179924, -0.13261158764362335, 0.005430127959698439, 0.0,
                             0.0031198812648653984, 0.0022996803745627403, -0.14021433889865875,
                             0.004148039501160383, 0.010522856377065182, 0.01706242747604847,
                             0.03288642689585686, -0.08131483942270279, -0.013642746023833752,
                             -0.019362110644578934, 0.107327900826931, 0.07716679573059082};
    ot_loss loss = ot_loss_of_kind(OT_LOSS_SOFTMAX_CE);
    ot_loss_truth truth = {.labels = labels, .label_size = 4, .class_inner = 4};
    ot_loss_tally tally = {0};
    float grad[24];
    assert_float_equal(ot_loss_compute(&loss, grad, 0, x, 2, 12, &truth, &tally), 1.515552282333374, 1e-6);
    for (int i = 0; i < 24; i++) assert_float_equal(grad[i], want[i], 1e-6);
    assert_int_equal(tally.items, 7);
    assert_int_equal(tally.correct, 3); /* torch: (argmax(1) == y) where y != -100 */
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
        cmocka_unit_test(per_token_cross_entropy_ignores_labels_as_torch),
        cmocka_unit_test(label_smoothing_as_torch),
        cmocka_unit_test(per_pixel_cross_entropy_as_torch),
        cmocka_unit_test(divisor_splits_a_mean_over_batches),
        cmocka_unit_test(mse_matches_torch),
        cmocka_unit_test(bce_matches_torch),
        cmocka_unit_test(names),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
