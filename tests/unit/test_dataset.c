/* Data specs: IDX (gzip and raw), CSV, npz (labels or float targets, renamed arrays), image
 * folders (PNG/JPEG, gray/RGB, resized, normalised), filters, reshaping, splits, errors. */
#include <math.h>
#include <string.h>
#include <stdio.h>

#include "onnxtrain/dataset.h"
#include "test_support.h"

/* "idx:A,B" from two fixtures (ts_fixture returns a static buffer, so copy the first). */
static void idx_spec(char *spec, size_t size, const char *images, const char *labels) {
    char first[4096];
    snprintf(first, sizeof first, "%s", ts_fixture(images));
    snprintf(spec, size, "idx:%s,%s", first, ts_fixture(labels));
}

static ot_dataset *load(const char *spec_format, const char *fixture, const ot_data_options *o) {
    char spec[4096];
    snprintf(spec, sizeof spec, spec_format, ts_fixture(fixture), ts_fixture(fixture));
    ot_dataset *d;
    if (ot_dataset_load(spec, o, &d) != OT_OK) fail_msg("%s: %s", spec, ot_last_error());
    return d;
}

static void idx_gzip_and_raw(void **state) {
    (void)state;
    char spec[8192];
    idx_spec(spec, sizeof spec, "data/images.idx.gz", "data/labels.idx.gz");
    ot_dataset *gz, *raw;
    assert_int_equal(ot_dataset_load(spec, NULL, &gz), OT_OK);
    idx_spec(spec, sizeof spec, "data/images.idx", "data/labels.idx");
    assert_int_equal(ot_dataset_load(spec, NULL, &raw), OT_OK);
    assert_int_equal(gz->n, 6);
    assert_int_equal(gz->sample_ndim, 3); /* N x 1 x 4 x 4 */
    assert_int_equal(gz->sample_dims[0], 1);
    assert_int_equal(gz->n_classes, 3);
    /* pixel k of the file is (k * 7) % 256, scaled to [0, 1] */
    assert_float_equal(((float *)gz->x)[17], (17 * 7 % 256) / 255.0f, 1e-7);
    assert_memory_equal(gz->x, raw->x, sizeof(float) * 96);
    assert_int_equal(gz->labels[4], 0);
    ot_dataset_free(gz);
    ot_dataset_free(raw);
}

static void filters_and_split(void **state) {
    (void)state;
    char spec[8192];
    idx_spec(spec, sizeof spec, "data/images.idx", "data/labels.idx");
    int64_t classes[2] = {2, 1};
    ot_data_options o = {.classes = classes, .n_classes = 2, .per_class = 1};
    ot_dataset *d;
    assert_int_equal(ot_dataset_load(spec, &o, &d), OT_OK);
    /* labels 0 1 2 1 0 2 -> keep 2 (as 0) and 1 (as 1), one each: samples 1 and 2 */
    assert_int_equal(d->n, 2);
    assert_int_equal(d->n_classes, 2);
    assert_int_equal(d->labels[0], 1);
    assert_int_equal(d->labels[1], 0);
    assert_float_equal(((float *)d->x)[0], (16 * 7 % 256) / 255.0f, 1e-7);
    ot_dataset_free(d);
    ot_data_options limit = {.limit = 4};
    assert_int_equal(ot_dataset_load(spec, &limit, &d), OT_OK);
    ot_dataset *val;
    assert_int_equal(ot_dataset_split(d, 0.25, NULL, &val), OT_OK);
    assert_int_equal(d->n, 3);
    assert_int_equal(val->n, 1);
    assert_int_equal(val->labels[0], 1); /* the 4th sample */
    ot_dataset_free(val);
    assert_int_equal(ot_dataset_split(d, 0.01, NULL, &val), OT_ERR_INVALID);
    ot_dataset_free(d);
}

static void csv_and_npz(void **state) {
    (void)state;
    ot_dataset *d = load("csv:%s", "data/table.csv", NULL);
    assert_int_equal(d->n, 3);
    assert_int_equal(d->sample_dims[0], 3);
    assert_int_equal(d->labels[2], 2);
    assert_float_equal(((float *)d->x)[8], 0.6f, 1e-7);
    ot_dataset_free(d);
    d = load("npz:%s", "data/labels.npz", NULL);
    assert_int_equal(d->n, 4);
    assert_int_equal(d->sample_size, 3);
    assert_int_equal(d->labels[2], 1);
    assert_float_equal(((float *)d->x)[11], 11.0f, 0);
    /* reshape to the model's per-sample shape when the element count matches */
    int64_t dims[2] = {3, 1}, wrong[1] = {4};
    assert_int_equal(ot_dataset_reshape(d, 2, dims, "x"), OT_OK);
    assert_int_equal(ot_dataset_reshape(d, 1, wrong, "input_1"), OT_ERR_INVALID);
    assert_non_null(strstr(ot_last_error(), "'input_1'"));
    ot_dataset_free(d);
    d = load("npz:%s:x=feats,y=out", "data/targets.npz", NULL);
    assert_null(d->labels);
    assert_int_equal(d->target_size, 1);
    assert_float_equal(d->targets[2], 2.5f, 0);
    ot_dataset_free(d);
}

