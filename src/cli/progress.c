/* Progress bar, epoch lines, the CSV log, and the TensorBoard log's feed. */
#include "cli_alloc.h"
#include "progress.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "core/file_io.h"

void cli_progress_init(cli_progress *p, int quiet, const char *log_path) {
    memset(p, 0, sizeof *p);
    p->quiet = quiet;
    p->tty = !quiet && isatty(2);
    p->log_path = log_path;
    if (log_path) p->log = cli_xasprintf("epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,samples_per_second,elapsed_seconds\n");
    if (p->log) p->log_len = strlen(p->log);
    const char *pause = getenv("ONNXTRAIN_TEST_PAUSE_AT_STEP");
    if (pause && !oti_parse_int64(pause, &p->pause_at_step)) p->pause_at_step = 0;
}

void cli_progress_free(cli_progress *p) { free(p->log); }

static void on_batch(void *user, int64_t epoch, int64_t batch, int64_t batches, double loss) {
    cli_progress *p = user;
    /* Signals sent while stopped are handled when SIGCONT resumes it, before raise returns:
     * at the end of this very step. */
    if (++p->steps == p->pause_at_step) raise(SIGSTOP);
    if (!p->tty) return;
    double now = oti_now_ms();
    if (batch != batches && now - p->last_draw_ms < 80) return;
    p->last_draw_ms = now;
    int width = 30, filled = (int)(width * batch / batches);
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < filled ? '=' : i == filled ? '>' : ' ';
    bar[width] = '\0';
    fprintf(stderr, "\r  epoch %lld [%s] %3d%%  loss %.4f ", (long long)epoch, bar,
            (int)(100 * batch / batches), loss);
    fflush(stderr);
}

static void on_epoch(void *user, const ot_epoch_stats *s) {
    cli_progress *p = user;
    if (p->tty) fprintf(stderr, "\r\033[K");
    if (!p->quiet) {
        int digits = snprintf(NULL, 0, "%lld", (long long)s->epochs);
        printf("epoch %*lld/%lld  loss %.4f  acc %.4f", digits, (long long)s->epoch, (long long)s->epochs,
               s->train_loss, s->train_accuracy);
        if (!isnan(s->val_loss)) printf("  val_loss %.4f  val_acc %.4f%s", s->val_loss, s->val_accuracy, s->improved ? " *" : "  ");
        if (!isnan(s->val_mean_iou)) printf("  val_mean_iou %.4f", s->val_mean_iou);
        printf("  %8.0f samples/s  %6.1fs\n", s->samples_per_second, s->elapsed_seconds);
        fflush(stdout);
    }
    if (p->tensorboard) cli_tensorboard_epoch(p->tensorboard, s);
    if (!p->log_path || p->failed_log) return;
    char *line = cli_xasprintf("%lld,%.9g,%.9g,%.9g,%.9g,%.9g,%.1f,%.3f\n", (long long)s->epoch, s->train_loss,
                              s->train_accuracy, s->val_loss, s->val_accuracy, s->lr, s->samples_per_second,
                              s->elapsed_seconds);
    size_t n = strlen(line);
    p->log = cli_xrealloc(p->log, p->log_len + n + 1);
    memcpy(p->log + p->log_len, line, n + 1);
    p->log_len += n;
    free(line);
    if (oti_write_file_atomic(p->log_path, p->log, p->log_len) != OT_OK) {
        fprintf(stderr, "onnxtrain train: warning: %s (logging stopped)\n", ot_last_error());
        p->failed_log = 1;
    }
}

static void on_step(void *user, const ot_step_stats *s) {
    cli_progress *p = user;
    if (p->tensorboard) cli_tensorboard_step(p->tensorboard, s);
}

static void on_message(void *user, const char *message) {
    cli_progress *p = user;
    if (p->tty) fprintf(stderr, "\r\033[K");
    if (!p->quiet) printf("%s\n", message);
    fflush(stdout);
}

void cli_progress_attach(cli_progress *p, ot_train_config *config) {
    config->callbacks.user = p;
    config->callbacks.on_batch = on_batch;
    config->callbacks.on_epoch = on_epoch;
    config->callbacks.on_message = on_message;
    config->callbacks.on_step = on_step;
}
