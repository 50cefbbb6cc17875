/* The matcher: each pass (map, exact, normalised, Keras layer + role, order + shape) on
 * hand-built models, layout transforms checked element by element, conflicts and --strict
 * leaving the model untouched. */
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/util.h"
#include "core/file_io.h"
#include "onnxtrain/graph.h"
#include "onnxtrain/weights.h"
#include "test_support.h"
#include "weights/match_internal.h"

/* float tensor with values base + i */
static ot_tensor ramp(int ndim, const int64_t *dims, float base) {
    ot_tensor t = ts_tensor(ndim, dims);
    for (int64_t i = 0; i < ot_tensor_numel(&t); i++) ((float *)t.data)[i] = base + (float)i;
    return t;
}

static void add_init(ot_model *m, const char *name, int ndim, const int64_t *dims) {
    ot_tensor t = ts_tensor(ndim, dims); /* zeros: the architecture */
    assert_int_equal(ot_model_add_initializer(m, name, &t, NULL), OT_OK);
}

static int add_layer(ot_model *m, const char *name, const char *op, int n_in,
                     const char *const *in, const char *out) {
    int li;
    const char *outs[1] = {out};
    assert_int_equal(ot_model_add_layer(m, name, op, "", n_in, in, 1, outs, &li), OT_OK);
    return li;
}

/* x -> Conv(conv1) -> BatchNormalization(bn1) -> Gemm(fc, transB=1) -> MatMul(dense) + Add
 * with PyTorch-style names, plus an int64 shape constant that is not a parameter. */
