/* The training flags (optimizer, schedule, loss, regularisation, batching) and their
 * translation into ot_train_config. */
#ifndef OT_CLI_TRAIN_FLAGS_H
#define OT_CLI_TRAIN_FLAGS_H

#include "args.h"
#include "onnxtrain/train.h"

#define CLI_TRAIN_FLAGS                                                                          \
    {"epochs", 0, "N", "passes over the training data (default 10)"},                          \
    {"batch", 0, "N", "samples per step (default 32); under mpirun -np R, per rank: a step sees R x this"}, \
    {"seed", 0, "S", "seed for shuffling, dropout and new layers (default 42)"},                \
    {"no-shuffle", 0, NULL, "batches in file order (the last partial batch is used)"},          \
    CLI_LOSS_FLAGS,                                                                             \
    {"accumulate", 0, "K", "batches per optimizer step: the step sees their mean gradient (default 1)"}, \
    {"warmup", 0, "STEPS", "linear learning-rate warm-up over the first STEPS steps, then the schedule"}, \
    {"on-nonfinite", 0, "WHAT", "a NaN/inf loss or gradient: stop (default) or skip-batch"},   \
    {"input", 0, "NAME", "the model input fed with the data (needed with several)"},            \
    {"output", 0, "NAME", "the model output the loss reads (default: the first)"},              \
    {"optimizer", 0, "NAME", "sgd, momentum, nesterov, adagrad, rmsprop, adam (default), adamw, ftrl"}, \
    {"lr", 0, "RATE", "learning rate (default 0.01; adam/adamw 0.001)"},                        \
    {"momentum", 0, "M", "momentum/nesterov (default 0.9); rmsprop momentum (default 0)"},      \
    {"decay", 0, "RHO", "rmsprop decay, PyTorch's alpha (default 0.99)"},                       \
    {"beta1", 0, "B", "adam/adamw first-moment decay (default 0.9)"},                           \
    {"beta2", 0, "B", "adam/adamw second-moment decay (default 0.999)"},                        \
    {"eps", 0, "E", "epsilon (adam/adamw/rmsprop 1e-8, adagrad 1e-10)"},                        \
    {"weight-decay", 0, "WD", "added to gradients (PyTorch); decoupled for adamw (default 0.01)"}, \
    {"l1", 0, "L", "L1 penalty L*sum|w| (ftrl: its own l1)"},                                   \
    {"l2", 0, "L", "L2 penalty L*sum w^2 (ftrl: its own l2)"},                                  \
    {"clip-value", 0, "V", "clip each gradient element to [-V, V]"},                            \
    {"clip-norm", 0, "C", "scale gradients to global L2 norm <= C"},                            \
    {"max-norm", 0, "R", "after each step, rescale each unit's incoming weights to norm <= R"}, \
    {"schedule", 0, "SCHEDULE", "learning-rate schedule (see below)"}

/* The loss and how it reads labels; train and eval share them. */
#define CLI_LOSS_FLAGS                                                                           \
    {"loss", 0, "LOSS", "softmax-ce (default), mse, bce, or output: --output names the model's own " \
                        "loss (chosen by itself when --output names a loss node's output)"},   \
    {"ignore-index", 0, "I", "softmax-ce: labels equal to I count for nothing (default -100)"}, \
    {"label-smoothing", 0, "S", "softmax-ce: truth (1 - S) one-hot + S / classes (default 0)"}

/* --loss, --ignore-index, --label-smoothing. Returns 0 after printing the error. */
int cli_loss_read(const cli_args *args, ot_loss *loss);
/* Returns 0 after printing the error. */
int cli_train_config_read(const cli_args *args, ot_train_config *config);
/* --input and --output against the model: a model with several inputs needs --input, and
 * each names one of its tensors. Without --loss, an --output computed by a loss node
 * (SoftmaxCrossEntropyLoss...) makes *loss the model's own (--loss output). Returns 0 after
 * printing the error. */
int cli_check_io_flags(const cli_args *args, const ot_model *m, ot_loss *loss);

#endif
