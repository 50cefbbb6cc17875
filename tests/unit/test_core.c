/* Core pieces: tensor sizes (overflow, memory limit), shape strings, half-precision
 * conversions, the name index, the generator, atomic writes, CRC-32C. */
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/crc32c.h"
#include "core/half.h"
#include "core/name_index.h"
#include "core/file_io.h"
#include "test_support.h"
#include "core/context_internal.h"

static void tensor_sizes(void **state) {
    (void)state;
    size_t bytes;
    int64_t ok_dims[3] = {2, 3, 4}, huge[3] = {1 << 30, 1 << 30, 1 << 30}, negative[2] = {2, -1};
    assert_int_equal(ot_tensor_byte_size(OT_FLOAT, 3, ok_dims, "t", &bytes), OT_OK);
    assert_int_equal(bytes, 96);
    assert_int_equal(ot_tensor_byte_size(OT_FLOAT, 3, huge, "big", &bytes), OT_ERR_MEMORY);
    assert_non_null(strstr(ot_last_error(), "'big'"));
    assert_int_equal(ot_tensor_byte_size(OT_FLOAT, 2, negative, "neg", &bytes), OT_ERR_MEMORY);
    assert_int_equal(ot_tensor_byte_size(OT_STRING, 3, ok_dims, "s", &bytes), OT_ERR_UNSUPPORTED);
    /* The memory limit is the context's: 96 bytes fit in none, not in 64. */
    ot_context_options options = {.threads = 1, .memory_limit = 64};
    ot_context *ctx;
    assert_int_equal(ot_context_create(&options, &ctx), OT_OK);
    ot_tensor t = {0};
    assert_int_equal(ot_tensor_alloc(ctx, &t, OT_FLOAT, 3, ok_dims, "t"), OT_ERR_MEMORY);
    assert_string_equal(ot_last_error(), "t needs 0.0 MiB, over the memory limit of 0.0 MiB");
    assert_null(t.data);
    assert_int_equal(ot_tensor_alloc(NULL, &t, OT_FLOAT, 3, ok_dims, "t"), OT_OK);
    ot_tensor_free(&t);
    assert_int_equal(oti_check_memory(ctx, 64, "exactly the limit"), OT_OK);
    assert_int_equal(oti_check_memory(NULL, SIZE_MAX, "no context, no limit"), OT_OK);
    ot_context_free(ctx);
    char buf[64];
    int64_t sym[2] = {-1, 5};
    assert_string_equal(ot_shape_string(2, sym, buf, sizeof buf), "[?,5]");
    assert_string_equal(ot_shape_string(0, NULL, buf, sizeof buf), "[]");
}

static void halves(void **state) {
    (void)state;
    assert_float_equal(oti_half_to_float(0x3c00), 1.0, 0);
    assert_float_equal(oti_half_to_float(0xc000), -2.0, 0);
    assert_float_equal(oti_half_to_float(0x0001), 5.9604644775390625e-8, 0); /* smallest subnormal */
    assert_true(isinf(oti_half_to_float(0x7c00)));
    assert_true(isnan(oti_half_to_float(0x7e00)));
    assert_float_equal(oti_bfloat16_to_float(0x3f80), 1.0, 0);
    /* Every finite half survives half -> float -> half. */
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7c00) == 0x7c00) continue;
        assert_int_equal(oti_float_to_half(oti_half_to_float((uint16_t)h)), h);
    }
    assert_int_equal(oti_float_to_half(65520.0f), 0x7c00); /* rounds to infinity */
}

static void name_index(void **state) {
    (void)state;
    ot_name_index *index = oti_name_index_new();
    char names[500][16];
    for (int i = 0; i < 500; i++) {
        snprintf(names[i], sizeof names[i], "t%d", i);
        assert_true(oti_name_index_put(index, names[i], i));
    }
    for (int i = 0; i < 500; i++) assert_int_equal(oti_name_index_get(index, names[i]), i);
    assert_int_equal(oti_name_index_get(index, "missing"), -1);
    oti_name_index_free(index);
}

static void generator(void **state) {
    (void)state;
    ot_rng a, b;
    ot_rng_seed(&a, 5);
    ot_rng_seed(&b, 5);
    for (int i = 0; i < 100; i++) assert_int_equal(ot_rng_u32(&a), ot_rng_u32(&b));
    double sum = 0, sum2 = 0;
    for (int i = 0; i < 100000; i++) {
        double x = ot_rng_normal(&a);
        sum += x;
        sum2 += x * x;
        double t = ot_rng_truncated_normal(&a);
        assert_true(fabs(t) <= 2.0);
        float u = ot_rng_uniform(&a);
        assert_true(u >= 0.0f && u < 1.0f);
    }
    assert_float_equal(sum / 100000, 0.0, 0.02);
    assert_float_equal(sum2 / 100000, 1.0, 0.02);
}

static void atomic_writes(void **state) {
    (void)state;
    const char *dir = ts_temp_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/file.bin", dir);
    assert_int_equal(oti_write_file_atomic(path, "old", 3), OT_OK);
    ot_atomic_file f;
    assert_int_equal(oti_atomic_open(&f, path), OT_OK);
    fputs("new but abandoned", f.stream);
    oti_atomic_abort(&f);
    unsigned char *data;
    size_t size;
    assert_int_equal(oti_read_file(path, 0, &data, &size), OT_OK);
    assert_int_equal(size, 3);
    assert_memory_equal(data, "old", 3);
    free(data);
    /* No temporary file is left behind. */
    int entries = 0;
    char command[600];
    snprintf(command, sizeof command, "ls -A %s | wc -l", dir);
    FILE *p = popen(command, "r");
    assert_int_equal(fscanf(p, "%d", &entries), 1);
    pclose(p);
    assert_int_equal(entries, 1);
    assert_int_equal(oti_write_file_atomic("/proc/onnxtrain-test/x", "x", 1), OT_ERR_IO);
    unlink(path);
    rmdir(dir);
}

/* RFC 3720 (iSCSI), appendix B.4: CRC-32C of 32-byte patterns; and the usual check value of
 * "123456789". Split input gives the same CRC as whole input. */
static void crc32c_vectors(void **state) {
    (void)state;
    unsigned char zeros[32] = {0}, ones[32], up[32], down[32];
    for (int i = 0; i < 32; i++) ones[i] = 0xFF, up[i] = (unsigned char)i, down[i] = (unsigned char)(31 - i);
    assert_int_equal(oti_crc32c(0, zeros, 32), 0x8A9136AAu);
    assert_int_equal(oti_crc32c(0, ones, 32), 0x62A8AB43u);
    assert_int_equal(oti_crc32c(0, up, 32), 0x46DD794Eu);
    assert_int_equal(oti_crc32c(0, down, 32), 0x113FDB5Cu);
    assert_int_equal(oti_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(oti_crc32c(oti_crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
    assert_int_equal(oti_crc32c(0, "", 0), 0u);
    /* TFRecord's mask of the CRC: rotr(crc, 15) + 0xa282ead8 (mod 2^32). */
    uint32_t crc = 0xE3069283u;
    assert_int_equal(oti_crc32c_masked("123456789", 9), (uint32_t)(((crc >> 15) | (crc << 17)) + 0xa282ead8u));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tensor_sizes),
        cmocka_unit_test(halves),
        cmocka_unit_test(name_index),
        cmocka_unit_test(generator),
        cmocka_unit_test(atomic_writes),
        cmocka_unit_test(crc32c_vectors),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
