/* safetensors: files written by hand to the spec read (every dtype), ours byte-identical to
 * them, and each malformed header or layout refused naming the file and tensor. Also the
 * strict JSON parser the header goes through. */
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/util.h"
#include "core/file_io.h"
#include "formats/npy.h"
#include "onnxtrain/weights.h"
#include "weights/weights_internal.h"
#include "test_support.h"
#include "formats/json.h"

static void load_ok(const char *path, ot_weights *w) {
    if (ot_weights_load(NULL, path, w) != OT_OK) fail_msg("%s", ot_last_error());
}

static size_t bytes_of(const ot_tensor *t) {
    return (size_t)ot_tensor_numel(t) * ot_dtype_size(t->dtype);
}

/* The same tensors as numpy's cnn.npz (the same state_dict, a different writer). */
static void reads_cnn(void **state) {
    (void)state;
    ot_weights st, npz;
    load_ok(ts_fixture("weights/cnn.safetensors"), &st);
    load_ok(ts_fixture("weights/cnn.npz"), &npz);
    assert_int_equal(st.format, OT_WEIGHTS_SAFETENSORS);
    assert_int_equal(st.count, npz.count);
    assert_string_equal(st.items[0].name, "bn1.bias"); /* header order: sorted */
    for (int i = 0; i < npz.count; i++) {
        int j = ot_weights_find(&st, npz.items[i].name);
        if (j < 0) fail_msg("'%s' missing", npz.items[i].name);
        const ot_tensor *a = &st.items[j].tensor, *b = &npz.items[i].tensor;
        assert_int_equal(a->dtype, b->dtype);
        assert_true(ot_tensor_same_shape(a, b));
        assert_memory_equal(a->data, b->data, bytes_of(a));
    }
    ot_weights_free(&st);
    ot_weights_free(&npz);
}

/* F16, BF16, F64 become float32 exactly as torch's .float(); I64, I32, BOOL stay. */
static void reads_every_dtype(void **state) {
    (void)state;
    ot_weights w;
    load_ok(ts_fixture("weights/dtypes.safetensors"), &w);
    const char *keys[] = {"h", "bf", "d", "l", "i", "b"};
    const ot_dtype want[] = {OT_FLOAT, OT_FLOAT, OT_FLOAT, OT_INT64, OT_INT32, OT_BOOL};
    for (int k = 0; k < 6; k++) {
        char file[64];
        snprintf(file, sizeof file, "weights/dtypes_%s.npy", keys[k]);
        ot_tensor expected;
        assert_int_equal(oti_npy_load(NULL, ts_fixture(file), &expected), OT_OK);
        int i = ot_weights_find(&w, keys[k]);
        assert_true(i >= 0);
        const ot_tensor *t = &w.items[i].tensor;
        assert_int_equal(t->dtype, want[k]);
        assert_int_equal(expected.dtype, want[k]);
        assert_true(ot_tensor_same_shape(t, &expected));
        assert_memory_equal(t->data, expected.data, bytes_of(t));
        ot_tensor_free(&expected);
    }
    ot_weights_free(&w);
}

/* Our writer follows the same rules as the hand-written fixture (sorted keys, compact JSON,
 * space padding to 8 bytes, data in key order): the bytes are identical. */
static void writes_the_spec(void **state) {
    (void)state;
    const char *fixtures[] = {"weights/cnn.safetensors", "weights/dtypes.safetensors"};
    for (int f = 0; f < 2; f++) {
        /* read through npz-independent paths: the fixture itself, and for dtypes the raw
         * 16-bit values would be lost by float conversion, so only cnn is compared whole */
        ot_weights w;
        load_ok(ts_fixture(fixtures[f]), &w);
        unsigned char *ours;
        size_t our_size;
        assert_int_equal(oti_safetensors_serialize(&w, &ours, &our_size), OT_OK);
        uint64_t n = 0;
        for (int i = 7; i >= 0; i--) n = n << 8 | ours[i];
        assert_int_equal(n % 8, 0);
        assert_int_equal(ours[8], '{');
        if (f == 0) {
            unsigned char *theirs;
            size_t their_size;
            assert_int_equal(oti_read_file(ts_fixture(fixtures[f]), 0, &theirs, &their_size), OT_OK);
            assert_int_equal(our_size, their_size);
            assert_memory_equal(ours, theirs, our_size);
            free(theirs);
        }
        /* and it reads back to the same tensors */
        ot_weights back = {0};
        assert_int_equal(oti_safetensors_parse(NULL, ours, our_size, "ours", &back), OT_OK);
        assert_int_equal(back.count, w.count);
        for (int i = 0; i < w.count; i++) {
            int j = ot_weights_find(&back, w.items[i].name);
            assert_true(j >= 0);
            assert_true(ot_tensor_same_shape(&back.items[j].tensor, &w.items[i].tensor));
            assert_memory_equal(back.items[j].tensor.data, w.items[i].tensor.data,
                                bytes_of(&w.items[i].tensor));
        }
        ot_weights_free(&back);
        free(ours);
        ot_weights_free(&w);
    }
}

