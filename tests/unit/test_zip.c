/* Zip reader and writer: our archives read back, Python's (deflated, ZIP64) read, and
 * damaged archives refused with the file named, never read out of bounds. */
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/file_io.h"
#include "formats/zip.h"
#include "test_support.h"

static unsigned char *read_all(const char *path, size_t *size) {
    unsigned char *data;
    if (oti_read_file(path, 0, &data, size) != OT_OK) fail_msg("%s", ot_last_error());
    return data;
}

static void put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static const char *const names[] = {"a.txt", "dir/b.bin", "empty", "caf\xc3\xa9"};

/* Writes an archive of four entries (one empty, one with a UTF-8 name) and returns its path. */
static const char *write_sample(const char *dir, const char *file, int method, int zip64,
                                unsigned char *big, size_t big_size) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    ot_zip_writer w;
    assert_int_equal(oti_zip_writer_open(&w, path), OT_OK);
    w.force_zip64 = zip64;
    assert_int_equal(oti_zip_writer_add(&w, names[0], "hello", 5, method), OT_OK);
    assert_int_equal(oti_zip_writer_add(&w, names[1], big, big_size, method), OT_OK);
    assert_int_equal(oti_zip_writer_add(&w, names[2], "", 0, method), OT_OK);
    assert_int_equal(oti_zip_writer_add(&w, names[3], "x", 1, method), OT_OK);
    assert_int_equal(oti_zip_writer_finish(&w), OT_OK);
    return path;
}

static void round_trip(void **state) {
    (void)state;
    const char *dir = ts_temp_dir();
    size_t big_size = 100000;
    unsigned char *big = malloc(big_size);
    for (size_t i = 0; i < big_size; i++) big[i] = (unsigned char)((i * 7) % 13 + (i / 1000));
    for (int method = 0; method <= 8; method += 8)
        for (int zip64 = 0; zip64 <= 1; zip64++) {
            const char *path = write_sample(dir, "sample.zip", method, zip64, big, big_size);
            size_t size;
            unsigned char *data = read_all(path, &size);
            if (method == OT_ZIP_DEFLATED) assert_true(size < big_size / 2); /* it compressed */
            if (zip64) assert_non_null(memmem(data, size, "PK\x06\x06", 4));
            else assert_null(memmem(data, size, "PK\x06\x06", 4));
            ot_zip z;
            assert_int_equal(oti_zip_open(NULL, &z, data, size, path), OT_OK);
            assert_int_equal(z.n_entries, 4);
            for (int i = 0; i < 4; i++) {
                assert_string_equal(z.entries[i].name, names[i]);
                assert_int_equal(z.entries[i].method, method);
            }
            unsigned char *out;
            size_t out_size;
            assert_int_equal(oti_zip_extract(&z, oti_zip_find(&z, "dir/b.bin"), &out, &out_size), OT_OK);
            assert_int_equal(out_size, big_size);
            assert_memory_equal(out, big, big_size);
            free(out);
            assert_int_equal(oti_zip_extract(&z, 0, &out, &out_size), OT_OK);
            assert_int_equal(out_size, 5);
            assert_memory_equal(out, "hello", 5);
            free(out);
            assert_int_equal(oti_zip_extract(&z, 2, &out, &out_size), OT_OK);
            assert_int_equal(out_size, 0);
            free(out);
            assert_int_equal(oti_zip_find(&z, "missing"), -1);
            oti_zip_close(&z);
            free(data);
        }
    free(big);
}

static void empty_archive(void **state) {
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/empty.zip", ts_temp_dir());
    ot_zip_writer w;
    assert_int_equal(oti_zip_writer_open(&w, path), OT_OK);
    assert_int_equal(oti_zip_writer_finish(&w), OT_OK);
    size_t size;
    unsigned char *data = read_all(path, &size);
    assert_int_equal(size, 22); /* just the end record */
    assert_true(oti_zip_sniff(data, size));
    ot_zip z;
    assert_int_equal(oti_zip_open(NULL, &z, data, size, path), OT_OK);
    assert_int_equal(z.n_entries, 0);
    oti_zip_close(&z);
    free(data);
}

