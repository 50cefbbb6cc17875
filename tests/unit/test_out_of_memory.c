/* Running out of memory is a status, never a crash: the library's allocations are wrapped
 * (-Wl,--wrap, see tests/CMakeLists.txt) so that the Nth one fails, and a whole fine-tuning
 * session (load ONNX, cut, add a head, freeze, load data, train with a validation split,
 * early stopping, a checkpoint and the frozen-feature cache, score, export ONNX, write
 * and read npz and safetensors, read a PyTorch .pt, match weights into a model) runs once
 * for every N. Each run must end with OT_ERR_MEMORY and an "out of memory" message,
 * must leave an existing output file as it was or replace it whole, and (under
 * AddressSanitizer, tools/test.sh) must not leak or touch freed memory.
 *
 * OT_OOM_STRIDE=k tries every kth allocation, OT_OOM_FROM=n starts at the nth and
 * OT_OOM_VERBOSE=1 prints each n first (to find the one that fails).
 *
 * Allocations made inside other shared libraries (libc's own, zlib, protobuf-c, OpenBLAS,
 * HDF5) are not wrapped: this tests our handling of NULL, not theirs. */
#include <errno.h>
#include <ftw.h>
#include <execinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file_io.h"
#include "core/util.h"
#include "onnxtrain/builder.h"
#include "onnxtrain/onnx_io.h"
#include "onnxtrain/train.h"
#include "onnxtrain/transfer.h"
#include "onnxtrain/weights.h"
#include "test_support.h"

/* The allocation counter. Only this test program has it (a test may have state; the
 * library may not). 0: not failing. */
static long allocations, fail_at;

static int verbose;

/* Under OT_OOM_VERBOSE, where the failing allocation is made. */
static int should_fail(void) {
    if (++allocations != fail_at) return 0;
    if (verbose) {
        void *frames[12];
        backtrace_symbols_fd(frames, backtrace(frames, 12), 2);
    }
    return 1;
}

void *__real_malloc(size_t size);
void *__real_calloc(size_t count, size_t size);
void *__real_realloc(void *ptr, size_t size);
void *__real_aligned_alloc(size_t alignment, size_t size);

void *__wrap_malloc(size_t size) { return should_fail() ? NULL : __real_malloc(size); }
void *__wrap_calloc(size_t count, size_t size) { return should_fail() ? NULL : __real_calloc(count, size); }
void *__wrap_realloc(void *ptr, size_t size) { return should_fail() ? NULL : __real_realloc(ptr, size); }
void *__wrap_aligned_alloc(size_t alignment, size_t size) {
    return should_fail() ? NULL : __real_aligned_alloc(alignment, size);
}

typedef struct session_files {
    char dir[256], checkpoint[300], cache[300], onnx_out[300], npz[300], safetensors[300];
} session_files;

static const char previous_output[] = "an earlier export, to be kept or replaced whole";

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

