/* train --tensorboard DIR: the run's scalars as TensorBoard event files. The CLI owns the
 * writer and opens it only in the process that writes logs (rank 0 when training is spread
 * over processes); progress.c feeds it the same numbers it prints and puts in the CSV log. */
#ifndef OT_CLI_TENSORBOARD_LOG_H
#define OT_CLI_TENSORBOARD_LOG_H

#include "formats/event_file.h"
#include "onnxtrain/train.h"

typedef struct cli_tensorboard {
    oti_event_writer *writer; /* NULL: off, or stopped after a write error */
    const ot_model *model;    /* for the trained / frozen parameter counts */
} cli_tensorboard;

/* Opens a new event file in dir; 0 on failure (the message is in ot_last_error). */
int cli_tensorboard_open(cli_tensorboard *tb, const char *dir, const ot_model *model);
void cli_tensorboard_step(cli_tensorboard *tb, const ot_step_stats *s);
void cli_tensorboard_epoch(cli_tensorboard *tb, const ot_epoch_stats *s);
/* Flushes and closes (a failure is a warning); fine when never opened. */
void cli_tensorboard_close(cli_tensorboard *tb);

#endif
