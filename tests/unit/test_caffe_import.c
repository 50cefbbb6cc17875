/* The Caffe reader: protobuf text format (strings, lists, comments, nesting limit, errors with
 * line numbers), layers mapped onto the layer list (BatchNorm + Scale as one node, in-place
 * layers, TEST-phase rules, preprocessing in the metadata), and bad input refused with a
 * message naming the file, layer, blob and field. Outputs against OpenCV: tests/caffe/zoo.sh. */
#include <stdlib.h>
#include <string.h>

#include "../fuzz/fuzz_caffe_net.h" /* the net the seed corpus's weights fit */
#include "core/file_io.h"
#include "formats/prototxt.h"
#include "onnxtrain/caffe_io.h"
#include "test_support.h"

#define CORPUS OT_FIXTURES "/../fuzz/corpus/"

static ot_prototxt_message parse_ok(const char *text) {
    ot_prototxt_message m;
    if (oti_prototxt_parse(text, strlen(text), "t.prototxt", &m) != OT_OK)
        fail_msg("%s", ot_last_error());
    return m;
}

static void expect_parse_error(const char *text, const char *words) {
    ot_prototxt_message m;
    assert_int_not_equal(oti_prototxt_parse(text, strlen(text), "t.prototxt", &m), OT_OK);
    if (!strstr(ot_last_error(), words)) fail_msg("expected '%s' in: %s", words, ot_last_error());
}

static void test_text_format(void **state) {
    (void)state;
    ot_prototxt_message m =
        parse_ok("# comment\nname: 'a\\'b' \"\\x41\\101\\n\" ; dims: [1, 2, 3]\n"
                 "shape < dim: 4 > shape: { dim: -5e-1 } flag: true kind: MAX");
    const char *s;
    int64_t i;
    double f;
    int b;
    assert_int_equal(oti_prototxt_string(oti_prototxt_find(&m, "name", 0), "t", &s), OT_OK);
    assert_string_equal(s, "a'bAA\n");
    assert_int_equal(oti_prototxt_count(&m, "dims"), 3);
    assert_int_equal(oti_prototxt_int(oti_prototxt_find(&m, "dims", 2), "t", &i), OT_OK);
    assert_int_equal(i, 3);
    const ot_prototxt_field *shape = oti_prototxt_find(&m, "shape", 1);
    assert_int_equal(shape->kind, OT_PROTOTXT_MESSAGE);
    assert_int_equal(oti_prototxt_get_float(&shape->message, "dim", 0, "t", &f), OT_OK);
    assert_true(f == -0.5);
    assert_int_equal(oti_prototxt_get_bool(&m, "flag", 0, "t", &b), OT_OK);
    assert_int_equal(b, 1);
    assert_int_equal(oti_prototxt_get_enum(&m, "kind", "X", "t", &s), OT_OK);
    assert_string_equal(s, "MAX");
    oti_prototxt_free(&m);
}

static void test_text_format_errors(void **state) {
    (void)state;
    expect_parse_error("a: 1\nb { c: 2\n", "t.prototxt:3: bad text format: missing '}'");
    expect_parse_error("a: \"open\n", "t.prototxt:1: bad text format: unterminated string");
    expect_parse_error("a: \"\\0\"", "NUL");
    expect_parse_error("[ext.x]: 1", "extensions");
    expect_parse_error("a 1", "expected ':' or '{'");
    char deep[400] = "";
    for (int k = 0; k < 70; k++) strcat(deep, "a{");
    expect_parse_error(deep, "nested too deeply");
    ot_prototxt_message m = parse_ok("x: 1 x: 2 y: abc");
    int64_t i;
    assert_int_not_equal(oti_prototxt_get_int(&m, "x", 0, "layer 'l'", &i), OT_OK);
    assert_non_null(strstr(ot_last_error(), "layer 'l': field 'x' is given twice (lines 1 and 1)"));
    assert_int_not_equal(oti_prototxt_get_int(&m, "y", 0, "layer 'l'", &i), OT_OK);
    assert_non_null(strstr(ot_last_error(), "field 'y' (line 1) must be an integer, not 'abc'"));
    oti_prototxt_free(&m);
}