static ot_model *make_model(int trans_b) {
    ot_model *m = ot_model_new();
    assert_int_equal(ot_model_set_opset(m, "", 13), OT_OK);
    int x;
    assert_int_equal(ot_model_add_value(m, "x", OT_VALUE_INPUT, &x), OT_OK);
    m->inputs = ts_calloc(2, sizeof(int));
    m->inputs[m->n_inputs++] = x;
    int64_t w1[4] = {4, 2, 3, 3}, c4[1] = {4}, fc[2] = {5, 4}, fcT[2] = {4, 5}, c5[1] = {5},
            dw[2] = {5, 3}, c3[1] = {3}, shape[1] = {2};
    add_init(m, "conv1.weight", 4, w1);
    add_init(m, "conv1.bias", 1, c4);
    const char *bn_names[4] = {"bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var"};
    for (int i = 0; i < 4; i++) add_init(m, bn_names[i], 1, c4);
    add_init(m, "fc.weight", 2, trans_b ? fc : fcT);
    add_init(m, "fc.bias", 1, c5);
    add_init(m, "dense.kernel", 2, dw);
    add_init(m, "dense.bias", 1, c3);
    int64_t shape_values[2] = {1, 3};
    ot_tensor s = ts_int64(1, shape, shape_values);
    assert_int_equal(ot_model_add_initializer(m, "shape_const", &s, NULL), OT_OK);
    const char *conv_in[3] = {"x", "conv1.weight", "conv1.bias"};
    add_layer(m, "/conv1/Conv", "Conv", 3, conv_in, "c1");
    const char *bn_in[5] = {"c1", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var"};
    add_layer(m, "/bn1/BatchNormalization", "BatchNormalization", 5, bn_in, "b1");
    const char *gemm_in[3] = {"b1", "fc.weight", "fc.bias"};
    int g = add_layer(m, "/fc/Gemm", "Gemm", 3, gemm_in, "f");
    ot_attr a = ts_attr_int("transB", trans_b);
    assert_int_equal(ot_layer_add_attr(&m->layers[g], &a), OT_OK);
    ot_attr_free(&a);
    const char *mm_in[2] = {"f", "dense.kernel"};
    add_layer(m, "dense/MatMul", "MatMul", 2, mm_in, "d");
    const char *add_in[2] = {"d", "dense.bias"};
    add_layer(m, "dense/BiasAdd", "Add", 2, add_in, "d2");
    const char *reshape_in[2] = {"d2", "shape_const"};
    add_layer(m, "reshape", "Reshape", 2, reshape_in, "y");
    m->outputs = ts_calloc(2, sizeof(int));
    m->outputs[m->n_outputs++] = ot_model_find_value(m, "y");
    assert_int_equal(ot_graph_check(m), OT_OK);
    return m;
}

static const float *value_data(const ot_model *m, const char *name) {
    int v = ot_model_find_value(m, name);
    assert_true(v >= 0);
    return m->values[v].tensor.data;
}

static void add_source(ot_weights *w, const char *name, int ndim, const int64_t *dims, float base,
                       const char *layer, const char *role) {
    ot_tensor t = ramp(ndim, dims, base);
    assert_int_equal(ot_weights_add(w, "src", name, &t, layer, role), OT_OK);
}

static const ot_match_entry *matched(const ot_match_report *r, const char *target) {
    for (int i = 0; i < r->n_matched; i++)
        if (!strcmp(r->matched[i].target, target)) return &r->matched[i];
    fail_msg("'%s' was not matched", target);
    return NULL;
}

/* PyTorch names (exact), DataParallel/TF spellings (normalised). */
static void exact_and_normalized(void **state) {
    (void)state;
    ot_model *m = make_model(1);
    ot_weights w = {0};
    int64_t w1[4] = {4, 2, 3, 3}, c4[1] = {4}, fc[2] = {5, 4}, c5[1] = {5}, dw[2] = {5, 3},
            c3[1] = {3};
    add_source(&w, "conv1.weight", 4, w1, 100, NULL, NULL);
    add_source(&w, "module.conv1.bias", 1, c4, 200, NULL, NULL);
    add_source(&w, "bn1/weight:0", 1, c4, 300, NULL, NULL);
    add_source(&w, "model.bn1.bias", 1, c4, 400, NULL, NULL);
    add_source(&w, "bn1.running_mean", 1, c4, 500, NULL, NULL);
    add_source(&w, "bn1_running_var", 1, c4, 600, NULL, NULL);
    add_source(&w, "fc.weight", 2, fc, 700, NULL, NULL);
    add_source(&w, "fc.bias", 1, c5, 800, NULL, NULL);
    add_source(&w, "dense.kernel", 2, dw, 900, NULL, NULL);
    add_source(&w, "dense.bias", 1, c3, 1000, NULL, NULL);
    add_source(&w, "unused.extra", 1, c3, 0, NULL, NULL);
    ot_match_report r;
    ot_match_options options = {NULL, 1};
    assert_int_equal(ot_weights_apply(m, &w, "src.pt", &options, &r), OT_OK);
    assert_int_equal(r.n_params, 10); /* the int64 shape constant is not one */
    assert_int_equal(r.n_filled, 10);
    assert_int_equal(matched(&r, "conv1.weight")->how, OT_MATCH_EXACT);
    assert_int_equal(matched(&r, "conv1.bias")->how, OT_MATCH_NORMALIZED);
    assert_int_equal(matched(&r, "bn1.weight")->how, OT_MATCH_NORMALIZED);
    assert_int_equal(matched(&r, "bn1.bias")->how, OT_MATCH_NORMALIZED);
    assert_int_equal(matched(&r, "bn1.running_var")->how, OT_MATCH_NORMALIZED);
    assert_string_equal(matched(&r, "bn1.bias")->source, "model.bn1.bias");
    assert_int_equal(r.n_unmatched_sources, 1);
    assert_string_equal(r.unmatched_sources[0].source, "unused.extra");
    assert_true(value_data(m, "conv1.weight")[71] == 171.0f);
    assert_true(value_data(m, "bn1.running_var")[3] == 603.0f);
    assert_true(value_data(m, "dense.bias")[2] == 1002.0f);
    /* the shape constant kept its values */
    assert_int_equal(((int64_t *)m->values[ot_model_find_value(m, "shape_const")].tensor.data)[1], 3);
    ot_match_report_free(&r);
    ot_weights_free(&w);
    ot_model_free(m);
}

/* Keras layers named like the ONNX layers' scopes: kernels moved HWIO -> OIHW, the Dense
 * kernel transposed for Gemm(transB=1) and kept for transB=0 and MatMul, the MatMul's Add
 * takes the Dense bias, BN roles by name. */
static void keras_layers(void **state) {
    (void)state;
    for (int trans_b = 0; trans_b <= 1; trans_b++) {
        ot_model *m = make_model(trans_b);
        ot_weights w = {0};
        int64_t hwio[4] = {3, 3, 2, 4}, c4[1] = {4}, io[2] = {4, 5}, c5[1] = {5}, dw[2] = {5, 3},
                c3[1] = {3};
        /* file order differs from the model's: the layer names decide */
        add_source(&w, "d/kernel:0", 2, dw, 900, "dense", "kernel");
        add_source(&w, "d/bias:0", 1, c3, 1000, "dense", "bias");
        add_source(&w, "bn/moving_variance:0", 1, c4, 600, "bn1", "moving_variance");
        add_source(&w, "bn/moving_mean:0", 1, c4, 500, "bn1", "moving_mean");
        add_source(&w, "bn/beta:0", 1, c4, 400, "bn1", "beta");
        add_source(&w, "bn/gamma:0", 1, c4, 300, "bn1", "gamma");
        add_source(&w, "c/kernel:0", 4, hwio, 0, "conv1", "kernel");
        add_source(&w, "c/bias:0", 1, c4, 200, "conv1", "bias");
        add_source(&w, "f/kernel:0", 2, io, 700, "fc", "kernel");
        add_source(&w, "f/bias:0", 1, c5, 800, "fc", "bias");
        ot_match_report r;
        ot_match_options options = {NULL, 1};
        assert_int_equal(ot_weights_apply(m, &w, "k.h5", &options, &r), OT_OK);
        assert_int_equal(r.n_filled, 10);
        for (int i = 0; i < r.n_matched; i++) assert_int_equal(r.matched[i].how, OT_MATCH_LAYER);
        assert_string_equal(matched(&r, "conv1.weight")->transform, "HWIO->OIHW");
        /* OIHW[o][i][h][x] == HWIO[h][x][i][o] = ((h*3 + x)*2 + i)*4 + o */
        const float *conv = value_data(m, "conv1.weight");
        for (int o = 0; o < 4; o++)
            for (int i = 0; i < 2; i++)
                for (int h = 0; h < 3; h++)
                    for (int x = 0; x < 3; x++)
                        assert_true(conv[((o * 2 + i) * 3 + h) * 3 + x] ==
                                    (float)(((h * 3 + x) * 2 + i) * 4 + o));
        const float *fc = value_data(m, "fc.weight");
        for (int i = 0; i < 4; i++)
            for (int o = 0; o < 5; o++) /* Keras [in][out] = 700 + i*5 + o */
                assert_true((trans_b ? fc[o * 4 + i] : fc[i * 5 + o]) == 700.0f + (float)(i * 5 + o));
        if (!trans_b) assert_null(matched(&r, "fc.weight")->transform);
        assert_true(value_data(m, "dense.kernel")[14] == 914.0f); /* as is */
        assert_true(value_data(m, "dense.bias")[0] == 1000.0f);
        assert_true(value_data(m, "bn1.weight")[0] == 300.0f);
        assert_true(value_data(m, "bn1.running_mean")[0] == 500.0f);
        ot_match_report_free(&r);
        ot_weights_free(&w);
        ot_model_free(m);
    }
}

/* Names that mean nothing here: model order, skipping sources whose shape does not fit, and
 * Keras kernels still transformed by the target's role. */
static void order_and_shape(void **state) {
    (void)state;
    ot_model *m = make_model(1);
    ot_weights w = {0};
    int64_t hwio[4] = {3, 3, 2, 4}, c4[1] = {4}, io[2] = {4, 5}, c5[1] = {5}, dw[2] = {5, 3},
            c3[1] = {3}, odd[1] = {7};
    add_source(&w, "k0", 4, hwio, 0, "conv2d", "kernel");
    add_source(&w, "decoy", 1, odd, 0, NULL, NULL);
    add_source(&w, "b0", 1, c4, 200, "conv2d", "bias");
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "bn%d", i);
        add_source(&w, name, 1, c4, 300.0f + 100.0f * (float)i, NULL, NULL);
    }
    add_source(&w, "k1", 2, io, 700, "dense_1", "kernel");
    add_source(&w, "b1", 1, c5, 800, NULL, NULL);
    add_source(&w, "k2", 2, dw, 900, NULL, NULL);
    add_source(&w, "b2", 1, c3, 1000, NULL, NULL);
    ot_match_report r;
    assert_int_equal(ot_weights_apply(m, &w, "w", NULL, &r), OT_OK);
    assert_int_equal(r.n_filled, 10);
    for (int i = 0; i < r.n_matched; i++) assert_int_equal(r.matched[i].how, OT_MATCH_ORDER);
    assert_string_equal(matched(&r, "conv1.weight")->source, "k0");
    assert_string_equal(matched(&r, "conv1.weight")->transform, "HWIO->OIHW");
    assert_string_equal(matched(&r, "bn1.running_var")->source, "bn3");
    assert_true(value_data(m, "conv1.weight")[9] == 4.0f); /* o=0,i=1 -> HWIO index 4 */
    assert_true(value_data(m, "fc.weight")[1] == 705.0f);      /* transposed for transB=1 */
    assert_int_equal(r.n_unmatched_sources, 1);
    assert_string_equal(r.unmatched_sources[0].source, "decoy");
    ot_match_report_free(&r);
    ot_weights_free(&w);
    ot_model_free(m);
}

