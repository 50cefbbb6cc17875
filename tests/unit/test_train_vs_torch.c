/* One epoch (batch 32, no shuffling, 100 samples) of a small MLP with every optimizer and
 * regulariser, and of a small CNN (two 5x5 convs: im2col, then through the FFT path); the
 * final weights (and BatchNorm running statistics) must match PyTorch's within 1e-4, absolute and
 * relative to each tensor's largest value; and 3 steps
 * of a small U-Net with per-pixel cross-entropy. Fixtures: tools/fixtures/gen_train_fixtures.py,
 * tools/fixtures/gen_unet_fixtures.py. */
#include <math.h>
#include <string.h>
#include <stdio.h>

#include "onnxtrain/onnx_io.h"
#include "onnxtrain/train.h"
#include "onnxtrain/weights.h"
#include "ops/conv_internal.h"
#include "test_support.h"

typedef struct train_case {
    const char *name;
    const char *model;
    const char *data;     /* NULL: data.npz */
    const char *expected; /* NULL: the name */
    int batch;            /* 0: 32 */
    int fft;              /* every conv through the FFT path, however small */
    ot_optimizer_kind kind;
    float lr, momentum, weight_decay, ftrl_l1, ftrl_l2;
    double l1, l2, clip_norm, clip_value, max_norm;
} train_case;

static void run_case(const train_case *tc) {
    char path[256];
    snprintf(path, sizeof path, "train/%s", tc->model);
    ot_model *m;
    if (ot_onnx_load(NULL, ts_fixture(path), &m) != OT_OK) fail_msg("%s", ot_last_error());
    char spec[4096];
    snprintf(path, sizeof path, "train/%s", tc->data ? tc->data : "data.npz");
    snprintf(spec, sizeof spec, "npz:%s", ts_fixture(path));
    ot_dataset *data;
    if (ot_dataset_load(spec, NULL, &data) != OT_OK) fail_msg("%s", ot_last_error());

    ot_train_config config;
    ot_train_config_defaults(&config);
    ot_optimizer_defaults(tc->kind, &config.optimizer);
    config.optimizer.lr = tc->lr;
    if (tc->momentum) config.optimizer.momentum = tc->momentum;
    if (tc->kind == OT_OPTIMIZER_RMSPROP) config.optimizer.momentum = tc->momentum;
    if (tc->weight_decay) config.optimizer.weight_decay = tc->weight_decay;
    config.optimizer.l1 = tc->ftrl_l1;
    config.optimizer.l2 = tc->ftrl_l2;
    config.l1 = tc->l1;
    config.l2 = tc->l2;
    config.clip_norm = tc->clip_norm;
    config.clip_value = tc->clip_value;
    config.max_norm = tc->max_norm;
    config.epochs = 1;
    config.batch = tc->batch ? tc->batch : 32;
    config.shuffle = 0;
    /* The FFT cases send every conv through the FFT path. */
    ot_conv_tuning tuning = oti_conv_tuning_default();
    if (tc->fft) {
        tuning.fft_min_channels = 1;
        tuning.fft_min_gain = 0.0;
    }
    config.context = ts_context();
    config.conv_tuning = &tuning;
    ot_train_result result;
    ot_status status = ot_train(m, &config, data, NULL, &result);
    if (status != OT_OK) fail_msg("%s: %s", tc->name, ot_last_error());

    snprintf(path, sizeof path, "train/expected/%s.npz", tc->expected ? tc->expected : tc->name);
    ot_weights expected;
    if (ot_weights_load(NULL, ts_fixture(path), &expected) != OT_OK) fail_msg("%s", ot_last_error());
    /* Relative means against each tensor's largest magnitude: elementwise, a weight that passes
     * near zero would compare float32 rounding with itself. */
    double worst = 0, worst_relative = 0;
    for (int i = 0; i < expected.count; i++) {
        int v = ot_model_find_value(m, expected.items[i].name);
        if (v < 0) fail_msg("%s: the model has no tensor '%s'", tc->name, expected.items[i].name);
        const ot_tensor *got = &m->values[v].tensor, *want = &expected.items[i].tensor;
        assert_int_equal(ot_tensor_numel(got), ot_tensor_numel(want));
        double tensor_err = 0, tensor_scale = 0;
        for (int64_t k = 0; k < ot_tensor_numel(want); k++) {
            double want_k = ((float *)want->data)[k];
            double err = fabs((double)((float *)got->data)[k] - want_k);
            tensor_err = fmax(tensor_err, err);
            tensor_scale = fmax(tensor_scale, fabs(want_k));
            if (err > 1e-4)
                fail_msg("%s: %s[%lld] = %.7g, PyTorch %.7g", tc->name, expected.items[i].name,
                         (long long)k, ((float *)got->data)[k], want_k);
        }
        worst = fmax(worst, tensor_err);
        if (tensor_scale > 0) worst_relative = fmax(worst_relative, tensor_err / tensor_scale);
        if (tensor_scale > 0 && tensor_err > 1e-4 * tensor_scale)
            fail_msg("%s: %s differs from PyTorch by %.2e, %.2e of its largest value", tc->name,
                     expected.items[i].name, tensor_err, tensor_err / tensor_scale);
    }
    print_message("%-20s largest difference from PyTorch %.2e (relative %.2e)\n", tc->name, worst,
                  worst_relative);
    ot_weights_free(&expected);
    ot_dataset_free(data);
    ot_model_free(m);
}

