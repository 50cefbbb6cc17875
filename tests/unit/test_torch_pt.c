/* PyTorch torch.save archives through the restricted unpickler: state_dicts (also nested
 * under "model"), strided views, every storage dtype, and hostile pickles refused without
 * running anything. */
#include <string.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/file_io.h"
#include "formats/npy.h"
#include "onnxtrain/weights.h"
#include "formats/zip.h"
#include "test_support.h"

static void load_ok(const char *path, ot_weights *w) {
    if (ot_weights_load(NULL, path, w) != OT_OK) fail_msg("%s", ot_last_error());
}

static size_t bytes_of(const ot_tensor *t) {
    return (size_t)ot_tensor_numel(t) * ot_dtype_size(t->dtype);
}

static void assert_same(const ot_tensor *a, const ot_tensor *b, const char *name) {
    if (a->dtype != b->dtype || !ot_tensor_same_shape(a, b) || memcmp(a->data, b->data, bytes_of(a)))
        fail_msg("tensor '%s' differs", name);
}

/* The state_dict in module order, equal to numpy's savez of the same state_dict. */
static void state_dict(void **state) {
    (void)state;
    ot_weights pt, npz;
    load_ok(ts_fixture("weights/cnn_state.pt"), &pt);
    load_ok(ts_fixture("weights/cnn.npz"), &npz);
    assert_int_equal(pt.format, OT_WEIGHTS_TORCH);
    assert_int_equal(pt.count, npz.count);
    for (int i = 0; i < npz.count; i++) {
        assert_string_equal(pt.items[i].name, npz.items[i].name);
        assert_same(&pt.items[i].tensor, &npz.items[i].tensor, npz.items[i].name);
    }
    ot_weights_free(&pt);
    ot_weights_free(&npz);
}

/* {"model": {"module.conv1.weight": ...}, "epoch": 3, "note": "..."} */
static void nested_checkpoint(void **state) {
    (void)state;
    ot_weights pt, npz;
    load_ok(ts_fixture("weights/cnn_nested.pt"), &pt);
    load_ok(ts_fixture("weights/cnn.npz"), &npz);
    assert_int_equal(pt.count, npz.count);
    for (int i = 0; i < npz.count; i++) {
        char name[128];
        snprintf(name, sizeof name, "module.%s", npz.items[i].name);
        assert_string_equal(pt.items[i].name, name);
        assert_same(&pt.items[i].tensor, &npz.items[i].tensor, name);
    }
    ot_weights_free(&pt);
    ot_weights_free(&npz);
}

/* base = arange(24).reshape(4, 6); t = base.t() (strides (1, 6)); v = base[1:, 1::2]
 * (offset 7, strides (6, 2)); a and b are one tensor under two names. */
static void strided_views(void **state) {
    (void)state;
    ot_weights w;
    load_ok(ts_fixture("weights/views.pt"), &w);
    assert_int_equal(w.count, 4);
    const char *views[] = {"t", "v"};
    for (int k = 0; k < 2; k++) {
        char file[64];
        snprintf(file, sizeof file, "weights/views_%s.npy", views[k]);
        ot_tensor expected;
        assert_int_equal(oti_npy_load(NULL, ts_fixture(file), &expected), OT_OK);
        assert_same(&w.items[ot_weights_find(&w, views[k])].tensor, &expected, views[k]);
        ot_tensor_free(&expected);
    }
    const ot_tensor *a = &w.items[ot_weights_find(&w, "a")].tensor;
    const ot_tensor *b = &w.items[ot_weights_find(&w, "b")].tensor;
    for (int i = 0; i < 24; i++) assert_true(((float *)a->data)[i] == (float)i);
    assert_same(a, b, "b");
    assert_ptr_not_equal(a->data, b->data); /* separate copies */
    ot_weights_free(&w);
}