static void image_folder(void **state) {
    (void)state;
    float mean[1] = {0.5f}, std[1] = {0.25f};
    ot_data_options o = {.image_channels = 3, .image_height = 3, .image_width = 4, .mean = mean, .n_mean = 1,
                         .std = std, .n_std = 1};
    ot_dataset *d = load("images:%s", "data/images", &o);
    assert_int_equal(d->n, 6); /* 3 per class; notes.txt is ignored */
    assert_int_equal(d->n_classes, 2);
    assert_string_equal(d->class_names[0], "cat");
    assert_int_equal(d->sample_dims[0], 3);
    assert_int_equal(d->sample_dims[2], 4);
    /* sorted: cat/0.png cat/1.png cat/gray.jpg; a red image's red channel at a far pixel */
    float red = ((float *)d->x)[0 * 36 + 0 * 12 + 2 * 4 + 3];
    assert_float_equal(red, (200 / 255.0f - 0.5f) / 0.25f, 1e-5);
    /* gray JPEG replicated to 3 channels (JPEG is lossy: within a few levels of 128) */
    float gray_r = ((float *)d->x)[2 * 36 + 5], gray_b = ((float *)d->x)[2 * 36 + 2 * 12 + 5];
    assert_float_equal(gray_r, gray_b, 1e-6);
    assert_float_equal(gray_r, (128 / 255.0f - 0.5f) / 0.25f, 0.1);
    assert_int_equal(d->labels[3], 1);
    ot_dataset_free(d);
    ot_data_options gray = {.image_channels = 1, .image_height = 2, .image_width = 2};
    d = load("images:%s", "data/images", &gray);
    assert_float_equal(((float *)d->x)[0], (0.299 * 200 + 0.587 * 30 + 0.114 * 30) / 255.0, 0.02);
    ot_dataset_free(d);
}

static void errors_name_the_file(void **state) {
    (void)state;
    struct { const char *spec, *fixture, *words; ot_status code; } cases[] = {
        {"csv:%s", "data/bad.csv", "bad.csv:2", OT_ERR_FORMAT},
        {"idx:%s,%s", "data/truncated.idx", "truncated", OT_ERR_FORMAT}, /* same file twice */
        {"images:%s", "data/broken_images", "bad.png", OT_ERR_FORMAT},
        /* 260 bytes of progressive JPEG declaring 4.3 billion pixels: refused from the header */
        {"images:%s", "data/huge_jpeg", "65288 x 65496 pixels", OT_ERR_UNSUPPORTED},
        {"npz:%s:x=nothing", "data/labels.npz", "'nothing'", OT_ERR_INVALID},
        {"mnist:%s", "data/table.csv", "unknown data spec", OT_ERR_INVALID},
        {"csv:%s", "data/missing.csv", "missing.csv", OT_ERR_IO},
    };
    ot_data_options o = {.image_channels = 1, .image_height = 2, .image_width = 2};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char spec[8192];
        snprintf(spec, sizeof spec, cases[i].spec, ts_fixture(cases[i].fixture), ts_fixture(cases[i].fixture));
        ot_dataset *d = NULL;
        ot_status status = ot_dataset_load(spec, &o, &d);
        if (status != cases[i].code || !strstr(ot_last_error(), cases[i].words))
            fail_msg("%s: got %s '%s'", spec, ot_status_name(status), ot_last_error());
        assert_null(d);
    }
    char spec[8192];
    idx_spec(spec, sizeof spec, "data/images.idx", "data/labels_short.idx");
    ot_dataset *d;
    assert_int_equal(ot_dataset_load(spec, NULL, &d), OT_ERR_FORMAT);
    assert_non_null(strstr(ot_last_error(), "6 images but"));
    /* Reading only the images --limit needs still compares the files' counts. */
    ot_data_options first = {.limit = 1};
    assert_int_equal(ot_dataset_load(spec, &first, &d), OT_ERR_FORMAT);
    assert_non_null(strstr(ot_last_error(), "6 images but"));
}

/* Arrays in memory: copied (the caller's buffers may go), labels and targets kept, bad
 * shapes and labels refused with the dataset's name. */
