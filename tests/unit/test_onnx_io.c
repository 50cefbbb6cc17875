/* ONNX import and export: layer list contents, round trips, and one test per bad input (each
 * a clear error naming the problem); folding and un-sharing: test_fold.c. Expected outputs come from
 * numpy in tools/fixtures/gen_onnx_fixtures.py. */
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>

#include "formats/npy.h"
#include "onnxtrain/graph.h"
#include "onnxtrain/onnx_io.h"
#include "test_support.h"

static ot_model *load(const char *name) {
    ot_model *m;
    if (ot_onnx_load(NULL, ts_fixture(name), &m) != OT_OK) fail_msg("%s: %s", name, ot_last_error());
    return m;
}

static void assert_close(const ot_tensor *got, const ot_tensor *want, double tolerance) {
    assert_int_equal(ot_tensor_numel(got), ot_tensor_numel(want));
    for (int64_t i = 0; i < ot_tensor_numel(want); i++)
        assert_float_equal(((float *)got->data)[i], ((float *)want->data)[i], tolerance);
}

static void run_and_compare(ot_model *m, const char *x_name, const char *y_name) {
    ot_tensor x, y;
    assert_int_equal(oti_npy_load(NULL, ts_fixture(x_name), &x), OT_OK);
    assert_int_equal(oti_npy_load(NULL, ts_fixture(y_name), &y), OT_OK);
    ot_tensor got = ts_run(m, 1, &x, 0);
    assert_close(&got, &y, 1e-5);
    ot_tensor_free(&got);
    ot_tensor_free(&x);
    ot_tensor_free(&y);
}

static void imports_layer_list(void **state) {
    (void)state;
    ot_model *m = load("onnx/mlp.onnx");
    assert_int_equal(m->n_layers, 3);
    assert_string_equal(m->layers[0].name, "fc1");
    assert_string_equal(m->layers[1].op_type, "Relu");
    assert_int_equal(m->n_inputs, 1);
    const ot_value *x = &m->values[m->inputs[0]];
    assert_string_equal(x->name, "x");
    assert_int_equal(x->tensor.dims[0], -1);
    assert_string_equal(x->dim_names[0], "N");
    assert_int_equal(x->tensor.dims[1], 4);
    assert_int_equal(ot_model_opset(m, ""), 13);
    assert_int_equal(m->n_metadata, 1);
    assert_string_equal(m->metadata[0].value, "onnxtrain tests");
    /* Layers by name, output tensor name, and index. */
    assert_int_equal(ot_model_find_layer(m, "fc2"), 2);
    assert_int_equal(ot_model_find_layer(m, "r"), 1);
    assert_int_equal(ot_model_find_layer(m, "0"), 0);
    assert_int_equal(ot_model_find_layer(m, "-1"), 2);
    assert_int_equal(ot_model_find_layer(m, "nope"), -1);
    assert_int_equal(ot_graph_layer_parameter_count(m, &m->layers[0]), 25);
    run_and_compare(m, "onnx/mlp_x.npy", "onnx/mlp_y.npy");
    ot_model_free(m);
}

static void round_trip_is_exact(void **state) {
    (void)state;
    const char *dir = ts_temp_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/copy.onnx", dir);
    ot_model *m = load("onnx/mlp.onnx");
    assert_int_equal(ot_onnx_save(m, path), OT_OK);
    ot_model *again;
    assert_int_equal(ot_onnx_load(NULL, path, &again), OT_OK);
    assert_int_equal(again->n_layers, m->n_layers);
    for (int i = 0; i < m->n_layers; i++) {
        assert_string_equal(again->layers[i].name, m->layers[i].name);
        assert_int_equal(again->layers[i].n_attrs, m->layers[i].n_attrs);
    }
    for (int v = 0; v < m->n_values; v++) {
        if (m->values[v].kind != OT_VALUE_INITIALIZER) continue;
        int w = ot_model_find_value(again, m->values[v].name);
        assert_true(w >= 0);
        size_t bytes = (size_t)ot_tensor_numel(&m->values[v].tensor) * 4;
        assert_memory_equal(again->values[w].tensor.data, m->values[v].tensor.data, bytes);
    }
    assert_string_equal(again->values[again->inputs[0]].dim_names[0], "N");
    assert_string_equal(again->metadata[0].key, "author");
    run_and_compare(again, "onnx/mlp_x.npy", "onnx/mlp_y.npy");
    ot_model_free(again);
    ot_model_free(m);
    unlink(path);
    rmdir(dir);
}