static void storage_dtypes(void **state) {
    (void)state;
    ot_weights w;
    load_ok(ts_fixture("weights/dtypes.pt"), &w);
    const char *keys[] = {"h", "bf", "d", "l", "i", "b"};
    const ot_dtype want[] = {OT_FLOAT, OT_FLOAT, OT_FLOAT, OT_INT64, OT_INT32, OT_BOOL};
    for (int k = 0; k < 6; k++) {
        char file[64];
        snprintf(file, sizeof file, "weights/dtypes_%s.npy", keys[k]);
        ot_tensor expected;
        assert_int_equal(oti_npy_load(NULL, ts_fixture(file), &expected), OT_OK);
        const ot_tensor *t = &w.items[ot_weights_find(&w, keys[k])].tensor;
        assert_int_equal(t->dtype, want[k]);
        assert_same(t, &expected, keys[k]);
        ot_tensor_free(&expected);
    }
    ot_weights_free(&w);
}

static void expect_error(const char *path, ot_status code, const char *part) {
    ot_weights w;
    ot_status status = ot_weights_load(NULL, path, &w);
    if (status == OT_OK) fail_msg("%s accepted", path);
    assert_int_equal(status, code);
    assert_int_equal(w.count, 0);
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    if (!strstr(ot_last_error(), base) || !strstr(ot_last_error(), part))
        fail_msg("message '%s' lacks '%s' or '%s'", ot_last_error(), base, part);
}

#define PWNED "/tmp/onnxtrain_pwned"

/* data.pkl = os.system('touch /tmp/onnxtrain_pwned') via GLOBAL + REDUCE: refused by name,
 * and the file it would create does not appear. */
static void refuses_os_system(void **state) {
    (void)state;
    unlink(PWNED);
    assert_int_not_equal(access(PWNED, F_OK), 0);
    expect_error(ts_fixture("weights/pwned.pt"), OT_ERR_FORMAT, "refused pickle global 'os.system'");
    assert_int_not_equal(access(PWNED, F_OK), 0);
    expect_error(ts_fixture("weights/pwned_eval.pt"), OT_ERR_FORMAT,
                 "refused pickle global 'builtins.eval'");
    assert_int_not_equal(access(PWNED, F_OK), 0);
}

static void bad_view(void **state) {
    (void)state;
    expect_error(ts_fixture("weights/bad_view.pt"), OT_ERR_FORMAT,
                 "tensor 'w': shape [4] at offset 2 reaches element 5 of storage '0', which has 4");
}

static void short_storage(void **state) {
    (void)state;
    expect_error(ts_fixture("weights/short_storage.pt"), OT_ERR_FORMAT,
                 "storage '0' has 16 bytes, but 8 float32 elements need 32");
}

static void truncated(void **state) {
    (void)state;
    expect_error(ts_fixture("weights/truncated.pt"), OT_ERR_FORMAT, "end-of-central-directory");
}

/* Pickles written here, opcode by opcode, each wrapped in an archive. */
static void expect_pickle_error(const char *pickle, size_t len, const char *part) {
    char path[512];
    snprintf(path, sizeof path, "%s/p.pt", ts_temp_dir());
    ot_zip_writer zw;
    assert_int_equal(oti_zip_writer_open(&zw, path), OT_OK);
    assert_int_equal(oti_zip_writer_add(&zw, "p/data.pkl", pickle, len, OT_ZIP_STORED), OT_OK);
    assert_int_equal(oti_zip_writer_add(&zw, "p/data/0", "\0\0\0\0", 4, OT_ZIP_STORED), OT_OK);
    assert_int_equal(oti_zip_writer_finish(&zw), OT_OK);
    expect_error(path, OT_ERR_FORMAT, part);
}

#define P(s) s, sizeof s - 1

