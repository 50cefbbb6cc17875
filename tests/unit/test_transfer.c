/* Transfer learning on the bundled CNN (models/fashion5.onnx) with a little Fashion-MNIST:
 * frozen parameters stay bit-identical and frozen BatchNorm statistics untouched; gradual
 * unfreezing releases layers from the top; early stopping returns the best epoch's weights.
 * The frozen-feature cache: test_cache.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "core/util.h"
#include "onnxtrain/plan.h"
#include "onnxtrain/transfer.h"
#include "train_support.h"

static void frozen_stays_frozen(void **state) {
    (void)state;
    ot_model *m = prepared_model("relu3");
    ot_dataset *d = data(64, 0);
    const char *frozen[] = {"conv1.weight", "conv1.bias", "bn1.weight", "bn1.running_mean", "bn1.running_var",
                            "conv2.weight", "bn2.running_var"};
    ot_tensor before[7];
    for (int i = 0; i < 7; i++) assert_int_equal(ot_tensor_copy(&before[i], tensor(m, frozen[i]), "copy"), OT_OK);
    ot_tensor dense_before;
    assert_int_equal(ot_tensor_copy(&dense_before, tensor(m, "dense1.weight"), "copy"), OT_OK);
    messages log = {.best_val = INFINITY};
    ot_train_config c = config_with(&log, NULL);
    ot_train_result r;
    if (ot_train(m, &c, d, NULL, &r) != OT_OK) fail_msg("%s", ot_last_error());
    for (int i = 0; i < 7; i++) {
        const ot_tensor *after = tensor(m, frozen[i]);
        if (memcmp(after->data, before[i].data, sizeof(float) * (size_t)ot_tensor_numel(after)))
            fail_msg("frozen %s changed", frozen[i]);
        ot_tensor_free(&before[i]);
    }
    /* ...while the trained layer did change. */
    assert_true(memcmp(tensor(m, "dense1.weight")->data, dense_before.data, sizeof(float) * 1568 * 64) != 0);
    ot_tensor_free(&dense_before);
    ot_dataset_free(d);
    ot_model_free(m);
}

static void gradual_unfreezing_from_the_top(void **state) {
    (void)state;
    ot_model *m = prepared_model("relu3");
    ot_dataset *d = data(32, 0);
    ot_tensor conv1, conv2;
    assert_int_equal(ot_tensor_copy(&conv1, tensor(m, "conv1.weight"), "c"), OT_OK);
    assert_int_equal(ot_tensor_copy(&conv2, tensor(m, "conv2.weight"), "c"), OT_OK);
    messages log = {.best_val = INFINITY};
    ot_train_config c = config_with(&log, NULL);
    c.epochs = 3;
    c.unfreeze_every = 1;
    c.unfreeze_count = 1; /* epoch 2: bn2 unfrozen; epoch 3: conv2 */
    ot_train_result r;
    if (ot_train(m, &c, d, NULL, &r) != OT_OK) fail_msg("%s", ot_last_error());
    assert_true(said(&log, "unfroze 1 more layer"));
    assert_true(memcmp(tensor(m, "conv2.weight")->data, conv2.data, sizeof(float) * 32 * 16 * 9) != 0);
    assert_memory_equal(tensor(m, "conv1.weight")->data, conv1.data, sizeof(float) * 16 * 9);
    ot_tensor_free(&conv1);
    ot_tensor_free(&conv2);
    ot_dataset_free(d);
    ot_model_free(m);
}

static void early_stopping_keeps_the_best(void **state) {
    (void)state;
    ot_model *m = prepared_model("relu3");
    ot_dataset *d = data(200, 0), *val = data(100, 1);
    messages log = {.best_val = INFINITY};
    ot_train_config c = config_with(&log, NULL);
    c.epochs = 40;
    c.early_stopping = 2;
    c.optimizer.lr = 0.01f; /* overfits 200 samples quickly */
    ot_train_result r;
    if (ot_train(m, &c, d, val, &r) != OT_OK) fail_msg("%s", ot_last_error());
    assert_true(r.stopped_early);
    assert_true(r.best_epoch < r.epochs_run);
    /* The returned weights score the best validation loss seen, not the last epoch's. */
    ot_eval_result e;
    assert_int_equal(ot_evaluate(m, &c, 256, val, &e), OT_OK);
    if (fabs(e.loss - log.best_val) > 1e-5) fail_msg("final val loss %.6f, best was %.6f", e.loss, log.best_val);
    ot_dataset_free(d);
    ot_dataset_free(val);
    ot_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frozen_stays_frozen),
        cmocka_unit_test(gradual_unfreezing_from_the_top),
        cmocka_unit_test(early_stopping_keeps_the_best),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
