/* Transfer learning on the bundled CNN (models/fashion5.onnx) with a little Fashion-MNIST:
 * frozen parameters stay bit-identical and frozen BatchNorm statistics untouched; the
 * frozen-feature cache is reused when nothing changed and rebuilt when weights, data or cut
 * change, or when the file is corrupt; caching refuses augmentation; gradual unfreezing
 * releases layers from the top; early stopping returns the best epoch's weights. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>

#include "core/util.h"
#include "onnxtrain/builder.h"
#include "onnxtrain/onnx_io.h"
#include "onnxtrain/plan.h"
#include "onnxtrain/train.h"
#include "onnxtrain/transfer.h"
#include "test_support.h"

#define DEMO_MODEL OT_FIXTURES "/../../models/fashion5.onnx"

typedef struct messages {
    char text[16][512];
    int count;
    double best_val;
} messages;

static void on_message(void *user, const char *message) {
    messages *m = user;
    if (m->count < 16) snprintf(m->text[m->count++], sizeof m->text[0], "%s", message);
}

static void on_epoch(void *user, const ot_epoch_stats *s) {
    messages *m = user;
    if (!isnan(s->val_loss) && s->val_loss < m->best_val) m->best_val = s->val_loss;
}

static int said(const messages *m, const char *words) {
    for (int i = 0; i < m->count; i++)
        if (strstr(m->text[i], words)) return 1;
    return 0;
}

/* The demo model cut before its last layer with a new 5-way head, convolutions frozen. */
static ot_model *prepared_model_head(const char *cut, const char *upto, const char *head) {
    ot_model *m;
    if (ot_onnx_load(NULL, DEMO_MODEL, &m) != OT_OK) fail_msg("%s", ot_last_error());
    assert_int_equal(ot_transfer_cut(m, cut), OT_OK);
    ot_init_spec init;
    ot_builder_parse_init("auto", &init);
    ot_rng rng;
    ot_rng_seed(&rng, 3);
    if (ot_builder_append(NULL, m, head, m->values[m->outputs[0]].name, &init, &rng, "head_") != OT_OK)
        fail_msg("%s", ot_last_error());
    ot_freeze_rule rule = {OT_FREEZE_UPTO, upto};
    assert_int_equal(ot_transfer_freeze(m, 1, &rule), OT_OK);
    return m;
}

static ot_model *prepared_model(const char *cut) { return prepared_model_head(cut, "flatten1", "dense:5"); }
/* Cut right after the convolutions, with a head that flattens itself. */
static ot_model *conv_cut_model(void) { return prepared_model_head("maxpool2", "maxpool2", "flatten,dense:5"); }

static ot_dataset *data(int64_t limit, int test) {
    int64_t classes[5] = {5, 6, 7, 8, 9};
    ot_data_options o = {.limit = limit, .classes = classes, .n_classes = 5};
    ot_dataset *d;
    if (ot_dataset_load(test ? "fashion-mnist:test" : "fashion-mnist:train", &o, &d) != OT_OK)
        fail_msg("%s", ot_last_error());
    return d;
}

static ot_train_config config_with(messages *log, const char *cache) {
    ot_train_config c;
    ot_train_config_defaults(&c);
    c.context = ts_context();
    c.epochs = 2;
    c.batch = 16;
    c.cache_dir = cache;
    c.callbacks = (ot_train_callbacks){.user = log, .on_message = on_message, .on_epoch = on_epoch};
    return c;
}

/* A copy of every float initializer, in model order. */
static float *snapshot(const ot_model *m, int64_t *n) {
    *n = 0;
    for (int v = 0; v < m->n_values; v++)
        if (m->values[v].kind == OT_VALUE_INITIALIZER && m->values[v].tensor.dtype == OT_FLOAT)
            *n += ot_tensor_numel(&m->values[v].tensor);
    float *copy = oti_xmalloc(sizeof(float) * (size_t)(*n + 1)), *at = copy;
    for (int v = 0; v < m->n_values; v++) {
        const ot_tensor *t = &m->values[v].tensor;
        if (m->values[v].kind != OT_VALUE_INITIALIZER || t->dtype != OT_FLOAT) continue;
        memcpy(at, t->data, sizeof(float) * (size_t)ot_tensor_numel(t));
        at += ot_tensor_numel(t);
    }
    return copy;
}

static const ot_tensor *tensor(const ot_model *m, const char *name) {
    int v = ot_model_find_value(m, name);
    if (v < 0) fail_msg("no tensor %s", name);
    return &m->values[v].tensor;
}

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

