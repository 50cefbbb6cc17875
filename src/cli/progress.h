/* Training progress for people: a live bar on a terminal, one line per epoch, an optional
 * CSV log (rewritten atomically after every epoch); and the tests' pause point. */
#ifndef OT_CLI_PROGRESS_H
#define OT_CLI_PROGRESS_H

#include "onnxtrain/train.h"
#include "tensorboard_log.h"

typedef struct cli_progress {
    int quiet;
    int tty;           /* stderr is a terminal: draw the bar */
    double last_draw_ms;
    const char *log_path;
    char *log;         /* CSV text so far */
    size_t log_len;
    int failed_log;
    cli_tensorboard *tensorboard; /* --tensorboard: also gets every step and epoch; NULL: off */
    /* Tests only: ONNXTRAIN_TEST_PAUSE_AT_STEP=N stops the process (SIGSTOP) after its Nth
     * training step, so a test can send signals at a chosen step on any machine's speed. */
    int64_t pause_at_step;
    int64_t steps;
} cli_progress;

void cli_progress_init(cli_progress *p, int quiet, const char *log_path);
void cli_progress_free(cli_progress *p);
/* Fills config->callbacks. */
void cli_progress_attach(cli_progress *p, ot_train_config *config);

#endif
