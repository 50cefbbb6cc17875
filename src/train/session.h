/* What the trainer and the evaluator share: which model values are fed and scored, and a
 * pair of plans (full batches, and the last partial batch, made on first use). */
#ifndef OT_TRAIN_SESSION_H
#define OT_TRAIN_SESSION_H

#include "onnxtrain/plan.h"
#include "onnxtrain/train.h"

typedef struct ot_io_binding {
    int input;        /* the value x feeds (a graph input) */
    int n_arrays;     /* the data's further arrays (attention masks) feed these graph inputs */
    int array_inputs[OT_DATASET_MAX_ARRAYS];
    int output;       /* the chosen graph output */
    int loss_target;  /* the value the loss reads: the output, or the logits feeding a final
                         Softmax/LogSoftmax (softmax-ce) or Sigmoid (bce) */
    int64_t width;    /* loss-target elements per sample */
    int64_t class_inner; /* per-token/pixel labels: where the class axis is (ot_loss_truth) */
} ot_io_binding;

/* Resolves the input x feeds (input_name, or the one graph input no array of d names), the
 * inputs d's further arrays feed, the output (output_name or the first) and the loss target.
 * Every graph input must be fed. */
ot_status oti_io_bind(const ot_model *m, const ot_dataset *d, const char *input_name,
                     const char *output_name, ot_loss_kind loss, ot_io_binding *out);

#define OT_MAX_FEEDS 16

/* What a plan is fed with: value indices and per-sample shapes (dims[0] is the batch). */
typedef struct ot_feed_set {
    int count;
    int values[OT_MAX_FEEDS];
    ot_tensor shapes[OT_MAX_FEEDS];
} ot_feed_set;

/* Adds a feed: `value` with per-sample shape sample_dims. */
void oti_feed_set_add(ot_feed_set *feeds, int value, ot_dtype dtype, int sample_ndim, const int64_t *sample_dims);
/* The dataset's arrays as feeds: x at io->input, further arrays at their inputs. */
void oti_feed_set_from_dataset(ot_feed_set *feeds, const ot_io_binding *io, const ot_dataset *d);

typedef struct ot_plan_pair {
    ot_model *model;
    ot_plan_options options;
    ot_feed_set feeds;
    int64_t batch;
    ot_plan *full, *partial;
    int64_t partial_size;
} ot_plan_pair;

/* Prepares plans for the feeds in batches of `batch`. The full plan is made now (so shape
 * errors surface before training). */
ot_status oti_plan_pair_init(ot_plan_pair *pair, ot_model *m, const ot_plan_options *options,
                            const ot_feed_set *feeds, int64_t batch);
/* The plan for a batch of `size` samples (size <= batch). */
ot_status oti_plan_pair_get(ot_plan_pair *pair, int64_t size, ot_plan **out);
void oti_plan_pair_free(ot_plan_pair *pair);

/* Where a plan's feeds come from: for feed k a contiguous array (n, per_sample[k]) - the
 * dataset's samples, or the frozen-feature cache's frontier tensors - plus the truth. */
typedef struct ot_sample_source {
    int64_t n;
    int count;
    const void *arrays[OT_MAX_FEEDS];
    int64_t per_sample[OT_MAX_FEEDS]; /* elements */
    size_t row_bytes[OT_MAX_FEEDS];   /* bytes per sample */
    const int64_t *labels;
    int64_t label_size;
    const float *targets;
    int64_t target_size;
} ot_sample_source;

/* The dataset's arrays (x, then the further inputs') as a source. */
void oti_sample_source_from_dataset(ot_sample_source *s, const ot_dataset *d);

/* Evaluates loss/accuracy over a source with inference plans from pair (feeds in the same
 * order as the source's arrays). */
ot_status oti_evaluate_with(ot_plan_pair *pair, const ot_io_binding *io, const ot_loss *loss,
                           const ot_sample_source *source, ot_eval_result *out);

/* Evaluates source (d's samples, or their cached features) through inference plans of
 * `batch` samples fed at feeds, after checking d's labels against the output's width. */
ot_status oti_evaluate_fed(ot_model *m, const ot_io_binding *io, const ot_loss *loss,
                          const ot_plan_options *options, const ot_feed_set *feeds,
                          const ot_sample_source *source, const ot_dataset *d, int64_t batch,
                          ot_eval_result *out);

/* Passes a message (the feature cache's) to the on_message callback of the ot_train_config
 * given as user. */
void oti_config_message(void *config, const char *message);

/* Shapes and types the dataset's arrays as the inputs they feed expect (per-sample dims =
 * input dims after the batch; unknown dims accept the data's own; integers become float32
 * for float inputs, int64 and bool convert into each other). Errors name the array. */
ot_status oti_dataset_fit_inputs(ot_dataset *d, const ot_model *m, const ot_io_binding *io);
/* Where the class axis of the loss target y (batch dim first) is for d's labels: labels
 * (H, W) with logits (C, H, W) per sample put it first (PyTorch's layout; also when both
 * fit), labels (T) with logits (T, C) last. Labels that fit neither are an error naming
 * both shapes and `output`. */
ot_status oti_label_layout(const ot_tensor *y, const ot_dataset *d, ot_loss_kind loss, const char *output,
                          int64_t *class_inner);
/* Labels must index the output's classes (softmax-ce: the last axis; labels equal to the
 * ignore index excepted) or be 0/1 (bce with one output). */
ot_status oti_check_labels(const ot_dataset *d, const ot_loss *loss, int64_t width, const char *what);

/* The plan options a training config sets for every plan it makes: context, convolution
 * arithmetic and tuning. */
ot_plan_options oti_config_plan_options(const ot_train_config *c);

#endif
