/* .npz: numpy's files read (stored, deflated, ZIP64), ours read back bit for bit, and bad
 * archives refused with the file and tensor named. */
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/file_io.h"
#include "formats/npy.h"
#include "onnxtrain/weights.h"
#include "weights/weights_internal.h"
#include "formats/zip.h"
#include "test_support.h"

static const char *const cnn_names[] = {
    "conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
    "bn1.num_batches_tracked", "conv2.weight", "conv2.bias", "fc.weight", "fc.bias"};

static void load_ok(const char *path, ot_weights *w) {
    if (ot_weights_load(NULL, path, w) != OT_OK) fail_msg("%s", ot_last_error());
}

static size_t bytes_of(const ot_tensor *t) {
    return (size_t)ot_tensor_numel(t) * ot_dtype_size(t->dtype);
}

static void assert_same_tensor(const ot_tensor *a, const ot_tensor *b, const char *name) {
    if (a->dtype != b->dtype || !ot_tensor_same_shape(a, b) ||
        memcmp(a->data, b->data, bytes_of(a)) != 0)
        fail_msg("tensor '%s' differs", name);
}

static void reads_numpy_savez(void **state) {
    (void)state;
    ot_weights w;
    load_ok(ts_fixture("weights/cnn.npz"), &w);
    assert_int_equal(w.format, OT_WEIGHTS_NPZ);
    assert_int_equal(w.count, 11);
    for (int i = 0; i < 11; i++) assert_string_equal(w.items[i].name, cnn_names[i]);
    const ot_tensor *conv1 = &w.items[0].tensor;
    assert_int_equal(conv1->dtype, OT_FLOAT);
    assert_int_equal(conv1->ndim, 4);
    int64_t dims[4] = {4, 1, 3, 3};
    assert_memory_equal(conv1->dims, dims, sizeof dims);
    const ot_tensor *tracked = &w.items[6].tensor;
    assert_int_equal(tracked->dtype, OT_INT64);
    assert_int_equal(tracked->ndim, 0);
    assert_int_equal(((int64_t *)tracked->data)[0], 7);
    assert_null(w.items[0].layer);
    ot_weights_free(&w);
}

/* savez_compressed (deflate) and ZIP64 archives hold w = arange(12).reshape(3, 4), n = [1,2,3]. */
static void reads_compressed_and_zip64(void **state) {
    (void)state;
    const char *files[] = {"weights/compressed.npz", "weights/zip64.npz"};
    for (int f = 0; f < 2; f++) {
        ot_weights w;
        load_ok(ts_fixture(files[f]), &w);
        assert_int_equal(w.count, 2);
        int wi = ot_weights_find(&w, "w"), ni = ot_weights_find(&w, "n");
        assert_true(wi >= 0 && ni >= 0);
        const ot_tensor *t = &w.items[wi].tensor;
        assert_int_equal(t->ndim, 2);
        assert_int_equal(t->dims[0], 3);
        assert_int_equal(t->dims[1], 4);
        for (int i = 0; i < 12; i++) assert_true(((float *)t->data)[i] == (float)i);
        const ot_tensor *n = &w.items[ni].tensor;
        assert_int_equal(n->dtype, OT_INT64);
        for (int i = 0; i < 3; i++) assert_int_equal(((int64_t *)n->data)[i], i + 1);
        ot_weights_free(&w);
    }
}

static void round_trip(void **state) {
    (void)state;
    ot_weights src;
    load_ok(ts_fixture("weights/cnn.npz"), &src);
    /* add a bool and a uint8 tensor so more dtypes go through */
    int64_t d3[1] = {3};
    ot_tensor b;
    assert_int_equal(ot_tensor_alloc(NULL, &b, OT_BOOL, 1, d3, "b"), OT_OK);
    ((unsigned char *)b.data)[1] = 1;
    assert_int_equal(ot_weights_add(&src, "test", "flags/b:0", &b, NULL, NULL), OT_OK);
    const char *dir = ts_temp_dir();
    for (int compress = 0; compress <= 1; compress++) {
        char path[512];
        snprintf(path, sizeof path, "%s/out%d.npz", dir, compress);
        assert_int_equal(ot_weights_save(path, OT_WEIGHTS_NPZ, &src, compress), OT_OK);
        ot_weights back;
        load_ok(path, &back);
        assert_int_equal(back.count, src.count);
        for (int i = 0; i < src.count; i++) {
            assert_string_equal(back.items[i].name, src.items[i].name);
            assert_same_tensor(&back.items[i].tensor, &src.items[i].tensor, src.items[i].name);
        }
        ot_weights_free(&back);
        /* members are deflated only when asked */
        unsigned char *data;
        size_t size;
        assert_int_equal(oti_read_file(path, 0, &data, &size), OT_OK);
        ot_zip z;
        assert_int_equal(oti_zip_open(NULL, &z, data, size, path), OT_OK);
        assert_string_equal(z.entries[0].name, "conv1.weight.npy");
        assert_int_equal(z.entries[0].method, compress ? OT_ZIP_DEFLATED : OT_ZIP_STORED);
        oti_zip_close(&z);
        free(data);
    }
    ot_weights_free(&src);
}

