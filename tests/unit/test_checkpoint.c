/* Checkpoints (src/train/checkpoint.c): a run resumed from the checkpoint of an epoch's end,
 * or of the middle of an epoch (an interrupt), ends with the same weights, bit for bit, as a
 * run never stopped (Adam's moments, dropout's generator, the plateau schedule and
 * BatchNorm statistics carried over); a checkpoint of another optimizer, or a torn file, is
 * refused with a message naming the file, and the file is left as it was. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <stdlib.h>

#include "core/file_io.h"
#include "core/util.h"
#include "onnxtrain/builder.h"
#include "train_support.h"

#define SAMPLES 96
#define FEATURES 6

/* A small MLP with BatchNorm and dropout, and three classes of points. */
static ot_model *mlp(void) {
    int64_t dims[1] = {FEATURES};
    ot_model *m;
    assert_int_equal(ot_builder_create("x", 1, dims, &m), OT_OK);
    ot_init_spec init;
    assert_int_equal(ot_builder_parse_init("auto", &init), OT_OK);
    ot_rng rng;
    ot_rng_seed(&rng, 5);
    if (ot_builder_append(NULL, m, "dense:16:relu,batchnorm,dropout:0.2,dense:3", "x", &init, &rng, "") != OT_OK)
        fail_msg("%s", ot_last_error());
    return m;
}

static ot_dataset *points(void) {
    float x[SAMPLES * FEATURES];
    int64_t labels[SAMPLES], dims[1] = {FEATURES};
    for (int i = 0; i < SAMPLES; i++) {
        labels[i] = i % 3;
        for (int j = 0; j < FEATURES; j++) x[i * FEATURES + j] = (float)(sin(i * 1.7 + j) * 0.5 + labels[i] * 0.4);
    }
    ot_dataset *d;
    assert_int_equal(ot_dataset_from_arrays("points", SAMPLES, 1, dims, x, labels, NULL, 0, &d), OT_OK);
    return d;
}

static ot_train_config config(const char *checkpoint, int64_t epochs, int resume) {
    ot_train_config c;
    ot_train_config_defaults(&c);
    c.context = ts_context();
    c.epochs = epochs;
    c.batch = 10; /* 10 batches an epoch, the last partial */
    c.seed = 11;
    c.checkpoint_path = checkpoint;
    c.resume = resume;
    assert_int_equal(ot_schedule_parse("plateau:1,0.5", &c.schedule), OT_OK);
    return c;
}

/* The weights of a run of `epochs` epochs, uninterrupted. */
static float *reference_weights(int64_t epochs, int64_t *n) {
    ot_model *m = mlp();
    ot_dataset *d = points();
    ot_train_config c = config(NULL, epochs, 0);
    ot_train_result r;
    assert_int_equal(ot_train(m, &c, d, NULL, &r), OT_OK);
    float *w = snapshot(m, n);
    ot_dataset_free(d);
    ot_model_free(m);
    return w;
}

static void expect_same_weights(const float *got, int64_t n_got, const float *want, int64_t n_want) {
    assert_int_equal(n_got, n_want);
    if (memcmp(got, want, sizeof(float) * (size_t)n_want) != 0) fail_msg("the resumed run's weights differ");
}

static const char *checkpoint_path(void) {
    static char path[512];
    snprintf(path, sizeof path, "%s/run.ckpt", ts_temp_dir());
    return path;
}

/* Two epochs, then a resumed run to four: as four in one go. */
static void resume_after_an_epoch(void **state) {
    (void)state;
    int64_t n_want, n_got;
    float *want = reference_weights(4, &n_want);
    const char *path = checkpoint_path();
    ot_model *m = mlp();
    ot_dataset *d = points();
    ot_train_config first = config(path, 2, 0), second = config(path, 4, 1);
    ot_train_result r;
    assert_int_equal(ot_train(m, &first, d, NULL, &r), OT_OK);
    ot_model_free(m);
    m = mlp(); /* the checkpoint holds the weights: start from the untrained model */
    assert_int_equal(ot_train(m, &second, d, NULL, &r), OT_OK);
    assert_int_equal(r.epochs_run, 4);
    float *got = snapshot(m, &n_got);
    expect_same_weights(got, n_got, want, n_want);
    free(got);
    free(want);
    unlink(path);
    ot_dataset_free(d);
    ot_model_free(m);
}

