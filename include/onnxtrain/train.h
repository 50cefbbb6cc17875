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
#include "onnxtrain/plan.h"
#include "onnxtrain/process_group.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ot_loss_kind {
    OT_LOSS_SOFTMAX_CE, /* softmax cross-entropy on integer labels, mean over the batch */
    OT_LOSS_MSE,        /* mean squared error over all elements */
    OT_LOSS_BCE,        /* sigmoid binary cross-entropy with logits, mean over all elements */
    OT_LOSS_OUTPUT      /* the model's own loss: the trained output is one value, the batch's
                           loss (a SoftmaxCrossEntropyLoss or NegativeLogLikelihoodLoss node
                           with reduction mean, fed the labels through a named data array) */
} ot_loss_kind;

OT_API int ot_loss_kind_from_name(const char *name, ot_loss_kind *kind);
OT_API const char *ot_loss_name(ot_loss_kind kind);
/* Whether the graph output `name` is computed by a loss op (SoftmaxCrossEntropyLoss,
 * NegativeLogLikelihoodLoss): training on it means OT_LOSS_OUTPUT. */
OT_API int ot_output_is_loss(const ot_model *m, const char *name);

/* The loss and how softmax-ce reads its labels (PyTorch's cross_entropy arguments). */
typedef struct ot_loss {
    ot_loss_kind kind;
    int64_t ignore_index;   /* softmax-ce: labels equal to it count for nothing: not in the
                               loss, its mean, its gradient or the accuracy (default -100) */
    double label_smoothing; /* softmax-ce: the truth is (1 - s) one-hot + s / classes */
} ot_loss;

/* kind with PyTorch's defaults (ignore_index -100, no smoothing). */
OT_API ot_loss ot_loss_of_kind(ot_loss_kind kind);

/* The truth for a batch of outputs (batch, width).
 *   labels (batch, label_size): softmax-ce reads them as class indices into the output's
 *     class axis, which has width / label_size classes: logits (batch, C) with labels (batch),
 *     per-token logits (batch, T, C) with labels (batch, T), or per-pixel logits
 *     (batch, C, H, W) with labels (batch, H, W) (class_inner). mse and bce read one label per
 *     sample as a class (one-hot when width > 1, the value itself when width == 1), or, when
 *     label_size == width, each label as the value of its element.
 *   targets (batch, width): float truth for mse and bce. */
typedef struct ot_loss_truth {
    const int64_t *labels;
    int64_t label_size; /* 0 is read as 1 */
    const float *targets;
    /* softmax-ce with label_size > 1: 0 or 1, the class axis is last (logits (batch, T, C));
     * label_size, it is the first after the batch (logits (batch, C, H, W) with labels
     * (batch, H, W), PyTorch's layout for segmentation). */
    int64_t class_inner;
} ot_loss_truth;

/* Running totals over batches. The mean loss is sum / items. */
typedef struct ot_loss_tally {
    double sum;       /* the loss summed over items */
    int64_t items;    /* what the loss is a mean over: labels not ignored (softmax-ce), output
                         elements (mse, bce) */
    int64_t correct;  /* accuracy = correct / scored */
    int64_t scored;   /* labels not ignored (softmax-ce), samples (mse, bce) */
} ot_loss_tally;

/* Items the loss of a batch averages over (see ot_loss_tally). */
OT_API int64_t ot_loss_items(const ot_loss *loss, int64_t batch, int64_t width, const ot_loss_truth *truth);

/* Loss of a batch of outputs (batch, width), added to *tally (may be NULL); returns the
 * batch's mean (0 when every label is ignored). With grad (batch, width), writes the gradient
 * of the batch's summed loss divided by `divisor` - 0 for the batch's own item count (the
 * gradient of its mean); a larger count when several batches make one step (accumulation).
 * Ignored labels get a zero gradient. */
OT_API double ot_loss_compute(const ot_loss *loss, float *grad, double divisor, const float *output,
                              int64_t batch, int64_t width, const ot_loss_truth *truth,
                              ot_loss_tally *tally);