/* Python's zipfile: deflated members (savez_compressed) and every ZIP64 record. */
static void reads_python_archives(void **state) {
    (void)state;
    const char *files[] = {"weights/compressed.npz", "weights/zip64.npz"};
    const int methods[] = {OT_ZIP_DEFLATED, OT_ZIP_STORED};
    for (int f = 0; f < 2; f++) {
        size_t size;
        unsigned char *data = read_all(ts_fixture(files[f]), &size);
        ot_zip z;
        assert_int_equal(oti_zip_open(NULL, &z, data, size, files[f]), OT_OK);
        assert_int_equal(z.n_entries, 2);
        assert_string_equal(z.entries[0].name, "w.npy");
        assert_string_equal(z.entries[1].name, "n.npy");
        assert_int_equal(z.entries[0].method, methods[f]);
        unsigned char *out;
        size_t out_size;
        assert_int_equal(oti_zip_extract(&z, 0, &out, &out_size), OT_OK);
        assert_memory_equal(out, "\x93NUMPY", 6);
        /* the last 48 bytes are float32 0..11 */
        for (int i = 0; i < 12; i++) {
            float v;
            memcpy(&v, out + out_size - 48 + 4 * i, 4);
            assert_true(v == (float)i);
        }
        free(out);
        oti_zip_close(&z);
        free(data);
    }
}

static void expect_code(const unsigned char *data, size_t size, const char *what,
                        ot_status code, const char *message_part) {
    ot_zip z;
    ot_status status = oti_zip_open(NULL, &z, data, size, what);
    if (status == OT_OK) {
        /* Damage inside the data shows when extracting. */
        for (int i = 0; i < z.n_entries && status == OT_OK; i++) {
            unsigned char *out;
            size_t out_size;
            status = oti_zip_extract(&z, i, &out, &out_size);
            if (status == OT_OK) free(out);
        }
        oti_zip_close(&z);
    }
    if (status == OT_OK) fail_msg("%s: accepted", message_part);
    assert_int_equal(status, code);
    if (!strstr(ot_last_error(), what) || !strstr(ot_last_error(), message_part))
        fail_msg("message '%s' lacks '%s' or '%s'", ot_last_error(), what, message_part);
}

static void expect_error(const unsigned char *data, size_t size, const char *what,
                         const char *message_part) {
    expect_code(data, size, what, OT_ERR_FORMAT, message_part);
}

static void truncated_fixture(void **state) {
    (void)state;
    size_t size;
    unsigned char *data = read_all(ts_fixture("weights/truncated.npz"), &size);
    expect_error(data, size, "truncated.npz", "end-of-central-directory record not found");
    free(data);
}

/* Every damaged field the reader relies on, each on a fresh copy of a stored archive. */
static void damaged_fields(void **state) {
    (void)state;
    unsigned char big[300];
    for (int i = 0; i < 300; i++) big[i] = (unsigned char)i;
    const char *path = write_sample(ts_temp_dir(), "s.zip", OT_ZIP_STORED, 0, big, sizeof big);
    size_t size;
    unsigned char *good = read_all(path, &size);
    unsigned char *d = malloc(size);
    size_t end = size - 22;
    uint32_t dir_offset = good[end + 16] | good[end + 17] << 8 | good[end + 18] << 16 | (uint32_t)good[end + 19] << 24;
    /* central directory offset past the end */
    memcpy(d, good, size);
    put32(d + end + 16, (uint32_t)size + 10);
    expect_error(d, size, "s.zip", "lies outside the archive");
    /* more entries than the directory can hold */
    memcpy(d, good, size);
    d[end + 8] = d[end + 10] = 200;
    expect_error(d, size, "s.zip", "claims 200 entries");
    /* first entry's local header offset past the directory */
    memcpy(d, good, size);
    put32(d + dir_offset + 42, (uint32_t)size);
    expect_error(d, size, "s.zip", "local header offset");
    /* first entry's size larger than the archive */
    memcpy(d, good, size);
    put32(d + dir_offset + 20, 0x7FFFFFFF);
    put32(d + dir_offset + 24, 0x7FFFFFFF);
    expect_error(d, size, "s.zip", "run past the end");
    /* stored sizes that disagree */
    memcpy(d, good, size);
    put32(d + dir_offset + 24, 4);
    expect_error(d, size, "s.zip", "sizes differ");
    /* unknown method */
    memcpy(d, good, size);
    d[dir_offset + 10] = 14;
    expect_code(d, size, "s.zip", OT_ERR_UNSUPPORTED, "method 14");
    /* encrypted */
    memcpy(d, good, size);
    d[dir_offset + 8] |= 1;
    expect_code(d, size, "s.zip", OT_ERR_UNSUPPORTED, "encrypted");
    /* a flipped data byte: the CRC catches it */
    memcpy(d, good, size);
    d[30 + 5] ^= 0x20; /* inside "hello", after the 5-byte name "a.txt" */
    expect_error(d, size, "s.zip", "CRC-32 mismatch");
    /* two entries with one name */
    memcpy(d, good, size);
    memcpy(d + 30, "empty", 5);                           /* local header of entry 0 */
    memcpy(d + dir_offset + 46, "empty", 5);              /* its central header */
    expect_error(d, size, "s.zip", "appears twice");
    /* sizes 0xFFFFFFFF without a ZIP64 extra */
    memcpy(d, good, size);
    put32(d + dir_offset + 20, 0xFFFFFFFF);
    expect_error(d, size, "s.zip", "ZIP64 extra field");
    free(d);
    free(good);
}