static void expect_error(const char *fixture, const char *part) {
    ot_weights w;
    const char *path = ts_fixture(fixture);
    ot_status status = ot_weights_load(NULL, path, &w);
    if (status == OT_OK) fail_msg("%s accepted", fixture);
    assert_int_equal(status, OT_ERR_FORMAT);
    assert_int_equal(w.count, 0);
    const char *base = strrchr(fixture, '/') + 1;
    if (!strstr(ot_last_error(), base) || !strstr(ot_last_error(), part))
        fail_msg("message '%s' lacks '%s' or '%s'", ot_last_error(), base, part);
}

static void header_past_end(void **state) {
    (void)state;
    expect_error("weights/st_header_past_end.safetensors", "header length 1048576 runs past the end");
}
static void offsets_past_end(void **state) {
    (void)state;
    expect_error("weights/st_offsets_past_end.safetensors", "tensor 'w': data_offsets [0, 400] run past");
}
static void overlapping(void **state) {
    (void)state;
    expect_error("weights/st_overlap.safetensors", "tensor 'b': data_offsets [8, 24] overlap tensor 'a'");
}
static void gap(void **state) {
    (void)state;
    expect_error("weights/st_gap.safetensors", "tensor 'b': data starts at 16, leaving a gap");
}
static void shape_mismatch(void **state) {
    (void)state;
    expect_error("weights/st_shape_mismatch.safetensors", "tensor 'w': shape [2,3] of float32 needs 24 bytes");
}
static void bad_json(void **state) {
    (void)state;
    expect_error("weights/st_bad_json.safetensors", "bad JSON at byte");
}

/* Headers built here: each must be refused, with the part of the message that says why. */
static void bad_headers(void **state) {
    (void)state;
    struct {
        const char *header;
        size_t data;
        const char *part;
    } cases[] = {
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4, "end before they begin"},
        {"{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "not supported"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "not a valid dim"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, "not a valid dim"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, "two non-negative integers"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,18446744073709551616]}}", 4,
         "two non-negative integers"},
        {"{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "bad \"shape\""},
        {"{\"w\":[1,2]}", 0, "not an object"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"w\":{}}", 4, "appears twice"},
        {"{\"__metadata__\":{\"a\":1}}", 0, "not a string"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, "4 bytes of data after"},
        {"[1]      ", 0, "does not start with '{'"},
        {"{\"a\":1} x", 0, "text after the end"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, "9 dims"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],\"data_offsets\":[0,4]}}", 4,
         "too large"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t n = strlen(cases[c].header);
        unsigned char *buf = calloc(1, 8 + n + cases[c].data);
        for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)n >> (8 * i));
        memcpy(buf + 8, cases[c].header, n);
        ot_weights w = {0};
        ot_status status = oti_safetensors_parse(NULL, buf, 8 + n + cases[c].data, "x.safetensors", &w);
        if (status == OT_OK) fail_msg("case %zu accepted", c);
        if (!strstr(ot_last_error(), "x.safetensors") || !strstr(ot_last_error(), cases[c].part))
            fail_msg("case %zu: '%s' lacks '%s'", c, ot_last_error(), cases[c].part);
        ot_weights_free(&w);
        free(buf);
    }
}