/* rm -rf, without a process per call (the sweep resets thousands of times). */
static void remove_tree(const char *path) {
    if (access(path, F_OK) != 0) return;
    assert_int_equal(nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static void reset_files(const session_files *f) {
    remove_tree(f->cache);
    remove_tree(f->checkpoint);
    remove_tree(f->npz);
    remove_tree(f->safetensors);
    FILE *out = fopen(f->onnx_out, "wb");
    assert_non_null(out);
    fputs(previous_output, out);
    fclose(out);
}

/* The output file holds either what was there before or a whole ONNX model. */
static void check_output_file(const session_files *f, ot_status status) {
    unsigned char *data;
    size_t size;
    assert_int_equal(oti_read_file(f->onnx_out, 0, &data, &size), OT_OK);
    int previous = size == strlen(previous_output) && !memcmp(data, previous_output, size);
    free(data);
    if (previous) return;
    ot_model *m = NULL;
    if (ot_onnx_load(NULL, f->onnx_out, &m) != OT_OK)
        fail_msg("run ended with %d: %s is neither the earlier file nor a model: %s", status,
                 f->onnx_out, ot_last_error());
    ot_model_free(m);
}

/* Weights written by the model, read back and matched into a fresh copy of the model; then a
 * PyTorch state_dict into the fixture CNN it was saved from. */
static ot_status weights_round_trip(const ot_context *ctx, const ot_model *m, const session_files *f) {
    ot_weights w = {0}, back = {0};
    ot_model *fresh = NULL;
    ot_match_report report = {0};
    ot_status status = ot_weights_from_model(m, &w);
    if (status == OT_OK) status = ot_weights_save(f->npz, OT_WEIGHTS_NPZ, &w, 1);
    if (status == OT_OK) status = ot_weights_save(f->safetensors, OT_WEIGHTS_SAFETENSORS, &w, 0);
    if (status == OT_OK) status = ot_weights_load(ctx, f->npz, &back);
    if (status == OT_OK) {
        ot_weights_free(&back);
        status = ot_weights_load(ctx, f->safetensors, &back);
    }
    if (status == OT_OK) status = ot_onnx_load(ctx, f->onnx_out, &fresh);
    if (status == OT_OK) status = ot_weights_apply(fresh, &back, f->safetensors, NULL, &report);
    ot_match_report_free(&report);
    ot_model_free(fresh);
    fresh = NULL;
    ot_weights_free(&back);
    if (status == OT_OK) status = ot_weights_load(ctx, ts_fixture("weights/cnn_state.pt"), &back);
    if (status == OT_OK) status = ot_onnx_load(ctx, ts_fixture("weights/cnn.onnx"), &fresh);
    if (status == OT_OK) status = ot_weights_apply(fresh, &back, "cnn_state.pt", NULL, &report);
    ot_match_report_free(&report);
    ot_model_free(fresh);
    ot_weights_free(&back);
    ot_weights_free(&w);
    return status;
}

/* One fine-tuning session; returns the first failure. */
static ot_status session(const session_files *f) {
    ot_context_options options = {.threads = 1};
    ot_context *ctx = NULL;
    ot_model *m = NULL;
    ot_dataset *train = NULL, *val = NULL;
    ot_status status = ot_context_create(&options, &ctx);
    if (status == OT_OK) status = ot_onnx_load(ctx, ts_fixture("train/cnn.onnx"), &m);
    if (status == OT_OK) status = ot_transfer_cut(m, "/5/Flatten");
    ot_init_spec init;
    ot_rng rng;
    ot_rng_seed(&rng, 1);
    if (status == OT_OK) status = ot_builder_parse_init("auto", &init);
    if (status == OT_OK)
        status = ot_builder_append(ctx, m, "dense:3", m->values[m->outputs[0]].name, &init, &rng, "head_");
    ot_freeze_rule keep = {OT_FREEZE_UPTO, "/3/Relu"};
    if (status == OT_OK) status = ot_transfer_freeze(m, 1, &keep);
    ot_data_options data = {.context = ctx, .limit = 40, .classes = (const int64_t[]){0, 1, 2}, .n_classes = 3};
    char spec[4200];
    snprintf(spec, sizeof spec, "npz:%s", ts_fixture("train/data_img.npz"));
    if (status == OT_OK) status = ot_dataset_load(spec, &data, &train);
    if (status == OT_OK) status = ot_dataset_split(train, 0.25, &rng, &val);
    ot_train_config config;
    ot_train_config_defaults(&config);
    config.context = ctx;
    config.epochs = 2;
    config.batch = 8;
    config.seed = 3;
    config.early_stopping = 1;
    config.checkpoint_path = f->checkpoint;
    config.cache_dir = f->cache;
    ot_train_result result;
    ot_eval_result scored;
    if (status == OT_OK) status = ot_train(m, &config, train, val, &result);
    if (status == OT_OK) { /* one more epoch, resumed from the checkpoint */
        config.epochs = 3;
        config.resume = 1;
        status = ot_train(m, &config, train, val, &result);
    }
    if (status == OT_OK) status = ot_evaluate_cached(m, &config, "val", val, &scored);
    if (status == OT_OK) status = ot_onnx_save(m, f->onnx_out);
    if (status == OT_OK) status = weights_round_trip(ctx, m, f);
    ot_dataset_free(train);
    ot_dataset_free(val);
    ot_model_free(m);
    ot_context_free(ctx);
    return status;
}

/* Data from each kind of source: CSV, IDX (gzip), a folder of PNG and JPEG images, npz with
 * float targets; filtered by class and split. */
static ot_status data_session(const session_files *f) {
    (void)f;
    ot_context_options options = {.threads = 1};
    ot_context *ctx = NULL;
    ot_status status = ot_context_create(&options, &ctx);
    char spec[9000];
    const char *specs[] = {"csv:%s", "idx:%s,%s", "images:%s", "npz:%s:x=feats,y=out"};
    const char *files[][2] = {{"data/table.csv", NULL},
                              {"data/images.idx.gz", "data/labels.idx.gz"},
                              {"data/images", NULL},
                              {"data/targets.npz", NULL}};
    for (int i = 0; i < OT_COUNT(specs) && status == OT_OK; i++) {
        char first[4200];
        snprintf(first, sizeof first, "%s", ts_fixture(files[i][0]));
        snprintf(spec, sizeof spec, specs[i], first, files[i][1] ? ts_fixture(files[i][1]) : "");
        ot_data_options data = {.context = ctx, .image_channels = 3, .image_height = 8, .image_width = 8,
                                .mean = (const float[]){0.5f}, .n_mean = 1, .std = (const float[]){0.25f}, .n_std = 1};
        static const int64_t swapped[] = {1, 0};
        if (i == 1) data.classes = swapped, data.n_classes = 2, data.per_class = 2;
        ot_dataset *d = NULL, *val = NULL;
        status = ot_dataset_load(spec, &data, &d);
        ot_rng rng;
        ot_rng_seed(&rng, 2);
        if (status == OT_OK && d->n >= 2) status = ot_dataset_split(d, 0.5, &rng, &val);
        ot_dataset_free(d);
        ot_dataset_free(val);
    }
    ot_context_free(ctx);
    return status;
}

/* Every weights format into the fixture CNN (Keras by layer and role, through the forked
 * HDF5 reader; PyTorch views; a compressed npz), with a --map file. */
static ot_status weights_session(const session_files *f) {
    /* Keras last: its reader forks, and only the runs that get that far pay for it. */
    const char *sources[] = {"weights/views.pt", "weights/compressed.npz", "weights/cnn.safetensors",
                             "weights/cnn_keras.h5"};
    FILE *map = fopen(f->npz, "w"); /* a scratch path of the session, reset each run */
    assert_non_null(map);
    fputs("# explicit pairs first\nconv1.bias = conv1.bias\n", map);
    fclose(map);
    ot_status status = OT_OK;
    for (int i = 0; i < OT_COUNT(sources) && status == OT_OK; i++) {
        ot_weights w = {0};
        ot_model *m = NULL;
        ot_match_report report = {0};
        ot_match_options options = {.map_path = i == 2 ? f->npz : NULL};
        status = ot_weights_load(NULL, ts_fixture(sources[i]), &w);
        if (status == OT_OK) status = ot_onnx_load(NULL, ts_fixture("weights/cnn.onnx"), &m);
        if (status == OT_OK) status = ot_weights_apply(m, &w, sources[i], &options, &report);
        ot_match_report_free(&report);
        ot_model_free(m);
        ot_weights_free(&w);
    }
    return status;
}

/* Runs session once to count its allocations, then once failing each of them in turn. */
static void sweep(ot_status (*session_fn)(const session_files *), long at_least) {
    session_files f;
    /* In memory where there is a tmpfs: the sweep commits (and fsyncs) thousands of files. */
    snprintf(f.dir, sizeof f.dir, "/dev/shm/onnxtrain-oom-XXXXXX");
    if (access("/dev/shm", W_OK) != 0 || !mkdtemp(f.dir)) snprintf(f.dir, sizeof f.dir, "%s", ts_temp_dir());
    snprintf(f.checkpoint, sizeof f.checkpoint, "%s/run.ckpt", f.dir);
    snprintf(f.cache, sizeof f.cache, "%s/cache", f.dir);
    snprintf(f.onnx_out, sizeof f.onnx_out, "%s/out.onnx", f.dir);
    snprintf(f.npz, sizeof f.npz, "%s/w.npz", f.dir);
    snprintf(f.safetensors, sizeof f.safetensors, "%s/w.safetensors", f.dir);

    /* Once without failures: the session works and makes this many allocations. */
    reset_files(&f);
    allocations = fail_at = 0;
    if (session_fn(&f) != OT_OK) fail_msg("the session fails without injected failures: %s", ot_last_error());
    long total = allocations;
    check_output_file(&f, OT_OK);
    assert_true(total >= at_least); /* the session is the real one */

    /* Every allocation in turn (OT_OOM_STRIDE=k: every kth, to explore quickly). */
    const char *stride_text = getenv("OT_OOM_STRIDE");
    long stride = stride_text ? atol(stride_text) : 1, refused = 0, absorbed = 0;
    if (stride < 1) stride = 1;
    const char *from_text = getenv("OT_OOM_FROM"); /* to rerun one failure: OT_OOM_FROM=n */
    long from = from_text ? atol(from_text) : 1;
    verbose = getenv("OT_OOM_VERBOSE") != NULL;
    for (long n = from < 1 ? 1 : from; n <= total; n += stride) {
        if (verbose) fprintf(stderr, "failing allocation %ld of %ld\n", n, total);
        reset_files(&f);
        allocations = 0;
        fail_at = n;
        ot_status status = session_fn(&f);
        fail_at = 0;
        if (status == OT_ERR_MEMORY) {
            if (!strstr(ot_last_error(), "out of memory"))
                fail_msg("allocation %ld of %ld: OT_ERR_MEMORY with the message '%s'", n, total, ot_last_error());
            refused++;
        } else if (status == OT_OK) {
            absorbed++;
            if (verbose) fprintf(stderr, "allocation %ld: the session carried on\n", n);
        } else {
            fail_msg("allocation %ld of %ld failed: status %d, '%s' (expected OT_ERR_MEMORY)",
                     n, total, status, ot_last_error());
        }
        check_output_file(&f, status);
    }
    print_message("%ld allocations; failing each: %ld runs refused with OT_ERR_MEMORY, %ld carried on\n",
                  total, refused, absorbed);
    /* The library does not quietly do less (a lost dim name, a skipped fsync): every failed
     * allocation of the session is reported. */
    assert_int_equal(absorbed, 0);
    assert_true(refused > 0);
    remove_tree(f.dir);
}

static void fine_tuning_survives_every_failed_allocation(void **state) {
    (void)state;
    sweep(session, 1000);
}

static void data_loading_survives_every_failed_allocation(void **state) {
    (void)state;
    sweep(data_session, 20);
}

static void weights_loading_survives_every_failed_allocation(void **state) {
    (void)state;
    sweep(weights_session, 100);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fine_tuning_survives_every_failed_allocation),
        cmocka_unit_test(data_loading_survives_every_failed_allocation),
        cmocka_unit_test(weights_loading_survives_every_failed_allocation),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