static void from_arrays(void **state) {
    (void)state;
    float x[6] = {1, 2, 3, 4, 5, 6};
    int64_t labels[3] = {2, 0, 1}, dims[2] = {1, 2};
    ot_dataset *d;
    assert_int_equal(ot_dataset_from_arrays("tiny", 3, 2, dims, x, labels, NULL, 0, &d), OT_OK);
    x[0] = 99;
    labels[0] = 7;
    assert_int_equal(d->n, 3);
    assert_int_equal(d->sample_size, 2);
    assert_int_equal(d->n_classes, 3);
    assert_float_equal(((float *)d->x)[0], 1, 0);
    assert_float_equal(((float *)d->x)[5], 6, 0);
    assert_int_equal(d->labels[0], 2);
    assert_null(d->targets);
    ot_dataset_free(d);
    float targets[3] = {0.5f, -1, 2};
    assert_int_equal(ot_dataset_from_arrays("reg", 3, 2, dims, x, NULL, targets, 1, &d), OT_OK);
    assert_null(d->labels);
    assert_float_equal(d->targets[2], 2, 0);
    ot_dataset_free(d);
    int64_t negative[3] = {0, -1, 1}, bad_dims[2] = {1, 0};
    assert_int_equal(ot_dataset_from_arrays("neg", 3, 2, dims, x, negative, NULL, 0, &d), OT_ERR_INVALID);
    assert_non_null(strstr(ot_last_error(), "dataset neg: sample 1 has label -1"));
    assert_null(d);
    assert_int_equal(ot_dataset_from_arrays("dims", 3, 2, bad_dims, x, NULL, NULL, 0, &d), OT_ERR_INVALID);
    assert_int_equal(ot_dataset_from_arrays("both", 3, 2, dims, x, labels, targets, 1, &d), OT_ERR_INVALID);
    assert_int_equal(ot_dataset_from_arrays("none", 0, 2, dims, x, NULL, NULL, 0, &d), OT_ERR_INVALID);
    /* Non-finite samples or targets: an error naming the array and the first such sample. */
    x[3] = NAN;
    assert_int_equal(ot_dataset_from_arrays("nan", 3, 2, dims, x, NULL, NULL, 0, &d), OT_ERR_INVALID);
    assert_non_null(strstr(ot_last_error(), "nan: array 'x' holds NaN at sample 1 (element 1 of it)"));
    assert_null(d);
    x[3] = 4;
    targets[2] = -INFINITY;
    assert_int_equal(ot_dataset_from_arrays("inf", 3, 2, dims, x, NULL, targets, 1, &d), OT_ERR_INVALID);
    assert_non_null(strstr(ot_last_error(), "inf: array 'y' holds an infinite value at sample 2"));
}

/* Sample k's class at (x, y) in tools/fixtures/gen_segmentation_fixtures.py: 255 (ignored)
 * at (0, 0). */
static int64_t fixture_class(int k, int64_t x, int64_t y) {
    if (x == 0 && y == 0) return -100;
    return (x + k) / 3 < 2 ? (x + k) / 3 : 2;
}

static void segmentation_images_and_masks(void **state) {
    (void)state;
    char images[4096], spec[8192];
    snprintf(images, sizeof images, "%s", ts_fixture("data/segmentation/images"));
    snprintf(spec, sizeof spec, "segmentation:%s,%s", images, ts_fixture("data/segmentation/masks"));
    ot_data_options o = {.image_channels = 3, .image_height = 6, .image_width = 8};
    ot_dataset *d;
    if (ot_dataset_load(spec, &o, &d) != OT_OK) fail_msg("%s", ot_last_error());
    assert_int_equal(d->n, 3);
    assert_int_equal(d->label_size, 48);
    assert_int_equal(d->label_ndim, 2);
    for (int k = 0; k < 3; k++)
        for (int64_t y = 0; y < 6; y++)
            for (int64_t x = 0; x < 8; x++) assert_int_equal(d->labels[k * 48 + y * 8 + x], fixture_class(k, x, y));
    /* Pixel (x 2, y 1) of s1: red 30 x, green 40 y, blue 80 k. */
    const float *px = d->x;
    assert_float_equal(px[1 * 144 + 0 * 48 + 1 * 8 + 2], 60 / 255.0, 1e-6);
    assert_float_equal(px[1 * 144 + 2 * 48 + 1 * 8 + 2], 80 / 255.0, 1e-6);
    ot_dataset_free(d);
    /* Half the size: masks by nearest neighbour, so labels stay classes. */
    o.image_height = 3;
    o.image_width = 4;
    if (ot_dataset_load(spec, &o, &d) != OT_OK) fail_msg("%s", ot_last_error());
    for (int k = 0; k < 3; k++)
        for (int64_t y = 0; y < 3; y++)
            for (int64_t x = 0; x < 4; x++)
                assert_int_equal(d->labels[k * 12 + y * 4 + x], fixture_class(k, 2 * x + 1, 2 * y + 1));
    ot_dataset_free(d);
    /* A mask whose size differs from its image's. */
    snprintf(spec, sizeof spec, "segmentation:%s,%s", images, ts_fixture("data/segmentation/bad_masks"));
    assert_int_equal(ot_dataset_load(spec, &o, &d), OT_ERR_INVALID);
    assert_non_null(strstr(ot_last_error(), "s0.png is 7 x 6 pixels, its image"));
    assert_non_null(strstr(ot_last_error(), "8 x 6"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(idx_gzip_and_raw),
        cmocka_unit_test(from_arrays),
        cmocka_unit_test(filters_and_split),
        cmocka_unit_test(csv_and_npz),
        cmocka_unit_test(image_folder),
        cmocka_unit_test(segmentation_images_and_masks),
        cmocka_unit_test(errors_name_the_file),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
