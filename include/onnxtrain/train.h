/* Training: losses, schedules, regularisers, the epoch loop.
 *
 * The trainer packs every trainable parameter (ot_graph_is_parameter, not frozen) into one
 * contiguous block, with gradients and optimizer state in blocks of the same layout, so a
 * step is: forward -> loss -> backward -> L1/L2 -> clip -> optimizer -> max-norm. */
#ifndef ONNXTRAIN_TRAIN_H
#define ONNXTRAIN_TRAIN_H

#include "onnxtrain/dataset.h"
#include "onnxtrain/model.h"
#include "onnxtrain/optimizer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ot_loss_kind {
    OT_LOSS_SOFTMAX_CE, /* softmax cross-entropy on integer labels, mean over the batch */
    OT_LOSS_MSE,        /* mean squared error over all elements */
    OT_LOSS_BCE         /* sigmoid binary cross-entropy with logits, mean over all elements */
} ot_loss_kind;

OT_API int ot_loss_kind_from_name(const char *name, ot_loss_kind *kind);
OT_API const char *ot_loss_name(ot_loss_kind kind);

/* Loss of a batch and its gradient with respect to `output` (batch, width), written to
 * grad (may be NULL). Labels (class indices) or targets (batch, width) give the truth.
 * *correct counts accurate predictions (argmax for softmax-ce, threshold 0 for bce). */
OT_API double ot_loss_compute(ot_loss_kind kind, float *grad, const float *output, int64_t batch,
                       int64_t width, const int64_t *labels, const float *targets,
                       int64_t *correct);

typedef enum ot_schedule_kind {
    OT_SCHEDULE_CONSTANT,
    OT_SCHEDULE_EXPONENTIAL, /* lr0 * 10^(-t/r) */
    OT_SCHEDULE_POWER,       /* lr0 * (1 + t/r)^(-c) */
    OT_SCHEDULE_PIECEWISE,   /* lr_k from step s_k on */
    OT_SCHEDULE_PLATEAU,     /* x factor after `patience` epochs without val improvement */
    OT_SCHEDULE_COSINE       /* lr0 * (1 + cos(pi * min(t, T) / T)) / 2 */
} ot_schedule_kind;

#define OT_SCHEDULE_MAX_PIECES 32

typedef struct ot_schedule {
    ot_schedule_kind kind;
    double r, c;             /* exponential/power: r (steps), c; cosine: T in r */
    int n_pieces;            /* piecewise: from step[k] on, lr[k] */
    int64_t piece_step[OT_SCHEDULE_MAX_PIECES];
    double piece_lr[OT_SCHEDULE_MAX_PIECES];
    int patience;            /* plateau */
    double factor;
    /* plateau state (saved in checkpoints) */
    double best;
    int wait;
    double scale;
} ot_schedule;

/* Parses --schedule text ("exponential:2000", "power:500,1", "piecewise:1000=0.01,3000=0.001",
 * "plateau:5,0.5", "cosine:10000"). */
OT_API ot_status ot_schedule_parse(const char *text, ot_schedule *out);
/* Learning rate at optimizer step t (0-based) for base rate lr0. */
OT_API double ot_schedule_lr(const ot_schedule *s, double lr0, int64_t t);
/* Performance scheduling: feed the epoch's validation loss. Returns 1 if the rate dropped. */
OT_API int ot_schedule_observe(ot_schedule *s, double val_loss);

/* The epoch statistics passed to progress callbacks and returned. */
typedef struct ot_epoch_stats {
    int64_t epoch; /* 1-based */
    int64_t epochs;
    double train_loss, train_accuracy;
    double val_loss, val_accuracy; /* NaN without validation data */
    double samples_per_second;
    double elapsed_seconds;
    double lr;
    int improved; /* validation loss improved (best so far) */
} ot_epoch_stats;

typedef struct ot_train_callbacks {
    void *user;
    /* After each batch: batches done / total in this epoch, running loss. */
    void (*on_batch)(void *user, int64_t epoch, int64_t batch, int64_t batches, double loss);
    void (*on_epoch)(void *user, const ot_epoch_stats *stats);
    /* A message for the user ("cache reused: ..."). */
    void (*on_message)(void *user, const char *message);
} ot_train_callbacks;

struct ot_conv_tuning;

typedef struct ot_train_config {
    /* Threads and memory limit for the plans, parameters and optimizer (NULL: one thread,
     * no limit), and the plans' convolution options (ot_plan_options). */
    ot_context *context;
    int fast_convolution;
    const struct ot_conv_tuning *conv_tuning;
    ot_optimizer_config optimizer;
    ot_schedule schedule;
    ot_loss_kind loss;
    int64_t epochs, batch;
    uint64_t seed;
    int shuffle;
    double l1, l2;       /* added to the loss over all trainable parameters (not for ftrl) */
    double clip_value;   /* 0: off */
    double clip_norm;    /* 0: off */
    double max_norm;     /* 0: off */
    int early_stopping;  /* patience in epochs; 0: off */
    const char *input_name, *output_name; /* NULL: the first */
    const char *checkpoint_path;          /* saved every epoch; NULL: none */
    int resume;
    const char *cache_dir; /* frozen-feature cache; NULL: none */
    int cache_compress;
    /* Gradual unfreezing: every unfreeze_every epochs, unfreeze the next unfreeze_count
     * frozen layers from the top. */
    int unfreeze_every, unfreeze_count;
    /* Data augmentation (images): flips, shifts, crops, brightness. */
    int augment_flip;
    int augment_shift, augment_crop;
    double augment_brightness;
    volatile int *interrupt; /* set by a SIGINT handler: finish the step, checkpoint, stop */
    ot_train_callbacks callbacks;
} ot_train_config;

OT_API void ot_train_config_defaults(ot_train_config *config);

typedef struct ot_train_result {
    int64_t epochs_run;
    int stopped_early;
    int interrupted;
    int64_t best_epoch;
    ot_epoch_stats last;
} ot_train_result;

/* Trains m in place on train (val may be NULL). On return the model holds the final weights,
 * or the best validation weights when early stopping is on. */
OT_API ot_status ot_train(ot_model *m, const ot_train_config *config, ot_dataset *train,
                   ot_dataset *val, ot_train_result *result);

typedef struct ot_eval_result {
    double loss, accuracy;
    int64_t samples;
} ot_eval_result;

/* Loss and accuracy of m on d in inference mode, with config's loss, input, output, context
 * and convolution options (nothing else of config is read), batch samples at a time. */
OT_API ot_status ot_evaluate(ot_model *m, const ot_train_config *config, int64_t batch, ot_dataset *d,
                      ot_eval_result *out);
/* As ot_evaluate with config's loss, input and output; with config->cache_dir the frozen
 * part's outputs for d are read from (or first written to) DIR/<role>.otcache under the
 * same keys as the training cache, so a rerun scores only the trained layers. Cache messages
 * go to config's on_message callback. */
OT_API ot_status ot_evaluate_cached(ot_model *m, const ot_train_config *config, const char *role,
                             ot_dataset *d, ot_eval_result *out);

#ifdef __cplusplus
}
#endif
#endif