static void expect_load_error(const char *path, ot_status code, const char *part) {
    ot_weights w;
    ot_status status = ot_weights_load(NULL, path, &w);
    if (status == OT_OK) fail_msg("%s was accepted", path);
    assert_int_equal(status, code);
    assert_int_equal(w.count, 0);
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    if (!strstr(ot_last_error(), base) || !strstr(ot_last_error(), part))
        fail_msg("message '%s' lacks '%s' or '%s'", ot_last_error(), base, part);
}

static void truncated(void **state) {
    (void)state;
    expect_load_error(ts_fixture("weights/truncated.npz"), OT_ERR_FORMAT, "end-of-central-directory");
}

/* A .npy image with this header dict (padded as numpy does) and raw data. */
static size_t make_npy(char *buf, const char *dict, const char *data, size_t data_len) {
    size_t n = strlen(dict), header_len = (10 + n + 1 + 63) / 64 * 64 - 10;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)(header_len & 0xff);
    buf[9] = (char)(header_len >> 8);
    memcpy(buf + 10, dict, n);
    memset(buf + 10 + n, ' ', header_len - n - 1);
    buf[10 + header_len - 1] = '\n';
    memcpy(buf + 10 + header_len, data, data_len);
    return 10 + header_len + data_len;
}

/* Archives built here: a member that is not .npy, an object array, a corrupt .npy header, a
 * shape the data is too short for. */
static void bad_members(void **state) {
    (void)state;
    const char *dir = ts_temp_dir();
    char object[256], header[256], shortdata[256];
    size_t object_len = make_npy(object, "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
                                 "12345678", 8);
    size_t header_len = make_npy(header, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,", "", 0);
    size_t short_len = make_npy(shortdata, "{'descr': '<f4', 'fortran_order': False, 'shape': (9,), }",
                                "1234", 4);
    struct {
        const char *file, *member, *content;
        size_t len;
        ot_status code;
        const char *part;
    } cases[] = {
        {"notnpy.npz", "readme.txt", "hello", 5, OT_ERR_FORMAT, "member 'readme.txt' is not a .npy"},
        {"object.npz", "obj.npy", object, object_len, OT_ERR_UNSUPPORTED,
         "tensor 'obj': object arrays are refused"},
        {"badheader.npz", "w.npy", header, header_len, OT_ERR_FORMAT, "tensor 'w': bad shape"},
        {"short.npz", "w.npy", shortdata, short_len, OT_ERR_FORMAT, "tensor 'w': .npy data has 4 bytes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, cases[i].file);
        ot_zip_writer zw;
        assert_int_equal(oti_zip_writer_open(&zw, path), OT_OK);
        /* a valid first member, so the failure is about the bad one */
        unsigned char *npy;
        size_t npy_size;
        int64_t one[1] = {1};
        ot_tensor t;
        assert_int_equal(ot_tensor_alloc(NULL, &t, OT_FLOAT, 1, one, "ok"), OT_OK);
        assert_int_equal(oti_npy_serialize(&t, &npy, &npy_size), OT_OK);
        ot_tensor_free(&t);
        assert_int_equal(oti_zip_writer_add(&zw, "ok.npy", npy, npy_size, OT_ZIP_STORED), OT_OK);
        free(npy);
        assert_int_equal(oti_zip_writer_add(&zw, cases[i].member, cases[i].content, cases[i].len,
                                           OT_ZIP_STORED), OT_OK);
        assert_int_equal(oti_zip_writer_finish(&zw), OT_OK);
        if (i == 0) { /* not all members are .npy: not recognised as .npz at all */
            expect_load_error(path, OT_ERR_FORMAT, "neither .npz");
            ot_weights w = {0};
            unsigned char *data;
            size_t size;
            assert_int_equal(oti_read_file(path, 0, &data, &size), OT_OK);
            assert_int_equal(oti_weights_parse_npz(NULL, data, size, path, &w), cases[i].code);
            assert_non_null(strstr(ot_last_error(), cases[i].part));
            ot_weights_free(&w);
            free(data);
        } else {
            expect_load_error(path, cases[i].code, cases[i].part);
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_numpy_savez),
        cmocka_unit_test(reads_compressed_and_zip64),
        cmocka_unit_test(round_trip),
        cmocka_unit_test(truncated),
        cmocka_unit_test(bad_members),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
