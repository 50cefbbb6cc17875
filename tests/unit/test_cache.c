/* The frozen-feature cache (src/train/cache.c) on the bundled CNN: reused when nothing changed
 * and rebuilt when weights, data, cut or conv arithmetic change, or when the file is torn or
 * corrupt; refused with augmentation; compressed caches give the same training as raw ones;
 * test sets are scored from it with the same loss and accuracy as the whole model. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>

#include "core/util.h"
#include "onnxtrain/plan.h"
#include "onnxtrain/transfer.h"
#include "train_support.h"

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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cache_reused_and_rebuilt),
        cmocka_unit_test(compressed_cache_matches_raw),
        cmocka_unit_test(test_set_scored_from_the_cache),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