/* Every proper prefix of a valid file is refused, without reading past it. */
static void prefixes(void **state) {
    (void)state;
    unsigned char *data;
    size_t size;
    assert_int_equal(oti_read_file(ts_fixture("weights/cnn.safetensors"), 0, &data, &size), OT_OK);
    for (size_t n = 0; n < size; n++) {
        unsigned char *copy = malloc(n + 1);
        memcpy(copy, data, n);
        ot_weights w = {0};
        if (oti_safetensors_parse(NULL, copy, n, "p", &w) == OT_OK) fail_msg("prefix %zu accepted", n);
        ot_weights_free(&w);
        free(copy);
    }
    free(data);
}

static void json_accepts(void **state) {
    (void)state;
    const char *text = " {\"a\": [1, -2.5e3, true, false, null, \"x\\u00e9\\ud83d\\ude00\\n\"], "
                       "\"b\": {}, \"c\": 18446744073709551615, \"d\": 0} ";
    ot_json *j;
    assert_int_equal(oti_json_parse(text, strlen(text), "t", &j), OT_OK);
    const ot_json *a = oti_json_get(j, "a");
    assert_int_equal(a->count, 6);
    assert_true(a->items[1].number == -2500.0 && !a->items[1].is_uint);
    assert_string_equal(a->items[5].string, "x\xc3\xa9\xf0\x9f\x98\x80\n");
    assert_true(oti_json_get(j, "c")->is_uint);
    assert_true(oti_json_get(j, "c")->uint_value == UINT64_MAX);
    assert_int_equal(oti_json_get(j, "b")->type, OT_JSON_OBJECT);
    assert_null(oti_json_get(j, "zz"));
    oti_json_free(j);
}

static void json_rejects(void **state) {
    (void)state;
    const char *bad[] = {"", "{", "{\"a\"}", "{\"a\":1,}", "[1,]", "01", "1.", ".5", "-", "1e",
                         "\"abc", "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\u0000\"",
                         "\"a\x01\"", "\"\xff\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "tru",
                         "nul", "{\"a\":1}}", "{\"a\":1 \"b\":2}", "{\"a\":1,\"a\":2}", "'a'",
                         "[1] [2]", "NaN", "+1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ot_json *j = NULL;
        if (oti_json_parse(bad[i], strlen(bad[i]), "t", &j) == OT_OK) fail_msg("accepted: %s", bad[i]);
        assert_null(j);
        assert_non_null(strstr(ot_last_error(), "bad JSON"));
    }
    /* deep nesting is refused, not a stack overflow */
    size_t depth = 100000;
    char *deep = malloc(depth + 1);
    memset(deep, '[', depth);
    ot_json *j = NULL;
    assert_int_equal(oti_json_parse(deep, depth, "t", &j), OT_ERR_FORMAT);
    assert_non_null(strstr(ot_last_error(), "nesting too deep"));
    free(deep);
}

/* Many keys: duplicate detection stays fast (sorting, not pairwise). */
static void json_many_keys(void **state) {
    (void)state;
    int n = 200000;
    char *text = malloc((size_t)n * 16 + 16);
    size_t len = 0;
    text[len++] = '{';
    for (int i = 0; i < n; i++) len += (size_t)sprintf(text + len, "%s\"k%d\":%d", i ? "," : "", i, i);
    text[len++] = '}';
    double start = oti_now_ms();
    ot_json *j;
    assert_int_equal(oti_json_parse(text, len, "t", &j), OT_OK);
    assert_int_equal(j->count, n);
    oti_json_free(j);
    assert_true(oti_now_ms() - start < 5000);
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_cnn),
        cmocka_unit_test(reads_every_dtype),
        cmocka_unit_test(writes_the_spec),
        cmocka_unit_test(header_past_end),
        cmocka_unit_test(offsets_past_end),
        cmocka_unit_test(overlapping),
        cmocka_unit_test(gap),
        cmocka_unit_test(shape_mismatch),
        cmocka_unit_test(bad_json),
        cmocka_unit_test(bad_headers),
        cmocka_unit_test(prefixes),
        cmocka_unit_test(json_accepts),
        cmocka_unit_test(json_rejects),
        cmocka_unit_test(json_many_keys),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