typedef struct stop_after {
    int64_t epoch, batch;
    volatile int flag;
} stop_after;

static void stop_on_batch(void *user, int64_t epoch, int64_t batch, int64_t batches, double loss) {
    (void)batches, (void)loss;
    stop_after *s = user;
    if (epoch == s->epoch && batch == s->batch) s->flag = 1;
}

/* An interrupt in the middle of the second epoch: the checkpoint holds the position in the
 * epoch, and resuming finishes the run as if nothing happened. */
static void resume_in_the_middle_of_an_epoch(void **state) {
    (void)state;
    int64_t n_want, n_got;
    float *want = reference_weights(3, &n_want);
    const char *path = checkpoint_path();
    ot_model *m = mlp();
    ot_dataset *d = points();
    ot_train_config first = config(path, 3, 0), second = config(path, 3, 1);
    stop_after stop = {2, 4, 0};
    first.interrupt = (volatile int *)&stop.flag;
    first.callbacks = (ot_train_callbacks){.user = &stop, .on_batch = stop_on_batch};
    ot_train_result r;
    assert_int_equal(ot_train(m, &first, d, NULL, &r), OT_OK);
    assert_true(r.interrupted);
    ot_model_free(m);
    m = mlp();
    assert_int_equal(ot_train(m, &second, d, NULL, &r), OT_OK);
    assert_false(r.interrupted);
    float *got = snapshot(m, &n_got);
    expect_same_weights(got, n_got, want, n_want);
    free(got);
    free(want);
    unlink(path);
    ot_dataset_free(d);
    ot_model_free(m);
}

/* Another optimizer than the run that wrote it, or a torn file: refused, naming the file,
 * which stays as it was. */
static void refuses_what_it_cannot_resume(void **state) {
    (void)state;
    const char *path = checkpoint_path();
    ot_model *m = mlp();
    ot_dataset *d = points();
    ot_train_config first = config(path, 1, 0);
    ot_train_result r;
    assert_int_equal(ot_train(m, &first, d, NULL, &r), OT_OK);
    unsigned char *before;
    size_t size;
    assert_int_equal(oti_read_file(path, 0, &before, &size), OT_OK);

    ot_train_config other = config(path, 2, 1);
    ot_optimizer_defaults(OT_OPTIMIZER_SGD, &other.optimizer);
    assert_int_equal(ot_train(m, &other, d, NULL, &r), OT_ERR_INVALID);
    assert_non_null(strstr(ot_last_error(), path));
    assert_non_null(strstr(ot_last_error(), "made with the adam optimizer, this run uses sgd"));

    assert_int_equal(truncate(path, (off_t)(size / 2)), 0);
    ot_train_config torn = config(path, 2, 1);
    ot_status status = ot_train(m, &torn, d, NULL, &r);
    assert_int_equal(status, OT_ERR_FORMAT);
    assert_non_null(strstr(ot_last_error(), path));
    unsigned char *after;
    size_t after_size;
    assert_int_equal(oti_read_file(path, 0, &after, &after_size), OT_OK);
    assert_int_equal(after_size, size / 2); /* left as it was */
    assert_memory_equal(after, before, after_size);
    free(before);
    free(after);
    unlink(path);
    ot_dataset_free(d);
    ot_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resume_after_an_epoch),
        cmocka_unit_test(resume_in_the_middle_of_an_epoch),
        cmocka_unit_test(refuses_what_it_cannot_resume),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