static ot_model *load_text(const char *text) {
    ot_model *m = NULL;
    if (ot_caffe_load_buffers(NULL, text, strlen(text), "net.prototxt", NULL, 0, NULL, &m) != OT_OK)
        fail_msg("%s", ot_last_error());
    return m;
}

static void expect_load_error(const char *text, const char *words) {
    ot_model *m = NULL;
    assert_int_not_equal(
        ot_caffe_load_buffers(NULL, text, strlen(text), "net.prototxt", NULL, 0, NULL, &m), OT_OK);
    assert_null(m);
    if (!strstr(ot_last_error(), words)) fail_msg("expected '%s' in: %s", words, ot_last_error());
}

#define INPUT "input: \"data\" input_shape { dim: 1 dim: 3 dim: 8 dim: 8 }\n"

static void test_in_place_phases_metadata(void **state) {
    (void)state;
    ot_model *m = load_text(
        INPUT "layer { name: \"d\" type: \"Data\" top: \"data\" include { phase: TRAIN }\n"
              "  transform_param { scale: 0.5 mean_value: 104 mean_value: 117 } }\n"
              "layer { name: \"r\" type: \"ReLU\" bottom: \"data\" top: \"x\" }\n"
              "layer { name: \"t\" type: \"TanH\" bottom: \"x\" top: \"x\" }\n"
              "layer { name: \"s\" type: \"Sigmoid\" bottom: \"x\" top: \"x\" exclude { phase: "
              "TRAIN } }\n");
    assert_int_equal(m->n_layers, 3);
    assert_int_equal(m->n_outputs, 1);
    /* The graph output carries the blob's name; the values in place before it got others. */
    assert_string_equal(m->values[m->outputs[0]].name, "x");
    assert_string_equal(m->layers[2].op_type, "Sigmoid");
    assert_int_equal(m->layers[2].outputs[0], m->outputs[0]);
    assert_int_equal(m->n_metadata, 1);
    assert_string_equal(m->metadata[0].key, "caffe.transform_param.d");
    assert_string_equal(m->metadata[0].value, "scale: 0.5, mean_value: 104, mean_value: 117");
    ot_model_free(m);
}

static void test_layer_errors(void **state) {
    (void)state;
    expect_load_error(INPUT "layer { name: \"a\" type: \"Foo\" bottom: \"data\" top: \"a\" }\n"
                            "layer { name: \"b\" type: \"ReLU\" bottom: \"a\" top: \"b\" }\n"
                            "layer { name: \"c\" type: \"Bar\" bottom: \"b\" top: \"c\" }\n",
                      "net.prototxt: unsupported layer types: 'a' (Foo), 'c' (Bar)");
    /* A bottom that only a later layer writes (a cycle through in-place layers in a graph). */
    expect_load_error(
        INPUT "layer { name: \"a\" type: \"ReLU\" bottom: \"y\" top: \"x\" }\n"
              "layer { name: \"b\" type: \"ReLU\" bottom: \"x\" top: \"y\" }\n",
        "net.prototxt: layer 'a' (ReLU): bottom 'y' is not produced by any earlier layer or input");
    expect_load_error(INPUT "layer { name: \"p\" type: \"Pooling\" bottom: \"data\" top: \"p\"\n"
                            "  pooling_param { pool: FANCY kernel_size: 2 } }\n",
                      "layer 'p' (Pooling): pool FANCY is not supported (MAX and AVE are)");
    expect_load_error(INPUT "layer { name: \"l\" type: \"LRN\" bottom: \"data\" top: \"l\"\n"
                            "  lrn_param { norm_region: SIDEWAYS } }\n",
                      "unknown norm_region SIDEWAYS");
    expect_load_error("input: \"data\" input_dim: 1 input_dim: 1 input_dim: 4 input_dim: 4\n"
                      "layers { name: \"c\" type: CONVOLUTIONAL bottom: \"data\" top: \"c\" }\n",
                      "net.prototxt: layer 0 'c': unknown layer type CONVOLUTIONAL");
    expect_load_error(
        INPUT "layer { name: \"c\" type: \"Convolution\" bottom: \"data\" top: \"c\"\n"
              "  convolution_param { num_output: 2 kernel_size: 3 } }\n",
        "layer 'c' (Convolution): the weights have no blob 0 (weight): no .caffemodel was given");
    expect_load_error(INPUT
                      "layer { name: \"c\" type: \"Convolution\" bottom: \"data\" top: \"c\"\n"
                      "  convolution_param { num_output: 2 kernel_size: 3 group: 4 } }\n",
                      "layer 'c' (Convolution): group must divide num_output");
    expect_load_error(
        INPUT "layer { name: \"s\" type: \"ReLU\" bottom: \"data\" top: \"s\" top: \"s\" }\n",
        "names top 's' twice");
    expect_load_error(INPUT "layer { name: \"e\" type: \"ReLU\" bottom: \"data\" top: \"\" }\n",
                      "layer 'e' (ReLU): top 0 (line 2) is an empty name");
}