static const char *write_map(const char *text) {
    static char path[512];
    snprintf(path, sizeof path, "%s/map.txt", ts_temp_dir());
    assert_int_equal(oti_write_file_atomic(path, text, strlen(text)), OT_OK);
    return path;
}

/* --map beats exact names; bad map lines fail naming the file and line. */
static void map_file(void **state) {
    (void)state;
    int64_t c4[1] = {4};
    ot_model *m = make_model(1);
    ot_weights w = {0};
    add_source(&w, "bn1.running_mean", 1, c4, 10, NULL, NULL);
    add_source(&w, "bn1.running_var", 1, c4, 20, NULL, NULL);
    ot_match_options options = {write_map("# swapped on purpose\n\n  bn1.running_mean = bn1.running_var \n"
                                          "bn1.running_var=bn1.running_mean\n"), 0};
    ot_match_report r;
    assert_int_equal(ot_weights_apply(m, &w, "w", &options, &r), OT_OK);
    assert_int_equal(matched(&r, "bn1.running_var")->how, OT_MATCH_MAP);
    assert_true(value_data(m, "bn1.running_var")[0] == 10.0f);
    assert_true(value_data(m, "bn1.running_mean")[0] == 20.0f);
    ot_match_report_free(&r);
    struct {
        const char *text, *part;
    } bad[] = {
        {"bn1.running_mean bn1.running_var\n", "map.txt:1: expected 'source_name = onnx_name'"},
        {"\nnope = bn1.running_var\n", "map.txt:2: tensor 'nope' is not in w"},
        {"bn1.running_mean = nope\n", "map.txt:1: 'nope' is not an initializer"},
        {"bn1.running_mean = fc.bias\n", "map.txt:1: tensor 'bn1.running_mean' cannot fill 'fc.bias': shape [4] vs [5]"},
        {"bn1.running_mean = bn1.weight\nbn1.running_var = bn1.weight\n", "map.txt:2: 'bn1.running_var' or 'bn1.weight' is already mapped"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        float before = value_data(m, "bn1.weight")[0];
        ot_match_options o = {write_map(bad[i].text), 0};
        assert_int_equal(ot_weights_apply(m, &w, "w", &o, &r), OT_ERR_INVALID);
        if (!strstr(ot_last_error(), bad[i].part))
            fail_msg("'%s' lacks '%s'", ot_last_error(), bad[i].part);
        assert_true(value_data(m, "bn1.weight")[0] == before); /* untouched */
        ot_match_report_free(&r);
    }
    ot_weights_free(&w);
    ot_model_free(m);
}

/* Same name, other shape: a conflict, not copied, and the target is not refilled by order. */
static void conflicts_and_strict(void **state) {
    (void)state;
    ot_model *m = make_model(1);
    ot_weights w = {0};
    int64_t c4[1] = {4}, c6[1] = {6}, c411[3] = {4, 1, 1};
    add_source(&w, "conv1.bias", 1, c6, 1, NULL, NULL);
    add_source(&w, "spare", 1, c4, 2, NULL, NULL);
    add_source(&w, "bn1.weight", 3, c411, 3, NULL, NULL); /* [4,1,1] into [4]: reshaped */
    ot_match_report r;
    assert_int_equal(ot_weights_apply(m, &w, "w", NULL, &r), OT_OK);
    assert_int_equal(r.n_conflicts, 1);
    assert_string_equal(r.conflicts[0].target, "conv1.bias");
    assert_non_null(strstr(r.conflicts[0].detail, "shape [6] vs [4]"));
    assert_true(value_data(m, "conv1.bias")[0] == 0.0f);
    assert_string_equal(matched(&r, "bn1.weight")->transform, "reshaped");
    assert_true(value_data(m, "bn1.weight")[3] == 6.0f);
    assert_string_equal(matched(&r, "bn1.bias")->source, "spare"); /* order, after bn1.weight */
    assert_int_equal(r.n_filled, 2);
    assert_int_equal(r.n_unfilled, 8);
    ot_match_report_free(&r);
    ot_model_free(m);
    /* strict: the same weights change nothing */
    m = make_model(1);
    ot_match_options strict = {NULL, 1};
    assert_int_equal(ot_weights_apply(m, &w, "w.pt", &strict, &r), OT_ERR_INVALID);
    assert_non_null(strstr(ot_last_error(), "w.pt: strict: 8 of 10 ONNX parameters were not filled"));
    assert_non_null(strstr(ot_last_error(), "conv1.weight"));
    assert_true(value_data(m, "bn1.weight")[3] == 0.0f);
    assert_int_equal(r.n_unfilled, 8); /* the report is there to print */
    ot_match_report_free(&r);
    ot_model_free(m);
    ot_weights_free(&w);
}

/* Two sources that normalise alike are not matched by name. */
static void ambiguous_names(void **state) {
    (void)state;
    ot_model *m = make_model(1);
    ot_weights w = {0};
    int64_t c4[1] = {4};
    add_source(&w, "conv1/bias", 1, c4, 1, NULL, NULL);
    add_source(&w, "conv1_bias", 1, c4, 2, NULL, NULL);
    ot_match_report r;
    assert_int_equal(ot_weights_apply(m, &w, "w", NULL, &r), OT_OK);
    for (int i = 0; i < r.n_matched; i++) assert_int_not_equal(r.matched[i].how, OT_MATCH_NORMALIZED);
    ot_match_report_free(&r);
    ot_weights_free(&w);
    ot_model_free(m);
}

/* Keras DepthwiseConv2D [kh, kw, C, M] into Conv(group=C) W [C*M, 1, kh, kw]. */
static void depthwise(void **state) {
    (void)state;
    ot_model *m = ot_model_new();
    assert_int_equal(ot_model_set_opset(m, "", 13), OT_OK);
    int x;
    assert_int_equal(ot_model_add_value(m, "x", OT_VALUE_INPUT, &x), OT_OK);
    int64_t wd[4] = {6, 1, 3, 3};
    add_init(m, "W", 4, wd);
    const char *in[2] = {"x", "W"};
    add_layer(m, "dw", "Conv", 2, in, "y");
    ot_weights w = {0};
    int64_t hwcm[4] = {3, 3, 2, 3};
    add_source(&w, "dw/depthwise_kernel:0", 4, hwcm, 0, "dw", "depthwise_kernel");
    ot_match_report r;
    assert_int_equal(ot_weights_apply(m, &w, "w", NULL, &r), OT_OK);
    assert_int_equal(r.n_filled, 1);
    assert_int_equal(r.matched[0].how, OT_MATCH_LAYER);
    const float *W = value_data(m, "W");
    for (int c = 0; c < 2; c++)
        for (int k = 0; k < 3; k++)
            for (int h = 0; h < 3; h++)
                for (int j = 0; j < 3; j++)
                    assert_true(W[((c * 3 + k) * 3 + h) * 3 + j] == (float)(((h * 3 + j) * 2 + c) * 3 + k));
    ot_match_report_free(&r);
    ot_weights_free(&w);
    ot_model_free(m);
}

static void normalize(void **state) {
    (void)state;
    const char *cases[][2] = {
        {"module.features/0:0", "features.0"}, {"model.module.fc.weight", "fc.weight"},
        {"conv1/kernel:0", "conv1.kernel"},    {"bn1_running_mean", "bn1.running.mean"},
        {"/conv1/Conv", "conv1.Conv"},         {"a::b..c", "a.b.c"},
        {"model.", "model"},                   {":0", ""},
        {"x:12", "x"},                         {"layer:0a", "layer.0a"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *n = oti_weights_normalize_name(cases[i][0]);
        assert_string_equal(n, cases[i][1]);
        free(n);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exact_and_normalized),
        cmocka_unit_test(keras_layers),
        cmocka_unit_test(order_and_shape),
        cmocka_unit_test(map_file),
        cmocka_unit_test(conflicts_and_strict),
        cmocka_unit_test(ambiguous_names),
        cmocka_unit_test(depthwise),
        cmocka_unit_test(normalize),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