typedef enum ot_schedule_kind {
    OT_SCHEDULE_CONSTANT,
    OT_SCHEDULE_EXPONENTIAL, /* lr0 * 10^(-t/r) */
    OT_SCHEDULE_POWER,       /* lr0 * (1 + t/r)^(-c) */
    OT_SCHEDULE_PIECEWISE,   /* lr_k from step s_k on */
    OT_SCHEDULE_PLATEAU,     /* x factor after `patience` epochs without val improvement */
    OT_SCHEDULE_COSINE,      /* lr0 * (1 + cos(pi * min(t, T) / T)) / 2 */
    OT_SCHEDULE_LINEAR       /* lr0 * max(0, 1 - t / T) */
} ot_schedule_kind;

#define OT_SCHEDULE_MAX_PIECES 32

typedef struct ot_schedule {
    ot_schedule_kind kind;
    double r, c;             /* exponential/power: r (steps), c; cosine, linear: T in r */
    int64_t warmup;          /* steps of linear warm-up before the schedule: lr0 (t + 1) / W;
                                the schedule's t then counts from the end of the warm-up */
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
 * "plateau:5,0.5", "cosine:10000", "linear:10000"); no warm-up. */
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
    double val_mean_iou;           /* NaN unless labels are per pixel (ot_eval_result) */
    double samples_per_second;
    double elapsed_seconds;
    double lr;
    int improved; /* validation loss improved (best so far) */
} ot_epoch_stats;

/* One optimizer step, passed to the on_step callback. */
typedef struct ot_step_stats {
    int64_t step;  /* 1-based, counted over the whole run (a resumed run goes on counting) */
    int64_t epoch; /* 1-based */
    double loss;   /* the step's loss: the mean over its samples (labels), --accumulate batches included */
    double lr;     /* the learning rate this step used */
} ot_step_stats;

typedef struct ot_train_callbacks {
    void *user;
    /* After each batch: batches done / total in this epoch, running loss. */
    void (*on_batch)(void *user, int64_t epoch, int64_t batch, int64_t batches, double loss);
    void (*on_epoch)(void *user, const ot_epoch_stats *stats);
    /* After each optimizer step that changed the weights (skipped non-finite steps are not). */
    void (*on_step)(void *user, const ot_step_stats *stats);
    /* A message for the user ("cache reused: ..."). */
    void (*on_message)(void *user, const char *message);
} ot_train_callbacks;

struct ot_conv_tuning;

/* What a NaN or infinite loss or gradient does (PyTorch's GradScaler skips the step; Keras'
 * TerminateOnNaN stops). */
typedef enum ot_nonfinite_policy {
    OT_NONFINITE_STOP,      /* fail with the step number; the model keeps the last good weights */
    OT_NONFINITE_SKIP_BATCH /* leave the weights and optimizer state alone for this step */
} ot_nonfinite_policy;

typedef struct ot_train_config {
    /* Threads and memory limit for the plans, parameters and optimizer (NULL: one thread,
     * no limit), and the plans' convolution options (ot_plan_options). */
    ot_context *context;
    int fast_convolution;
    const struct ot_conv_tuning *conv_tuning;
    /* Each layer's time in every plan of the run is added to it (NULL: nothing is timed). */
    ot_profile *profile;
    ot_optimizer_config optimizer;
    ot_schedule schedule;
    ot_loss loss;
    int64_t epochs, batch;
    int64_t accumulate;  /* batches per optimizer step: the step sees the mean gradient over
                            their samples (labels), so batch B x K equals one batch of B*K (1) */
    ot_nonfinite_policy on_nonfinite;
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
    /* Data-parallel training: every process of the group calls ot_train with the same data
     * and config; each takes `batch` rows of every global batch of (group size x batch)
     * samples drawn in the order --seed gives, gradients are summed across processes, and
     * every process applies the same step. Only rank 0 writes the checkpoint. NULL or a group
     * of one: this process alone. */
    ot_process_group *group;
    /* With a group: BatchNormalization normalises with the global batch's statistics
     * (PyTorch's SyncBatchNorm) instead of each process's own rows. */
    int sync_batch_norm;
    ot_train_callbacks callbacks;
} ot_train_config;

OT_API void ot_train_config_defaults(ot_train_config *config);

typedef struct ot_train_result {
    int64_t epochs_run;
    int64_t skipped_steps; /* OT_NONFINITE_SKIP_BATCH: steps left out */
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
    /* Per-pixel labels (segmentation, logits (N, C, H, W)): the mean over classes of
     * |predicted and labelled c| / |predicted or labelled c| over pixels not ignored, classes
     * that appear in neither left out; NaN otherwise. */
    double mean_iou;
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