static ot_status load_files(const char *prototxt, const char *caffemodel, ot_model **m) {
    return ot_caffe_load(NULL, prototxt, caffemodel, m);
}

static ot_status load_weights(const char *caffemodel, ot_model **m) {
    unsigned char *data = NULL;
    size_t size = 0;
    if (oti_read_file(caffemodel, 0, &data, &size) != OT_OK) fail_msg("%s", ot_last_error());
    ot_status status = ot_caffe_load_buffers(NULL, fuzz_caffemodel_net, strlen(fuzz_caffemodel_net),
                                             "net.prototxt", data, size, "w.caffemodel", m);
    free(data);
    return status;
}

static void test_weights(void **state) {
    (void)state;
    const char *forms[] = {CORPUS "caffemodel/net.caffemodel",
                           CORPUS "caffemodel/legacy_dims.caffemodel",
                           CORPUS "caffemodel/double.caffemodel"};
    for (int k = 0; k < 3; k++) {
        ot_model *m = NULL;
        if (load_weights(forms[k], &m) != OT_OK) fail_msg("%s: %s", forms[k], ot_last_error());
        /* conv, BatchNorm + Scale as one BatchNormalization, PReLU, Flatten + Gemm */
        assert_int_equal(m->n_layers, 5);
        assert_string_equal(m->layers[1].op_type, "BatchNormalization");
        int mean = ot_model_find_value(m, "bn.mean");
        assert_true(mean >= 0);
        /* Caffe's sums divided by the factor blob (0.5): the seeds' mean blob is (-0.3, -0.2). */
        const float want[2] = {-0.6f, -0.4f};
        ts_expect_floats(&m->values[mean].tensor, want, 2);
        ot_model_free(m);
    }
    ot_model *m = NULL;
    assert_int_not_equal(load_weights(CORPUS "caffemodel/wrong_size.caffemodel", &m), OT_OK);
    assert_non_null(strstr(ot_last_error(),
                           "net.prototxt: layer 'conv' (Convolution): blob 0 (weight) has shape "
                           "2 x 2 x 3 x 2 (24 values); the layer's parameters need 2 x ? x 3 x 3"));
    assert_int_not_equal(load_files(CORPUS "prototxt/legacy_v1.prototxt",
                                    CORPUS "caffemodel/missing.caffemodel", &m),
                         OT_OK);
    assert_non_null(strstr(ot_last_error(), "missing.caffemodel"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_format),
        cmocka_unit_test(test_text_format_errors),
        cmocka_unit_test(test_in_place_phases_metadata),
        cmocka_unit_test(test_layer_errors),
        cmocka_unit_test(test_weights),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