/* A deflated entry whose directory claims far more than its compressed bytes can give. */
static void deflate_size_lies(void **state) {
    (void)state;
    unsigned char zeros[4096] = {0};
    char path[512];
    snprintf(path, sizeof path, "%s/z.zip", ts_temp_dir());
    ot_zip_writer w;
    assert_int_equal(oti_zip_writer_open(&w, path), OT_OK);
    assert_int_equal(oti_zip_writer_add(&w, "z", zeros, sizeof zeros, OT_ZIP_DEFLATED), OT_OK);
    assert_int_equal(oti_zip_writer_finish(&w), OT_OK);
    size_t size;
    unsigned char *good = read_all(path, &size);
    unsigned char *d = malloc(size);
    uint32_t dir_offset = good[size - 6] | good[size - 5] << 8 | good[size - 4] << 16 | (uint32_t)good[size - 3] << 24;
    memcpy(d, good, size);
    put32(d + dir_offset + 24, 0xFFFFFFF0u); /* 4 GiB from a few bytes */
    expect_error(d, size, "z.zip", "more than deflate can produce");
    memcpy(d, good, size);
    put32(d + dir_offset + 24, 8192); /* plausible, but the stream gives 4096 */
    expect_error(d, size, "z.zip", "deflated data is corrupt");
    memcpy(d, good, size);
    put32(d + dir_offset + 24, 100); /* the stream gives more than that */
    expect_error(d, size, "z.zip", "deflated data is corrupt");
    free(d);
    free(good);
}

/* Every prefix and every single-byte change of a small archive: an error or the right data,
 * never a crash or a read out of bounds (run under the sanitizers in CI). */
static void prefixes_and_flips(void **state) {
    (void)state;
    unsigned char big[64];
    for (int i = 0; i < 64; i++) big[i] = (unsigned char)(i * 3);
    for (int method = 0; method <= 8; method += 8) {
        const char *path = write_sample(ts_temp_dir(), "p.zip", method, method == 8, big, sizeof big);
        size_t size;
        unsigned char *good = read_all(path, &size);
        unsigned char *d = malloc(size);
        for (size_t n = 0; n < size; n++) {
            memcpy(d, good, n);
            ot_zip z;
            if (oti_zip_open(NULL, &z, d, n, "p.zip") == OT_OK) fail_msg("prefix of %zu bytes opened", n);
        }
        for (size_t i = 0; i < size; i++) {
            memcpy(d, good, size);
            d[i] ^= 0x5A;
            ot_zip z;
            if (oti_zip_open(NULL, &z, d, size, "p.zip") != OT_OK) continue;
            for (int e = 0; e < z.n_entries; e++) {
                unsigned char *out;
                size_t out_size;
                if (oti_zip_extract(&z, e, &out, &out_size) == OT_OK) free(out);
            }
            oti_zip_close(&z);
        }
        free(d);
        free(good);
    }
}

/* A failed writer leaves the target as it was. */
static void abort_leaves_target(void **state) {
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/keep.zip", ts_temp_dir());
    assert_int_equal(oti_write_file_atomic(path, "old", 3), OT_OK);
    ot_zip_writer w;
    assert_int_equal(oti_zip_writer_open(&w, path), OT_OK);
    assert_int_equal(oti_zip_writer_add(&w, "a", "1", 1, OT_ZIP_STORED), OT_OK);
    assert_int_equal(oti_zip_writer_add(&w, "a", "2", 1, OT_ZIP_STORED), OT_ERR_INVALID);
    oti_zip_writer_abort(&w);
    size_t size;
    unsigned char *data = read_all(path, &size);
    assert_int_equal(size, 3);
    assert_memory_equal(data, "old", 3);
    free(data);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(empty_archive),
        cmocka_unit_test(reads_python_archives),
        cmocka_unit_test(truncated_fixture),
        cmocka_unit_test(damaged_fields),
        cmocka_unit_test(deflate_size_lies),
        cmocka_unit_test(prefixes_and_flips),
        cmocka_unit_test(abort_leaves_target),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