static void external_data_inside_folder(void **state) {
    (void)state;
    ot_model *m = load("onnx/external.onnx");
    int bias = ot_model_find_value(m, "bias");
    assert_true(bias >= 0);
    assert_float_equal(((float *)m->values[bias].tensor.data)[3], 3.0f, 0);
    ot_model_free(m);
}

/* Each bad file fails with `code` and a message containing `words`. */
static void expect_refused(const char *name, ot_status code, const char *words) {
    ot_model *m = NULL;
    ot_status status = ot_onnx_load(NULL, ts_fixture(name), &m);
    if (status != code) fail_msg("%s: expected status %s, got %s (%s)", name, ot_status_name(code), ot_status_name(status), ot_last_error());
    assert_null(m);
    if (!strstr(ot_last_error(), words)) fail_msg("%s: message '%s' lacks '%s'", name, ot_last_error(), words);
    if (!strstr(ot_last_error(), name + strlen("onnx/bad/"))) fail_msg("%s: message '%s' does not name the file", name, ot_last_error());
}

static void refuses_bad_models(void **state) {
    (void)state;
    expect_refused("onnx/bad/truncated.onnx", OT_ERR_FORMAT, "protobuf");
    expect_refused("onnx/bad/garbage.onnx", OT_ERR_FORMAT, "protobuf");
    expect_refused("onnx/bad/empty.onnx", OT_ERR_FORMAT, "graph");
    expect_refused("onnx/bad/missing_input.onnx", OT_ERR_INVALID, "'missing'");
    expect_refused("onnx/bad/cycle.onnx", OT_ERR_INVALID, "cycle");
    expect_refused("onnx/bad/negative_dim.onnx", OT_ERR_FORMAT, "negative dim");
    expect_refused("onnx/bad/raw_data_size.onnx", OT_ERR_FORMAT, "raw_data has 16 bytes");
    expect_refused("onnx/bad/overflowing_dims.onnx", OT_ERR_MEMORY, "too large");
    expect_refused("onnx/bad/zero_kernel.onnx", OT_ERR_INVALID, "conv");
    expect_refused("onnx/bad/stride_zero.onnx", OT_ERR_INVALID, "conv");
    expect_refused("onnx/bad/unknown_ops.onnx", OT_ERR_UNSUPPORTED, "'fancy1' (FancyOp), 'strings1' (StringNormalizer)");
    expect_refused("onnx/bad/no_opset.onnx", OT_ERR_FORMAT, "opset");
    expect_refused("onnx/bad/external_outside.onnx", OT_ERR_INVALID, "inside the model's folder");
    expect_refused("onnx/bad/external_absolute.onnx", OT_ERR_INVALID, "relative path");
    expect_refused("onnx/bad/external_past_end.onnx", OT_ERR_FORMAT, "past the end");
    expect_refused("onnx/bad/written_twice.onnx", OT_ERR_INVALID, "written by both");
}

static void refuses_symlink_escaping_folder(void **state) {
    (void)state;
    /* A relative location that is a symbolic link to a file outside the folder. */
    const char *dir = ts_temp_dir();
    char model[512], link[512], target[4096];
    snprintf(model, sizeof model, "%s/model.onnx", dir);
    snprintf(link, sizeof link, "%s/ext.bin", dir);
    assert_non_null(realpath(ts_fixture("onnx/ext.bin"), target));
    assert_int_equal(symlink(target, link), 0);
    unsigned char *data;
    size_t size;
    FILE *f = fopen(ts_fixture("onnx/external.onnx"), "rb");
    assert_non_null(f);
    data = malloc(4096);
    size = fread(data, 1, 4096, f);
    fclose(f);
    f = fopen(model, "wb");
    fwrite(data, 1, size, f);
    fclose(f);
    free(data);
    ot_model *m = NULL;
    assert_int_equal(ot_onnx_load(NULL, model, &m), OT_ERR_INVALID);
    assert_non_null(strstr(ot_last_error(), "outside"));
    unlink(model);
    unlink(link);
    rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(imports_layer_list),
        cmocka_unit_test(round_trip_is_exact),
        cmocka_unit_test(external_data_inside_folder),
        cmocka_unit_test(refuses_bad_models),
        cmocka_unit_test(refuses_symlink_escaping_folder),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
