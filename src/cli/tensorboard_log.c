/* The scalars of a training run in TensorBoard: per step step/loss and step/learning_rate
 * (step = optimizer steps so far), per epoch epoch/... (step = the epoch) and the model's
 * trained and frozen parameter counts (they change with --unfreeze-every). */
#include "tensorboard_log.h"

#include <stdio.h>
#include <string.h>

#include "onnxtrain/transfer.h"

/* A write error stops the log with a warning; training goes on (as with --log). */
static void warn(void) {
    fprintf(stderr, "onnxtrain train: warning: --tensorboard: %s (TensorBoard log stopped)\n", ot_last_error());
}

static void check(cli_tensorboard *tb, ot_status status) {
    if (status == OT_OK) return;
    warn();
    oti_event_writer_close(tb->writer);
    tb->writer = NULL;
}

int cli_tensorboard_open(cli_tensorboard *tb, const char *dir, const ot_model *model) {
    memset(tb, 0, sizeof *tb);
    tb->model = model;
    return oti_event_writer_open(dir, &tb->writer) == OT_OK;
}

void cli_tensorboard_step(cli_tensorboard *tb, const ot_step_stats *s) {
    if (!tb->writer) return;
    ot_status status = oti_event_writer_scalar(tb->writer, "step/loss", s->step, s->loss);
    if (status == OT_OK) status = oti_event_writer_scalar(tb->writer, "step/learning_rate", s->step, s->lr);
    if (status == OT_OK) status = oti_event_writer_flush(tb->writer, 0);
    check(tb, status);
}

void cli_tensorboard_epoch(cli_tensorboard *tb, const ot_epoch_stats *s) {
    if (!tb->writer) return;
    ot_parameter_counts counts = ot_transfer_parameter_counts(tb->model);
    const char *tags[] = {"epoch/train_loss", "epoch/train_accuracy", "epoch/val_loss", "epoch/val_accuracy",
                          "epoch/val_mean_iou", "epoch/learning_rate", "epoch/samples_per_second",
                          "epoch/elapsed_seconds", "model/trained_parameters", "model/frozen_parameters"};
    double values[] = {s->train_loss, s->train_accuracy, s->val_loss, s->val_accuracy, s->val_mean_iou, s->lr,
                       s->samples_per_second, s->elapsed_seconds, (double)counts.trained, (double)counts.frozen};
    ot_status status = OT_OK;
    for (size_t i = 0; i < sizeof tags / sizeof tags[0] && status == OT_OK; i++)
        status = oti_event_writer_scalar(tb->writer, tags[i], s->epoch, values[i]);
    /* Synced once per epoch: what TensorBoard showed survives a crash. */
    if (status == OT_OK) status = oti_event_writer_flush(tb->writer, 1);
    check(tb, status);
}

void cli_tensorboard_close(cli_tensorboard *tb) {
    oti_event_writer *w = tb->writer;
    tb->writer = NULL;
    if (w && oti_event_writer_close(w) != OT_OK) warn();
}