static void cache_reused_and_rebuilt(void **state) {
    (void)state;
    const char *dir = ts_temp_dir();
    messages log = {.best_val = INFINITY};
    ot_train_config c = config_with(&log, dir);
    ot_train_result r;
    ot_dataset *d = data(64, 0);

    ot_model *m = prepared_model("relu3");
    assert_int_equal(ot_train(m, &c, d, NULL, &r), OT_OK);
    assert_true(said(&log, "cache: building"));
    float *cached_run;
    int64_t n;
    cached_run = snapshot(m, &n);
    ot_model_free(m);

    /* Unchanged: reused, and training gives the same weights as with a fresh cache. */
    log.count = 0;
    m = prepared_model("relu3");
    assert_int_equal(ot_train(m, &c, d, NULL, &r), OT_OK);
    assert_true(said(&log, "cache: reusing"));
    int64_t n2;
    float *again = snapshot(m, &n2);
    assert_int_equal(n, n2);
    assert_memory_equal(cached_run, again, sizeof(float) * (size_t)n);
    free(again);

    /* ...and the same as without the cache at all. */
    ot_model_free(m);
    m = prepared_model("relu3");
    ot_train_config plain = config_with(&log, NULL);
    assert_int_equal(ot_train(m, &plain, d, NULL, &r), OT_OK);
    again = snapshot(m, &n2);
    for (int64_t i = 0; i < n; i++)
        if (fabsf(again[i] - cached_run[i]) > 1e-5f) fail_msg("cached and uncached training differ at %lld", (long long)i);
    free(again);
    free(cached_run);
    ot_model_free(m);

    /* Data changed: rebuilt. */
    log.count = 0;
    ot_dataset *d2 = data(48, 0);
    m = prepared_model("relu3");
    assert_int_equal(ot_train(m, &c, d2, NULL, &r), OT_OK);
    assert_true(said(&log, "data or preprocessing changed"));
    ot_model_free(m);

    /* Cut point changed (a new head right after the convolutions: the frontier moves). */
    log.count = 0;
    m = conv_cut_model();
    assert_int_equal(ot_train(m, &c, d2, NULL, &r), OT_OK);
    assert_true(said(&log, "frozen graph, cut point or conv arithmetic changed"));
    ot_model_free(m);

    /* Frozen weights changed: rebuilt. */
    log.count = 0;
    m = conv_cut_model();
    ((float *)tensor(m, "conv2.weight")->data)[0] += 0.5f;
    assert_int_equal(ot_train(m, &c, d2, NULL, &r), OT_OK);
    assert_true(said(&log, "frozen weights changed"));
    ot_model_free(m);

    /* A corrupt file (one flipped byte in the data) is detected and rebuilt. */
    char path[600];
    snprintf(path, sizeof path, "%s/train.otcache", dir);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, -100, SEEK_END);
    int byte = fgetc(f);
    fseek(f, -100, SEEK_END);
    fputc(byte ^ 0x40, f);
    fclose(f);
    log.count = 0;
    m = conv_cut_model();
    ((float *)tensor(m, "conv2.weight")->data)[0] += 0.5f;
    assert_int_equal(ot_train(m, &c, d2, NULL, &r), OT_OK);
    assert_true(said(&log, "checksum"));
    assert_true(said(&log, "rebuilding"));
    ot_model_free(m);
    /* A torn (truncated) file too. */
    assert_int_equal(truncate(path, 200), 0);
    log.count = 0;
    m = conv_cut_model();
    ((float *)tensor(m, "conv2.weight")->data)[0] += 0.5f;
    assert_int_equal(ot_train(m, &c, d2, NULL, &r), OT_OK);
    assert_true(said(&log, "rebuilding"));
    ot_model_free(m);

    /* The same model and data with --fast-conv (its convs round differently): rebuilt. */
    log.count = 0;
    m = conv_cut_model();
    ((float *)tensor(m, "conv2.weight")->data)[0] += 0.5f;
    c.fast_convolution = 1;
    assert_int_equal(ot_train(m, &c, d2, NULL, &r), OT_OK);
    c.fast_convolution = 0;
    assert_true(said(&log, "frozen graph, cut point or conv arithmetic changed"));
    ot_model_free(m);

    /* Augmentation changes the images every epoch: caching is refused. */
    m = prepared_model("relu3");
    c.augment_flip = 1;
    assert_int_equal(ot_train(m, &c, d2, NULL, &r), OT_ERR_INVALID);
    assert_non_null(strstr(ot_last_error(), "a feature cache cannot be combined with augmentation"));
    ot_model_free(m);
    ot_dataset_free(d);
    ot_dataset_free(d2);
    unlink(path);
    rmdir(dir);
}