static void crafted_pickles(void **state) {
    (void)state;
    expect_pickle_error(P("\x80\x02}q\x00"), "ends without STOP");
    expect_pickle_error(P("\x80\x02}."), "no tensors found");
    expect_pickle_error(P("\x80\x02]."), "holds a list");
    expect_pickle_error(P("\x80\x02}h\x05."), "memo key not found");
    expect_pickle_error(P("\x80\x02}r\xff\xff\xff\x7f."), "memo index out of range");
    expect_pickle_error(P("\x80\x02s."), "stack underflow");
    expect_pickle_error(P("\x80\x02}}."), "STOP with a stack");
    expect_pickle_error(P("\x80\x02}(."), "STOP with a stack");
    expect_pickle_error(P("\x80\x02u."), "no MARK");
    expect_pickle_error(P("\x80\x02X\xff\xff\x00\x00" "abc."), "string runs past the end");
    expect_pickle_error(P("\x80\x02\x8a\x09\x01\x02\x03\x04\x05\x06\x07\x08\x09."), "wider than 64");
    expect_pickle_error(P("\x80\x02I1\n."), "opcode 0x49 ('I') is not supported");
    expect_pickle_error(P("\x80\x02\x81."), "opcode 0x81");
    expect_pickle_error(P("\x80\x09}."), "unsupported pickle protocol");
    expect_pickle_error(P("\x80\x02" "csubprocess\nPopen\n."), "refused pickle global 'subprocess.Popen'");
    expect_pickle_error(P("\x80\x02" "ctorch\nload\n."), "refused pickle global 'torch.load'");
    expect_pickle_error(P("\x80\x02\x8c\x05posix\x8c\x06system\x93."),
                        "refused pickle global 'posix.system'");
    /* allowed globals cannot be called outside their roles */
    expect_pickle_error(P("\x80\x02" "ctorch\nFloatStorage\n)R."), "'torch.FloatStorage' cannot be called");
    expect_pickle_error(P("\x80\x02" "ccollections\nOrderedDict\nK\x01\x85R."), "called with arguments");
    expect_pickle_error(P("\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n(K\x01K\x02tR."),
                        "_rebuild_tensor arguments");
    expect_pickle_error(P("\x80\x02(X\x07\x00\x00\x00storageK\x01tQ."), "persistent id");
    /* a view of storage '0' (1 float) with a negative stride, and one asking 2 elements */
    expect_pickle_error(P("\x80\x02}X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n"
                          "((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00"
                          "0X\x03\x00\x00\x00" "cpuK\x01tQK\x00K\x02\x85J\xff\xff\xff\xff\x85"
                          "\x89)tRs."),
                        "sizes and strides >= 0");
    expect_pickle_error(P("\x80\x02}X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n"
                          "((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00"
                          "0X\x03\x00\x00\x00" "cpuK\x01tQK\x00K\x02\x85K\x01\x85\x89)tRs."),
                        "tensor 'w': shape [2] at offset 0 reaches element 1 of storage '0'");
    /* the same tensor name twice */
    expect_pickle_error(P("\x80\x02}(X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n"
                          "((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00"
                          "0X\x03\x00\x00\x00" "cpuK\x01tQK\x00K\x01\x85K\x01\x85\x89)tRq\x01"
                          "X\x01\x00\x00\x00wh\x01u."),
                        "tensor 'w' appears twice");
}

/* The same hand-made view pickle, valid: one float read from storage '0'. */
static void crafted_valid(void **state) {
    (void)state;
    const char pickle[] = "\x80\x02}X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n"
                          "((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00"
                          "0X\x03\x00\x00\x00" "cpuK\x01tQK\x00K\x01\x85K\x01\x85\x89)tRs.";
    char path[512];
    snprintf(path, sizeof path, "%s/ok.pt", ts_temp_dir());
    float value = 2.5f;
    ot_zip_writer zw;
    assert_int_equal(oti_zip_writer_open(&zw, path), OT_OK);
    assert_int_equal(oti_zip_writer_add(&zw, "ok/data.pkl", pickle, sizeof pickle - 1, OT_ZIP_STORED), OT_OK);
    assert_int_equal(oti_zip_writer_add(&zw, "ok/data/0", &value, 4, OT_ZIP_DEFLATED), OT_OK);
    assert_int_equal(oti_zip_writer_finish(&zw), OT_OK);
    ot_weights w;
    load_ok(path, &w);
    assert_int_equal(w.count, 1);
    assert_string_equal(w.items[0].name, "w");
    assert_true(((float *)w.items[0].tensor.data)[0] == 2.5f);
    ot_weights_free(&w);
}