static const train_case cases[] = {
    {.name = "sgd", .model = "mlp.onnx", .kind = OT_OPTIMIZER_SGD, .lr = 0.1f},
    {.name = "momentum", .model = "mlp.onnx", .kind = OT_OPTIMIZER_MOMENTUM, .lr = 0.05f, .momentum = 0.9f},
    {.name = "nesterov", .model = "mlp.onnx", .kind = OT_OPTIMIZER_NESTEROV, .lr = 0.05f, .momentum = 0.9f},
    {.name = "adagrad", .model = "mlp.onnx", .kind = OT_OPTIMIZER_ADAGRAD, .lr = 0.1f},
    {.name = "rmsprop", .model = "mlp.onnx", .kind = OT_OPTIMIZER_RMSPROP, .lr = 0.01f},
    {.name = "rmsprop_momentum", .model = "mlp.onnx", .kind = OT_OPTIMIZER_RMSPROP, .lr = 0.01f, .momentum = 0.5f},
    {.name = "adam", .model = "mlp.onnx", .kind = OT_OPTIMIZER_ADAM, .lr = 0.01f},
    {.name = "adamw", .model = "mlp.onnx", .kind = OT_OPTIMIZER_ADAMW, .lr = 0.01f},
    {.name = "ftrl", .model = "mlp.onnx", .kind = OT_OPTIMIZER_FTRL, .lr = 0.1f, .momentum = 0, .weight_decay = 0, .ftrl_l1 = 0.001f, .ftrl_l2 = 0.001f},
    {.name = "sgd_weight_decay", .model = "mlp.onnx", .kind = OT_OPTIMIZER_SGD, .lr = 0.1f, .momentum = 0, .weight_decay = 0.01f},
    {.name = "adam_weight_decay", .model = "mlp.onnx", .kind = OT_OPTIMIZER_ADAM, .lr = 0.01f, .momentum = 0, .weight_decay = 0.01f},
    {.name = "sgd_l1", .model = "mlp.onnx", .kind = OT_OPTIMIZER_SGD, .lr = 0.1f, .l1 = 0.001},
    {.name = "sgd_l2", .model = "mlp.onnx", .kind = OT_OPTIMIZER_SGD, .lr = 0.1f, .l2 = 0.001},
    {.name = "sgd_clip_norm", .model = "mlp.onnx", .kind = OT_OPTIMIZER_SGD, .lr = 0.1f, .clip_norm = 0.5},
    {.name = "sgd_clip_value", .model = "mlp.onnx", .kind = OT_OPTIMIZER_SGD, .lr = 0.1f, .clip_value = 0.01},
    {.name = "sgd_max_norm", .model = "mlp.onnx", .kind = OT_OPTIMIZER_SGD, .lr = 0.5f, .max_norm = 0.8},
    {.name = "bn_sgd", .model = "mlp_bn.onnx", .kind = OT_OPTIMIZER_SGD, .lr = 0.1f},
    {.name = "bn_momentum", .model = "mlp_bn.onnx", .kind = OT_OPTIMIZER_MOMENTUM, .lr = 0.05f, .momentum = 0.9f},
    {.name = "bn_adam", .model = "mlp_bn.onnx", .kind = OT_OPTIMIZER_ADAM, .lr = 0.01f},
    {.name = "bn_rmsprop", .model = "mlp_bn.onnx", .kind = OT_OPTIMIZER_RMSPROP, .lr = 0.01f},
    {.name = "cnn_momentum", .model = "cnn.onnx", .data = "data_img.npz", .kind = OT_OPTIMIZER_MOMENTUM, .lr = 0.05f, .momentum = 0.9f},
    {.name = "cnn_adam", .model = "cnn.onnx", .data = "data_img.npz", .kind = OT_OPTIMIZER_ADAM, .lr = 0.01f},
    {.name = "cnn_fft_momentum", .model = "cnn.onnx", .data = "data_img.npz", .expected = "cnn_momentum", .fft = 1, .kind = OT_OPTIMIZER_MOMENTUM, .lr = 0.05f, .momentum = 0.9f},
    {.name = "cnn_fft_adam", .model = "cnn.onnx", .data = "data_img.npz", .expected = "cnn_adam", .fft = 1, .kind = OT_OPTIMIZER_ADAM, .lr = 0.01f},
    /* Per-pixel cross-entropy through BatchNorm, ConvTranspose, nearest and bilinear Resize and
     * skip Concats: 3 steps of 4 images (tools/fixtures/gen_unet_fixtures.py). */
    {.name = "unet_momentum", .model = "unet.onnx", .data = "data_seg.npz", .batch = 4, .kind = OT_OPTIMIZER_MOMENTUM, .lr = 0.05f, .momentum = 0.9f},
    {.name = "unet_adam", .model = "unet.onnx", .data = "data_seg.npz", .batch = 4, .kind = OT_OPTIMIZER_ADAM, .lr = 0.01f},
    /* tf2onnx's layout: NHWC input, a Transpose into the convs, HWIO kernels reaching Conv through a
     * Transpose (tools/fixtures/gen_channel_last_fixtures.py); the kernels train in HWIO. */
    {.name = "channel_last_adam", .model = "channel_last.onnx", .data = "data_img_nhwc.npz", .kind = OT_OPTIMIZER_ADAM, .lr = 0.01f},
};

static void matches_pytorch(void **state) {
    const train_case *tc = *state;
    run_case(tc);
}

int main(void) {
    struct CMUnitTest tests[sizeof cases / sizeof cases[0]];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tests[i] = (struct CMUnitTest)cmocka_unit_test_prestate(matches_pytorch, (void *)&cases[i]);
        tests[i].name = cases[i].name;
    }
    ts_select_cases();
    return _cmocka_run_group_tests("train_vs_torch", tests, sizeof cases / sizeof cases[0], NULL, NULL);
}
