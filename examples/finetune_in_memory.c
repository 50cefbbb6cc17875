/* Fine-tunes a pretrained image classifier on arrays a program holds in memory: loads the
 * model, keeps its convolutions frozen, cuts the top, adds a new 3-way head, trains the head,
 * scores it and exports ONNX. Built against the installed library:
 *
 *     cc finetune_in_memory.c $(pkg-config --cflags --libs onnxtrain) -o finetune
 *     ./finetune models/fashion5.onnx flatten1 relu3 out.onnx
 *
 * The data: 28 x 28 images of three classes told apart by where a bright bar lies (top,
 * middle, bottom), with noise, made here from a fixed seed. */
#include <onnxtrain.h>
#include <stdio.h>
#include <stdlib.h>

#define SIDE 28
#define CLASSES 3

/* n images of 1 x SIDE x SIDE and their labels. */
static void make_bars(int64_t n, uint64_t seed, float *x, int64_t *labels) {
    ot_rng rng;
    ot_rng_seed(&rng, seed);
    for (int64_t i = 0; i < n; i++) {
        int64_t label = (int64_t)ot_rng_below(&rng, CLASSES);
        int row = 4 + (int)label * 9 + (int)ot_rng_below(&rng, 3);
        float *image = x + i * SIDE * SIDE;
        for (int p = 0; p < SIDE * SIDE; p++) image[p] = 0.2f * ot_rng_uniform(&rng);
        for (int r = row; r < row + 3; r++)
            for (int c = 2; c < SIDE - 2; c++) image[r * SIDE + c] = 0.8f + 0.2f * ot_rng_uniform(&rng);
        labels[i] = label;
    }
}

static int fail(const char *what) {
    fprintf(stderr, "finetune_in_memory: %s: %s\n", what, ot_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s MODEL.onnx FREEZE_UPTO CUT_AT OUT.onnx\n", argv[0]);
        return 2;
    }
    enum { TRAIN = 300, TEST = 200 };
    float *x = malloc(sizeof(float) * (TRAIN + TEST) * SIDE * SIDE);
    int64_t labels[TRAIN + TEST];
    if (!x) return 1;
    make_bars(TRAIN + TEST, 7, x, labels);
    const int64_t sample[3] = {1, SIDE, SIDE};

    ot_context *ctx = NULL;
    ot_model *m = NULL;
    ot_dataset *train = NULL, *test = NULL;
    int rc = 1;
    if (ot_context_create(NULL, &ctx) != OT_OK) {
        rc = fail("context");
        goto done;
    }
    if (ot_onnx_load(ctx, argv[1], &m) != OT_OK) {
        rc = fail(argv[1]);
        goto done;
    }
    /* Keep everything up to FREEZE_UPTO, drop what follows CUT_AT, add a new head. */
    ot_freeze_rule keep = {OT_FREEZE_UPTO, argv[2]};
    ot_init_spec init;
    ot_rng rng;
    ot_rng_seed(&rng, 1);
    if (ot_transfer_cut(m, argv[3]) != OT_OK || ot_builder_parse_init("auto", &init) != OT_OK ||
        ot_builder_append(ctx, m, "dense:3", m->values[m->outputs[0]].name, &init, &rng, "head_") != OT_OK ||
        ot_transfer_freeze(m, 1, &keep) != OT_OK) {
        rc = fail("surgery");
        goto done;
    }
    if (ot_dataset_from_arrays("bars-train", TRAIN, 3, sample, x, labels, NULL, 0, &train) != OT_OK ||
        ot_dataset_from_arrays("bars-test", TEST, 3, sample, x + TRAIN * SIDE * SIDE, labels + TRAIN,
                               NULL, 0, &test) != OT_OK) {
        rc = fail("data");
        goto done;
    }
    ot_train_config config;
    ot_train_config_defaults(&config);
    config.context = ctx;
    config.epochs = 8;
    config.batch = 32;
    config.seed = 3;
    ot_train_result result;
    ot_eval_result scored;
    if (ot_train(m, &config, train, NULL, &result) != OT_OK) {
        rc = fail("training");
        goto done;
    }
    if (ot_evaluate(m, &config, 100, test, &scored) != OT_OK) {
        rc = fail("scoring");
        goto done;
    }
    if (ot_onnx_save(m, argv[4]) != OT_OK) {
        rc = fail(argv[4]);
        goto done;
    }
    printf("trained %lld epochs; test accuracy %.4f on %lld samples; wrote %s\n",
           (long long)result.epochs_run, scored.accuracy, (long long)scored.samples, argv[4]);
    rc = 0;
done:
    ot_dataset_free(train);
    ot_dataset_free(test);
    ot_model_free(m);
    ot_context_free(ctx);
    free(x);
    return rc;
}
