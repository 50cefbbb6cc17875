/* Plans: a model prepared for one set of input shapes.
 *
 * A plan infers every tensor's shape, folds what is known in advance (Shape arithmetic),
 * and allocates all activations, gradients and scratch once. Running it allocates nothing.
 * A plan computes `targets` from `feeds`: by default the graph outputs from the graph
 * inputs; the frozen-feature cache uses other cuts (frozen part: inputs -> frontier; trainable
 * part: frontier -> outputs).
 *
 *     ot_plan_options opt = {0};
 *     ot_tensor shape = {.dtype = OT_FLOAT, .ndim = 4, .dims = {8, 3, 224, 224}};
 *     ot_plan *plan;
 *     ot_plan_create(model, &opt, 1, &model->inputs[0], &shape, &plan);
 *     ot_plan_value(plan, model->inputs[0])->data = images;   // bound, not copied
 *     ot_plan_forward(plan);
 *     float *logits = ot_plan_value(plan, model->outputs[0])->data;
 */
#ifndef ONNXTRAIN_PLAN_H
#define ONNXTRAIN_PLAN_H

#include "onnxtrain/context.h"
#include "onnxtrain/model.h"
#include "onnxtrain/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ot_plan ot_plan;
struct ot_conv_tuning;

/* Time spent in each layer, summed over every run of the plans given it (ot_plan_options
 * .profile), for finding where a model's time goes. Layers are told apart by name and op
 * type, so the several plans of one training run (training, evaluation, cache) add up in one
 * table. Not for concurrent use: plans sharing one must not run at the same time. */
typedef struct ot_profile ot_profile;
typedef struct ot_profile_entry {
    const char *layer, *op_type; /* valid while the profile lives */
    double forward_seconds, backward_seconds;
    int64_t forward_runs, backward_runs;
} ot_profile_entry;
ot_status ot_profile_create(ot_profile **out);
void ot_profile_free(ot_profile *profile);
/* Entries in the order the layers were first planned. */
int ot_profile_count(const ot_profile *profile);
ot_profile_entry ot_profile_at(const ot_profile *profile, int index);

typedef struct ot_plan_options {
    /* Threads and memory limit (NULL: one thread, no limit). Must outlive the plan. */
    ot_context *context;
    /* Training plans keep activations for backward, allocate gradients for every value that
     * depends on a trained parameter, run unfrozen Dropout and BatchNormalization in training
     * mode. */
    int training;
    /* Per value index: the initializer is trained (gradients flow into it). NULL: none. Also
     * used by inference plans to avoid folding weights that will change. */
    const unsigned char *trainable;
    /* Per value index: external storage for a trained parameter's gradient (NULL entries, or
     * NULL: the plan allocates). Lets the trainer keep all gradients in one block. */
    float *const *param_grads;
    ot_rng *rng; /* dropout in training plans */
    /* Values to compute; NULL/0: the graph outputs. */
    const int *targets;
    int n_targets;
    /* Convolution arithmetic (default 0). Off, every Conv stays as close to PyTorch's float32
     * results as a dot product is: im2col GEMMs, Winograd F(2x2, 3x3) for 3x3 stride-1 convs
     * with 16+ channels (2.25x fewer multiplies, rounding error of the same order) and FFTs
     * for larger stride-1 kernels on small planes (the same). On, 3x3 convs use F(4x4, 3x3)
     * and the 5x5 ones the FFTs do not take F(2x2, 5x5) (4x and 2.8x fewer multiplies), whose
     * rounding error is 1e-6 to 1e-5 of the tensor's scale (outputs and dX ~2e-6, dW up to
     * ~8e-6 as it sums over every tile): ten times a dot product's, outside the 1e-4
     * agreement with PyTorch that the default keeps. Each Conv picks its algorithm once, when
     * the plan is made. */
    int fast_convolution;
    /* The algorithms' thresholds (src/ops/conv_tuning.h; tests use it to run small convs
     * through every path). NULL: the defaults. */
    const struct ot_conv_tuning *conv_tuning;
    /* Training plans: BatchNormalization in training mode sums its batch statistics across
     * processes with it (synchronised BatchNorm). NULL: each plan's own batch. */
    const ot_cross_sum *cross_sum;
    /* Each step's forward and backward time is added to it (NULL: nothing is timed). */
    ot_profile *profile;
} ot_plan_options;