/* --cache-compress: chunks of zlib data (70 samples: several build chunks, the last partial)
 * give the same features, hence bit-identical training, as the raw cache; reused when
 * unchanged; a corrupt chunk is detected and rebuilt. */
static void compressed_cache_matches_raw(void **state) {
    (void)state;
    char raw_dir[256], packed_dir[256]; /* ts_temp_dir reuses its buffer */
    snprintf(raw_dir, sizeof raw_dir, "%s", ts_temp_dir());
    snprintf(packed_dir, sizeof packed_dir, "%s", ts_temp_dir());
    messages log = {.best_val = INFINITY};
    ot_dataset *d = data(70, 0);
    ot_train_result r;
    int64_t n, n2;

    ot_train_config raw = config_with(&log, raw_dir);
    ot_model *m = prepared_model("relu3");
    assert_int_equal(ot_train(m, &raw, d, NULL, &r), OT_OK);
    float *raw_run = snapshot(m, &n);
    ot_model_free(m);

    ot_train_config packed = config_with(&log, packed_dir);
    packed.cache_compress = 1;
    for (int run = 0; run < 2; run++) {
        log.count = 0;
        m = prepared_model("relu3");
        assert_int_equal(ot_train(m, &packed, d, NULL, &r), OT_OK);
        assert_true(said(&log, run == 0 ? "cache: building" : "cache: reusing"));
        float *again = snapshot(m, &n2);
        assert_int_equal(n, n2);
        assert_memory_equal(raw_run, again, sizeof(float) * (size_t)n);
        free(again);
        ot_model_free(m);
    }
    char path[600], raw_path[600];
    snprintf(path, sizeof path, "%s/train.otcache", packed_dir);
    snprintf(raw_path, sizeof raw_path, "%s/train.otcache", raw_dir);
    struct stat packed_st, raw_st;
    assert_int_equal(stat(path, &packed_st), 0);
    assert_int_equal(stat(raw_path, &raw_st), 0);
    assert_true(packed_st.st_size < raw_st.st_size); /* ReLU features: many zeros */

    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, packed_st.st_size / 2, SEEK_SET);
    int byte = fgetc(f);
    fseek(f, packed_st.st_size / 2, SEEK_SET);
    fputc(byte ^ 0x10, f);
    fclose(f);
    log.count = 0;
    m = prepared_model("relu3");
    assert_int_equal(ot_train(m, &packed, d, NULL, &r), OT_OK);
    assert_true(said(&log, "rebuilding"));
    float *rebuilt = snapshot(m, &n2);
    assert_memory_equal(raw_run, rebuilt, sizeof(float) * (size_t)n);
    free(rebuilt);
    ot_model_free(m);

    free(raw_run);
    ot_dataset_free(d);
    unlink(path);
    unlink(raw_path);
    rmdir(packed_dir);
    rmdir(raw_dir);
}

/* Scoring with the cache (train --test with --cache): built, then reused, and the same loss
 * and accuracy as scoring through the whole model. */
static void test_set_scored_from_the_cache(void **state) {
    (void)state;
    char dir[256];
    snprintf(dir, sizeof dir, "%s", ts_temp_dir());
    messages log = {.best_val = INFINITY};
    ot_train_config c = config_with(&log, dir);
    ot_model *m = prepared_model("relu3");
    ot_dataset *d = data(64, 0), *test = data(300, 1);
    ot_train_result r;
    assert_int_equal(ot_train(m, &c, d, NULL, &r), OT_OK);
    ot_eval_result whole, cached;
    assert_int_equal(ot_evaluate(m, &c, 256, test, &whole), OT_OK);
    for (int run = 0; run < 2; run++) {
        log.count = 0;
        if (ot_evaluate_cached(m, &c, "test", test, &cached) != OT_OK) fail_msg("%s", ot_last_error());
        assert_true(said(&log, run == 0 ? "building" : "reusing"));
        assert_true(said(&log, "test.otcache"));
        assert_int_equal(cached.samples, 300);
        assert_true(cached.accuracy == whole.accuracy);
        if (fabs(cached.loss - whole.loss) > 1e-6) fail_msg("loss %.8f cached, %.8f whole", cached.loss, whole.loss);
    }
    char path[600];
    snprintf(path, sizeof path, "%s/test.otcache", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/train.otcache", dir);
    unlink(path);
    rmdir(dir);
    ot_dataset_free(d);
    ot_dataset_free(test);
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
        cmocka_unit_test(cache_reused_and_rebuilt),
        cmocka_unit_test(compressed_cache_matches_raw),
        cmocka_unit_test(test_set_scored_from_the_cache),
        cmocka_unit_test(gradual_unfreezing_from_the_top),
        cmocka_unit_test(early_stopping_keeps_the_best),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
