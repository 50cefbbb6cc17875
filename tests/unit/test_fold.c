/* Import-time constant folding (src/graph/fold.c): layers whose inputs are all constants
 * become initializers named after their outputs; weights stay behind the layers that read
 * them (Transpose(W) keeps W's name), except an Identity, which gives the weight its own
 * trainable copy; random layers are never folded; a folded tensor stays within the context's
 * memory limit; and an initializer shared by a trained slot and a statistic slot (PyTorch's
 * BatchNorm weight and running_var) is split in two. */
#include <string.h>

#include "core/util.h"
#include "formats/npy.h"
#include "onnxtrain/graph.h"
#include "onnxtrain/onnx_io.h"
#include "test_support.h"

/* A model with graph input x (float, dims) and nothing else yet. */
static ot_model *model_with_input(int ndim, const int64_t *dims) {
    ot_model *m = ot_model_new();
    assert_int_equal(ot_model_set_opset(m, "", 17), OT_OK);
    int v;
    assert_int_equal(ot_model_add_value(m, "x", OT_VALUE_INPUT, &v), OT_OK);
    ot_tensor_set_shape(&m->values[v].tensor, OT_FLOAT, ndim, dims);
    m->values[v].has_type = m->values[v].has_shape = 1;
    m->inputs = ts_calloc(2, sizeof(int));
    m->inputs[m->n_inputs++] = v;
    return m;
}

static void add_int64s(ot_model *m, const char *name, int n, const int64_t *values) {
    int64_t dims[1] = {n};
    ot_tensor t = ts_int64(1, dims, values);
    assert_int_equal(ot_model_add_initializer(m, name, &t, NULL), OT_OK);
}

static void add_floats(ot_model *m, const char *name, int ndim, const int64_t *dims, const float *values) {
    ot_tensor t = ts_float(ndim, dims, values);
    assert_int_equal(ot_model_add_initializer(m, name, &t, NULL), OT_OK);
}

static void add_layer(ot_model *m, const char *name, const char *op, int n_in, const char *const *in,
                      const char *out) {
    assert_int_equal(ot_model_add_layer(m, name, op, "", n_in, in, 1, &out, NULL), OT_OK);
}

static void set_output(ot_model *m, const char *name) {
    m->outputs = ts_calloc(2, sizeof(int));
    m->outputs[m->n_outputs++] = ot_model_find_value(m, name);
}

static ot_status fold(const ot_context *ctx, ot_model *m) {
    OT_TRY(ot_graph_check(m));
    OT_TRY(ot_graph_resolve(m));
    return ot_graph_fold_constants(ctx, m);
}

static int has_layer(const ot_model *m, const char *name) { return ot_model_find_layer(m, name) >= 0; }

/* Shape arithmetic on constants: Concat(a, b) feeding a Reshape's shape folds to [2, 3]. */
static void constant_arithmetic_folds(void **state) {
    (void)state;
    int64_t xd[2] = {3, 2};
    ot_model *m = model_with_input(2, xd);
    add_int64s(m, "a", 1, (int64_t[]){2});
    add_int64s(m, "b", 1, (int64_t[]){3});
    add_layer(m, "concat", "Concat", 2, (const char *[]){"a", "b"}, "shape");
    ot_attr axis = ts_attr_int("axis", 0);
    assert_int_equal(ot_layer_add_attr(&m->layers[0], &axis), OT_OK);
    ot_attr_free(&axis);
    add_layer(m, "reshape", "Reshape", 2, (const char *[]){"x", "shape"}, "y");
    set_output(m, "y");
    assert_int_equal(fold(NULL, m), OT_OK);
    assert_false(has_layer(m, "concat"));
    assert_true(has_layer(m, "reshape"));
    const ot_value *shape = &m->values[ot_model_find_value(m, "shape")];
    assert_int_equal(shape->kind, OT_VALUE_INITIALIZER);
    int64_t want[2] = {2, 3};
    ts_expect_int64s(&shape->tensor, want, 2);
    assert_true(shape->frozen); /* a computed constant, not a trained weight */
    ot_model_free(m);
}

/* Transpose(W) stays a layer, so W keeps its name and is trained through it; Identity(W)
 * becomes W's own copy, trained as W was. */
static void weights_keep_their_layers(void **state) {
    (void)state;
    int64_t xd[2] = {1, 2}, wd[2] = {2, 2};
    ot_model *m = model_with_input(2, xd);
    add_floats(m, "w", 2, wd, (float[]){1, 2, 3, 4});
    add_layer(m, "transpose", "Transpose", 1, (const char *[]){"w"}, "wt");
    add_layer(m, "identity", "Identity", 1, (const char *[]){"w"}, "w_copy");
    add_layer(m, "mm1", "MatMul", 2, (const char *[]){"x", "wt"}, "h");
    add_layer(m, "mm2", "MatMul", 2, (const char *[]){"h", "w_copy"}, "y");
    set_output(m, "y");
    assert_int_equal(fold(NULL, m), OT_OK);
    assert_true(has_layer(m, "transpose"));
    assert_false(has_layer(m, "identity"));
    int copy = ot_model_find_value(m, "w_copy"), w = ot_model_find_value(m, "w");
    assert_int_equal(m->values[copy].kind, OT_VALUE_INITIALIZER);
    assert_false(m->values[copy].frozen);
    assert_true(ot_graph_is_parameter(m, copy));
    assert_ptr_not_equal(m->values[copy].tensor.data, m->values[w].tensor.data);
    ot_model_free(m);
}