/* feeds[i] are value indices bound by the caller with the dtype/shape in feed_shapes[i].
 * Data pointers are ignored, except for single bools, int64 feeds of at most OT_PLAN_FIXED_FEED_MAX
 * elements (shapes, axes fed as graph inputs) and float32 scalars or 1-D feeds of at most that
 * many elements that only ops' constant inputs read (a Range's bounds, Resize's scales and
 * roi): their values are copied and fixed for the plan's lifetime, so shapes that depend on
 * them can be planned. An inference plan of a model with ops whose output shape depends on
 * values (NonZero, Compress, Unique, NonMaxSuppression) fixes every feed given with data and
 * computes every value while it is built: such a plan holds the results for those inputs
 * (ot_plan_forward leaves them as they are), and new inputs need a new plan. */
#define OT_PLAN_FIXED_FEED_MAX 64
OT_API ot_status ot_plan_create(ot_model *m, const ot_plan_options *options, int n_feeds,
                         const int *feeds, const ot_tensor *feed_shapes, ot_plan **out);
OT_API void ot_plan_free(ot_plan *p);

/* The tensor of a value in this plan (shape, dtype, data). For feeds, set ->data before
 * running (borrowed). NULL for values the plan does not touch. */
OT_API ot_tensor *ot_plan_value(ot_plan *p, int value);
/* Sequences (docs/OPS.md): a plan holds one as the list of its element tensors. A sequence
 * graph input is fed as one feed per element, its value index repeated in order with each
 * element's dtype and shape (one feed of dtype OT_UNDEFINED: an empty sequence), and its
 * elements are bound like tensor feeds. Length of sequence `value` (-1: not a sequence in this
 * plan); the tensor of its element k (NULL when out of range, or unused as ot_plan_value's). */
OT_API int ot_plan_sequence_length(const ot_plan *p, int value);
OT_API ot_tensor *ot_plan_sequence_element(ot_plan *p, int value, int k);
/* Gradient of a value (NULL if none flows). The caller writes the loss gradient into the
 * targets' gradients before ot_plan_backward. */
OT_API ot_tensor *ot_plan_grad(ot_plan *p, int value);

OT_API ot_status ot_plan_forward(ot_plan *p);
/* Zeroes every gradient the plan owns, the targets' included (not param_grads given by the
 * caller): call it before writing the loss gradient into the targets' gradients. */
OT_API void ot_plan_zero_grads(ot_plan *p);
/* Backpropagates from the targets' gradients; adds into parameter gradients. */
OT_API ot_status ot_plan_backward(ot_plan *p);

/* Bytes the plan allocated (activations, gradients, saved state, scratch). */
OT_API size_t ot_plan_bytes(const ot_plan *p);

/* Shape inference only: fills out[v] (dtype, dims) for every value reachable from the feeds;
 * values not computed keep dtype OT_UNDEFINED. Used by `info` and export after surgery. */
OT_API ot_status ot_plan_infer_shapes(ot_model *m, int n_feeds, const int *feeds,
                                const ot_tensor *feed_shapes, ot_tensor *out);
/* The shape of one value of a model being built, layer by layer (the builder, the Caffe
 * importer): checks and resolves the layers added so far, then plans up to `value` with the
 * graph inputs' unknown dims taken as 1, within ctx's memory limit (NULL: none). */
OT_API ot_status ot_plan_infer_value_shape(const ot_context *ctx, ot_model *m, int value, ot_tensor *out);

#ifdef __cplusplus
}
#endif
#endif
