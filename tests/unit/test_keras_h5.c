/* Keras 2 HDF5: model.save (/model_weights) and save_weights (root) layouts read with layer
 * and role; HDF5 files that are not Keras weights, and damaged files, refused. */
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/file_io.h"
#include "onnxtrain/weights.h"
#include "test_support.h"

static void load_ok(const char *path, ot_weights *w) {
    if (ot_weights_load(NULL, path, w) != OT_OK) fail_msg("%s", ot_last_error());
}

static const ot_tensor *find(const ot_weights *w, const char *name) {
    int i = ot_weights_find(w, name);
    if (i < 0) fail_msg("'%s' missing", name);
    return &w->items[i].tensor;
}

/* Keras kernel [kh][kw][in][out] against PyTorch's weight [out][in][kh][kw] (numpy's .npz of
 * the same state_dict), and Dense [in][out] against Linear [out][in]. */
static void check_against_torch(const ot_weights *k, const char *conv1, const char *bn1,
                                const char *fc) {
    ot_weights npz;
    load_ok(ts_fixture("weights/cnn.npz"), &npz);
    char name[128];
    snprintf(name, sizeof name, "%s/kernel:0", conv1);
    const ot_tensor *kernel = find(k, name), *weight = find(&npz, "conv1.weight");
    int64_t hwio[4] = {3, 3, 1, 4};
    assert_int_equal(kernel->ndim, 4);
    assert_memory_equal(kernel->dims, hwio, sizeof hwio);
    for (int o = 0; o < 4; o++)
        for (int h = 0; h < 3; h++)
            for (int x = 0; x < 3; x++)
                assert_true(((float *)kernel->data)[(h * 3 + x) * 4 + o] ==
                            ((float *)weight->data)[o * 9 + h * 3 + x]);
    snprintf(name, sizeof name, "%s/kernel:0", fc);
    const ot_tensor *dense = find(k, name), *linear = find(&npz, "fc.weight");
    assert_int_equal(dense->dims[0], 24);
    assert_int_equal(dense->dims[1], 5);
    for (int i = 0; i < 24; i++)
        for (int o = 0; o < 5; o++)
            assert_true(((float *)dense->data)[i * 5 + o] == ((float *)linear->data)[o * 24 + i]);
    snprintf(name, sizeof name, "%s/moving_variance:0", bn1);
    const ot_tensor *var = find(k, name), *running_var = find(&npz, "bn1.running_var");
    assert_memory_equal(var->data, running_var->data, 4 * sizeof(float));
    ot_weights_free(&npz);
}

static void model_save_layout(void **state) {
    (void)state;
    ot_weights w;
    load_ok(ts_fixture("weights/cnn_keras.h5"), &w);
    assert_int_equal(w.format, OT_WEIGHTS_KERAS_H5);
    assert_int_equal(w.count, 10);
    const char *names[] = {"conv1/kernel:0", "conv1/bias:0", "bn1/gamma:0", "bn1/beta:0",
                           "bn1/moving_mean:0", "bn1/moving_variance:0", "conv2/kernel:0",
                           "conv2/bias:0", "fc/kernel:0", "fc/bias:0"};
    const char *layers[] = {"conv1", "conv1", "bn1", "bn1", "bn1", "bn1", "conv2", "conv2", "fc", "fc"};
    const char *roles[] = {"kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance",
                           "kernel", "bias", "kernel", "bias"};
    for (int i = 0; i < 10; i++) {
        assert_string_equal(w.items[i].name, names[i]);
        assert_string_equal(w.items[i].layer, layers[i]);
        assert_string_equal(w.items[i].role, roles[i]);
        assert_int_equal(w.items[i].tensor.dtype, OT_FLOAT);
    }
    check_against_torch(&w, "conv1", "bn1", "fc");
    ot_weights_free(&w);
}

static void save_weights_layout(void **state) {
    (void)state;
    ot_weights w;
    load_ok(ts_fixture("weights/cnn_keras_weights.h5"), &w);
    assert_int_equal(w.count, 10);
    assert_string_equal(w.items[0].layer, "conv2d");
    assert_string_equal(w.items[2].layer, "batch_normalization");
    assert_string_equal(w.items[2].role, "gamma");
    check_against_torch(&w, "conv2d", "batch_normalization", "dense");
    ot_weights_free(&w);
}

static void expect_error(const char *path, const char *part) {
    ot_weights w;
    ot_status status = ot_weights_load(NULL, path, &w);
    if (status == OT_OK) fail_msg("%s accepted", path);
    assert_int_equal(status, OT_ERR_FORMAT);
    assert_int_equal(w.count, 0);
    const char *base = strrchr(path, '/') + 1;
    if (!strstr(ot_last_error(), base) || !strstr(ot_last_error(), part))
        fail_msg("message '%s' lacks '%s' or '%s'", ot_last_error(), base, part);
}

static void not_keras(void **state) {
    (void)state;
    expect_error(ts_fixture("weights/not_keras.h5"), "not Keras 2 weights");
}

/* Cut files: libhdf5 reports them, we turn that into our error (no crash, nothing printed). */
static void truncated(void **state) {
    (void)state;
    unsigned char *data;
    size_t size;
    assert_int_equal(oti_read_file(ts_fixture("weights/cnn_keras.h5"), 0, &data, &size), OT_OK);
    const char *dir = ts_temp_dir();
    size_t cuts[] = {16, 100, 700, size / 2, size - 40};
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        char path[512];
        snprintf(path, sizeof path, "%s/cut%zu.h5", dir, c);
        assert_int_equal(oti_write_file_atomic(path, data, cuts[c]), OT_OK);
        ot_weights w;
        ot_status status = ot_weights_load(NULL, path, &w);
        if (status == OT_OK) fail_msg("cut at %zu accepted", cuts[c]);
        assert_int_equal(w.count, 0);
        assert_non_null(strstr(ot_last_error(), path));
    }
    free(data);
}

/* A file on which libhdf5 overflows its heap (found by fuzz_keras_h5; libhdf5 runs in a
 * child process): an error naming the file, nothing loaded, and a valid file still loads
 * afterwards in the same process. */
static void libhdf5_heap_overflow_is_contained(void **state) {
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/../fuzz/regressions/keras_h5/libhdf5_attribute_heap_overflow.h5", OT_FIXTURES);
    ot_weights w;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ot_weights_load(NULL, path, &w), OT_ERR_FORMAT);
        assert_int_equal(w.count, 0);
        assert_non_null(strstr(ot_last_error(), "libhdf5_attribute_heap_overflow.h5"));
    }
    load_ok(ts_fixture("weights/cnn_keras.h5"), &w);
    ot_weights_free(&w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(model_save_layout),
        cmocka_unit_test(save_weights_layout),
        cmocka_unit_test(not_keras),
        cmocka_unit_test(truncated),
        cmocka_unit_test(libhdf5_heap_overflow_is_contained),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