/* {"epoch": 1, "state_dict": {"w": tensor}}: found under "state_dict". */
static void nested_under_state_dict(void **state) {
    (void)state;
    const char pickle[] = "\x80\x02}(X\x05\x00\x00\x00" "epochK\x01X\x0a\x00\x00\x00" "state_dict}"
                          "X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n"
                          "((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00"
                          "0X\x03\x00\x00\x00" "cpuK\x01tQK\x00K\x01\x85K\x01\x85\x89)tRsu.";
    char path[512];
    snprintf(path, sizeof path, "%s/nested.pt", ts_temp_dir());
    float value = -4.0f;
    ot_zip_writer zw;
    assert_int_equal(oti_zip_writer_open(&zw, path), OT_OK);
    assert_int_equal(oti_zip_writer_add(&zw, "archive/data.pkl", pickle, sizeof pickle - 1, OT_ZIP_STORED), OT_OK);
    assert_int_equal(oti_zip_writer_add(&zw, "archive/data/0", &value, 4, OT_ZIP_STORED), OT_OK);
    assert_int_equal(oti_zip_writer_add(&zw, "archive/byteorder", "little", 6, OT_ZIP_STORED), OT_OK);
    assert_int_equal(oti_zip_writer_finish(&zw), OT_OK);
    ot_weights w;
    load_ok(path, &w);
    assert_int_equal(w.count, 1);
    assert_string_equal(w.items[0].name, "w");
    assert_true(((float *)w.items[0].tensor.data)[0] == -4.0f);
    ot_weights_free(&w);
}

/* Every prefix of data.pkl fails cleanly (no STOP, truncated operands). */
static void pickle_prefixes(void **state) {
    (void)state;
    unsigned char *data;
    size_t size;
    assert_int_equal(oti_read_file(ts_fixture("weights/cnn_state.pt"), 0, &data, &size), OT_OK);
    ot_zip z;
    assert_int_equal(oti_zip_open(NULL, &z, data, size, "cnn_state.pt"), OT_OK);
    int pkl = oti_zip_find(&z, "cnn_state/data.pkl");
    assert_true(pkl >= 0);
    unsigned char *pickle;
    size_t pickle_size;
    assert_int_equal(oti_zip_extract(&z, pkl, &pickle, &pickle_size), OT_OK);
    char dir[512];
    snprintf(dir, sizeof dir, "%s", ts_temp_dir());
    for (size_t n = 0; n < pickle_size; n += 7) {
        char path[600];
        snprintf(path, sizeof path, "%s/cut.pt", dir);
        ot_zip_writer zw;
        assert_int_equal(oti_zip_writer_open(&zw, path), OT_OK);
        for (int e = 0; e < z.n_entries; e++) {
            unsigned char *member;
            size_t member_size;
            assert_int_equal(oti_zip_extract(&z, e, &member, &member_size), OT_OK);
            assert_int_equal(oti_zip_writer_add(&zw, z.entries[e].name, member,
                                               e == pkl ? n : member_size, OT_ZIP_STORED), OT_OK);
            free(member);
        }
        assert_int_equal(oti_zip_writer_finish(&zw), OT_OK);
        ot_weights w;
        if (ot_weights_load(NULL, path, &w) == OT_OK) fail_msg("pickle cut at %zu accepted", n);
    }
    free(pickle);
    oti_zip_close(&z);
    free(data);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(state_dict),
        cmocka_unit_test(nested_checkpoint),
        cmocka_unit_test(strided_views),
        cmocka_unit_test(storage_dtypes),
        cmocka_unit_test(refuses_os_system),
        cmocka_unit_test(bad_view),
        cmocka_unit_test(short_storage),
        cmocka_unit_test(truncated),
        cmocka_unit_test(crafted_pickles),
        cmocka_unit_test(crafted_valid),
        cmocka_unit_test(nested_under_state_dict),
        cmocka_unit_test(pickle_prefixes),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
