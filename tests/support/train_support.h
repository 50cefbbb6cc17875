/* Helpers for the training tests (test_transfer.c, test_cache.c, test_checkpoint.c): the
 * bundled CNN prepared for fine-tuning, a little Fashion-MNIST, configs that record the
 * trainer's messages, snapshots of a model's weights. */
#ifndef OT_TRAIN_SUPPORT_H
#define OT_TRAIN_SUPPORT_H

#include "onnxtrain/train.h"
#include "test_support.h"

typedef struct messages {
    char text[16][512];
    int count;
    double best_val;
} messages;

/* Whether some recorded message contains words. */
int said(const messages *m, const char *words);
/* The demo model (models/fashion5.onnx) cut at `cut` with a new head, frozen up to `upto`. */
ot_model *prepared_model_head(const char *cut, const char *upto, const char *head);
/* Cut at `cut` with a new 5-way head, convolutions frozen. */
ot_model *prepared_model(const char *cut);
/* Cut right after the convolutions, with a head that flattens itself. */
ot_model *conv_cut_model(void);
/* Fashion-MNIST classes 5-9 (train or test), the first `limit` samples. */
ot_dataset *data(int64_t limit, int test);
/* 2 epochs of batch 16 on the tests' context, messages into log, cache in `cache` (or NULL). */
ot_train_config config_with(messages *log, const char *cache);
/* A copy of every float initializer, in model order; *n floats. Caller frees. */
float *snapshot(const ot_model *m, int64_t *n);
/* The tensor of an initializer by name (fails the test if missing). */
const ot_tensor *tensor(const ot_model *m, const char *name);

#endif
