/* .npy reading (dtypes, byte order, Fortran order, scalars), writing, and refusals. */
#include <string.h>
#include <unistd.h>
#include <stdio.h>

#include "formats/npy.h"
#include "test_support.h"

static ot_tensor load(const char *name) {
    ot_tensor t;
    if (oti_npy_load(NULL, ts_fixture(name), &t) != OT_OK) fail_msg("%s: %s", name, ot_last_error());
    return t;
}

static void reads_dtypes(void **state) {
    (void)state;
    ot_tensor t = load("npy/f4.npy");
    assert_int_equal(t.dtype, OT_FLOAT);
    assert_int_equal(t.ndim, 2);
    assert_int_equal(t.dims[1], 3);
    assert_float_equal(((float *)t.data)[5], 2.5, 0);
    ot_tensor_free(&t);
    t = load("npy/f8_big_endian.npy");
    assert_int_equal(t.dtype, OT_DOUBLE);
    assert_float_equal(((double *)t.data)[0], -2.5, 0);
    assert_int_equal(oti_tensor_to_float(&t, "t"), OT_OK);
    assert_float_equal(((float *)t.data)[4], 1.5, 0);
    ot_tensor_free(&t);
    t = load("npy/f2.npy");
    assert_int_equal(t.dtype, OT_FLOAT16); /* the file's dtype; callers widen */
    assert_int_equal(oti_tensor_to_float(&t, "t"), OT_OK);
    assert_float_equal(((float *)t.data)[1], -1.5, 0);
    ot_tensor_free(&t);
    t = load("npy/i8.npy");
    assert_int_equal(t.dtype, OT_INT64);
    assert_int_equal(((int64_t *)t.data)[2], (int64_t)1 << 40);
    ot_tensor_free(&t);
    t = load("npy/u1.npy");
    assert_int_equal(t.dtype, OT_UINT8);
    assert_int_equal(((uint8_t *)t.data)[1], 255);
    ot_tensor_free(&t);
    t = load("npy/bool.npy");
    assert_int_equal(t.dtype, OT_BOOL);
    assert_int_equal(((uint8_t *)t.data)[2], 1);
    ot_tensor_free(&t);
    t = load("npy/scalar.npy");
    assert_int_equal(t.ndim, 0);
    assert_float_equal(((float *)t.data)[0], 1.5, 0);
    ot_tensor_free(&t);
}

static void fortran_order_becomes_c_order(void **state) {
    (void)state;
    ot_tensor c = load("npy/f4.npy"), f = load("npy/fortran.npy");
    assert_memory_equal(c.data, f.data, 6 * sizeof(float));
    ot_tensor_free(&c);
    ot_tensor_free(&f);
}

static void write_round_trip(void **state) {
    (void)state;
    const char *dir = ts_temp_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/out.npy", dir);
    ot_tensor t = load("npy/i8.npy"), back;
    assert_int_equal(oti_npy_save(path, &t), OT_OK);
    assert_int_equal(oti_npy_load(NULL, path, &back), OT_OK);
    assert_true(ot_tensor_same_shape(&t, &back));
    assert_memory_equal(t.data, back.data, 3 * sizeof(int64_t));
    ot_tensor_free(&t);
    ot_tensor_free(&back);
    unlink(path);
    rmdir(dir);
}

static void refusals(void **state) {
    (void)state;
    struct { const char *file; ot_status code; const char *words; } cases[] = {
        {"npy/object.npy", OT_ERR_UNSUPPORTED, "object arrays"},
        {"npy/truncated.npy", OT_ERR_FORMAT, "need"},
        {"npy/bad_magic.npy", OT_ERR_FORMAT, "magic"},
        {"npy/header_past_end.npy", OT_ERR_FORMAT, "past the end"},
        {"npy/bad_shape.npy", OT_ERR_FORMAT, "shape"},
        {"npy/missing.npy", OT_ERR_IO, "cannot open"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ot_tensor t = {0};
        ot_status status = oti_npy_load(NULL, ts_fixture(cases[i].file), &t);
        if (status != cases[i].code) fail_msg("%s: got %s (%s)", cases[i].file, ot_status_name(status), ot_last_error());
        if (!strstr(ot_last_error(), cases[i].words) || !strstr(ot_last_error(), cases[i].file))
            fail_msg("%s: message '%s'", cases[i].file, ot_last_error());
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_dtypes),
        cmocka_unit_test(fortran_order_becomes_c_order),
        cmocka_unit_test(write_round_trip),
        cmocka_unit_test(refusals),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