/* Dropout is random in training: never folded, even on a constant. */
static void random_layers_stay(void **state) {
    (void)state;
    int64_t xd[1] = {4}, cd[1] = {4};
    ot_model *m = model_with_input(1, xd);
    add_floats(m, "c", 1, cd, (float[]){1, 2, 3, 4});
    m->values[ot_model_find_value(m, "c")].frozen = 1; /* a constant, not a weight */
    add_layer(m, "drop", "Dropout", 1, (const char *[]){"c"}, "d");
    add_layer(m, "add", "Add", 2, (const char *[]){"x", "d"}, "y");
    set_output(m, "y");
    assert_int_equal(fold(NULL, m), OT_OK);
    assert_true(has_layer(m, "drop"));
    ot_model_free(m);
}

/* A constant the graph blows up (Expand to 512 x 1024 floats, 2 MiB) is refused over a 1 MiB
 * limit, naming the tensor; without a limit it folds. */
static void folding_respects_the_memory_limit(void **state) {
    (void)state;
    for (int limited = 1; limited >= 0; limited--) {
        int64_t xd[2] = {512, 1024}, one[1] = {1};
        ot_model *m = model_with_input(2, xd);
        add_floats(m, "c", 1, one, (float[]){2});
        m->values[ot_model_find_value(m, "c")].frozen = 1;
        add_int64s(m, "shape", 2, xd);
        add_layer(m, "expand", "Expand", 2, (const char *[]){"c", "shape"}, "big");
        add_layer(m, "add", "Add", 2, (const char *[]){"x", "big"}, "y");
        set_output(m, "y");
        ot_context_options options = {.threads = 1, .memory_limit = limited ? (size_t)1 << 20 : 0};
        ot_context *ctx;
        assert_int_equal(ot_context_create(&options, &ctx), OT_OK);
        ot_status status = fold(ctx, m);
        if (limited) {
            assert_int_equal(status, OT_ERR_MEMORY);
            assert_non_null(strstr(ot_last_error(), "big needs 2.0 MiB, over the memory limit of 1.0 MiB"));
        } else {
            assert_int_equal(status, OT_OK);
            assert_false(has_layer(m, "expand"));
        }
        ot_context_free(ctx);
        ot_model_free(m);
    }
}

/* An exporter's shared initializers (tools/fixtures/gen_onnx_fixtures.py): Identity, Shape,
 * Constant, Gather and Concat fold away; the BatchNorm scale and running_var that came from
 * one initializer become two tensors; float16 and float64 weights become float32; outputs as
 * numpy computes them. */
static void import_folds_and_unshares(void **state) {
    (void)state;
    ot_model *m;
    if (ot_onnx_load(NULL, ts_fixture("onnx/shared_identity.onnx"), &m) != OT_OK) fail_msg("%s", ot_last_error());
    assert_int_equal(m->n_layers, 5); /* BatchNorm, Mul, Add, Add, Reshape */
    for (int i = 0; i < m->n_layers; i++) {
        assert_string_not_equal(m->layers[i].op_type, "Identity");
        assert_string_not_equal(m->layers[i].op_type, "Shape");
    }
    const ot_layer *bn = &m->layers[0];
    assert_string_equal(bn->op_type, "BatchNormalization");
    const ot_tensor *scale = &m->values[bn->inputs[1]].tensor, *var = &m->values[bn->inputs[4]].tensor;
    assert_int_not_equal(bn->inputs[1], bn->inputs[4]);
    assert_ptr_not_equal(scale->data, var->data);
    ((float *)scale->data)[0] = 7.0f;
    assert_float_equal(((float *)var->data)[0], 1.0f, 0);
    ((float *)scale->data)[0] = 1.0f;
    int half = ot_model_find_value(m, "half_w"), dbl = ot_model_find_value(m, "dbl_w");
    assert_int_equal(m->values[half].tensor.dtype, OT_FLOAT);
    assert_float_equal(((float *)m->values[half].tensor.data)[1], -1.25f, 0);
    assert_int_equal(m->values[dbl].tensor.dtype, OT_FLOAT);
    ot_tensor x, want;
    assert_int_equal(oti_npy_load(NULL, ts_fixture("onnx/shared_x.npy"), &x), OT_OK);
    assert_int_equal(oti_npy_load(NULL, ts_fixture("onnx/shared_y.npy"), &want), OT_OK);
    ot_tensor got = ts_run(m, 1, &x, 0);
    for (int64_t i = 0; i < ot_tensor_numel(&want); i++)
        assert_float_equal(((float *)got.data)[i], ((float *)want.data)[i], 1e-5);
    ot_tensor_free(&got);
    ot_tensor_free(&x);
    ot_tensor_free(&want);
    ot_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(constant_arithmetic_folds),
        cmocka_unit_test(weights_keep_their_layers),
        cmocka_unit_test(random_layers_stay),
        cmocka_unit_test(folding_respects_the_memory_limit),
        cmocka_unit_test(import_folds_and_unshares),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
